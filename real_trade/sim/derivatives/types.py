"""Value types of the derivatives core: modes, settings, position and margin views, events."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from real_trade.sim.types import ZERO, PositionSide

__all__ = [
    "FundingEvent",
    "LiquidationEvent",
    "LiquidationReason",
    "MarginMode",
    "MarginSummary",
    "MarkPriceEvent",
    "PositionMode",
    "PositionView",
    "SymbolSettings",
]


class MarginMode(str, enum.Enum):
    """Cross (the whole wallet backs the position) or isolated (only its own margin)."""

    CROSS = "cross"
    ISOLATED = "isolated"


class PositionMode(str, enum.Enum):
    """One-way (one net position, side BOTH) or hedge (a LONG and a SHORT position)."""

    ONE_WAY = "one_way"
    HEDGE = "hedge"


class LiquidationReason(str, enum.Enum):
    """Why a position was liquidated."""

    MAINTENANCE_MARGIN = "maintenance_margin"
    """The margin balance fell to the maintenance margin at the mark price."""
    BANKRUPTCY = "bankruptcy"
    """A fill or a funding payment cost more than the account held; the insurance fund paid."""


@dataclass(slots=True)
class SymbolSettings:
    """An account's settings on one contract."""

    leverage: int = 20
    margin_mode: MarginMode = MarginMode.CROSS
    position_mode: PositionMode = PositionMode.ONE_WAY


@dataclass(frozen=True, slots=True)
class PositionView:
    """A position as queries and ``sim.position.<account>`` events show it.

    ``qty`` is signed contracts (short < 0); ``liquidation_price`` is 0 when there is none.
    """

    account_id: int
    symbol: str
    position_side: PositionSide
    qty: Decimal
    entry_price: Decimal
    mark_price: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    liquidation_price: Decimal
    leverage: int
    margin_mode: MarginMode
    isolated_margin: Decimal
    notional: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    settle_asset: str
    time_ms: int


@dataclass(frozen=True, slots=True)
class MarginSummary:
    """An account's margin in one settlement asset.

    ``wallet_balance`` counts free, order-locked and isolated margin; ``margin_balance`` adds the
    unrealized PnL; ``available_balance`` is what new orders may use (cross wallet plus cross
    unrealized PnL, less the cross positions' and the orders' initial margin).
    """

    asset: str
    wallet_balance: Decimal
    unrealized_pnl: Decimal
    margin_balance: Decimal
    available_balance: Decimal
    position_initial_margin: Decimal
    order_initial_margin: Decimal
    maintenance_margin: Decimal


@dataclass(frozen=True, slots=True)
class FundingEvent:
    """A funding payment (``amount`` > 0 received, < 0 paid) on ``sim.funding.<account>``."""

    account_id: int
    symbol: str
    position_side: PositionSide
    qty: Decimal
    mark_price: Decimal
    rate: Decimal
    amount: Decimal
    asset: str
    time_ms: int


@dataclass(frozen=True, slots=True)
class LiquidationEvent:
    """A liquidation on ``sim.liquidation.<account>``: the position taken over by the insurance
    fund at ``price``, and what the fund paid (``insurance_paid`` > 0) or received."""

    account_id: int
    symbol: str
    position_side: PositionSide
    qty: Decimal
    price: Decimal
    mark_price: Decimal
    reason: LiquidationReason
    insurance_paid: Decimal
    time_ms: int


@dataclass(frozen=True, slots=True)
class MarkPriceEvent:
    """Mark, index, premium and the funding rate due next, on ``sim.mark.<SYMBOL>``."""

    symbol: str
    mark_price: Decimal
    index_price: Decimal
    funding_rate: Decimal
    next_funding_ms: int
    time_ms: int
    premium: Decimal = ZERO
