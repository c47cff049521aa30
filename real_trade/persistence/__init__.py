"""The order journal: intents before they are sent, outcomes after, and the account over time.

:class:`Journal` (in :mod:`~real_trade.persistence.journal`) stores on SQLite by default (a
WAL-mode file several processes may open at once) or PostgreSQL by URL, through SQLAlchemy Core.
:mod:`~real_trade.persistence.records` holds what is written (:class:`OrderIntent`,
:class:`AccountSnapshot`) and what the report queries return; :mod:`~.schema` and
:mod:`~.migrations` the versioned schema; :mod:`~.trades` the FIFO round-trip matching.
"""

from __future__ import annotations

from real_trade.persistence.database import JournalError
from real_trade.persistence.journal import Journal, JournalStats
from real_trade.persistence.migrations import SCHEMA_VERSION, SchemaVersionError, migrate
from real_trade.persistence.records import (
    ACCOUNT_SNAPSHOT_TOPIC,
    TERMINAL_STATES,
    AccountSnapshot,
    EquityPoint,
    FillRow,
    JournalEvent,
    OrderIntent,
    OrderRow,
    TradeRow,
)
from real_trade.persistence.trades import build_trades

__all__ = [
    "ACCOUNT_SNAPSHOT_TOPIC",
    "SCHEMA_VERSION",
    "TERMINAL_STATES",
    "AccountSnapshot",
    "EquityPoint",
    "FillRow",
    "Journal",
    "JournalError",
    "JournalEvent",
    "JournalStats",
    "OrderIntent",
    "OrderRow",
    "SchemaVersionError",
    "TradeRow",
    "build_trades",
    "migrate",
]
