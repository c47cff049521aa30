"""Helpers of the backtest tests: the simulator's fixed history and a config on it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from real_trade.sim import SimExchange

START = dt.datetime(2026, 1, 10, tzinfo=dt.timezone.utc)
START_MS = int(START.timestamp() * 1000)
"""The simulator's clock starts here; its synthetic history goes 7 days back."""


def write_config(
    folder: Path, sim: SimExchange, *, fast: int = 3, slow: int = 10, name: str = "bt.toml"
) -> Path:
    """A run config of SmaCross on 1h BTC/USDT bars of ``sim``."""
    path = folder / name
    path.write_text(
        f"""# a backtest config
exchange = "binance"
symbol = "BTC/USDT"
timeframe = "1h"
initial_cash = 10000.0
commission = 0.001
sim_url = "{sim.url}"

[run]
strategy = "real_trade.strategies:SmaCross"

[run.params]
fast = {fast}
slow = {slow}
size = 0.01

[logging]
level = "WARNING"
""",
        encoding="utf-8",
    )
    return path
