"""Versioned schema migrations of the journal: numbered steps, applied in order when it opens.

The schema ships inside the package and is tiny, so there is no Alembic here (no extra
dependency, no migration scripts directory to install, no ``env.py``): :data:`MIGRATIONS` is a
list of :class:`Migration` steps, each a function given a connection inside a transaction.
:func:`migrate` applies the steps above the database's version one transaction per step (DDL is
transactional on both SQLite and PostgreSQL, so a step is applied entirely or not at all), under
a lock (SQLite's write lock, a PostgreSQL advisory lock) so that several processes opening a
fresh journal at once migrate it once. Every applied step adds a row to ``schema_version``.
A database newer than this code is refused with a :class:`SchemaVersionError` naming both
versions.

Each step defines the tables it creates itself (frozen as of that version) rather than using
:mod:`real_trade.persistence.schema`, which always describes the *current* shape; a test checks
that the steps produce exactly that shape. To change the schema: add a step at the end, update
``schema.py``, never edit a released step.

History: version 1 created intents, order_events, fills, snapshots, equity; version 2 added the
events and control_state tables, ``order_events.emulated`` and time indexes; version 3 added
the notification outbox (``notification_outbox``: one row per alert and channel).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from real_trade.persistence.database import BEGIN_OPTION, JournalConfigError

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "SchemaVersionError",
    "current_version",
    "migrate",
]

_PG_LOCK_KEY = 0x72746A6F  # "rtjo": the advisory lock serialising migrations on PostgreSQL


class SchemaVersionError(JournalConfigError):
    """The journal database has a schema version this code does not know (it is newer)."""


_JOURNAL_TABLES = frozenset(
    {
        "schema_version",
        "intents",
        "order_events",
        "fills",
        "snapshots",
        "equity",
        "events",
        "control_state",
        "notification_outbox",
    }
)


def _check_is_journal(conn: Connection, engine: Engine) -> None:
    """Refuse a database without a schema version that is not empty: another application's.

    A SQLite file is one application's database, so any table of its own makes it foreign; a
    PostgreSQL database is often shared, so there only tables named like the journal's are.
    """
    names = set(sa.inspect(conn).get_table_names())
    if conn.dialect.name != "sqlite":
        names &= _JOURNAL_TABLES
    if not names:
        return
    where = engine.url.render_as_string(hide_password=True)
    shown = ", ".join(sorted(names)[:6]) + (", ..." if len(names) > 6 else "")
    raise JournalConfigError(
        f"the journal {where} is not a real_trade journal: it holds tables ({shown}) but no "
        "schema_version, so it belongs to another application; real_trade does not write into it",
        fix="point journal.url at a new file (it is created) or at an existing real_trade journal",
    )


@dataclass(frozen=True)
class Migration:
    """One numbered schema step: ``apply(connection)`` runs inside the step's transaction."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)


def _v1(conn: Connection) -> None:
    meta = sa.MetaData()
    sa.Table(
        "schema_version",
        meta,
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("description", sa.String, nullable=False),
        sa.Column("applied_ms", sa.BigInteger, nullable=False),
    )
    sa.Table(
        "intents",
        meta,
        sa.Column("client_order_id", sa.String, primary_key=True),
        sa.Column("strategy", sa.String, nullable=False),
        sa.Column("local_id", sa.BigInteger, nullable=False),
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("side", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("amount", sa.Double, nullable=False),
        sa.Column("price", sa.Double),
        sa.Column("stop_price", sa.Double),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
        sa.Index("ix_intents_strategy_time", "strategy", "time_ms"),
    )
    sa.Table(
        "order_events",
        meta,
        _id(),
        sa.Column("strategy", sa.String, nullable=False),
        sa.Column("local_id", sa.BigInteger, nullable=False),
        sa.Column("client_order_id", sa.String, nullable=False),
        sa.Column("exchange_order_id", sa.String),
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("side", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("amount", sa.Double, nullable=False),
        sa.Column("filled", sa.Double, nullable=False),
        sa.Column("average_price", sa.Double),
        sa.Column("price", sa.Double),
        sa.Column("stop_price", sa.Double),
        sa.Column("reason", sa.Text),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
        sa.Index("ix_order_events_coid", "client_order_id", "id"),
    )
    sa.Table(
        "fills",
        meta,
        _id(),
        sa.Column("strategy", sa.String, nullable=False),
        sa.Column("local_id", sa.BigInteger, nullable=False),
        sa.Column("client_order_id", sa.String, nullable=False),
        sa.Column("exchange_order_id", sa.String),
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("side", sa.String, nullable=False),
        sa.Column("trade_id", sa.String, nullable=False),
        sa.Column("price", sa.Double, nullable=False),
        sa.Column("amount", sa.Double, nullable=False),
        sa.Column("commission", sa.Double, nullable=False),
        sa.Column("commission_asset", sa.String),
        sa.Column("fee_in_quote", sa.Double, nullable=False),
        sa.Column("position_change", sa.Double, nullable=False),
        sa.Column("is_maker", sa.Boolean),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("symbol", "trade_id", "client_order_id", name="uq_fills_trade"),
        sa.Index("ix_fills_strategy_time", "strategy", "time_ms"),
    )
    sa.Table(
        "snapshots",
        meta,
        _id(),
        sa.Column("strategy", sa.String, nullable=False),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
        sa.Column("cash", sa.Double, nullable=False),
        sa.Column("equity", sa.Double, nullable=False),
        sa.Column("balances", sa.Text, nullable=False),
        sa.Column("positions", sa.Text, nullable=False),
        sa.Index("ix_snapshots_strategy_time", "strategy", "time_ms"),
    )
    sa.Table(
        "equity",
        meta,
        _id(),
        sa.Column("strategy", sa.String, nullable=False),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
        sa.Column("equity", sa.Double, nullable=False),
        sa.Column("cash", sa.Double, nullable=False),
        sa.Index("ix_equity_strategy_time", "strategy", "time_ms"),
    )
    meta.create_all(conn, checkfirst=False)


def _v2(conn: Connection) -> None:
    meta = sa.MetaData()
    sa.Table(
        "events",
        meta,
        _id(),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("strategy", sa.String, nullable=False),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Index("ix_events_kind_time", "kind", "time_ms"),
        sa.Index("ix_events_time", "time_ms"),
    )
    sa.Table(
        "control_state",
        meta,
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    meta.create_all(conn, checkfirst=False)
    conn.exec_driver_sql(
        "ALTER TABLE order_events ADD COLUMN emulated BOOLEAN NOT NULL DEFAULT FALSE"
    )
    for name, table, columns in (
        ("ix_order_events_strategy_time", "order_events", "strategy, time_ms"),
        ("ix_intents_time", "intents", "time_ms"),
        ("ix_fills_time", "fills", "time_ms"),
    ):
        conn.exec_driver_sql(f"CREATE INDEX {name} ON {table} ({columns})")


def _v3(conn: Connection) -> None:
    meta = sa.MetaData()
    sa.Table(
        "notification_outbox",
        meta,
        _id(),
        sa.Column("channel", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("level", sa.String, nullable=False),
        sa.Column("strategy", sa.String, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("dedup_key", sa.String, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("sent_ms", sa.BigInteger),
        sa.Column("last_error", sa.Text),
        sa.Index("ix_notification_outbox_channel_status", "channel", "status", "id"),
        sa.Index("ix_notification_outbox_dedup", "channel", "dedup_key", "sent_ms"),
    )
    meta.create_all(conn, checkfirst=False)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "orders, fills, snapshots and equity", _v1),
    Migration(2, "events, control state, emulated orders, time indexes", _v2),
    Migration(3, "notification outbox", _v3),
)
"""Every schema step, in order; the last one's number is :data:`SCHEMA_VERSION`."""

SCHEMA_VERSION = MIGRATIONS[-1].version
"""The schema version this code reads and writes."""


def current_version(conn: Connection) -> int:
    """The schema version of the database behind ``conn`` (0 for an empty database)."""
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    value = conn.exec_driver_sql("SELECT MAX(version) FROM schema_version").scalar()
    return int(value or 0)


def _check_not_newer(version: int, engine: Engine) -> None:
    if version > SCHEMA_VERSION:
        where = engine.url.render_as_string(hide_password=True)
        raise SchemaVersionError(
            f"the journal {where} has schema version {version}, newer than this real_trade "
            f"understands (schema version {SCHEMA_VERSION}); upgrade real_trade, or point "
            "journal.url at another database"
        )


def migrate(engine: Engine, target: int | None = None) -> int:
    """Bring the database up to ``target`` (default :data:`SCHEMA_VERSION`); return its version.

    Steps above the current version and up to ``target`` run in order, one transaction each,
    under a lock that makes concurrent openers wait; a database already there is only read.
    Raises :class:`SchemaVersionError` when the database is newer than this code.
    """
    goal = SCHEMA_VERSION if target is None else target
    if not 0 <= goal <= SCHEMA_VERSION:
        raise ValueError(f"target schema version must be 0..{SCHEMA_VERSION}, got {goal}")
    with engine.connect() as conn:
        version = current_version(conn)
        if version == 0:
            _check_is_journal(conn, engine)
        conn.rollback()
        _check_not_newer(version, engine)
        if version >= goal:
            return version
        conn.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        while True:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
                version = current_version(conn)
                _check_not_newer(version, engine)
                step = next((m for m in MIGRATIONS if version < m.version <= goal), None)
                if step is None:
                    return version
                step.apply(conn)
                conn.execute(
                    sa.text(
                        "INSERT INTO schema_version (version, description, applied_ms) "
                        "VALUES (:version, :description, :applied_ms)"
                    ),
                    {
                        "version": step.version,
                        "description": step.description,
                        "applied_ms": int(time.time() * 1000),
                    },
                )
