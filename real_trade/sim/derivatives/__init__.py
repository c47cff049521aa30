"""Linear perpetuals in the protocol-free simulator core (no venue words here).

:class:`DerivativesLedger` (settings, positions, margin, insurance fund) with
:class:`PerpSettlement` (the matching engine's :class:`~real_trade.sim.settlement.Settlement` for
contracts), :class:`Position` (signed size, exact cost basis, realized PnL), brackets
(:class:`BracketTable`, Binance-like :data:`DEFAULT_BRACKETS`), :class:`MarkModel` (index plus a
bounded seeded premium), funding every 8 hours (:mod:`.funding`), the liquidation price formula
(:mod:`.margin`) and liquidation at the mark (:mod:`.liquidation`). The
:class:`~real_trade.sim.core.ExchangeCore` wires them for symbols whose rules carry a linear
perpetual :class:`~real_trade.sim.instruments.Instrument` (:func:`linear_perpetual`).
"""

from real_trade.sim.derivatives.brackets import (
    DEFAULT_BRACKETS,
    Bracket,
    BracketTable,
    make_brackets,
)
from real_trade.sim.derivatives.funding import (
    FUNDING_INTERVAL_MS,
    funding_payment,
    funding_rate,
    funding_times,
    next_funding_ms,
)
from real_trade.sim.derivatives.ledger import DerivativesLedger
from real_trade.sim.derivatives.liquidation import bankruptcy_price, check_liquidations
from real_trade.sim.derivatives.margin import initial_margin, liquidation_price
from real_trade.sim.derivatives.mark import MarkModel
from real_trade.sim.derivatives.perp_settlement import PerpSettlement
from real_trade.sim.derivatives.positions import PNL_QUANTUM, Position, TradeEffect
from real_trade.sim.derivatives.rules import PERP_RULES, linear_perpetual
from real_trade.sim.derivatives.types import (
    FundingEvent,
    LiquidationEvent,
    LiquidationReason,
    MarginMode,
    MarginSummary,
    MarkPriceEvent,
    PositionMode,
    PositionView,
    SymbolSettings,
)

__all__ = [
    "DEFAULT_BRACKETS",
    "FUNDING_INTERVAL_MS",
    "PERP_RULES",
    "PNL_QUANTUM",
    "Bracket",
    "BracketTable",
    "DerivativesLedger",
    "FundingEvent",
    "LiquidationEvent",
    "LiquidationReason",
    "MarginMode",
    "MarginSummary",
    "MarkModel",
    "MarkPriceEvent",
    "PerpSettlement",
    "Position",
    "PositionMode",
    "PositionView",
    "SymbolSettings",
    "TradeEffect",
    "bankruptcy_price",
    "check_liquidations",
    "funding_payment",
    "funding_rate",
    "funding_times",
    "initial_margin",
    "linear_perpetual",
    "liquidation_price",
    "make_brackets",
    "next_funding_ms",
]
