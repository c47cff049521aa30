"""Benchmark: reaction time from a bar's close on the exchange to the strategy's order arriving.

The full live path, twice in one run, each against a fresh in-process simulator
(:class:`~real_trade.sim.SimExchange`, synthetic market, rate limits off):

* **real_trade**: ``BinanceStore`` -> ``BinanceData`` (``live_source="auto"``: the Binance
  kline websocket, a bar closes on the exchange's ``x: true``) -> Cerebro -> strategy ->
  ``BinanceBroker(paper_trading=False)`` -> REST ``POST /api/v3/order``;
* **polling baseline**: the same, except that the feed's live source is
  :class:`bench.polling_source.PollingBarSource`, the way bt-ccxt-store gets bars (poll
  ``fetch_ohlcv`` every ``--poll-interval`` wall seconds, default 1 s, drop the forming candle).

The strategy sends one market order of ``--size`` BTC on every live bar, alternating buy and
sell. Both ends are timed inside the simulator's process with one clock
(``time.perf_counter``), from subscriptions to the simulator core's event bus: **t0** when the
core publishes the bar's final 1m kline (``sim.kline.BTCUSDT`` with ``is_closed``), **t1** when
it publishes the ``NEW`` order event of the benchmark account (``sim.order.<id>``) for the
order the strategy sent on that bar (matched by client order id). Reaction = t1 - t0. The
strategy also stamps the moment ``next()`` sees the bar, which splits the reaction into the
data leg (close -> ``next()``) and the order leg (``next()`` -> exchange).

Timeframe and speed: the simulator's core publishes closes of 1m bars on its bus (1s klines
are served, but their closes are not published), so the benchmark trades 1m bars on an
accelerated clock: ``--speed 300`` (default) makes a bar every 0.2 wall seconds, so 1,000 bars
take about 3.5 minutes per variant. The first ``--warmup`` live bars are left out.

Run::

    .venv/bin/python bench/bench_reaction.py             # 1,000 bars per variant
    .venv/bin/python bench/bench_reaction.py --bars 50   # smoke run
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import backtrader as bt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.polling_source import DEFAULT_POLL_INTERVAL_S, polling_factory
from real_trade.brokers import BinanceBroker
from real_trade.feeds import BinanceData
from real_trade.sim import (
    ExecutionType,
    Kline,
    OrderEvent,
    OrderStatus,
    SimExchange,
    SyntheticMarket,
)
from real_trade.sim.plumbing.ratelimit import RateLimits
from real_trade.stores import BinanceStore

SYMBOL, SYMBOL_ID = "BTC/USDT", "BTCUSDT"


# -- the strategy --------------------------------------------------------------------------
class EveryBarOrders(bt.Strategy):
    """One market order of ``size`` on every live bar, alternating buy and sell.

    Records, per bar open time (ms), the order sent and when ``next()`` saw the bar
    (``perf_counter``). After ``bars`` orders it waits (bar by bar) until every order is
    finished, so none is still in flight when the run stops.
    """

    params = (("size", 0.001), ("bars", 1000))

    def __init__(self) -> None:
        self.is_live = False
        self.sent: dict[int, Any] = {}
        self.seen: dict[int, float] = {}

    def notify_data(self, data: Any, status: int, *args: Any, **kwargs: Any) -> None:
        """Trade only once the feed is LIVE (backfilled bars are history)."""
        self.is_live = status == data.LIVE

    def next(self) -> None:
        """Send this bar's order, or stop once every order went out."""
        now = time.perf_counter()
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


# -- the timing inside the simulator ---------------------------------------------------------
@dataclass
class ExchangeTimes:
    """perf_counter stamps taken on the simulator core's bus: 1m closes and new orders."""

    closes: dict[int, float] = field(default_factory=dict)
    orders: dict[str, float] = field(default_factory=dict)

    def on_kline(self, _topic: str, kline: Kline) -> None:
        """Stamp the first publication of each closed 1m kline (by its open time)."""
        now = time.perf_counter()
        if kline.is_closed and kline.interval == "1m" and kline.open_ms not in self.closes:
            self.closes[kline.open_ms] = now

    def on_order(self, _topic: str, event: OrderEvent) -> None:
        """Stamp the NEW event of each order (by its client order id)."""
        now = time.perf_counter()
        if event.execution_type is ExecutionType.NEW:
            self.orders.setdefault(event.order.client_order_id, now)


@dataclass
class VariantResult:
    """Per-bar timings of one variant (seconds) and what could not be matched."""

    name: str
    reaction: list[float]
    data_leg: list[float]
    order_leg: list[float]
    unmatched: int
    wall_s: float
    filled: int


def run_variant(
    name: str,
    live_source: str | Callable[[Any, str, str], Any],
    *,
    bars: int,
    warmup: int,
    speed: float,
    size: float,
    seed: int,
    tick_ms: int,
    ccxt_throttle: bool = True,
) -> VariantResult:
    """Run the full live path against a fresh simulator for ``warmup + bars`` live bars.

    ``ccxt_throttle=False`` turns ccxt's request limiter off on the store's exchange (a
    diagnostic variant: it shows what the limiter's wait costs each order).
    """
    started = time.perf_counter()
    limits = RateLimits(enabled=False)
    market = SyntheticMarket([SYMBOL_ID], seed=seed, tick_ms=tick_ms)
    with SimExchange(market=market, speed=speed, seed=seed, rate_limits=limits) as sim:
        key, secret = sim.create_account({"USDT": 1_000_000, "BTC": 10})
        account = sim.core.account_by_key(key)
        assert account is not None
        times = ExchangeTimes()
        bus = sim.bus
        subs = [
            bus.subscribe(f"sim.kline.{SYMBOL_ID}", times.on_kline),
            bus.subscribe(f"sim.order.{account.account_id}", times.on_order),
        ]
        store = BinanceStore(apikey=key, secret=secret, testnet=True, sim_url=sim.url)
        try:
            if not ccxt_throttle:
                store.start()
                store.exchange.enableRateLimit = False
            broker = BinanceBroker(store, paper_trading=False)
            data = BinanceData.from_timeframe_string(
                "1m", store, symbol=SYMBOL, backfill_start=False, live_source=live_source
            )
            cerebro = bt.Cerebro(stdstats=False)
            cerebro.setbroker(broker)
            cerebro.adddata(data)
            cerebro.addstrategy(EveryBarOrders, size=size, bars=warmup + bars)
            (strategy,) = cerebro.run()
        finally:
            store.stop()
            for sub in subs:
                sub.unsubscribe()
        filled = sum(
            1
            for o in sim.core.all_orders(account, SYMBOL_ID, limit=100_000)
            if o.status is OrderStatus.FILLED
        )
    wall = time.perf_counter() - started
    reaction, data_leg, order_leg = [], [], []
    unmatched = 0
    for open_ms in sorted(strategy.sent)[warmup:]:
        cid = strategy.sent[open_ms].info.get("client_order_id")
        t0, t1 = times.closes.get(open_ms), times.orders.get(cid) if cid else None
        if t0 is None or t1 is None:
            unmatched += 1
            continue
        reaction.append(t1 - t0)
        data_leg.append(strategy.seen[open_ms] - t0)
        order_leg.append(t1 - strategy.seen[open_ms])
    return VariantResult(name, reaction, data_leg, order_leg, unmatched, wall, filled)


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


def report(fast: VariantResult, slow: VariantResult, args: argparse.Namespace) -> None:
    """Print both variants side by side with the ratio baseline / real_trade."""
    print(
        f"\nreaction = exchange publishes the bar's final 1m kline -> exchange receives the "
        f"strategy's order (ms); 1m bars at speed {args.speed:g} "
        f"({60 / args.speed:.2f} s wall per bar), polling every {args.poll_interval:g} s"
    )
    w = 12
    print(f"{'':<22}{'real_trade (ws)':>{w + 4}}{'polling (REST)':>{w + 4}}{'ratio':>{w}}")
    for label, attr in (
        ("reaction", "reaction"),
        ("  data leg", "data_leg"),
        ("  order leg", "order_leg"),
    ):
        a, b = summary(getattr(fast, attr)), summary(getattr(slow, attr))
        for stat in ("p50", "p99", "mean", "max"):
            ratio = b[stat] / a[stat] if a[stat] else float("nan")
            print(
                f"{label + ' ' + stat:<22}{a[stat]:>{w + 4}.1f}{b[stat]:>{w + 4}.1f}"
                f"{ratio:>{w - 1}.1f}x"
            )
    for r in (fast, slow):
        print(
            f"{r.name}: {len(r.reaction)} bars timed, {r.unmatched} unmatched, "
            f"{r.filled} orders filled on the exchange, {r.wall_s:.0f} s wall"
        )


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run both variants, print the table."""
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
    parser.add_argument("--only", choices=("ws", "poll"), help="run one variant only")
    parser.add_argument(
        "--no-throttle",
        action="store_true",
        help="also run the ws variant with ccxt's rate limiter off",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("RT_BENCH_LOG", "WARNING"))
    common = dict(
        bars=args.bars,
        warmup=args.warmup,
        speed=args.speed,
        size=args.size,
        seed=args.seed,
        tick_ms=args.tick_ms,
    )
    print(
        f"bench_reaction: {args.bars} bars per variant (+{args.warmup} warm-up), "
        f"speed {args.speed:g}, poll {args.poll_interval:g} s",
        flush=True,
    )
    results: list[VariantResult] = []
    if args.only in (None, "ws"):
        results.append(run_variant("real_trade (ws)", "auto", **common))
        print(f"  real_trade (ws) done in {results[-1].wall_s:.0f} s", flush=True)
    if args.only in (None, "poll"):
        source = polling_factory(args.poll_interval)
        results.append(run_variant("polling (REST)", source, **common))
        print(f"  polling (REST) done in {results[-1].wall_s:.0f} s", flush=True)
    if args.no_throttle:
        name = "real_trade (ws), ccxt limiter off"
        extra = run_variant(name, "auto", ccxt_throttle=False, **common)
        print(f"  {name} done in {extra.wall_s:.0f} s", flush=True)
    if len(results) == 2:
        report(results[0], results[1], args)
    else:
        for r in results:
            print(r.name, {k: round(v, 1) for k, v in summary(r.reaction).items()})
    if args.no_throttle:
        results.append(extra)
        for attr in ("reaction", "order_leg"):
            stats = ", ".join(f"{k} {v:.1f}" for k, v in summary(getattr(extra, attr)).items())
            print(f"{extra.name}: {attr} {stats} ms ({len(extra.reaction)} bars)")
    bad = any(r.unmatched > len(r.reaction) // 10 or not r.reaction for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
