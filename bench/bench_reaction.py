"""Benchmark: reaction time from a bar's close on the exchange to the strategy's order arriving.

The full live path, twice in one run, each against a fresh simulator **in its own process**
(``bench/sim_process.py``: the ``SimExchange`` that ``real-trade sim`` serves, synthetic market,
the Binance face's rate limits on):

* **real_trade**: ``BinanceStore`` -> ``BinanceData`` (``live_source="auto"``: the Binance
  kline websocket, a bar closes on the exchange's ``x: true``) -> Cerebro -> strategy ->
  ``BinanceBroker(paper_trading=False)`` -> REST ``POST /api/v3/order``;
* **polling baseline**: the same, except that the feed's live source is
  :class:`bench.polling_source.PollingBarSource`, the way bt-ccxt-store gets bars (poll
  ``fetch_ohlcv`` every ``--poll-interval`` wall seconds, default 1 s, drop the forming candle).

The strategy sends one market order of ``--size`` BTC on every live bar, alternating buy and
sell. Stamps are ``time.monotonic_ns()`` (``CLOCK_MONOTONIC``, one clock for all processes on
Linux): **t0** when the simulator hands the bar's final ``@kline_1m`` frame (``"x":true``) to
the client's connection, **t1** when the HTTP request of the order the strategy sent on that
bar reaches the simulator's handler; both in the simulator's process (see
``sim_process.py``). Reaction = t1 - t0. Shown beside: t0 -> the simulator's core publishes the
order's ``NEW`` event (after its own authentication and matching), and the simulator's own
delay from its core closing the bar to the frame going out (its stream pacer runs every 50 ms).
The polling baseline subscribes to no stream, so no frame is sent: its t0 is the core's close
(earlier than a frame would be by that delay, p50 ~0.7 ms: < 0.2 % of its reaction).
In the trading process, the live source's callback (the I/O thread, frame parsed) and
``next()`` are stamped too, which splits the reaction into the wire leg (sent -> bar parsed
on our I/O thread), the hop (-> ``next()`` on backtrader's thread) and the order leg
(``next()`` -> the exchange has the order), of which ``buy()`` itself (until it returns) is
shown apart.

Timeframe and speed: the simulator's core publishes closes of 1m bars on its bus, so the
benchmark trades 1m bars on an accelerated clock: ``--speed 300`` (default) makes a bar every
0.2 wall seconds. The first ``--warmup`` live bars are left out.

Run::

    .venv/bin/python bench/bench_reaction.py             # 1,000 bars per variant, ~8 min
    .venv/bin/python bench/bench_reaction.py --bars 300  # ~3 min
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import backtrader as bt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.polling_source import DEFAULT_POLL_INTERVAL_S, polling_factory
from real_trade.brokers import BinanceBroker
from real_trade.feeds import BinanceData
from real_trade.feeds.bars import Bar
from real_trade.feeds.binance_klines import binance_kline_source
from real_trade.stores import BinanceStore

SYMBOL = "BTC/USDT"
SIM_PROCESS = Path(__file__).resolve().parent / "sim_process.py"


# -- the strategy --------------------------------------------------------------------------
class EveryBarOrders(bt.Strategy):
    """One market order of ``size`` on every live bar, alternating buy and sell.

    Records, per bar open time (ms), the order sent and when ``next()`` saw the bar
    (``monotonic_ns``). After ``bars`` orders it waits (bar by bar) until every order is
    finished, so none is still in flight when the run stops.
    """

    params = (("size", 0.001), ("bars", 1000))

    def __init__(self) -> None:
        self.is_live = False
        self.sent: dict[int, Any] = {}
        self.seen: dict[int, int] = {}
        self.returned: dict[int, int] = {}

    def notify_data(self, data: Any, status: int, *args: Any, **kwargs: Any) -> None:
        """Trade only once the feed is LIVE (backfilled bars are history)."""
        self.is_live = status == data.LIVE

    def next(self) -> None:
        """Send this bar's order, or stop once every order went out."""
        now = time.monotonic_ns()
        if not self.is_live:
            return
        if len(self.sent) >= self.p.bars:
            if not any(order.alive() for order in self.sent.values()):
                self.env.runstop()
            return
        opened = bt.num2date(self.data.datetime[0]).replace(tzinfo=dt.timezone.utc)
        open_ms = round(opened.timestamp()) * 1000
        self.seen[open_ms] = now
        buy = len(self.sent) % 2 == 0
        self.sent[open_ms] = self.buy(size=self.p.size) if buy else self.sell(size=self.p.size)
        self.returned[open_ms] = time.monotonic_ns()


class StampedSource:
    """A live bar source that stamps (``monotonic_ns``) each closed bar as it hands it on."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.parsed: dict[int, int] = {}

    def start(self, on_bar: Callable[[Bar], None], on_state: Callable[[str], None]) -> None:
        """Start the inner source with a stamping ``on_bar``."""

        def stamped(bar: Bar) -> None:
            if bar.closed:
                self.parsed.setdefault(bar.open_ms, time.monotonic_ns())
            on_bar(bar)

        self.inner.start(stamped, on_state)

    def stop(self) -> None:
        """Stop the inner source."""
        self.inner.stop()

    @property
    def last_error(self) -> Any:
        """The inner source's last error."""
        return getattr(self.inner, "last_error", None)


def stamped_factory(
    inner: Callable[[Any, str, str], Any], sources: list[StampedSource]
) -> Callable[[Any, str, str], StampedSource]:
    """A ``live_source=`` factory wrapping ``inner``'s sources (kept in ``sources``)."""

    def make(client: Any, symbol: str, timeframe: str) -> StampedSource:
        source = StampedSource(inner(client, symbol, timeframe))
        sources.append(source)
        return source

    return make


# -- the simulator process -----------------------------------------------------------------
def read_stamps(
    path: Path,
) -> tuple[dict[int, int], dict[int, int], dict[str, int], dict[str, int]]:
    """The simulator's stamps (ns): final klines sent and core closes, by open time; order
    requests received and NEW events, by client order id."""
    sent: dict[int, int] = {}
    closes: dict[int, int] = {}
    arrivals: list[int] = []
    new: dict[str, int] = {}
    for line in path.read_text().splitlines():
        kind, key, ns = line.split(" ")
        if kind == "K":
            closes.setdefault(int(key), int(ns))
        elif kind == "S":
            sent.setdefault(int(key), int(ns))
        elif kind == "R":
            arrivals.append(int(ns))
        elif kind == "O":
            new.setdefault(key, int(ns))
    # the n-th request received is the n-th order accepted (one order in flight at a time)
    received = dict(zip(new, arrivals, strict=True)) if len(arrivals) == len(new) else {}
    return sent, closes, received, new


@dataclass
class VariantResult:
    """Per-bar timings of one variant (seconds) and what could not be matched."""

    name: str
    reaction: list[float]
    wire_leg: list[float]
    hop_leg: list[float]
    order_leg: list[float]
    submit: list[float]
    to_new: list[float]
    sim_pacer: list[float]
    unmatched: int
    wall_s: float
    filled: int
    limiter_waits: int


def run_variant(
    name: str,
    live_source: Callable[[Any, str, str], Any],
    *,
    bars: int,
    warmup: int,
    speed: float,
    size: float,
    seed: int,
    tick_ms: int,
    journal: bool = False,
) -> VariantResult:
    """Run the full live path against a fresh simulator process for ``warmup + bars`` bars
    (``journal``: the broker journals to a SQLite file, as a live deployment does)."""
    started = time.perf_counter()
    sources: list[StampedSource] = []
    with tempfile.TemporaryDirectory() as tmp:
        stamps_file = Path(tmp) / "stamps.txt"
        cmd = [sys.executable, str(SIM_PROCESS), "--speed", f"{speed:g}", "--seed", str(seed)]
        cmd += ["--tick-ms", str(tick_ms), "--stamps", str(stamps_file)]
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None
            info = json.loads(child.stdout.readline())
            store = BinanceStore(
                apikey=info["key"], secret=info["secret"], testnet=True, sim_url=info["url"]
            )
            try:
                journaled = {"journal": f"sqlite:///{tmp}/journal.db", "run_id": "bench"}
                broker = BinanceBroker(store, paper_trading=False, **(journaled if journal else {}))
                data = BinanceData.from_timeframe_string(
                    "1m",
                    store,
                    symbol=SYMBOL,
                    backfill_start=False,
                    live_source=stamped_factory(live_source, sources),
                )
                cerebro = bt.Cerebro(stdstats=False)
                cerebro.setbroker(broker)
                cerebro.adddata(data)
                cerebro.addstrategy(EveryBarOrders, size=size, bars=warmup + bars)
                (strategy,) = cerebro.run()
                waits = store.exchange.request_limiter.stats.waited
            finally:
                store.stop()
        finally:
            child.terminate()
            child.wait(30)
        sent, closes, orders, new_events = read_stamps(stamps_file)
    filled = sum(1 for o in strategy.sent.values() if o.status == o.Completed)
    wall = time.perf_counter() - started
    parsed = sources[0].parsed if sources else {}
    result = VariantResult(name, [], [], [], [], [], [], [], 0, wall, filled, waits)
    for open_ms in sorted(strategy.sent)[warmup:]:
        cid = strategy.sent[open_ms].info.get("client_order_id")
        # no websocket subscriber (the polling baseline): no frame is sent; its t0 is the close
        t0 = sent.get(open_ms, closes.get(open_ms))
        t1 = orders.get(cid) if cid else None
        seen, got = strategy.seen[open_ms], parsed.get(open_ms)
        if t0 is None or t1 is None or got is None:
            result.unmatched += 1
            continue
        result.reaction.append((t1 - t0) / 1e9)
        result.wire_leg.append((got - t0) / 1e9)
        result.hop_leg.append((seen - got) / 1e9)
        result.order_leg.append((t1 - seen) / 1e9)
        result.submit.append((strategy.returned[open_ms] - seen) / 1e9)
        if cid in new_events:
            result.to_new.append((new_events[cid] - t0) / 1e9)
        if open_ms in closes:
            result.sim_pacer.append((t0 - closes[open_ms]) / 1e9)
    return result


# -- reporting -------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summary(values: list[float]) -> dict[str, float]:
    """p50, p99, mean and max of ``values``, in milliseconds."""
    if not values:
        return {k: float("nan") for k in ("p50", "p99", "mean", "max")}
    return {
        "p50": percentile(values, 50) * 1e3,
        "p99": percentile(values, 99) * 1e3,
        "mean": statistics.fmean(values) * 1e3,
        "max": max(values) * 1e3,
    }


LEGS = (
    ("reaction", "reaction"),
    ("  wire leg", "wire_leg"),
    ("  hop leg", "hop_leg"),
    ("  order leg", "order_leg"),
    ("    buy() returns", "submit"),
    ("kline sent -> sim NEW", "to_new"),
    ("sim: close -> sent", "sim_pacer"),
)


def report(fast: list[VariantResult], slow: list[VariantResult], args: argparse.Namespace) -> None:
    """Print both variants side by side (median over the runs) with the ratio baseline / ours."""
    print(
        f"\nreaction = exchange publishes the bar's final 1m kline -> exchange has the "
        f"strategy's order (ms); 1m bars at speed {args.speed:g} "
        f"({60 / args.speed:.2f} s wall per bar), polling every {args.poll_interval:g} s; "
        f"median of {len(fast)} run(s), each run's figure in brackets"
    )
    w = 12
    print(f"{'':<22}{'real_trade (ws)':>{w + 12}}{'polling (REST)':>{w + 12}}{'ratio':>{w}}")
    for label, attr in LEGS:
        for stat in ("p50", "p99", "mean", "max"):
            mine = [summary(getattr(r, attr))[stat] for r in fast]
            base = [summary(getattr(r, attr))[stat] for r in slow] if slow else []
            a = statistics.median(mine)
            b = statistics.median(base) if base else float("nan")
            ratio = b / a if a else float("nan")
            runs = "/".join(f"{v:.1f}" for v in mine)
            base_runs = "/".join(f"{v:.0f}" for v in base)
            print(
                f"{label + ' ' + stat:<22}{a:>8.2f} [{runs:>12}]{b:>8.1f} [{base_runs:>12}]"
                f"{ratio:>{w - 1}.1f}x"
            )
    for r in fast + slow:
        print(
            f"{r.name}: {len(r.reaction)} bars timed, {r.unmatched} unmatched, "
            f"{r.filled} orders filled, {r.limiter_waits} requests waited in our limiter, "
            f"{r.wall_s:.0f} s wall"
        )


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run both variants ``--repeat`` times, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", type=int, default=1000, help="timed bars per variant")
    parser.add_argument("--warmup", type=int, default=10, help="live bars left out first")
    parser.add_argument("--speed", type=float, default=300.0, help="market seconds per second")
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=DEFAULT_POLL_INTERVAL_S,
        help="baseline: wall seconds between fetch_ohlcv polls",
    )
    parser.add_argument("--size", type=float, default=0.001, help="order size in BTC")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic market")
    parser.add_argument(
        "--tick-ms", type=int, default=5000, help="market ms between the synthetic market's ticks"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each variant")
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        help="diagnostic: sys.setswitchinterval for the trading process (Python's default 0.005)",
    )
    parser.add_argument("--only", choices=("ws", "poll"), help="run one variant only")
    parser.add_argument(
        "--journal", action="store_true", help="the broker journals to SQLite (live deployment)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("RT_BENCH_LOG", "WARNING"))
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    common = dict(
        bars=args.bars,
        warmup=args.warmup,
        speed=args.speed,
        size=args.size,
        seed=args.seed,
        tick_ms=args.tick_ms,
        journal=args.journal,
    )
    print(
        f"bench_reaction: {args.bars} bars per variant (+{args.warmup} warm-up), "
        f"speed {args.speed:g}, poll {args.poll_interval:g} s, {args.repeat} run(s), "
        f"GIL switch interval {sys.getswitchinterval() * 1e3:g} ms"
        f"{', journaled' if args.journal else ''}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        flush=True,
    )
    fast: list[VariantResult] = []
    slow: list[VariantResult] = []
    for run in range(args.repeat):
        if args.only in (None, "ws"):
            fast.append(run_variant("real_trade (ws)", binance_kline_source, **common))
        if args.only in (None, "poll"):
            source = polling_factory(args.poll_interval)
            slow.append(run_variant("polling (REST)", source, **common))
        done = (fast or slow)[-1]
        print(
            f"  run {run + 1} done ({done.wall_s:.0f} s); load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    if fast:
        report(fast, slow, args)
    else:
        for r in slow:
            print(r.name, {k: round(v, 1) for k, v in summary(r.reaction).items()})
    results = fast + slow
    bad = any(r.unmatched > len(r.reaction) // 10 or not r.reaction for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
