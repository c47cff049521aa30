"""Soak: 24 hours of market time of 1-minute bars, a reconnect every market hour, memory bounded.

The trading process runs the full live feed path: ``BinanceStore`` -> ``BinanceData`` (Binance's
native kline websocket, ``live_source="auto"``) -> Cerebro -> a strategy that records every bar.
The exchange is a :class:`~real_trade.sim.SimExchange` (synthetic BTC/USDT, rate limits off)
running in a **child process**, so the resident memory measured is the trading process's alone
(the simulator keeps every trade and candle it makes, which is not ours to bound). Its clock runs
``--speed`` times faster than the wall clock (400: a market minute every 0.15 wall seconds, so
24 market hours take 3.6 wall minutes).

The feed's watchdog is given market time as its clock, with ``max_connection_age`` of one market
hour (``--reconnect-every``): the kline connection is replaced every simulated hour, each time
with a CONNBROKEN, a REST backfill of the bars that closed meanwhile and LIVE again. RSS (psutil)
is sampled at every market hour. ``stale_after`` is 600 market seconds (``--stale-after``): the
feed's default of 1.5 bars + 10 s is 100 market seconds, a quarter of a wall second at 400x, so a
wall-clock hiccup (a garbage collection, a reconnect) would read as stale data; stale restarts
lose nothing either, but they would blur the reconnect count.

Printed: bars expected vs received, lost / duplicate / wrong-valued bars (compared with the
simulator's own candles, read by REST at the end), reconnects and stale events, RSS at start /
after the warm-up hour / at the end, and the growth after warm-up against the bound
(``--bound-mib``, 20 MiB by default). The run passes when no bar is lost, repeated or wrong, every
planned reconnect happened, and the growth stays under the bound.

Run::

    .venv/bin/python bench/bench_soak.py                # 24 market hours, ~4 minutes
    .venv/bin/python bench/bench_soak.py --hours 3 --reconnect-every 1800   # ~30 s
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import multiprocessing
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import backtrader as bt
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from real_trade.bus import EventBus
from real_trade.feeds import BinanceData, FeedReconnect, FeedStale
from real_trade.stores import BaseStore, BinanceStore

__all__ = ["PROXY_ENV", "SoakResult", "main", "run_soak"]

SYMBOL, SYMBOL_ID = "BTC/USDT", "BTCUSDT"
MIN_MS, HOUR_MS = 60_000, 3_600_000
START = datetime(2024, 1, 1, tzinfo=timezone.utc)  # market time starts on a whole hour
MIB = 1024 * 1024
PROXY_ENV = ("RT_SIM_URL", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")
"""Environment variables that would send the store elsewhere than the simulator."""


# -- the simulator, in its own process ------------------------------------------------------
def serve_simulator(conn: Connection, speed: float, seed: int, tick_ms: int, start_ms: int) -> None:
    """Child process: serve an accelerated simulator until the parent says stop.

    Sends ``(url, market_ms, wall_s)`` once serving: a market time read with the wall time it
    was read at, from which the parent derives the market clock.
    """
    from real_trade.sim import SimExchange, SyntheticMarket
    from real_trade.sim.plumbing.ratelimit import RateLimits

    market = SyntheticMarket([SYMBOL_ID], seed=seed, start_ms=start_ms, tick_ms=tick_ms)
    with SimExchange(
        market=market, speed=speed, seed=seed, rate_limits=RateLimits(enabled=False)
    ) as sim:
        conn.send((sim.url, sim.clock.now_ms(), time.time()))
        conn.recv()


class MarketClock:
    """The simulator's market time in the trading process: seconds, from one paired reading."""

    def __init__(self, market_ms: int, wall_s: float, speed: float) -> None:
        self.market_ms, self.wall_s, self.speed = market_ms, wall_s, speed

    def now_ms(self) -> float:
        """Market time in ms since the epoch."""
        return self.market_ms + (time.time() - self.wall_s) * self.speed * 1000.0

    def __call__(self) -> float:
        """Market time in seconds: the feed's watchdog clock."""
        return self.now_ms() / 1000.0


# -- the trading side -----------------------------------------------------------------------
class BarLog(bt.Strategy):
    """Records the open time (ms) of every bar and the feed's notifications; stops at the end."""

    params = (("soak", None),)

    def notify_data(self, data: bt.feed.DataBase, status: int, *args: Any, **kw: Any) -> None:
        """Record the feed's state changes."""
        self.p.soak.states.append(data._getstatusname(status))

    def next(self) -> None:
        """Record the bar; stop once the last bar of the soak arrived."""
        soak: Soak = self.p.soak
        opened = self.data.datetime.datetime(0).replace(tzinfo=timezone.utc)
        open_ms = round(opened.timestamp() * 1000)
        soak.opens.append(open_ms)
        soak.values[open_ms] = tuple(
            float(line[0])
            for line in (
                self.data.open,
                self.data.high,
                self.data.low,
                self.data.close,
                self.data.volume,
            )
        )
        if open_ms >= soak.end_ms - MIN_MS:
            self.env.runstop()


@dataclass
class Soak:
    """What the running soak has seen so far (written by Cerebro's thread and the bus)."""

    start_ms: int
    end_ms: int
    opens: list[int] = field(default_factory=list)
    values: dict[int, tuple[float, ...]] = field(default_factory=dict)
    states: list[str] = field(default_factory=list)
    reconnects: list[FeedReconnect] = field(default_factory=list)
    stales: list[FeedStale] = field(default_factory=list)


@dataclass
class SoakResult:
    """The soak's outcome: counts, RSS samples (MiB by market hour) and the verdict."""

    hours: float
    reconnect_every_s: float
    expected: int
    received: int
    lost: list[int]
    duplicates: int
    mismatched: int
    reconnects: int
    age_reconnects: int
    stale_events: int
    connbroken: int
    ws_connects: int
    rss_mib: dict[int, float]
    rss_start_mib: float
    rss_warm_mib: float
    rss_end_mib: float
    bound_mib: float
    wall_s: float
    finished: bool

    @property
    def growth_mib(self) -> float:
        """RSS growth after the warm-up hour."""
        return self.rss_end_mib - self.rss_warm_mib

    @property
    def planned_reconnects(self) -> int:
        """Reconnects the schedule asks for: one per elapsed ``reconnect_every`` (minus one for
        a connection that may start a little late after the initial backfill)."""
        return max(0, int(self.hours * 3600 / self.reconnect_every_s) - 1)

    @property
    def passed(self) -> bool:
        """No lost, repeated or wrong bar; the reconnects happened; growth within the bound."""
        return (
            self.finished
            and not self.lost
            and self.duplicates == 0
            and self.mismatched == 0
            and self.received == self.expected
            and self.reconnects >= self.planned_reconnects
            and self.growth_mib < self.bound_mib
        )

    def report(self) -> str:
        """The human-readable summary."""
        rss = ", ".join(f"h{h}={v:.1f}" for h, v in sorted(self.rss_mib.items()))
        return "\n".join(
            [
                f"soak: {self.hours:g} market hours of 1m bars, reconnect every "
                f"{self.reconnect_every_s:g} market s, {self.wall_s:.1f} s wall",
                f"bars: expected {self.expected}, received {self.received}, lost {len(self.lost)}, "
                f"duplicates {self.duplicates}, wrong values {self.mismatched}",
                f"reconnects: {self.reconnects} by the watchdog ({self.age_reconnects} for age, "
                f"{self.stale_events} for stale data; planned >= {self.planned_reconnects}), kline "
                f"connections {self.ws_connects}, CONNBROKEN seen {self.connbroken}",
                f"RSS MiB: start {self.rss_start_mib:.1f}, after warm-up (1st market hour) "
                f"{self.rss_warm_mib:.1f}, end {self.rss_end_mib:.1f}; growth after warm-up "
                f"{self.growth_mib:+.1f} (bound {self.bound_mib:g})",
                f"RSS by market hour: {rss}",
                f"result: {'PASS' if self.passed else 'FAIL'}",
            ]
        )


def run_soak(
    hours: float = 24.0,
    *,
    reconnect_every_s: float = 3600.0,
    speed: float = 400.0,
    bound_mib: float = 20.0,
    stale_after: float | str | None = 600.0,
    seed: int = 5,
    tick_ms: int = 5000,
) -> SoakResult:
    """Run the soak (see the module docstring) and return its result.

    The environment must name no proxy (``HTTPS_PROXY``...): the store talks to loopback.
    """
    start_ms = int(START.timestamp() * 1000)
    end_ms = start_ms + round(hours * HOUR_MS)
    process = psutil.Process()
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(
        target=serve_simulator, args=(child, speed, seed, tick_ms, start_ms), daemon=True
    )
    server.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the simulator process did not start")
        url, market_ms, wall_s = parent.recv()
        return _trade(
            url,
            MarketClock(market_ms, wall_s, speed),
            process,
            start_ms,
            end_ms,
            hours=hours,
            reconnect_every_s=reconnect_every_s,
            bound_mib=bound_mib,
            stale_after=stale_after,
            speed=speed,
        )
    finally:
        with contextlib.suppress(OSError):
            parent.send("stop")
        server.join(15)
        if server.is_alive():
            server.kill()


def _trade(
    url: str,
    clock: MarketClock,
    process: psutil.Process,
    start_ms: int,
    end_ms: int,
    *,
    hours: float,
    reconnect_every_s: float,
    bound_mib: float,
    stale_after: float | str | None,
    speed: float,
) -> SoakResult:
    soak = Soak(start_ms, end_ms)
    bus = EventBus(synchronous=True)
    bus.subscribe("feed.reconnect", lambda _t, event: soak.reconnects.append(event))
    bus.subscribe("feed.stale", lambda _t, event: soak.stales.append(event))
    store = BinanceStore(sim_url=url, bus=bus, reconnect_base_delay=0.2, reconnect_max_delay=0.5)
    data = BinanceData.from_timeframe_string(
        "1m",
        store,
        symbol=SYMBOL,
        fromdate=START.replace(tzinfo=None),
        qcheck=0.05,
        clock=clock,
        max_connection_age=reconnect_every_s,
        stale_after=stale_after,
        watchdog_interval=0.02,
    )
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(data)
    cerebro.addstrategy(BarLog, soak=soak)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            cerebro.run()
        except BaseException as exc:  # reported below, not lost on this thread
            errors.append(exc)

    rss: dict[int, float] = {}
    rss_start = process.memory_info().rss / MIB
    began = time.monotonic()
    thread = threading.Thread(target=run, name="cerebro-soak", daemon=True)
    thread.start()
    deadline = began + hours * 3600 / speed * 2 + 120  # a stuck run fails instead of hanging
    while thread.is_alive() and time.monotonic() < deadline:
        hour = int((clock.now_ms() - start_ms) // HOUR_MS)
        if 0 < hour <= hours and hour not in rss:
            rss[hour] = process.memory_info().rss / MIB
        thread.join(0.05)
    finished = not thread.is_alive() and not errors and bool(soak.opens)
    if thread.is_alive():
        cerebro.runstop()
        thread.join(15)
    rss_end = process.memory_info().rss / MIB
    wall = time.monotonic() - began
    stream = data.stream
    source = stream.source if stream is not None else None
    ws = getattr(source, "websocket", None)
    truth = store.client.fetch_ohlcv(SYMBOL, "1m", start_ms, end_ms - 1, None, True)
    store.stop()
    BaseStore.clear_instances()
    if errors:
        print(f"cerebro failed: {errors[0]!r}", file=sys.stderr)
    inside = [o for o in soak.opens if start_ms <= o < end_ms]
    expected = list(range(start_ms, end_ms, MIN_MS))
    candles = {int(row[0]): tuple(float(v) for v in row[1:6]) for row in truth}
    mismatched = sum(1 for o in set(inside) if candles.get(o) != soak.values.get(o))
    return SoakResult(
        hours=hours,
        reconnect_every_s=reconnect_every_s,
        expected=len(expected),
        received=len(inside),
        lost=sorted(set(expected) - set(inside)),
        duplicates=len(inside) - len(set(inside)),
        mismatched=mismatched,
        reconnects=len(soak.reconnects),
        stale_events=len(soak.stales),
        age_reconnects=sum(e.reason == "max_connection_age" for e in soak.reconnects),
        connbroken=soak.states.count("CONNBROKEN"),
        ws_connects=ws.stats["connects"] if ws is not None else 0,
        rss_mib=rss,
        rss_start_mib=rss_start,
        rss_warm_mib=rss.get(1, rss_start),
        rss_end_mib=rss_end,
        bound_mib=bound_mib,
        wall_s=wall,
        finished=finished,
    )


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the soak, print the report; exit status 0 on PASS."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--hours", type=float, default=24.0, help="market hours (default 24)")
    parser.add_argument(
        "--reconnect-every",
        type=float,
        default=3600.0,
        help="max_connection_age in market seconds (default 3600)",
    )
    parser.add_argument(
        "--speed", type=float, default=400.0, help="market seconds per wall second (default 400)"
    )
    parser.add_argument(
        "--bound-mib",
        type=float,
        default=20.0,
        help="allowed RSS growth after the first market hour (default 20)",
    )
    parser.add_argument(
        "--stale-after",
        default="600",
        help="the feed's stale_after in market seconds, 'auto' or 'none' (default 600)",
    )
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    for name in PROXY_ENV:  # this process talks to its own simulator on loopback only
        os.environ.pop(name, None)
    stale: float | str | None = args.stale_after
    if isinstance(stale, str) and stale not in ("auto", "none"):
        stale = float(stale)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    result = run_soak(
        args.hours,
        reconnect_every_s=args.reconnect_every,
        speed=args.speed,
        bound_mib=args.bound_mib,
        stale_after=None if stale == "none" else stale,
        seed=args.seed,
    )
    print(result.report())
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
