"""Risk: the pre-trade risk engine in front of every order, with its config, state and breakers.

:class:`RiskEngine` checks a :class:`PreTradeOrder` in an :class:`AccountContext` against a
:class:`LiveRiskConfig` (the config system's ``risk`` section, global and per-symbol limits),
the :class:`TradingStateHolder` (ACTIVE / REDUCING / HALTED), a :class:`CircuitBreaker` and an
:class:`OrderThrottle`, and returns a :class:`RiskDecision` (published on ``risk.decision``).
:class:`KillSwitch` cancels every open order, optionally flattens, then HALTs (with
:class:`VenueKillTarget` for testnet/live accounts). The seed's strategy-level
:class:`RiskManager` (sizing, stops, daily trade limit, drawdown guard) lives here too; it needs
backtrader, so its names (and the kill switch's) are imported on first use and the config system
can load the ``risk`` section without importing backtrader.
"""

import importlib
import typing

from real_trade.risk.circuit_breaker import BreakerState, CircuitBreaker
from real_trade.risk.config import LiveRiskConfig, SymbolRiskLimits
from real_trade.risk.engine import (
    RISK_DECISION_TOPIC,
    AccountContext,
    PreTradeOrder,
    RiskDecision,
    RiskEngine,
)
from real_trade.risk.state import TradingState, TradingStateHolder, TradingStateSnapshot
from real_trade.risk.throttle import OrderThrottle

_LAZY = {
    name: "real_trade.risk.manager"
    for name in (
        "DrawdownGuard",
        "FixedRatioSizer",
        "FixedStopLoss",
        "RiskManager",
        "RiskManagerRecorder",
        "RiskManagerSizer",
        "TradeLimiter",
    )
}
_LAZY.update(
    {
        name: "real_trade.risk.killswitch"
        for name in (
            "CancelOutcome",
            "FlattenOutcome",
            "KillEngaged",
            "KillJournal",
            "KillOrder",
            "KillPosition",
            "KillReport",
            "KillSwitch",
            "KillTarget",
        )
    }
)
_LAZY["TradingStateStore"] = "real_trade.risk.trading_state"
_LAZY["TRADING_STATE_KEY"] = "real_trade.risk.trading_state"
_LAZY["VenueKillTarget"] = "real_trade.risk.killswitch_venue"

__all__ = [
    "RISK_DECISION_TOPIC",
    "TRADING_STATE_KEY",
    "AccountContext",
    "BreakerState",
    "CancelOutcome",
    "CircuitBreaker",
    "DrawdownGuard",
    "FixedRatioSizer",
    "FixedStopLoss",
    "FlattenOutcome",
    "KillEngaged",
    "KillJournal",
    "KillOrder",
    "KillPosition",
    "KillReport",
    "KillSwitch",
    "KillTarget",
    "LiveRiskConfig",
    "OrderThrottle",
    "PreTradeOrder",
    "RiskDecision",
    "RiskEngine",
    "RiskManager",
    "RiskManagerRecorder",
    "RiskManagerSizer",
    "SymbolRiskLimits",
    "TradeLimiter",
    "TradingState",
    "TradingStateHolder",
    "TradingStateSnapshot",
    "TradingStateStore",
    "VenueKillTarget",
]


def __getattr__(name: str) -> typing.Any:
    """Import the seed classes (``RiskManager``, ...) and the kill switch when first used."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'real_trade.risk' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
