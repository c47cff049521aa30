"""The journal's write path: one held driver connection and statements compiled once.

Every journal write is a few single-row inserts committed together. Going through a pooled
SQLAlchemy ``Connection`` for each one costs several times the insert itself (pool checkout,
events, result objects), so :class:`StatementWriter` keeps one DBAPI connection for writes,
compiles each Core statement once per set of columns (SQLAlchemy does the dialect work: SQL
text, parameter style, ``ON CONFLICT`` clauses), and runs the batch in one transaction:
``BEGIN IMMEDIATE`` ... ``COMMIT`` on SQLite; on PostgreSQL the connection is in autocommit
mode, so a single statement commits itself in one round trip and a batch of several is
wrapped in ``BEGIN`` ... ``COMMIT``. A failed
batch is rolled back; a connection that breaks is dropped and replaced on the next write.
Callers serialise calls (the journal holds its write lock).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.expression import Executable

__all__ = ["StatementWriter", "WriteOp"]

WriteOp = tuple[Executable, Mapping[str, Any]]
"""One statement to run with its values (column name -> value)."""


class StatementWriter:
    """Runs batches of Core statements on one held connection, each batch one transaction.

    :meth:`run` returns the row count of each statement (1 for an insert that added its row,
    0 for one that hit ``ON CONFLICT DO NOTHING``). Driver errors propagate after the
    rollback; :meth:`close` gives the connection back. Not thread-safe by itself.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._conn: PoolProxiedConnection | None = None
        self._compiled: dict[tuple[int, tuple[str, ...]], tuple[str, tuple[str, ...] | None]] = {}
        self._keep: list[Executable] = []  # statements whose id() keys the cache

    def _sql(self, stmt: Executable, keys: tuple[str, ...]) -> tuple[str, tuple[str, ...] | None]:
        cache_key = (id(stmt), keys)
        hit = self._compiled.get(cache_key)
        if hit is None:
            if len(self._compiled) > 256:  # callers build statements once; this is a backstop
                self._compiled.clear()
                self._keep.clear()
            compiled = stmt.compile(  # type: ignore[attr-defined]
                dialect=self._engine.dialect, column_keys=list(keys)
            )
            order = tuple(compiled.positiontup) if compiled.positional else None
            hit = (compiled.string, order)
            self._compiled[cache_key] = hit
            self._keep.append(stmt)
        return hit

    def run(self, ops: Sequence[WriteOp]) -> list[int]:
        """Execute ``ops`` in order in one transaction and commit; their row counts."""
        if self._conn is None:
            self._conn = self._engine.raw_connection()
            if not self._sqlite:
                self._conn.driver_connection.autocommit = True  # type: ignore[union-attr]
        conn = self._conn
        cursor = conn.cursor()
        explicit = self._sqlite or len(ops) > 1
        try:
            if explicit:
                cursor.execute("BEGIN IMMEDIATE" if self._sqlite else "BEGIN")
            counts = []
            for stmt, values in ops:
                sql, order = self._sql(stmt, tuple(values))
                params: Any = dict(values) if order is None else [values[k] for k in order]
                cursor.execute(sql, params)
                counts.append(cursor.rowcount)
            if explicit:
                cursor.execute("COMMIT")
            return counts
        except BaseException:
            self._abort()
            raise
        finally:
            cursor.close()

    def _abort(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            conn.rollback()
            broken = bool(getattr(conn.driver_connection, "closed", False))
        except Exception:
            broken = True
        if broken:  # replace it on the next write
            self._conn = None
            conn.invalidate()

    def close(self) -> None:
        """Give the held connection back to the engine's pool (it reconnects if used again)."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            if not self._sqlite:
                conn.driver_connection.autocommit = False  # type: ignore[union-attr]
            conn.close()
