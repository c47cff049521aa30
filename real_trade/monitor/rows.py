"""The bus's events as the journal's rows, so a live monitor and a journal reader return the
same types: :class:`~real_trade.execution.events.FillEvent` as a
:class:`~real_trade.persistence.records.FillRow`, an
:class:`~real_trade.execution.events.OrderUpdate` as an
:class:`~real_trade.persistence.records.OrderRow`, a round trip as a
:class:`~real_trade.monitor.metrics.ClosedTrade`."""

from __future__ import annotations

from real_trade.execution.events import FillEvent, OrderUpdate
from real_trade.monitor.metrics import ClosedTrade
from real_trade.persistence.records import FillRow, OrderRow, TradeRow

__all__ = ["closed_trade", "fill_row", "order_row"]


def fill_row(fill: FillEvent | FillRow) -> FillRow:
    """The journal row of a fill event (a row is returned as it is)."""
    if isinstance(fill, FillRow):
        return fill
    return FillRow(
        strategy=fill.strategy,
        client_order_id=fill.client_order_id,
        exchange_order_id=fill.exchange_order_id,
        symbol=fill.symbol,
        side=fill.side,
        trade_id=fill.trade_id,
        price=fill.price,
        amount=fill.amount,
        commission=fill.commission,
        commission_asset=fill.commission_asset,
        fee_in_quote=fill.fee_in_quote,
        time_ms=fill.time_ms,
        position_change=fill.position_change,
        local_id=fill.local_id,
        is_maker=fill.is_maker,
    )


def order_row(update: OrderUpdate, created_ms: int | None = None) -> OrderRow:
    """The journal row of an order's latest update (``created_ms``: its first update's time)."""
    return OrderRow(
        client_order_id=update.client_order_id,
        strategy=update.strategy,
        local_id=update.local_id,
        symbol=update.symbol,
        side=update.side,
        kind=update.kind,
        amount=update.amount,
        price=update.price,
        stop_price=update.stop_price,
        params={},
        time_ms=update.time_ms if created_ms is None else created_ms,
        state=update.state.name,
        exchange_order_id=update.exchange_order_id,
        filled=update.filled,
        average_price=update.average_price,
        reason=update.reason,
        updated_ms=update.time_ms,
    )


def closed_trade(trade: TradeRow) -> ClosedTrade:
    """The metrics' view of a journal round trip (its ``pnl`` is after fees)."""
    return ClosedTrade(
        symbol=trade.symbol,
        opened_ms=trade.entry_ms,
        closed_ms=trade.exit_ms,
        pnl=trade.pnl + trade.fees,
        pnl_net=trade.pnl,
        fees=trade.fees,
    )
