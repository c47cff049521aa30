"""Opening the journal's database: SQLite (a file, WAL) by default, PostgreSQL by URL.

:func:`open_engine` turns a SQLAlchemy URL into an :class:`sqlalchemy.engine.Engine` set up for
the journal. SQLite files get ``journal_mode=WAL`` (readers never block the writer, and several
processes may open the file at once), ``synchronous=NORMAL`` (a commit survives the process
being killed at any moment; only a power loss may drop the last commits), a ``busy_timeout``
and ``foreign_keys=OFF``; the file's directory is created. Transactions on SQLite are begun by
us, not by the driver: ``BEGIN IMMEDIATE`` for writes (so two writers queue on the lock instead
of failing on an upgrade) and a deferred ``BEGIN`` for reads, which also makes DDL
transactional for the migrations. ``postgresql://`` URLs use psycopg 3. Any failure to open is a
:class:`JournalError` whose text never shows the URL's password.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from real_trade.config.messages import mask_url_password
from real_trade.errors import ConfigError, FinalError
from real_trade.utils.logger import mask_secrets, register_secret

__all__ = [
    "BEGIN_OPTION",
    "BUSY_TIMEOUT_MS",
    "JournalConfigError",
    "JournalError",
    "is_memory_sqlite",
    "normalise_url",
    "open_engine",
    "open_failure",
    "safe_message",
]

BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite connection waits for another process's write lock before failing."""

BEGIN_OPTION = "rt_begin"
"""Execution option naming how a SQLite transaction begins (``"IMMEDIATE"`` for writes)."""


class JournalError(FinalError):
    """The journal cannot be opened or used: unsupported URL, unreachable database, bad schema.

    Its message never contains the database password.
    """


class JournalConfigError(JournalError, ConfigError):
    """The journal URL names something that can never be a journal as it is: a corrupt file, a
    file that is no database, another application's database, a newer schema, a path that
    cannot be opened. A configuration error (``field`` is ``journal.url``, ``fix`` says what to
    do): a restart cannot fix it, so a supervisor stops at once instead of retrying.
    """

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        """The message (password-free) and the fix; the field is always ``journal.url``."""
        super().__init__(message, field="journal.url", fix=fix)


_NOT_A_JOURNAL_FIX = (
    "point journal.url at a new file (it is created) or at an existing real_trade journal; "
    "move a damaged file out of the way"
)
_UNOPENABLE_FIX = "give journal.url a path this user can create, read and write"


def open_failure(exc: BaseException, url: URL, masked: str) -> JournalError:
    """The error for a failure to open the journal: a :class:`JournalConfigError` when the
    SQLite file is damaged, no database or cannot be opened at all (retrying cannot help), a
    plain :class:`JournalError` otherwise (a busy file, an unreachable server: may pass)."""
    detail = safe_message(exc, url)
    if isinstance(exc, OSError):  # the file's directory cannot be created
        return JournalConfigError(
            f"cannot open the journal {masked}: {detail}", fix=_UNOPENABLE_FIX
        )
    orig = getattr(exc, "orig", exc)
    if url.get_backend_name() == "sqlite" and isinstance(orig, sqlite3.DatabaseError):
        text = str(orig).lower()
        if not isinstance(orig, sqlite3.OperationalError):  # not a database, malformed image
            return JournalConfigError(
                f"the journal {masked} is not a SQLite database real_trade can read "
                f"({orig!s}): the file is damaged or is not a journal",
                fix=_NOT_A_JOURNAL_FIX,
            )
        if "unable to open" in text or "readonly" in text or "read-only" in text:
            return JournalConfigError(
                f"cannot open the journal {masked}: {orig!s}", fix=_UNOPENABLE_FIX
            )
    return JournalError(f"cannot open the journal {masked}: {detail}")


def normalise_url(url: str) -> URL:
    """Parse a journal URL: a bare path means a SQLite file, ``postgresql://`` means psycopg 3.

    Raises :class:`JournalError` for a URL that is neither SQLite nor PostgreSQL.
    """
    text = url.strip()
    if "://" not in text:
        text = f"sqlite:///{text}"
    try:
        parsed = make_url(text)
    except Exception as exc:  # sa.exc.ArgumentError and ValueError
        raise JournalError(f"bad journal URL {mask_url_password(text)!r}: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if backend not in ("sqlite", "postgresql"):
        raise JournalError(
            f"unsupported journal database {backend!r} in {mask_url_password(text)!r}: use "
            "'sqlite:///path/file.db' or 'postgresql+psycopg://user:password@host/dbname'"
        )
    if parsed.password:
        register_secret(str(parsed.password))
    return parsed


def is_memory_sqlite(url: URL) -> bool:
    """Whether ``url`` is an in-memory SQLite database (one shared connection, no WAL)."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def safe_message(exc: BaseException, url: URL) -> str:
    """The text of ``exc`` with the URL's password (and every registered secret) masked."""
    text = str(exc)
    if url.password:
        text = text.replace(str(url.password), "***")
    return mask_secrets(text)


def _set_wal(cursor: sqlite3.Cursor) -> None:
    """Switch to WAL; SQLite answers "database is locked" at once, without its busy handler,
    when another connection is switching a fresh file at the same moment, so retry a while."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _empty_or_journal(cursor: sqlite3.Cursor) -> bool:
    """Whether the SQLite file has no table yet, or has the journal's ``schema_version``."""
    cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    names = {row[0] for row in cursor.fetchall()}
    return not names or "schema_version" in names


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection SQLite setup: we begin transactions ourselves; WAL and the pragmas."""
    assert isinstance(dbapi_connection, sqlite3.Connection)
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if _empty_or_journal(cursor):  # another application's file is refused, never changed
            _set_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = OFF")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Begin a SQLite transaction: IMMEDIATE when the connection asks for it, else deferred."""
    mode = conn.get_execution_options().get(BEGIN_OPTION, "")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


def open_engine(url: URL) -> Engine:
    """Create the engine for a journal URL from :func:`normalise_url` (no connection made yet).

    SQLite files get their directory created and the pragmas of the module docstring on every
    connection; an in-memory SQLite database uses one shared connection.
    """
    if url.get_backend_name() == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=4)
    if is_memory_sqlite(url):
        engine = sa.create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        assert url.database is not None
        Path(url.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine
