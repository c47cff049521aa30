"""Rows the journal writes, built from the events it records, and its idempotent inserts.

Each ``*_values`` function turns one typed event into the column values of its table (strategy
decided by the caller, times filled with "now" when the event carries none). The insert
statements are dialect-aware: ``INSERT ... ON CONFLICT DO NOTHING`` on SQLite and PostgreSQL,
so an intent or a fill written twice is kept once and the second write reports no new row.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from real_trade.execution.events import FillEvent, OrderUpdate
from real_trade.persistence.records import AccountSnapshot, OrderIntent, to_json
from real_trade.persistence.schema import control_state

__all__ = [
    "event_payload",
    "fill_values",
    "insert_ignoring_duplicates",
    "intent_values",
    "now_ms",
    "risk_rejection_payload",
    "snapshot_values",
    "state_upsert",
    "update_values",
]


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return int(time.time() * 1000)


def insert_ignoring_duplicates(dialect: str, table: sa.Table) -> Insert:
    """``INSERT`` into ``table`` that skips a row whose primary or unique key already exists.

    The result's ``rowcount`` tells whether the row was new (1) or already there (0).
    """
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return stmt.on_conflict_do_nothing().execution_options(preserve_rowcount=True)


def state_upsert(dialect: str) -> Insert:
    """``INSERT`` of a control-state ``(key, value, updated_ms)`` replacing an existing key."""
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(control_state)
    return stmt.on_conflict_do_update(
        index_elements=[control_state.c.key],
        set_={"value": stmt.excluded.value, "updated_ms": stmt.excluded.updated_ms},
    )


def intent_values(intent: OrderIntent, strategy: str) -> dict[str, Any]:
    """The ``intents`` row of ``intent`` under ``strategy``."""
    return {
        "client_order_id": intent.client_order_id,
        "strategy": strategy,
        "local_id": intent.local_id,
        "symbol": intent.symbol,
        "side": intent.side,
        "kind": intent.kind,
        "amount": float(intent.amount),
        "price": intent.price,
        "stop_price": intent.stop_price,
        "params": to_json(dict(intent.params)),
        "time_ms": intent.time_ms or now_ms(),
    }


def update_values(update: OrderUpdate, strategy: str) -> dict[str, Any]:
    """The ``order_events`` row of one order state change under ``strategy``."""
    return {
        "strategy": strategy,
        "local_id": update.local_id,
        "client_order_id": update.client_order_id or "",
        "exchange_order_id": update.exchange_order_id,
        "symbol": update.symbol,
        "side": str(update.side),
        "kind": str(update.kind),
        "state": update.state.name,
        "amount": float(update.amount),
        "filled": float(update.filled),
        "average_price": update.average_price,
        "price": update.price,
        "stop_price": update.stop_price,
        "reason": update.reason,
        "time_ms": update.time_ms or now_ms(),
        "emulated": bool(update.emulated),
    }


def fill_values(fill: FillEvent, strategy: str) -> dict[str, Any]:
    """The ``fills`` row of one execution under ``strategy``."""
    return {
        "strategy": strategy,
        "local_id": fill.local_id,
        "client_order_id": fill.client_order_id or "",
        "exchange_order_id": fill.exchange_order_id,
        "symbol": fill.symbol,
        "side": fill.side,
        "trade_id": str(fill.trade_id),
        "price": float(fill.price),
        "amount": float(fill.amount),
        "commission": float(fill.commission),
        "commission_asset": fill.commission_asset,
        "fee_in_quote": float(fill.fee_in_quote),
        "position_change": float(fill.position_change),
        "is_maker": fill.is_maker,
        "time_ms": fill.time_ms or now_ms(),
    }


def snapshot_values(
    snapshot: AccountSnapshot, strategy: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``snapshots`` row and the ``equity`` row of ``snapshot`` under ``strategy``."""
    time_ms = snapshot.time_ms or now_ms()
    balances = {k: [float(v[0]), float(v[1])] for k, v in snapshot.balances.items()}
    row = {
        "strategy": strategy,
        "time_ms": time_ms,
        "cash": float(snapshot.cash),
        "equity": float(snapshot.equity),
        "balances": to_json(balances),
        "positions": to_json({k: float(v) for k, v in snapshot.positions.items()}),
    }
    point = {
        "strategy": strategy,
        "time_ms": time_ms,
        "equity": float(snapshot.equity),
        "cash": float(snapshot.cash),
    }
    return row, point


def risk_rejection_payload(decision: Any) -> dict[str, Any]:
    """The ``risk.rejected`` payload of a denied :class:`~real_trade.risk.engine.RiskDecision`."""
    order = getattr(decision, "order", None)
    return {
        "rule": decision.rule,
        "limit": decision.limit,
        "value": decision.value,
        "reason": decision.reason,
        "symbol": getattr(order, "symbol", None),
        "side": getattr(order, "side", None),
        "amount": getattr(order, "amount", None),
        "price": getattr(order, "price", None),
    }


def event_payload(event: Any) -> dict[str, Any]:
    """A bus event as a JSON-able dict: its ``to_dict()`` when it has one (a kill report), a
    dataclass's fields, a mapping as it is, else its text."""
    to_dict = getattr(event, "to_dict", None)
    if callable(to_dict) and not isinstance(event, type):
        return dict(to_dict())
    if dataclasses.is_dataclass(event) and not isinstance(event, type):
        return dataclasses.asdict(event)
    if isinstance(event, Mapping):
        return {str(k): v for k, v in event.items()}
    return {"value": str(event)}
