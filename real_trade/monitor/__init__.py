"""The operations layer: how a run is doing, live from the bus or after the fact from the
journal. Nobody on the trading path calls it.

* :class:`PerformanceTracker` (seed 001): the equity curve, fills and the full figure set
  (:mod:`real_trade.monitor.metrics`: returns, Sharpe, Sortino, Calmar, drawdown, exposure,
  trade statistics, buy and hold; 365 periods a year, risk-free 0, sample std);
* :class:`HealthChecker` (seed 001): feeds, streams, journal, clock skew, breaker, trading
  state, memory; :func:`journal_health` for ``real-trade status``;
* :class:`Reporter` (seed 001): the figures as text;
* :class:`RealTimeMonitor`, :class:`TradeMonitor` and :class:`TradeReportGenerator` (seed 003).

Importing the package loads neither pandas nor pyarrow.
"""

from real_trade.monitor.health import (
    HealthCheck,
    HealthChecker,
    HealthReport,
    journal_health,
)
from real_trade.monitor.live import PositionUpdate, RealTimeMonitor, RiskAlert
from real_trade.monitor.metrics import (
    CONVENTIONS,
    METRICS_CONVENTIONS,
    ClosedTrade,
    Drawdown,
    DrawdownPeriod,
    EquityPoint,
    PerformanceSummary,
    RunMetrics,
    TradeStats,
    buy_and_hold_return,
    compute_metrics,
    daily_returns,
    exposure,
    max_drawdown,
    sharpe_ratio,
    summarize,
    total_return,
    trade_stats,
    win_rate,
)
from real_trade.monitor.performance import PerformanceTracker
from real_trade.monitor.reporter import Reporter, TradeReportGenerator, period_bounds
from real_trade.monitor.trade_monitor import Position, TradeMonitor

__all__ = [
    "CONVENTIONS",
    "METRICS_CONVENTIONS",
    "ClosedTrade",
    "Drawdown",
    "DrawdownPeriod",
    "EquityPoint",
    "HealthCheck",
    "HealthChecker",
    "HealthReport",
    "PerformanceSummary",
    "PerformanceTracker",
    "Position",
    "PositionUpdate",
    "RealTimeMonitor",
    "Reporter",
    "RiskAlert",
    "RunMetrics",
    "TradeMonitor",
    "TradeReportGenerator",
    "TradeStats",
    "buy_and_hold_return",
    "compute_metrics",
    "daily_returns",
    "exposure",
    "journal_health",
    "max_drawdown",
    "period_bounds",
    "sharpe_ratio",
    "summarize",
    "total_return",
    "trade_stats",
    "win_rate",
]
