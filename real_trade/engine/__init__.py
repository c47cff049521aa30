"""The engine: run strategies unattended, on a schedule, restarted after crashes.

:class:`TradingRunner` (``TradingRunner.from_config(config, ...)``, or the seed's keywords) runs
one backtrader strategy on a venue (paper, testnet or live) until it is stopped (from any thread,
SIGINT or SIGTERM), with the journal, the risk limits, a heartbeat and the kill-request poll;
:class:`Scheduler` runs periodic tasks on an injectable :class:`Clock` (:class:`SystemClock`, or
a stepped :class:`~real_trade.sim.clock.SimClock` in tests; both from
:mod:`real_trade.vocabulary.clock`); :class:`LifecycleManager` restarts a crashed runner with
backoff;
:class:`StrategyExecutor` runs several strategies at once by name; :class:`OrderRouter` sends an
order to the venue account that trades its symbol. :class:`RunConsole` prints a run's progress, and
:func:`load_strategy` finds a strategy class from its dotted path. :mod:`real_trade.engine.factory`
is the one factory of a venue's store, broker and feeds (the runner's, the backtest's and the
seeds' ``create_engine``).
"""

from real_trade.engine.console import RunConsole
from real_trade.engine.control import RunnerControl
from real_trade.engine.executor import ExecutableRunner, StrategyExecutor
from real_trade.engine.lifecycle import FATAL_ERRORS, LifecycleManager, Runnable
from real_trade.engine.loading import check_strategy_params, load_strategy
from real_trade.engine.router import OrderRouter, Route
from real_trade.engine.runner import TradingRunner
from real_trade.engine.runtime import BarReport
from real_trade.engine.scheduler import ScheduledTask, Scheduler
from real_trade.vocabulary.clock import Clock, SystemClock

__all__ = [
    "FATAL_ERRORS",
    "BarReport",
    "Clock",
    "ExecutableRunner",
    "LifecycleManager",
    "OrderRouter",
    "Route",
    "RunConsole",
    "Runnable",
    "RunnerControl",
    "ScheduledTask",
    "Scheduler",
    "StrategyExecutor",
    "SystemClock",
    "TradingRunner",
    "check_strategy_params",
    "load_strategy",
]
