"""Benchmark: the paper-trading loop against backtrader's own broker, bars per second.

The same strategy (the package's sample ``SmaCross``, fast 10 / slow 30, 0.01 BTC, commission
0.1 %) over the same 30,240 real one-minute candles
(``binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv``, from ``$RT_DATA_DIR`` or
``../shared/data``), in one run, each configuration ``--repeat`` times, interleaved:

* **baseline**: backtrader's ``BackBroker`` + ``bt.feeds.PandasData`` on the CSV;
* **paper, full path**: ``BinanceBroker(paper_trading=True)`` fed by ``BinanceData`` in backtest
  mode (``historical=True``) from an in-process simulator replaying the CSV (all candles are the
  simulator's pre-start history, served by REST ``klines`` exactly as in the file, 1,000 per
  request, so both feeds carry the same bars);
* **feed only**: ``BackBroker`` + ``BinanceData`` (historical): the history path's cost without
  the paper broker;
* **paper broker only**: ``BinanceBroker(paper_trading=True)`` + the same ``PandasData`` (the
  broker's cost without the feed's history path);
* with ``--idle``, BackBroker and the paper broker + ``PandasData`` under a strategy that never
  orders: what idle bars alone cost;
* unless ``--no-full-path``, once, untimed in the table: the paper broker on its **full path**
  (``RT_PAPER_FULL_PATH=1``: every tick through the liquidity ladder and the matching engine,
  ~6 ms a bar); every paper run's fills (side, price, size, fee, fill minute) must equal its
  fills trade by trade.

The figure is bars per wall second of ``cerebro.run()`` (runonce off for every configuration:
the paper broker needs bar-by-bar stepping, so the baseline is run the same way). The feed
configurations include the REST history download, measured against a simulator whose kline
history was fetched once before timing (what the exchange computes to serve it is not ours).
The simulator runs in the same process, so its request handling is inside the timing too.
Each timed run starts after ``gc.collect()``: the runs share one process, and the garbage a
run leaves (its cerebro, broker and orders, ~57,000 objects in reference cycles after a paper
run) was otherwise collected inside whichever later run set off the next full collection.
A sanity line compares the trades: count, and side and fill minute of every one (sizes differ
by design: the paper account pays a buy's fee in the base asset, as Binance does, so the
closing sell is 0.00999 BTC where BackBroker's is 0.01).

Run::

    .venv/bin/python bench/bench_paper_loop.py [--repeat 2] [--bars 30240] [--no-full-path] [--idle]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from real_trade.brokers import BinanceBroker
from real_trade.feeds import BinanceData
from real_trade.sim import CandleReplayMarket, SimExchange
from real_trade.sim.plumbing.ratelimit import RateLimits
from real_trade.stores import BinanceStore
from real_trade.strategies import SmaCross

FILE = "binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv"
SYMBOL = "BTC/USDT"
CASH, COMMISSION, SIZE = 10_000.0, 0.001, 0.01


def data_file() -> Path:
    """The candle file: ``$RT_DATA_DIR`` or ``../shared/data`` next to the repository."""
    env = os.environ.get("RT_DATA_DIR")
    dirs = [Path(env)] if env else []
    dirs.append(Path(__file__).resolve().parents[2] / "shared" / "data")
    for d in dirs:
        if (d / FILE).is_file():
            return d / FILE
    raise SystemExit(f"{FILE} not found: set RT_DATA_DIR or put it in ../shared/data")


def load_frame(path: Path, bars: int) -> pd.DataFrame:
    """The first ``bars`` candles as a naive-UTC indexed frame for PandasData."""
    frame = pd.read_csv(path, nrows=bars)
    frame["open_time"] = pd.to_datetime(frame["open_time"], utc=True).dt.tz_localize(None)
    return frame.set_index("open_time")


@dataclass(frozen=True)
class Trade:
    """One completed order: side, fill minute (epoch ms), size, price and fee."""

    side: str
    minute_ms: int
    size: float
    price: float = 0.0
    fee: float = 0.0

    @property
    def key(self) -> tuple[str, int]:
        """What must agree between brokers: side and fill minute."""
        return self.side, self.minute_ms

    @property
    def fill(self) -> tuple[str, int, float, float, float]:
        """What must agree between the paper fast and full paths: all of it."""
        return self.side, self.minute_ms, self.size, self.price, self.fee


@dataclass
class RunResult:
    """One timed ``cerebro.run()``: wall and CPU seconds, bars processed, trades, end value."""

    seconds: float
    cpu_seconds: float
    bars: int
    trades: list[Trade]
    value: float


def trades_of(strategy: Any) -> list[Trade]:
    """The completed orders among the strategy's notifications, in completion order."""
    out = []
    for order in strategy.orders:
        if order.status == order.Completed:
            when = bt.num2date(order.executed.dt).replace(tzinfo=dt.timezone.utc)
            ms = round(when.timestamp()) * 1000
            side = "BUY" if order.isbuy() else "SELL"
            size, price = round(abs(order.executed.size), 8), round(order.executed.price, 8)
            fee = round(order.executed.comm, 10)
            out.append(Trade(side, ms - ms % 60_000, size, price, fee))
    return out


class NeverTrades(bt.Strategy):  # type: ignore[misc]
    """A strategy that reads every bar and never orders: the cost of idle bars alone."""

    def __init__(self) -> None:
        self.orders: list[Any] = []

    def next(self) -> None:
        """Nothing to do."""


def timed_run(data: Any, broker: Any | None, idle: bool = False) -> RunResult:
    """Run SmaCross over ``data`` with ``broker`` (None: BackBroker) and time ``cerebro.run``."""
    cerebro = bt.Cerebro(stdstats=False, runonce=False)
    if broker is None:
        cerebro.broker.setcash(CASH)
        cerebro.broker.setcommission(commission=COMMISSION)
    else:
        cerebro.setbroker(broker)
    cerebro.adddata(data, name=SYMBOL)
    if idle:
        cerebro.addstrategy(NeverTrades)
    else:
        cerebro.addstrategy(SmaCross, fast=10, slow=30, size=SIZE)
    gc.collect()  # the previous run's garbage (its whole graph, in cycles) is not this run's
    started, cpu_started = time.perf_counter(), time.process_time()
    (strategy,) = cerebro.run()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return RunResult(
        seconds, cpu, len(strategy.data), trades_of(strategy), cerebro.broker.getvalue()
    )


def paper_broker(store: Any | None) -> Any:
    """Our paper broker with the baseline's cash and commission."""
    return BinanceBroker(
        store, paper_trading=True, initial_cash=CASH, commission=COMMISSION, symbol=SYMBOL
    )


def main(argv: list[str] | None = None) -> int:
    """Run every configuration ``--repeat`` times, interleaved; print bars/s and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per configuration")
    parser.add_argument("--bars", type=int, default=30_240, help="candles to use (from the start)")
    parser.add_argument(
        "--no-full-path",
        action="store_true",
        help="skip the paper full path's run (RT_PAPER_FULL_PATH=1, ~6 ms a bar) whose fills "
        "the fast path must equal",
    )
    parser.add_argument(
        "--idle",
        action="store_true",
        help="also time both brokers under a strategy that never orders",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("RT_BENCH_LOG", "WARNING"))
    path = data_file()
    frame = load_frame(path, args.bars)
    first = frame.index[0].to_pydatetime()
    last = frame.index[-1].to_pydatetime()
    end_ms = int(pd.Timestamp(frame.index[-1], tz="UTC").timestamp() * 1000) + 60_000
    market = CandleReplayMarket(path, start_ms=end_ms)
    print(
        f"bench_paper_loop: {len(frame)} bars {first:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M}, "
        f"SmaCross(10/30), {args.repeat} runs each",
        flush=True,
    )
    with SimExchange(market=market, stepped=True, rate_limits=RateLimits(enabled=False)) as sim:
        store = BinanceStore(testnet=True, sim_url=sim.url)
        store.start()
        t0 = time.perf_counter()
        warm = store.fetch_ohlcv(
            SYMBOL,
            "1m",
            int(first.replace(tzinfo=dt.UTC).timestamp() * 1000),
            None,
            until=end_ms - 60_000,
        )
        print(
            f"  simulator warm-up: {len(warm)} klines fetched in "
            f"{time.perf_counter() - t0:.1f} s (not timed below)",
            flush=True,
        )

        def pandas_feed() -> Any:
            return bt.feeds.PandasData(
                dataname=frame, timeframe=bt.TimeFrame.Minutes, compression=1
            )

        def binance_feed() -> Any:
            return BinanceData.from_timeframe_string(
                "1m", store, symbol=SYMBOL, historical=True, fromdate=first, todate=last
            )

        configs: dict[str, Callable[[], RunResult]] = {
            "backtrader BackBroker + PandasData": lambda: timed_run(pandas_feed(), None),
            "BinanceBroker(paper) + BinanceData": lambda: timed_run(
                binance_feed(), paper_broker(store)
            ),
            "BackBroker + BinanceData (feed only)": lambda: timed_run(binance_feed(), None),
            "BinanceBroker(paper) + PandasData": lambda: timed_run(
                pandas_feed(), paper_broker(None)
            ),
        }
        results: dict[str, list[RunResult]] = {name: [] for name in configs}
        for i in range(args.repeat):
            for name, run in configs.items():
                results[name].append(run())
                r = results[name][-1]
                print(
                    f"  run {i + 1} {name}: {r.bars / r.seconds:,.0f} bars/s, "
                    f"{r.bars / r.cpu_seconds:,.0f} bars/CPU-s",
                    flush=True,
                )
        store.stop()
    full = None if args.no_full_path else full_path_run(pandas_feed)
    status = report(results, full)
    if args.idle:
        print("\nidle bars alone (a strategy that never orders):")
        idle: dict[str, list[RunResult]] = {"BackBroker + PandasData (idle)": []}
        idle["BinanceBroker(paper) + PandasData (idle)"] = []
        for _ in range(args.repeat):
            idle["BackBroker + PandasData (idle)"].append(timed_run(pandas_feed(), None, True))
            run = timed_run(pandas_feed(), paper_broker(None), True)
            idle["BinanceBroker(paper) + PandasData (idle)"].append(run)
        status |= report(idle)
    return status


def full_path_run(feed: Callable[[], Any]) -> RunResult:
    """One run of the paper broker on its full path (every tick through the ladder)."""
    os.environ["RT_PAPER_FULL_PATH"] = "1"
    try:
        r = timed_run(feed(), paper_broker(None))
    finally:
        del os.environ["RT_PAPER_FULL_PATH"]
    print(f"  paper full path + PandasData: {r.bars / r.seconds:,.0f} bars/s", flush=True)
    return r


def report(results: dict[str, list[RunResult]], full: RunResult | None = None) -> int:
    """Print median bars/s (min..max), the ratio to the baseline, and the trade sanity check.

    Rates per wall second and per CPU second of the process (all threads: the simulator's and
    the I/O thread's too); the CPU figure is steadier when other jobs share the machine. The
    last column pairs each run with the baseline's run of the same round (they ran one after
    the other): the median of those per-round CPU ratios, with their range, follows the machine's
    drift between rounds less than a ratio of medians does.
    """
    names = list(results)
    base = statistics.median(r.bars / r.seconds for r in results[names[0]])
    cpu_base = statistics.median(r.bars / r.cpu_seconds for r in results[names[0]])
    print(
        f"\n{'configuration':<42}{'bars/s':>9}{'min..max':>16}{'ratio':>8}"
        f"{'bars/CPU-s':>12}{'ratio':>8}{'paired (min..max)':>24}"
    )
    for name in names:
        rates = [r.bars / r.seconds for r in results[name]]
        med = statistics.median(rates)
        cpu = statistics.median(r.bars / r.cpu_seconds for r in results[name])
        paired = [
            (r.bars / r.cpu_seconds) / (b.bars / b.cpu_seconds)
            for r, b in zip(results[name], results[names[0]], strict=False)
        ]
        spread = f"{min(paired):.3f}..{max(paired):.3f}"
        print(
            f"{name:<42}{med:>9,.0f}{f'{min(rates):,.0f}..{max(rates):,.0f}':>16}"
            f"{med / base:>7.3f}x{cpu:>12,.0f}{cpu / cpu_base:>7.3f}x"
            f"{statistics.median(paired):>8.3f}x ({spread})"
        )
    ref = results[names[0]][0]
    ok = True
    for name in names[1:]:
        other = results[name][0]
        same = [t.key for t in other.trades] == [t.key for t in ref.trades]
        ok = ok and same and other.bars == ref.bars
        print(
            f"trades {name}: {len(other.trades)} vs baseline {len(ref.trades)} "
            f"(bars {other.bars} vs {ref.bars}); same side and fill minute, trade by trade: "
            f"{'yes' if same else 'NO'}; end value {other.value:,.2f} vs "
            f"{ref.value:,.2f} USDT"
        )
    if full is not None:
        want = [t.fill for t in full.trades]
        for name in names[1:]:
            if not name.startswith("BinanceBroker"):
                continue
            got = [[t.fill for t in r.trades] for r in results[name]]
            same = all(g == want for g in got)
            ok = ok and same
            print(
                f"fills {name} vs the paper full path ({len(want)} trades, "
                f"{full.bars / full.seconds:,.0f} bars/s): side, price, size, fee and fill "
                f"minute identical, trade by trade, in every run: {'yes' if same else 'NO'}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
