"""Round trips from fills: first-in first-out lot matching per (strategy, symbol).

:func:`build_trades` walks fills in time order. A fill that adds to the position (or opens it)
becomes a lot; a fill against the position closes the oldest lots first, and what it closes is
a trade leg; the rest of a fill that flips the position opens a lot the other way. Consecutive
closing fills of the same order are one :class:`TradeRow`. Sizes follow ``position_change``
(so a buy whose fee was charged in the base asset opens a lot of what was actually received);
fees are the fills' ``fee_in_quote``, shared pro rata between what a fill closes and opens.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from real_trade.persistence.records import FillRow, TradeRow
from real_trade.vocabulary import OrderSide

__all__ = ["build_trades"]

_EPS = 1e-12


@dataclass
class _Lot:
    size: float
    price: float
    time_ms: int
    fee_per_unit: float


@dataclass
class _Book:
    direction: int = 0
    lots: deque[_Lot] = field(default_factory=deque)


@dataclass
class _Trade:
    strategy: str
    symbol: str
    direction: int
    exit_coid: str
    amount: float = 0.0
    entry_ms: int = 0
    exit_ms: int = 0
    entry_cost: float = 0.0
    exit_value: float = 0.0
    fees: float = 0.0

    def row(self) -> TradeRow:
        gross = self.exit_value - self.entry_cost
        pnl = (gross if self.direction > 0 else -gross) - self.fees
        return TradeRow(
            strategy=self.strategy,
            symbol=self.symbol,
            side="long" if self.direction > 0 else "short",
            amount=self.amount,
            entry_ms=self.entry_ms,
            exit_ms=self.exit_ms,
            entry_price=self.entry_cost / self.amount,
            exit_price=self.exit_value / self.amount,
            fees=self.fees,
            pnl=pnl,
            exit_client_order_id=self.exit_coid,
        )


def _signed_change(fill: FillRow) -> float:
    if fill.position_change:
        return fill.position_change
    return fill.amount if fill.side == OrderSide.BUY else -fill.amount


def build_trades(fills: Iterable[FillRow]) -> list[TradeRow]:
    """Match ``fills`` (in time order) FIFO into round trips, ordered by exit time.

    Fills of different strategies or symbols never offset each other. Positions still open at
    the end produce no trade.
    """
    books: dict[tuple[str, str], _Book] = {}
    trades: list[_Trade] = []
    last: dict[tuple[str, str], _Trade] = {}
    for fill in fills:
        change = _signed_change(fill)
        if abs(change) <= _EPS:
            continue
        key = (fill.strategy, fill.symbol)
        book = books.setdefault(key, _Book())
        sign = 1 if change > 0 else -1
        qty = abs(change)
        fee_per_unit = fill.fee_in_quote / qty
        closed = entry_cost = entry_fees = 0.0
        entry_ms: int | None = None
        while qty > _EPS and book.lots and book.direction == -sign:
            lot = book.lots[0]
            take = min(lot.size, qty)
            entry_cost += take * lot.price
            entry_fees += take * lot.fee_per_unit
            entry_ms = lot.time_ms if entry_ms is None else min(entry_ms, lot.time_ms)
            lot.size -= take
            qty -= take
            closed += take
            if lot.size <= _EPS * max(1.0, take):
                book.lots.popleft()
        if not book.lots:
            book.direction = 0
        if entry_ms is not None:  # something was closed
            trade = last.get(key)
            if trade is None or trade.exit_coid != fill.client_order_id:
                trade = _Trade(fill.strategy, fill.symbol, -sign, fill.client_order_id)
                trade.entry_ms = entry_ms
                trades.append(trade)
                last[key] = trade
            trade.amount += closed
            trade.entry_ms = min(trade.entry_ms, entry_ms)
            trade.exit_ms = max(trade.exit_ms, fill.time_ms)
            trade.entry_cost += entry_cost
            trade.exit_value += closed * fill.price
            trade.fees += entry_fees + closed * fee_per_unit
        if qty > _EPS:
            book.lots.append(_Lot(qty, fill.price, fill.time_ms, fee_per_unit))
            book.direction = sign
            last.pop(key, None)
    rows = [t.row() for t in trades]
    rows.sort(key=lambda r: r.exit_ms)
    return rows
