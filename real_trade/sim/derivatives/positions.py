"""Positions of linear perpetuals: signed size, exact cost basis, realized PnL on reduce and flip.

A :class:`Position` keeps its size in contracts (signed: long > 0, short < 0) and its cost
basis ``cost`` (signed quote: the sum of ``qty * contract_size * price`` of what is open), so
unrealized PnL is ``qty * contract_size * mark - cost`` and the entry price ``cost / (qty *
contract_size)``. Reducing ``c`` of ``q`` contracts removes ``cost * c / q`` of the basis
(rounded to :data:`PNL_QUANTUM`; the remainder stays in the basis), so wallet plus unrealized
PnL over all positions is conserved exactly by every trade.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from real_trade.sim.types import ZERO, PositionSide

__all__ = ["PNL_QUANTUM", "Position", "TradeEffect"]

PNL_QUANTUM = Decimal("0.00000001")
"""The settlement asset's precision: realized PnL, margins and funding are rounded to it."""


@dataclass(frozen=True, slots=True)
class TradeEffect:
    """What one fill did to a position: contracts closed and opened, PnL realized, and the
    isolated margin the closed part gave back."""

    closed: Decimal
    opened: Decimal
    realized: Decimal
    released_margin: Decimal


@dataclass(slots=True)
class Position:
    """One position of an account on a contract (see the module docstring).

    ``isolated_margin`` is the margin held by an isolated position (0 in cross margin);
    ``realized_pnl`` sums what the position has realized since it was first opened.
    """

    account_id: int
    symbol: str
    side: PositionSide
    contract_size: Decimal
    qty: Decimal = ZERO
    cost: Decimal = ZERO
    isolated_margin: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    update_time_ms: int = 0

    @property
    def is_open(self) -> bool:
        """Whether the position holds contracts."""
        return self.qty != 0

    @property
    def entry_price(self) -> Decimal:
        """The average entry price (0 when flat)."""
        if not self.qty:
            return ZERO
        return (self.cost / (self.qty * self.contract_size)).quantize(PNL_QUANTUM, ROUND_HALF_EVEN)

    def notional(self, mark: Decimal) -> Decimal:
        """The position's absolute value at ``mark``."""
        return abs(self.qty) * self.contract_size * mark

    def unrealized(self, mark: Decimal) -> Decimal:
        """Unrealized PnL at ``mark`` (exact)."""
        return self.qty * self.contract_size * mark - self.cost

    def apply(self, signed_qty: Decimal, price: Decimal) -> TradeEffect:
        """Apply a fill of ``signed_qty`` contracts (buy > 0) at ``price``: close first, then open
        the rest in the fill's direction (a flip in one-way mode)."""
        q, cs = self.qty, self.contract_size
        if q == 0 or (q > 0) == (signed_qty > 0):
            self.qty += signed_qty
            self.cost += signed_qty * cs * price
            return TradeEffect(ZERO, abs(signed_qty), ZERO, ZERO)
        close = min(abs(signed_qty), abs(q))
        direction = Decimal(1) if signed_qty > 0 else Decimal(-1)
        closing = direction * close
        if close == abs(q):
            removed, released = self.cost, self.isolated_margin
        else:
            fraction = close / abs(q)
            removed = (self.cost * fraction).quantize(PNL_QUANTUM, ROUND_HALF_EVEN)
            released = (self.isolated_margin * fraction).quantize(PNL_QUANTUM, ROUND_HALF_EVEN)
        realized = -closing * cs * price - removed
        self.qty += closing
        self.cost -= removed
        self.isolated_margin -= released
        self.realized_pnl += realized
        rest = abs(signed_qty) - close
        if rest:
            self.qty += direction * rest
            self.cost += direction * rest * cs * price
        return TradeEffect(close, rest, realized, released)
