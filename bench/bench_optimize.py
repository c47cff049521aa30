"""Benchmark: parameter sweep throughput of ``real-trade optimize``, trials per minute.

The sweep ``real-trade optimize`` runs (:func:`real_trade.backtest.optimize.optimize`, grid
method, objective Sharpe) of the package's sample ``SmaCross`` (0.01 BTC, commission 0.1 %,
cash 10,000) over real candles: the one-minute BTC/USDT file
``binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv`` (``$RT_DATA_DIR`` or ``../shared/data``)
resampled to hourly bars (504 bars, 21 days), each trial a full backtest on the paper broker
(the matching engine in-process, as paper trading). The grid is ``fast`` x ``slow`` (default
4 x 3 = 12 trials; ``--fast``/``--slow`` in the command's syntax), swept with 1 worker
(in-process) and with 2 worker processes (each receiving the bars once, from the pool's
initializer), ``--repeat`` times, interleaved. The time includes starting and stopping the
worker pool (process spawn and imports), as a user waits for it; the history load is outside
it (done once by the command).

The figure is trials per minute of wall time; beside it the CPU seconds a trial took (this
process and its reaped workers, ``os.times``), which does not depend on what else the machine
runs, and the load average before and after, which says how much else it ran. A sanity line
checks that every run found the same ranking with the same figures (results never depend on
the number of workers).

Run::

    .venv/bin/python bench/bench_optimize.py [--repeat 2] [--fast 5:20:5] [--slow 30:60:15]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from real_trade.backtest.optimize import Trial, optimize
from real_trade.backtest.space import grid_size, parse_param
from real_trade.config import RealTradeConfig
from real_trade.strategies import SmaCross

FILE = "binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv"


def candle_file() -> Path:
    """The candle file: ``$RT_DATA_DIR`` or ``../shared/data`` next to the repository."""
    dirs = [Path(p) for p in [os.environ.get("RT_DATA_DIR")] if p]
    dirs.append(Path(__file__).resolve().parents[2] / "shared" / "data")
    for folder in dirs:
        if (folder / FILE).exists():
            return folder / FILE
    raise SystemExit(f"{FILE} not found: set RT_DATA_DIR or put it in ../shared/data")


def hourly_bars() -> pd.DataFrame:
    """The file's minutes as hourly bars (UTC open time index, float OHLCV)."""
    minutes = pd.read_csv(candle_file(), parse_dates=["open_time"]).set_index("open_time")
    minutes.index = pd.DatetimeIndex(minutes.index, name="datetime").tz_convert("UTC")
    hours = minutes.resample("1h").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    return hours.dropna().astype(float)


def _cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (the pool's workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    """Sweep with 1 and 2 workers, interleaved, and print trials per minute."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--fast", default="5:20:5")
    parser.add_argument("--slow", default="30:60:15")
    args = parser.parse_args()
    logging.getLogger("real_trade").setLevel(logging.ERROR)
    bars = {"BTC/USDT": hourly_bars()}
    config = RealTradeConfig(timeframe="1h", initial_cash=10_000.0, commission=0.001)
    space = [parse_param(f"fast={args.fast}"), parse_param(f"slow={args.slow}")]
    count = grid_size(space)
    print(f"{count} trials a sweep over {len(bars['BTC/USDT'])} hourly bars; cpus {os.cpu_count()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rates: dict[int, list[float]] = {1: [], 2: []}
    cpu: dict[int, list[float]] = {1: [], 2: []}
    results: list[list[Trial]] = []
    for _ in range(args.repeat):
        for workers in (1, 2):
            began, cpu_before = time.perf_counter(), _cpu_seconds()
            trials = optimize(
                config, bars, SmaCross, space, base_params={"size": 0.01}, workers=workers
            )
            elapsed = time.perf_counter() - began
            per_trial = (_cpu_seconds() - cpu_before) / count
            rates[workers].append(count / elapsed * 60)
            cpu[workers].append(per_trial)
            results.append(trials)
            print(
                f"  workers {workers}: {elapsed:6.1f} s, {count / elapsed * 60:6.1f} trials/min, "
                f"{per_trial:.2f} CPU s/trial"
            )
    print()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| workers | trials/min (runs)            | median | CPU s/trial (median) |")
    print("|---------|------------------------------|--------|----------------------|")
    for workers, values in rates.items():
        runs = " / ".join(f"{v:.1f}" for v in values)
        print(
            f"| {workers}       | {runs:<28} | {statistics.median(values):6.1f} | "
            f"{statistics.median(cpu[workers]):20.2f} |"
        )
    speedup = statistics.median(rates[2]) / statistics.median(rates[1])
    print(f"speed-up with 2 workers: {speedup:.2f}x")
    first = [(t.number, t.params, t.summary) for t in results[0]]
    same = all([(t.number, t.params, t.summary) for t in r] == first for r in results)
    best = results[0][0]
    print(
        f"sanity: every run ranked the same with the same figures: {same}; best {best.params}, "
        f"Sharpe {best.summary.sharpe}, {best.summary.trades} trades"
    )


if __name__ == "__main__":
    main()
