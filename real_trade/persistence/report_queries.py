"""The journal's report queries, as functions of an open connection (SQLAlchemy Core).

Time ranges are half-open, ``start_ms <= t < end_ms``, either bound optional; ``strategy=None``
means every strategy. :class:`~real_trade.persistence.journal.Journal` wraps these with its
own connection handling and strategy scoping; they are public for tools that hold a
connection of their own (a report inside a larger transaction).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from real_trade.bus import topic_matches
from real_trade.persistence.records import (
    TERMINAL_STATES,
    AccountSnapshot,
    EquityPoint,
    FillRow,
    JournalEvent,
    OrderRow,
    TradeRow,
)
from real_trade.persistence.schema import (
    equity,
    events,
    fills,
    intents,
    order_events,
    snapshots,
)
from real_trade.persistence.trades import build_trades

__all__ = [
    "query_client_order_ids",
    "query_equity",
    "query_events",
    "query_fills",
    "query_last_fill_ms",
    "query_latest_snapshot",
    "query_orders",
    "query_trades",
]

_TERMINAL = sorted(TERMINAL_STATES)


def _where(
    col: Any, start_ms: int | None, end_ms: int | None, strategy_col: Any, strategy: str | None
) -> list[Any]:
    conds: list[Any] = []
    if start_ms is not None:
        conds.append(col >= start_ms)
    if end_ms is not None:
        conds.append(col < end_ms)
    if strategy is not None:
        conds.append(strategy_col == strategy)
    return conds


def _latest_event_per_order() -> sa.Subquery:
    oe = order_events
    ids = (
        sa.select(sa.func.max(oe.c.id).label("id"))
        .where(oe.c.client_order_id != "")
        .group_by(oe.c.client_order_id)
        .subquery("latest_ids")
    )
    return sa.select(oe).join(ids, oe.c.id == ids.c.id).subquery("latest")


def _is_open(state_col: Any) -> Any:
    return sa.or_(state_col.is_(None), state_col.not_in(_TERMINAL))


def query_orders(
    conn: Connection,
    start_ms: int | None = None,
    end_ms: int | None = None,
    *,
    strategy: str | None = None,
    open_only: bool = False,
    intents_only: bool = False,
) -> list[OrderRow]:
    """Orders created in the range (by intent time, or first event time for orders without an
    intent), each with its latest state; ``open_only`` keeps those without an outcome,
    ``intents_only`` leaves out orders that have events but no intent."""
    latest = _latest_event_per_order()
    q = sa.select(
        intents,
        latest.c.state,
        latest.c.exchange_order_id,
        latest.c.filled,
        latest.c.average_price,
        latest.c.reason,
        latest.c.time_ms.label("updated_ms"),
    ).select_from(intents.outerjoin(latest, latest.c.client_order_id == intents.c.client_order_id))
    q = q.where(*_where(intents.c.time_ms, start_ms, end_ms, intents.c.strategy, strategy))
    if open_only:
        q = q.where(_is_open(latest.c.state))
    rows = [_order_from_intent(r) for r in conn.execute(q).mappings()]
    if not intents_only:
        rows.extend(_orders_without_intent(conn, start_ms, end_ms, strategy, open_only))
    rows.sort(key=lambda o: (o.time_ms, o.client_order_id, o.local_id))
    return rows


def _order_from_intent(r: RowMapping) -> OrderRow:
    return OrderRow(
        client_order_id=r["client_order_id"],
        strategy=r["strategy"],
        local_id=int(r["local_id"]),
        symbol=r["symbol"],
        side=r["side"],
        kind=r["kind"],
        amount=r["amount"],
        price=r["price"],
        stop_price=r["stop_price"],
        params=json.loads(r["params"]),
        time_ms=int(r["time_ms"]),
        state=r["state"],
        exchange_order_id=r["exchange_order_id"],
        filled=r["filled"] or 0.0,
        average_price=r["average_price"],
        reason=r["reason"],
        updated_ms=None if r["updated_ms"] is None else int(r["updated_ms"]),
    )


def _orders_without_intent(
    conn: Connection,
    start_ms: int | None,
    end_ms: int | None,
    strategy: str | None,
    open_only: bool,
) -> list[OrderRow]:
    oe = order_events
    has_intent = sa.exists().where(intents.c.client_order_id == oe.c.client_order_id)
    groups = (
        sa.select(sa.func.max(oe.c.id).label("id"), sa.func.min(oe.c.time_ms).label("first_ms"))
        .where(sa.or_(oe.c.client_order_id == "", ~has_intent))
        .group_by(oe.c.strategy, oe.c.client_order_id, oe.c.local_id, oe.c.symbol)
        .subquery("orphans")
    )
    q = sa.select(oe, groups.c.first_ms).join(groups, oe.c.id == groups.c.id)
    q = q.where(*_where(groups.c.first_ms, start_ms, end_ms, oe.c.strategy, strategy))
    if open_only:
        q = q.where(_is_open(oe.c.state))
    return [
        OrderRow(
            client_order_id=r["client_order_id"],
            strategy=r["strategy"],
            local_id=int(r["local_id"]),
            symbol=r["symbol"],
            side=r["side"],
            kind=r["kind"],
            amount=r["amount"],
            price=r["price"],
            stop_price=r["stop_price"],
            params={},
            time_ms=int(r["first_ms"]),
            state=r["state"],
            exchange_order_id=r["exchange_order_id"],
            filled=r["filled"],
            average_price=r["average_price"],
            reason=r["reason"],
            updated_ms=int(r["time_ms"]),
        )
        for r in conn.execute(q).mappings()
    ]


def query_fills(
    conn: Connection,
    start_ms: int | None = None,
    end_ms: int | None = None,
    *,
    strategy: str | None = None,
    symbol: str | None = None,
) -> list[FillRow]:
    """Fills executed in the range, oldest first (ties in the order they were written)."""
    q = sa.select(fills).where(
        *_where(fills.c.time_ms, start_ms, end_ms, fills.c.strategy, strategy)
    )
    if symbol is not None:
        q = q.where(fills.c.symbol == symbol)
    q = q.order_by(fills.c.time_ms, fills.c.id)
    return [
        FillRow(
            strategy=r["strategy"],
            client_order_id=r["client_order_id"],
            exchange_order_id=r["exchange_order_id"],
            symbol=r["symbol"],
            side=r["side"],
            trade_id=r["trade_id"],
            price=r["price"],
            amount=r["amount"],
            commission=r["commission"],
            commission_asset=r["commission_asset"],
            fee_in_quote=r["fee_in_quote"],
            time_ms=int(r["time_ms"]),
            position_change=r["position_change"],
            local_id=int(r["local_id"]),
            is_maker=None if r["is_maker"] is None else bool(r["is_maker"]),
        )
        for r in conn.execute(q).mappings()
    ]


def query_trades(
    conn: Connection,
    start_ms: int | None = None,
    end_ms: int | None = None,
    *,
    strategy: str | None = None,
    symbol: str | None = None,
) -> list[TradeRow]:
    """Round trips (FIFO, see :mod:`~real_trade.persistence.trades`) closed in the range.

    Every fill before ``end_ms`` is matched, so a trade opened before ``start_ms`` and closed
    inside the range is reported with its true entry.
    """
    matched = build_trades(query_fills(conn, None, end_ms, strategy=strategy, symbol=symbol))
    return [t for t in matched if start_ms is None or t.exit_ms >= start_ms]


def query_equity(
    conn: Connection,
    start_ms: int | None = None,
    end_ms: int | None = None,
    *,
    strategy: str | None = None,
) -> list[EquityPoint]:
    """The equity curve in the range, oldest first."""
    q = (
        sa.select(equity)
        .where(*_where(equity.c.time_ms, start_ms, end_ms, equity.c.strategy, strategy))
        .order_by(equity.c.time_ms, equity.c.id)
    )
    return [
        EquityPoint(int(r["time_ms"]), r["equity"], r["cash"], r["strategy"])
        for r in conn.execute(q).mappings()
    ]


def query_events(
    conn: Connection,
    kind: str | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    *,
    strategy: str | None = None,
) -> list[JournalEvent]:
    """Journal events in the range, oldest first; ``kind`` is a name or a bus-style pattern
    (``"reconcile.*"``, ``"killswitch.**"``)."""
    q = sa.select(events).where(
        *_where(events.c.time_ms, start_ms, end_ms, events.c.strategy, strategy)
    )
    pattern = kind is not None and "*" in kind
    if kind is not None and not pattern:
        q = q.where(events.c.kind == kind)
    q = q.order_by(events.c.time_ms, events.c.id)
    rows = [
        JournalEvent(
            r["kind"], r["strategy"], int(r["time_ms"]), json.loads(r["payload"]), int(r["id"])
        )
        for r in conn.execute(q).mappings()
    ]
    if pattern:
        assert kind is not None
        rows = [e for e in rows if topic_matches(kind, e.kind)]
    return rows


def query_client_order_ids(conn: Connection, strategy: str | None = None) -> set[str]:
    """Every client order id the journal has seen (intents, order events, fills)."""
    ids: set[str] = set()
    for table in (intents, order_events, fills):
        q = sa.select(table.c.client_order_id).distinct()
        if strategy is not None:
            q = q.where(table.c.strategy == strategy)
        ids.update(conn.execute(q).scalars())
    ids.discard("")
    return ids


def query_last_fill_ms(
    conn: Connection, symbol: str | None = None, strategy: str | None = None
) -> int | None:
    """The time of the newest fill (of ``symbol`` / ``strategy`` when given), or None."""
    q = sa.select(sa.func.max(fills.c.time_ms))
    if symbol is not None:
        q = q.where(fills.c.symbol == symbol)
    if strategy is not None:
        q = q.where(fills.c.strategy == strategy)
    value = conn.execute(q).scalar()
    return None if value is None else int(value)


def query_latest_snapshot(conn: Connection, strategy: str | None = None) -> AccountSnapshot | None:
    """The newest account snapshot (of ``strategy`` when given), or None."""
    q = sa.select(snapshots).order_by(snapshots.c.time_ms.desc(), snapshots.c.id.desc()).limit(1)
    if strategy is not None:
        q = q.where(snapshots.c.strategy == strategy)
    r = conn.execute(q).mappings().first()
    if r is None:
        return None
    balances: dict[str, Sequence[float]] = json.loads(r["balances"])
    return AccountSnapshot(
        strategy=r["strategy"],
        time_ms=int(r["time_ms"]),
        cash=r["cash"],
        equity=r["equity"],
        balances={asset: (float(v[0]), float(v[1])) for asset, v in balances.items()},
        positions={k: float(v) for k, v in json.loads(r["positions"]).items()},
    )
