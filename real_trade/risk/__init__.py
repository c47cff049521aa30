"""Risk: the pre-trade risk engine in front of every order, with its config, state and breakers.

:class:`RiskEngine` checks a :class:`PreTradeOrder` in an :class:`AccountContext` against a
:class:`LiveRiskConfig` (the config system's ``risk`` section, global and per-symbol limits),
the :class:`TradingStateHolder` (ACTIVE / REDUCING / HALTED), a :class:`CircuitBreaker` and an
:class:`OrderThrottle`, and returns a :class:`RiskDecision` (published on ``risk.decision``).
The seed's strategy-level :class:`RiskManager` (sizing, stops, daily trade limit, drawdown
guard) lives here too; it needs backtrader, so its names are imported on first use and the
config system can load the ``risk`` section without importing backtrader.
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

__all__ = [
    "RISK_DECISION_TOPIC",
    "AccountContext",
    "BreakerState",
    "CircuitBreaker",
    "DrawdownGuard",
    "FixedRatioSizer",
    "FixedStopLoss",
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
]


def __getattr__(name: str) -> typing.Any:
    """Import the backtrader-based seed classes (``RiskManager``, ...) when first used."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'real_trade.risk' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
