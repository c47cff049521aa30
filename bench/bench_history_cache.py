"""Benchmark: the history cache, loading and downloading, each against a baseline in the same run.

**Loading N cached bars into a feed** (default 500,000 one-minute bars, about a year). The same
bars are written once as a cache file (Parquet, ``HistoryCache``) and once as a CSV file; each
feed is then built, added to a Cerebro and preloaded (``_start()`` + ``preload()``, what
``cerebro.run()`` does before the first ``next``), timed from construction (file reading
included) until its lines hold every bar:

* ``bt.feeds.GenericCSVData`` over the CSV (the baseline: how backtrader users load history);
* ``bt.feeds.PandasData`` over the cache file (``real_trade.history.pandas_feed``, the Parquet
  read included);
* ``real_trade.history.CachedData`` over the cache file (bulk preload);
* ``BinanceData(historical=True, cache=...)``, the live-trading feed in backtest mode, over the
  same cache (its range fully cached, so no kline request reaches the simulator it is bound to).

Every feed must hold the same N bars (checked). Then one ``cerebro.run()`` with an empty
strategy per feed type (CachedData vs GenericCSVData), end to end.

**Download throughput against the simulator** (rate limits off, in-process, loopback): the
simulator replays ``binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv`` (30,240 bars, all served
as REST history) or, without it, a synthetic week; ``real_trade.history.download`` of all of it
into an empty cache (incremental logic, venue clock, progress callback, Parquet writes) against
the baseline: a plain ccxt async loop ``fetch_ohlcv(since, limit=1000)`` over the same range.

Run::

    .venv/bin/python bench/bench_history_cache.py [--bars 500000] [--repeat 3] [--skip-download]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import backtrader as bt
import numpy as np

from real_trade.history import CachedData, CachedSeries, HistoryCache, download, pandas_feed

MIN = 60_000
FIRST_MS = 1_672_531_200_000  # 2023-01-01 00:00 UTC
DATA_FILE = "binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv"


def _series(n: int) -> CachedSeries:
    rng = np.random.default_rng(1)
    close = 20_000 * np.exp(np.cumsum(rng.normal(0, 0.0008, n)))
    opened = np.concatenate([[20_000.0], close[:-1]])
    high = np.maximum(opened, close) + rng.random(n) * 5
    low = np.minimum(opened, close) - rng.random(n) * 5
    volume = 0.5 + rng.random(n) * 3
    values = np.round(np.column_stack([opened, high, low, close, volume]), 2)
    return CachedSeries("1m", FIRST_MS + np.arange(n, dtype=np.int64) * MIN, values)


def _write_csv(path: Path, series: CachedSeries) -> None:

    frame = series.to_frame()
    frame.index = frame.index.tz_localize(None)
    frame.to_csv(path, date_format="%Y-%m-%d %H:%M:%S", float_format="%.2f")


def _csv_feed(path: Path) -> Any:
    return bt.feeds.GenericCSVData(
        dataname=str(path),
        dtformat="%Y-%m-%d %H:%M:%S",
        datetime=0,
        open=1,
        high=2,
        low=3,
        close=4,
        volume=5,
        openinterest=-1,
        timeframe=bt.TimeFrame.Minutes,
        compression=1,
    )


REPEAT = 3


def _time_load(make: Callable[[], Any]) -> tuple[float, Any]:
    """Best of REPEAT: construct, add to a Cerebro, start and preload; the last feed."""
    best, feed = float("inf"), None
    for _ in range(REPEAT):
        if feed is not None and hasattr(feed, "stop"):
            feed.stop()
        started = time.perf_counter()
        feed = make()
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(feed)
        feed._start()
        feed.preload()
        best = min(best, time.perf_counter() - started)
    return best, feed


def _closes(feed: Any) -> np.ndarray:
    return np.asarray(feed.lines.close.array)


class _Empty(bt.Strategy):
    def next(self) -> None:
        pass


def _time_run(make: Callable[[], Any]) -> float:
    started = time.perf_counter()
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(make())
    cerebro.addstrategy(_Empty)
    cerebro.run()
    return time.perf_counter() - started


def bench_load(n: int, workdir: Path) -> None:
    from datetime import datetime, timezone

    from real_trade.bus import EventBus
    from real_trade.feeds import BinanceData
    from real_trade.sim.server import SimExchange
    from real_trade.stores import BinanceStore

    series = _series(n)
    cache = HistoryCache(workdir / "history")
    cache.save("binance-sim", "spot", "BTC/USDT", "1m", series)
    path = cache.path_for("binance-sim", "spot", "BTC/USDT", "1m")
    csv = workdir / "bars.csv"
    _write_csv(csv, series)
    print(
        f"{n:,} one-minute bars: cache file {path.stat().st_size / 1e6:.1f} MB, "
        f"CSV {csv.stat().st_size / 1e6:.1f} MB"
    )

    rows: list[tuple[str, float]] = []
    baseline, csv_feed = _time_load(lambda: _csv_feed(csv))
    rows.append(("bt.feeds.GenericCSVData (CSV, baseline)", baseline))
    expected = _closes(csv_feed)
    for name, make in (
        ("bt.feeds.PandasData (pandas_feed, cache file)", lambda: pandas_feed(path)),
        ("real_trade.history.CachedData (cache file)", lambda: CachedData(path=path)),
    ):
        seconds, feed = _time_load(make)
        assert np.array_equal(_closes(feed), expected), name
        rows.append((name, seconds))

    def utc(ms: int) -> datetime:
        return datetime.fromtimestamp(ms / 1000, timezone.utc).replace(tzinfo=None)

    sim_start = FIRST_MS + n * MIN + 60 * MIN
    with SimExchange(stepped=True, start_ms=sim_start) as sim:
        store = BinanceStore(sim_url=sim.url, bus=EventBus(synchronous=True))
        store.start()
        try:
            make = lambda: BinanceData(  # noqa: E731
                store,
                symbol="BTC/USDT",
                ccxt_timeframe="1m",
                historical=True,
                fromdate=utc(FIRST_MS),
                todate=utc(FIRST_MS + (n - 1) * MIN),
                cache=cache,
            )
            seconds, feed = _time_load(make)
            assert np.array_equal(_closes(feed), expected), "BinanceData"
            feed.stop()
            rows.append(("BinanceData(historical, cache=) (cache file)", seconds))
        finally:
            store.stop()

    print(f"\nLoading {n:,} bars into a feed (construct + preload), best of {REPEAT}:")
    print(f"  {'feed':<50} {'seconds':>8} {'bars/s':>12} {'vs CSV':>8}")
    for name, seconds in rows:
        print(f"  {name:<50} {seconds:>8.3f} {n / seconds:>12,.0f} {baseline / seconds:>7.1f}x")

    csv_run = _time_run(lambda: _csv_feed(csv))
    cached_run = _time_run(lambda: CachedData(path=path))
    print(
        f"\ncerebro.run() with an empty strategy: GenericCSVData {csv_run:.2f} s, "
        f"CachedData {cached_run:.2f} s ({csv_run / cached_run:.1f}x)"
    )


async def _raw_ccxt(url: str, since: int, end: int) -> int:
    import ccxt.async_support as ccxt_async

    from real_trade.sim.server import ccxt_urls_for

    exchange = ccxt_async.binance({"urls": ccxt_urls_for(url), "enableRateLimit": True})
    try:
        await exchange.load_markets()
        count, cursor = 0, since
        while cursor <= end:
            page = await exchange.fetch_ohlcv("BTC/USDT", "1m", cursor, 1000)
            page = [row for row in page if row[0] <= end]
            if not page:
                break
            count += len(page)
            cursor = int(page[-1][0]) + MIN
        return count
    finally:
        await exchange.close()


def bench_download(workdir: Path) -> None:
    from real_trade.sim.plumbing.ratelimit import RateLimits
    from real_trade.sim.server import SimExchange
    from real_trade.venues.client import VenueClient

    data_dir = Path(
        os.environ.get("RT_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data")
    )
    csv = data_dir / DATA_FILE
    if csv.is_file():
        market: Any = csv
        first = 1_677_628_800_000  # 2023-03-01
        start = first + 30_240 * MIN
        label = f"{DATA_FILE} (30,240 bars)"
    else:
        market = "synthetic"
        start = 1_700_000_000_000 - 1_700_000_000_000 % MIN
        first = start - 7 * 1440 * MIN
        label = "synthetic market, 7 days (10,080 bars)"
    with SimExchange(
        market=market, stepped=True, start_ms=start, rate_limits=RateLimits(enabled=False)
    ) as sim:
        end = start - MIN
        # warm the simulator's kline history once, so neither side pays for building it
        asyncio.run(_raw_ccxt(sim.url, first, end))
        t0 = time.perf_counter()
        raw = asyncio.run(_raw_ccxt(sim.url, first, end))
        raw_s = time.perf_counter() - t0
        client = VenueClient("binance", sim_url=sim.url)
        client.start()
        try:
            t0 = time.perf_counter()
            summary = download(
                client, HistoryCache(workdir / "dl"), ["BTC/USDT"], ["1m"], first, end, False
            )
            ours_s = time.perf_counter() - t0
        finally:
            client.stop()
    got = summary.series[0].new_bars
    assert got == raw, (got, raw)
    print(f"\nDownload throughput against the simulator ({label}, rate limits off):")
    print(
        f"  raw ccxt fetch_ohlcv loop (baseline): {raw:,} bars in {raw_s:.2f} s = "
        f"{raw / raw_s:,.0f} bars/s"
    )
    print(
        f"  real_trade.history.download:          {got:,} bars in {ours_s:.2f} s = "
        f"{got / ours_s:,.0f} bars/s ({raw_s / ours_s:.2f}x the baseline's rate)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3, help="load timings: best of N")
    parser.add_argument("--skip-download", action="store_true")
    args = parser.parse_args()
    global REPEAT
    REPEAT = max(1, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        bench_load(args.bars, Path(tmp))
        if not args.skip_download:
            bench_download(Path(tmp))


if __name__ == "__main__":
    main()
