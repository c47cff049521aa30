"""Benchmark: what the operations layer costs the trading loop (on vs off, one process).

The trading loop is ``TradingRunner.run()`` -- the path of ``real-trade run`` -- in paper mode
on the simulator: the package's ``SmaCross`` (fast 10 / slow 30, 0.01 BTC, commission 0.1 %)
over the first ``--bars`` real one-minute candles of
``binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv`` (``$RT_DATA_DIR`` or ``../shared/data``),
served by an in-process simulator replaying the file (feed in backtest mode, so the run ends
with the data). Variants, interleaved ``--repeat`` times in one run:

* **off**: no metrics, no journal (the bus still carries every event: publishing is part of the
  trading path whether or not anyone listens);
* **metrics**: ``[metrics] enabled`` -- the Prometheus exporter subscribed to the bus and its
  HTTP endpoint, scraped once a second by a thread of the benchmark (15 times more often than
  Prometheus' default), for the whole run;
* **metrics + journal**: the same plus the SQLite journal (a temporary file) attached to the bus.
* **journal**: the journal alone (part of the trading path: intents are written before the wire);
* **journal + ops**: the journal plus the whole operations layer ``real-trade run`` can switch
  on: the exporter and its scraped endpoint, and the notifier (every event ``on``, delivered to a
  loopback webhook sink this benchmark runs in another process, so that receiving the posts is
  not counted as the run's CPU), the runner's health checks included in both.

The operations layer's cost is **journal + ops** against **journal** (the goal: under 5 %).

Figures: wall seconds of ``run()`` (bars per second) and CPU seconds of the whole process
(the simulator's threads included), medians over the repeats, and the ratio to **off**. On a
shared machine the load drifts between rounds, so the summary also gives the median of the
per-round ratios (each round's variant against the baseline run next to it, in the same
round). The sanity line checks that every variant made the same orders (count and end value).

``--attribute`` adds, per variant, the CPU the operations layer spends in its own places,
measured inside each run (so the machine's load drifting between runs cancels out): the
notifier's delivery thread, the metrics endpoint's threads and the benchmark's scraper (each
thread's CPU clock when it ends), and the notifier's and exporter's bus handlers (the bus
thread's CPU clock around each call), as a share of the process's CPU. It misses the bus's own
dispatching of the extra deliveries, so it is a floor; it costs every variant two clock reads
per delivery, so the main figures of an ``--attribute`` run are not comparable with a plain one.

Run::

    .venv/bin/python bench/bench_ops_overhead.py [--bars 6000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from real_trade.bus import EventBus, Subscription
from real_trade.config import RealTradeConfig
from real_trade.engine import TradingRunner
from real_trade.notifications.config import EVENT_KINDS
from real_trade.sim import CandleReplayMarket, SimExchange
from real_trade.sim.plumbing.ratelimit import RateLimits
from real_trade.strategies import SmaCross

FILE = "binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv"
SYMBOL = "BTC/USDT"


def data_file() -> Path:
    """The candle file: ``$RT_DATA_DIR`` or ``../shared/data`` next to the repository."""
    env = os.environ.get("RT_DATA_DIR")
    dirs = [Path(env)] if env else []
    dirs.append(Path(__file__).resolve().parents[2] / "shared" / "data")
    for d in dirs:
        if (d / FILE).is_file():
            return d / FILE
    raise SystemExit(f"{FILE} not found: set RT_DATA_DIR or put it in ../shared/data")


@dataclass
class RunResult:
    """One timed run: wall and CPU seconds, bars, orders seen on the bus, end value, scrapes,
    and (``--attribute``) the CPU seconds of the operations layer's own threads and handlers."""

    seconds: float
    cpu_seconds: float
    bars: int
    orders: int
    value: float
    scrapes: int
    ops_cpu: float = 0.0


class Attribution:
    """CPU seconds of the operations layer's threads and bus handlers (``--attribute``)."""

    OPS_HANDLERS = ("Notifier", "MetricsExporter")

    def __init__(self) -> None:
        self.threads: collections.defaultdict[str, float] = collections.defaultdict(float)
        self.handlers: collections.defaultdict[str, float] = collections.defaultdict(float)
        self._lock = threading.Lock()
        original = threading.Thread.run
        attribution = self

        def run(thread: threading.Thread) -> None:
            try:
                original(thread)
            finally:
                with attribution._lock:
                    attribution.threads[thread.name] += time.thread_time()

        threading.Thread.run = run  # type: ignore[method-assign,assignment]

    def reset(self) -> None:
        """Start counting a new run."""
        with self._lock:
            self.threads.clear()
            self.handlers.clear()

    def ops_seconds(self) -> float:
        """The notifier's worker, the endpoint's and the scraper's threads, the ops handlers."""
        with self._lock:
            threads = sum(
                cpu
                for name, cpu in self.threads.items()
                if name == "real_trade-notify" or name.startswith("Thread-")
            )
            return threads + sum(self.handlers.values())


class TimedBus(EventBus):
    """An event bus that adds the bus thread's CPU time around each call of an operations
    layer handler to an :class:`Attribution`."""

    def __init__(self, attribution: Attribution, **options: Any) -> None:
        super().__init__(**options)
        self.attribution = attribution

    def subscribe(self, pattern: str, handler: Any) -> Subscription:
        """Subscribe ``handler``, timed when it belongs to the operations layer."""
        owner = type(getattr(handler, "__self__", None)).__name__
        if owner not in Attribution.OPS_HANDLERS:
            return super().subscribe(pattern, handler)
        handlers = self.attribution.handlers

        def timed(topic: str, event: Any) -> None:
            started = time.thread_time()
            try:
                handler(topic, event)
            finally:
                handlers[owner] += time.thread_time() - started

        return super().subscribe(pattern, timed)


class Scraper:
    """Reads the runner's ``/metrics`` once a second on a thread (while the run serves it)
    until stopped; counts the successful reads."""

    def __init__(self, runner: TradingRunner) -> None:
        self.runner, self.count = runner, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            server = self.runner.metrics
            if server is None:
                continue
            try:
                with urllib.request.urlopen(server.url, timeout=5) as response:
                    response.read()
                self.count += 1
            except OSError:
                pass

    def stop(self) -> int:
        """Stop reading; the number of successful reads."""
        self._stop.set()
        self._thread.join(10)
        return self.count


_SINK_SCRIPT = """
import signal, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
posts = 0
class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global posts
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        posts += 1
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
def done(*_):
    print(posts, flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


class WebhookSink:
    """A loopback HTTP server in another process (its CPU is not the run's) that accepts the
    notifier's webhook posts and counts them."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SINK_SCRIPT], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}/hook"

    def close(self) -> int:
        """Stop serving; the number of posts received."""
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=10)
        return int(out.strip() or 0)


def timed_run(
    sim_url: str,
    first: dt.datetime,
    last: dt.datetime,
    variant: str,
    sink: WebhookSink,
    attribution: Attribution | None = None,
) -> RunResult:
    """One ``TradingRunner.run()`` of SmaCross over the candles with ``variant``'s ops layer."""
    ops = variant.endswith("ops")
    notify = ops or variant.endswith("notify")
    notifications = (
        {
            "webhook": {"url": sink.url},
            "events": dict.fromkeys(EVENT_KINDS, "on"),
            "daily_report": False,
        }
        if notify
        else {"enabled": False}
    )
    config = RealTradeConfig(
        exchange="binance",
        symbol=SYMBOL,
        timeframe="1m",
        paper_trading=True,
        initial_cash=10_000.0,
        commission=0.001,
        sim_url=sim_url,
        run={"name": "bench-ops"},
        metrics={"enabled": variant.startswith("metrics") or ops, "port": 0},
        notifications=notifications,
    )
    name = f"bench-{variant}"
    bus = EventBus(name=name) if attribution is None else TimedBus(attribution, name=name)
    if attribution is not None:
        attribution.reset()
    orders = [0]
    bus.subscribe("order.submitted", lambda _t, _e: orders.__setitem__(0, orders[0] + 1))
    with tempfile.TemporaryDirectory() as tmp:
        journaled = "journal" in variant
        journal = f"sqlite:///{Path(tmp) / 'journal.db'}" if journaled else None
        runner = TradingRunner.from_config(
            config,
            SmaCross,
            strategy_params={"fast": 10, "slow": 30, "size": 0.01},
            journal=journal,
            risk=None,  # no risk limits: the overhead measured is the ops stack's
            bus=bus,
            heartbeat_interval=1.0,
            feed_options={"historical": True, "fromdate": first, "todate": last},
        )
        scraper = Scraper(runner)
        started, cpu_started = time.perf_counter(), time.process_time()
        runner.run(handle_signals=False)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        scrapes = scraper.stop()
        value = float(runner.broker.getvalue()) if runner.broker is not None else float("nan")
    bus.close()
    ops_cpu = 0.0 if attribution is None else attribution.ops_seconds()
    return RunResult(seconds, cpu, runner.bars, orders[0], value, scrapes, ops_cpu)


def main(argv: list[str] | None = None) -> int:
    """Run the variants ``--repeat`` times, interleaved; print medians and ratios to off."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", type=int, default=6_000, help="candles to use (from the start)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per variant")
    parser.add_argument(
        "--variants",
        default="off,metrics,metrics+journal,journal,journal+ops",
        help="comma-separated, from: off, metrics, metrics+journal, journal, journal+notify, "
        "journal+ops (off and journal are the baselines the ratios need)",
    )
    parser.add_argument(
        "--attribute",
        action="store_true",
        help="also measure the CPU of the operations layer's own threads and bus handlers",
    )
    args = parser.parse_args(argv)
    attribution = Attribution() if args.attribute else None
    logging.basicConfig(level=os.environ.get("RT_BENCH_LOG", "WARNING"))
    path = data_file()
    frame = pd.read_csv(path, nrows=args.bars)
    times = pd.to_datetime(frame["open_time"], utc=True)
    first = times.iloc[0].to_pydatetime().replace(tzinfo=None)
    last = times.iloc[-1].to_pydatetime().replace(tzinfo=None)
    end_ms = int(times.iloc[-1].timestamp() * 1000) + 60_000
    market = CandleReplayMarket(path, start_ms=end_ms)
    variants = tuple(args.variants.split(","))
    print(
        f"bench_ops_overhead: {args.bars} bars {first:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M}, "
        f"SmaCross(10/30) paper via TradingRunner, {args.repeat} runs per variant",
        flush=True,
    )
    results: dict[str, list[RunResult]] = {v: [] for v in variants}
    sink = WebhookSink()
    with SimExchange(market=market, stepped=True, rate_limits=RateLimits(enabled=False)) as sim:
        warm_up = first + dt.timedelta(minutes=200)
        timed_run(sim.url, first, warm_up, "off", sink)  # untimed
        for i in range(args.repeat):
            for variant in variants:
                r = timed_run(sim.url, first, last, variant, sink, attribution)
                results[variant].append(r)
                print(
                    f"  run {i + 1} {variant:16s}: {r.seconds:6.1f} s wall, "
                    f"{r.cpu_seconds:6.1f} s CPU, {r.bars / r.seconds:5.0f} bars/s, "
                    f"{r.orders} orders, value {r.value:,.2f}, {r.scrapes} scrapes"
                    + (f", ops layer {r.ops_cpu:.3f} s CPU" if attribution else ""),
                    flush=True,
                )
    print(f"webhook posts received by the sink (another process): {sink.close()}")
    return report(results)


def paired(runs: list[RunResult], base: list[RunResult]) -> tuple[float, float]:
    """The median over the rounds of ``runs[i] / base[i]``: CPU and wall."""
    cpu = statistics.median(r.cpu_seconds / b.cpu_seconds for r, b in zip(runs, base, strict=True))
    wall = statistics.median(r.seconds / b.seconds for r, b in zip(runs, base, strict=True))
    return cpu, wall


def report(results: dict[str, list[RunResult]]) -> int:
    """Print the median wall and CPU time of each variant and its ratio to ``off``."""
    base_wall = statistics.median(r.seconds for r in results["off"])
    base_cpu = statistics.median(r.cpu_seconds for r in results["off"])
    print("\n| variant | wall s (median) | wall vs off | CPU s (median) | CPU vs off |")
    print("|---|---|---|---|---|")
    for name, runs in results.items():
        wall = statistics.median(r.seconds for r in runs)
        cpu = statistics.median(r.cpu_seconds for r in runs)
        print(
            f"| {name} | {wall:.1f} | {wall / base_wall:.3f} | {cpu:.1f} | {cpu / base_cpu:.3f} |"
        )
    journal_cpu = statistics.median(r.cpu_seconds for r in results["journal"])
    ops_cpu = statistics.median(r.cpu_seconds for r in results["journal+ops"])
    journal_wall = statistics.median(r.seconds for r in results["journal"])
    ops_wall = statistics.median(r.seconds for r in results["journal+ops"])
    print(
        f"\noperations layer (journal+ops vs journal): CPU x{ops_cpu / journal_cpu:.3f}, "
        f"wall x{ops_wall / journal_wall:.3f}"
    )
    pairs = [("metrics", "off"), ("journal+notify", "journal"), ("journal+ops", "journal")]
    for name, base in pairs:
        if name in results and base in results:
            cpu_r, wall_r = paired(results[name], results[base])
            print(
                f"median of per-round ratios, {name} vs {base}: CPU x{cpu_r:.3f}, "
                f"wall x{wall_r:.3f}"
            )
    if any(r.ops_cpu for runs in results.values() for r in runs):
        print("\n| variant | ops layer CPU s (median) | share of the process CPU (median) |")
        print("|---|---|---|")
        for name, runs in results.items():
            ops = statistics.median(r.ops_cpu for r in runs)
            share = statistics.median(r.ops_cpu / r.cpu_seconds for r in runs)
            print(f"| {name} | {ops:.3f} | {share:.2%} |")
    outcomes = {(r.bars, r.orders, round(r.value, 2)) for runs in results.values() for r in runs}
    same = len(outcomes) == 1
    print(
        f"\nsame bars, orders and end value in every run: {'yes' if same else 'NO'} "
        f"{sorted(outcomes)}"
    )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
