"""The notification outbox: alerts as rows in the journal's database, until they are delivered.

The trading side only ever calls :meth:`Outbox.enqueue` (one INSERT per configured channel, in
one transaction committed before it returns, from a bus handler: never on the trading thread);
the delivery worker reads the pending rows of a channel in order and marks them ``sent``,
``suppressed`` (a duplicate within the cooldown), ``digested`` (sent inside a digest) or
``failed`` (refused for good).
Rows stay ``pending`` while a channel is down, so they survive a restart and are sent when it
comes back. The table is ``notification_outbox`` (journal schema version 3); the outbox opens
its own connection pool on the journal's URL, which migrates the database when needed.

The frequent writes (:meth:`Outbox.enqueue` and :meth:`Outbox.mark`) go through the journal's
:class:`~real_trade.persistence.statement_writer.StatementWriter` (one held connection,
statements compiled once), under a lock since the bus thread and the worker both write; the
reads build no statement per call (bound parameters), and :meth:`Outbox.due` reads a round's
pending rows and the cooldown of all their keys in one transaction.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from real_trade.notifications.events import Alert
from real_trade.persistence.database import is_memory_sqlite, normalise_url, open_engine
from real_trade.persistence.migrations import migrate
from real_trade.persistence.schema import control_state, notification_outbox
from real_trade.persistence.statement_writer import StatementWriter, WriteOp

__all__ = ["Outbox", "OutboxRow"]

PENDING, SENT, SUPPRESSED, DIGESTED, FAILED = "pending", "sent", "suppressed", "digested", "failed"

_T = notification_outbox
_INSERT = _T.insert()
_MARK = _T.update().where(_T.c.id == sa.bindparam("row_id"))
_PENDING = (
    sa.select(_T)
    .where(_T.c.channel == sa.bindparam("channel"), _T.c.status == PENDING)
    .order_by(_T.c.id)
    .limit(sa.bindparam("limit"))
)
_PENDING_OF = (
    sa.select(_T)
    .where(
        _T.c.channel == sa.bindparam("channel"),
        _T.c.status == PENDING,
        _T.c.strategy == sa.bindparam("strategy"),
    )
    .order_by(_T.c.id)
    .limit(sa.bindparam("limit"))
)
_LAST_KEPT = (
    sa.select(_T.c.dedup_key, sa.func.max(_T.c.created_ms))
    .where(
        _T.c.channel == sa.bindparam("channel"),
        _T.c.dedup_key.in_(sa.bindparam("keys", expanding=True)),
        _T.c.status.in_((SENT, DIGESTED)),
    )
    .group_by(_T.c.dedup_key)
)
_STATE = sa.select(control_state.c.value).where(control_state.c.key == sa.bindparam("key"))


@dataclass(frozen=True)
class OutboxRow:
    """One alert waiting for one channel (a row of ``notification_outbox``)."""

    id: int
    channel: str
    kind: str
    level: str
    strategy: str
    title: str
    body: str
    dedup_key: str
    created_ms: int
    status: str
    attempts: int
    sent_ms: int | None
    last_error: str | None


class Outbox:
    """The outbox table of one journal database (see the module docstring); thread-safe."""

    def __init__(self, url: str) -> None:
        """Open (and migrate, when needed) the journal database at ``url``."""
        self.url = normalise_url(url)
        self._engine = open_engine(self.url)
        self._lock = threading.Lock() if is_memory_sqlite(self.url) else None
        migrate(self._engine)
        self._writer = StatementWriter(self._engine)
        self._write_lock = self._lock or threading.Lock()

    def close(self) -> None:
        """Release the database connections."""
        with self._write_lock:
            self._writer.close()
        self._engine.dispose()

    def _write(self, ops: Sequence[WriteOp]) -> None:
        with self._write_lock:
            self._writer.run(ops)

    def _begin(self) -> Any:
        conn = self._engine.connect()
        conn.execution_options(rt_begin="IMMEDIATE")
        return conn

    def _run(self, work: Any) -> Any:
        if self._lock is not None:
            with self._lock, self._begin() as conn, conn.begin():
                return work(conn)
        with self._begin() as conn, conn.begin():
            return work(conn)

    def _read(self, stmt: Any, params: dict[str, Any]) -> list[Any]:
        """The rows of a read-only statement (a deferred transaction: no write lock taken)."""
        return self._reads(lambda conn: list(conn.execute(stmt, params).all()))

    def _reads(self, work: Any) -> Any:
        """``work(conn)`` in one read-only (deferred) transaction."""
        if self._lock is not None:
            with self._lock, self._engine.connect() as conn:
                return work(conn)
        with self._engine.connect() as conn:
            return work(conn)

    # -- the trading side ----------------------------------------------------------------
    def enqueue(self, alert: Alert, level: str, channels: Sequence[str], now_ms: int) -> int:
        """Write one pending row per channel for ``alert`` (committed when it returns); return
        the rows written."""
        rows: list[WriteOp] = [
            (
                _INSERT,
                {
                    "channel": channel,
                    "kind": alert.kind,
                    "level": level,
                    "strategy": alert.strategy,
                    "title": alert.title,
                    "body": alert.body,
                    "dedup_key": alert.dedup_key,
                    "created_ms": now_ms,
                    "status": PENDING,
                    "attempts": 0,
                    "sent_ms": None,
                    "last_error": None,
                },
            )
            for channel in channels
        ]
        if rows:
            self._write(rows)
        return len(rows)

    # -- the worker side -----------------------------------------------------------------
    def pending(
        self, channel: str, limit: int = 100, strategy: str | None = None
    ) -> list[OutboxRow]:
        """The oldest pending rows of ``channel`` (of ``strategy`` only, when given), in the
        order they were written."""
        params: dict[str, Any] = {"channel": channel, "limit": limit}
        if strategy is not None:
            params["strategy"] = strategy
        found = self._read(_PENDING if strategy is None else _PENDING_OF, params)
        return [OutboxRow(**r._mapping) for r in found]

    def due(
        self, channel: str, limit: int = 100, strategy: str | None = None
    ) -> tuple[list[OutboxRow], dict[str, int]]:
        """:meth:`pending`, and for each of their dedup keys delivered on ``channel`` when its
        newest delivered alert was raised (keys never delivered are absent); one transaction,
        two queries: what a delivery round needs."""
        params: dict[str, Any] = {"channel": channel, "limit": limit}
        if strategy is not None:
            params["strategy"] = strategy

        def work(conn: Any) -> tuple[list[OutboxRow], dict[str, int]]:
            found = conn.execute(_PENDING if strategy is None else _PENDING_OF, params).all()
            rows = [OutboxRow(**r._mapping) for r in found]
            keys = sorted({r.dedup_key for r in rows})
            if not keys:
                return rows, {}
            kept = conn.execute(_LAST_KEPT, {"channel": channel, "keys": keys}).all()
            return rows, {str(k): int(ms) for k, ms in kept if ms is not None}

        result: tuple[list[OutboxRow], dict[str, int]] = self._reads(work)
        return result

    def rows(self, channel: str | None = None) -> list[OutboxRow]:
        """Every row (of ``channel``), oldest first: what was sent, suppressed or is waiting."""
        t = notification_outbox
        q = sa.select(t).order_by(t.c.id)
        if channel is not None:
            q = q.where(t.c.channel == channel)
        return [OutboxRow(**dict(r._mapping)) for r in self._run(lambda c: c.execute(q).all())]

    def mark(
        self, ids: Iterable[int], status: str, now_ms: int | None = None, error: str | None = None
    ) -> None:
        """Set the status of rows (``sent_ms`` when delivered, the last error when not)."""
        values: dict[str, Any] = {"status": status}
        if status in (SENT, DIGESTED, SUPPRESSED):
            values["sent_ms"] = now_ms
        if error is not None:
            values["last_error"] = error
        ops: list[WriteOp] = [(_MARK, {**values, "row_id": i}) for i in ids]
        if ops:
            self._write(ops)

    def note_failure(self, ids: Iterable[int], error: str) -> None:
        """Count one more failed attempt on rows that stay pending."""
        chosen = list(ids)
        t = notification_outbox
        stmt = (
            t.update()
            .where(t.c.id.in_(chosen))
            .values(attempts=t.c.attempts + 1, last_error=error[:1000])
        )
        self._run(lambda c: c.execute(stmt))

    def prune(self, before_ms: int) -> int:
        """Delete the rows done with (not pending) raised before ``before_ms``; return how many."""
        t = notification_outbox
        stmt = t.delete().where(t.c.status != PENDING, t.c.created_ms < before_ms)
        return int(self._run(lambda c: c.execute(stmt).rowcount) or 0)

    def state(self, key: str) -> Any:
        """A control-state value of the journal (the runner's heartbeat), or None."""
        found = self._read(_STATE, {"key": key})
        return json.loads(found[0][0]) if found and found[0][0] is not None else None

    def scalar(self, query: Any) -> Any:
        """Run a read-only scalar query on the journal (the daily summary's counts)."""
        return self._run(lambda c: c.execute(query).scalar())
