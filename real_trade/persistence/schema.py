"""The journal's tables as they are at the current schema version (SQLAlchemy Core, no ORM).

These definitions are what the journal reads and writes; the database is brought to this shape
by the numbered steps of :mod:`real_trade.persistence.migrations` (never by
``metadata.create_all``), and a test checks that the two agree. Times are epoch milliseconds,
amounts and prices double precision, JSON is stored as text (``to_json``). ``order_events`` is
append-only; a fill is unique on (symbol, trade id, client order id), so writing it again is a
no-op.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "control_state",
    "equity",
    "events",
    "fills",
    "intents",
    "metadata",
    "notification_outbox",
    "order_events",
    "schema_version",
    "snapshots",
]

metadata = sa.MetaData()
"""The current schema's tables."""

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # INTEGER PRIMARY KEY = rowid


def _id() -> sa.Column[int]:
    return sa.Column("id", _ID, primary_key=True, autoincrement=True)


schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.String, nullable=False),
    sa.Column("applied_ms", sa.BigInteger, nullable=False),
)

intents = sa.Table(
    "intents",
    metadata,
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
    sa.Index("ix_intents_time", "time_ms"),
)

order_events = sa.Table(
    "order_events",
    metadata,
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
    sa.Column("emulated", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_order_events_coid", "client_order_id", "id"),
    sa.Index("ix_order_events_strategy_time", "strategy", "time_ms"),
)

fills = sa.Table(
    "fills",
    metadata,
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
    sa.Index("ix_fills_time", "time_ms"),
)

snapshots = sa.Table(
    "snapshots",
    metadata,
    _id(),
    sa.Column("strategy", sa.String, nullable=False),
    sa.Column("time_ms", sa.BigInteger, nullable=False),
    sa.Column("cash", sa.Double, nullable=False),
    sa.Column("equity", sa.Double, nullable=False),
    sa.Column("balances", sa.Text, nullable=False),
    sa.Column("positions", sa.Text, nullable=False),
    sa.Index("ix_snapshots_strategy_time", "strategy", "time_ms"),
)

equity = sa.Table(
    "equity",
    metadata,
    _id(),
    sa.Column("strategy", sa.String, nullable=False),
    sa.Column("time_ms", sa.BigInteger, nullable=False),
    sa.Column("equity", sa.Double, nullable=False),
    sa.Column("cash", sa.Double, nullable=False),
    sa.Index("ix_equity_strategy_time", "strategy", "time_ms"),
)

events = sa.Table(
    "events",
    metadata,
    _id(),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("strategy", sa.String, nullable=False),
    sa.Column("time_ms", sa.BigInteger, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Index("ix_events_kind_time", "kind", "time_ms"),
    sa.Index("ix_events_time", "time_ms"),
)

control_state = sa.Table(
    "control_state",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)

notification_outbox = sa.Table(
    "notification_outbox",
    metadata,
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
"""Alerts waiting for (or done with) delivery: one row per alert and channel, written by the
notifier's bus handlers and updated by its delivery worker (:mod:`real_trade.notifications`)."""
