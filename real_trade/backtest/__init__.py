"""Backtesting from a run config: load the history, run on the paper broker, sweep parameters.

* :mod:`~real_trade.backtest.history`: :func:`load_bars`, the one place candles are loaded;
* :mod:`~real_trade.backtest.engine`: :func:`run_backtest` and :class:`BacktestResult`;
* :mod:`~real_trade.backtest.optimize`: parameter sweeps (grid or Optuna) on worker processes.
"""

from real_trade.backtest.engine import BacktestResult, OrderFill, run_backtest
from real_trade.backtest.history import frame_from_rows, load_bars, load_symbol_bars

__all__ = [
    "BacktestResult",
    "OrderFill",
    "frame_from_rows",
    "load_bars",
    "load_symbol_bars",
    "run_backtest",
]
