"""The operations layer: how a run is doing. For now its performance figures
(:mod:`real_trade.monitor.metrics`); health, reports and Prometheus metrics will join them."""

from real_trade.monitor.metrics import (
    CONVENTIONS,
    ClosedTrade,
    Drawdown,
    EquityPoint,
    PerformanceSummary,
    buy_and_hold_return,
    daily_returns,
    exposure,
    max_drawdown,
    sharpe_ratio,
    summarize,
    total_return,
    win_rate,
)

__all__ = [
    "CONVENTIONS",
    "ClosedTrade",
    "Drawdown",
    "EquityPoint",
    "PerformanceSummary",
    "buy_and_hold_return",
    "daily_returns",
    "exposure",
    "max_drawdown",
    "sharpe_ratio",
    "summarize",
    "total_return",
    "win_rate",
]
