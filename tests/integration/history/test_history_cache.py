"""The local history cache against the simulator, with the real ccxt client.

The simulator replays a candle file written here: three days of one-minute candles before its
clock starts (served by REST ``klines`` exactly as in the file), with a 30-minute hole the
"exchange" has no candles for, and a day after the start for the clock to advance into. The
simulator's own ``core.klines`` is wrapped to record every kline request it serves, so the
tests count what reached the exchange.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np
import pytest

from real_trade.bus import EventBus
from real_trade.feeds import BinanceData
from real_trade.history import (
    DISAGREEMENT_TOPIC,
    CachedData,
    CacheDisagreement,
    DownloadProgress,
    HistoryCache,
    download,
    pandas_feed,
)
from real_trade.history.cache import write_series
from real_trade.sim.server import SimExchange
from real_trade.stores import BaseStore, BinanceStore
from real_trade.venues.client import VenueClient

pytestmark = pytest.mark.integration

MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR
FIRST_MS = 1_677_628_800_000  # 2023-03-01 00:00 UTC
START_MS = FIRST_MS + 3 * DAY  # the simulator's clock starts here
HOLE = (FIRST_MS + DAY + 10 * HOUR, FIRST_MS + DAY + 10 * HOUR + 29 * MIN)  # 30 bars missing
VENUE = "binance-sim"


def _write_candles(path: Path) -> None:
    """Four days of a seeded random walk, one candle a minute, minus the HOLE."""
    rng = np.random.default_rng(7)
    price = 23_000.0
    lines = ["open_time,open,high,low,close,volume"]
    for i in range(4 * 1440):
        t = FIRST_MS + i * MIN
        close = round(price * (1 + rng.normal(0, 0.0008)), 2)
        high = round(max(price, close) + rng.random() * 5, 2)
        low = round(min(price, close) - rng.random() * 5, 2)
        volume = round(0.5 + rng.random() * 3, 6)
        if not HOLE[0] <= t <= HOLE[1]:
            lines.append(f"{t},{price:.2f},{high:.2f},{low:.2f},{close:.2f},{volume:.6f}")
        price = close
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def candle_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("candles") / "test_BTCUSDT_1m.csv"
    _write_candles(path)
    return path


class KlineSpy:
    """Records every kline request the simulator serves: (interval, start_ms, end_ms, limit)."""

    def __init__(self, sim: SimExchange) -> None:
        self.calls: list[tuple[str, int | None, int | None, int]] = []
        original = sim.core.klines

        def klines(
            symbol: str, interval: str, start_ms: Any = None, end_ms: Any = None, limit: int = 500
        ) -> Any:
            self.calls.append((interval, start_ms, end_ms, limit))
            return original(symbol, interval, start_ms, end_ms, limit)

        sim.core.klines = klines  # type: ignore[method-assign]

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture
def sim(candle_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimExchange]:
    for name in ("RT_SIM_URL", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with SimExchange(market=candle_file, stepped=True, start_ms=START_MS) as exchange:
        yield exchange


@pytest.fixture
def spy(sim: SimExchange) -> KlineSpy:
    return KlineSpy(sim)


@pytest.fixture
def client(sim: SimExchange) -> Iterator[VenueClient]:
    created = VenueClient("binance", sim_url=sim.url)
    yield created
    created.stop()


@pytest.fixture
def cache(tmp_path: Path) -> HistoryCache:
    return HistoryCache(tmp_path / "history")


@pytest.fixture
def store(sim: SimExchange) -> Iterator[BinanceStore]:
    created = BinanceStore(sim_url=sim.url, bus=EventBus(synchronous=True))
    yield created
    created.stop()
    BaseStore.clear_instances()


def _venue_rows(sim: SimExchange, interval: str, first_ms: int, last_ms: int) -> np.ndarray:
    """The simulator's own closed klines opening in [first_ms, last_ms] as rows."""
    out: list[list[float]] = []
    cursor = first_ms
    while cursor <= last_ms:
        page = sim.core.klines("BTCUSDT", interval, cursor, last_ms, 1000)
        page = [k for k in page if k.is_closed]
        if not page:
            break
        out += [
            [k.open_ms, *(float(v) for v in (k.open, k.high, k.low, k.close, k.volume))]
            for k in page
        ]
        cursor = page[-1].open_ms + 1
    return np.asarray(out)


def _cached_rows(cache: HistoryCache, timeframe: str) -> np.ndarray:
    series = cache.read(VENUE, "spot", "BTC/USDT", timeframe)
    return np.column_stack([series.opens.astype(float), series.values])


def test_download_stores_the_venues_closed_candles_and_reports_its_hole(
    sim: SimExchange, client: VenueClient, cache: HistoryCache
) -> None:
    summary = download(client, cache, ["BTC/USDT"], ["1m", "1h"], FIRST_MS, None, False)

    assert summary.ok, summary
    m1, h1 = summary.series
    assert m1.path == cache.root / VENUE / "spot" / "BTC_USDT-1m.parquet" and m1.path.is_file()
    assert (m1.first_ms, m1.last_ms) == (FIRST_MS, START_MS - MIN)  # closed bars only
    assert m1.total_bars == m1.new_bars == 3 * 1440 - 30
    np.testing.assert_array_equal(
        _cached_rows(cache, "1m"), _venue_rows(sim, "1m", FIRST_MS, START_MS)
    )
    np.testing.assert_array_equal(
        _cached_rows(cache, "1h"), _venue_rows(sim, "1h", FIRST_MS, START_MS)
    )
    assert h1.total_bars == 72
    # the hole the venue has no candles for is reported, once, with its exact extent
    assert [(g.start_ms, g.end_ms, g.bars, g.filled) for g in m1.venue_gaps] == [
        (HOLE[0], HOLE[1] + MIN - 1, 30, False)
    ]
    assert h1.venue_gaps == () and m1.disagreements == ()
    frame = cache.load(VENUE, "spot", "BTC/USDT", "1h", FIRST_MS + HOUR, FIRST_MS + 3 * HOUR)
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert frame.index.name == "datetime" and str(frame.index.tz) == "UTC"
    assert [int(t.timestamp() * 1000) for t in frame.index] == [
        FIRST_MS + HOUR,
        FIRST_MS + 2 * HOUR,
        FIRST_MS + 3 * HOUR,
    ]


def test_a_second_run_fetches_only_the_new_bars_and_not_the_known_hole(
    sim: SimExchange, client: VenueClient, cache: HistoryCache, spy: KlineSpy
) -> None:
    download(client, cache, ["BTC/USDT"], ["1m", "1h"], FIRST_MS, None, False)
    sim.advance(2 * 3600)  # two market hours: 120 new minutes, 2 new hours
    spy.clear()

    summary = download(client, cache, ["BTC/USDT"], ["1m", "1h"], FIRST_MS, None, False)

    m1, h1 = summary.series
    assert (m1.new_bars, h1.new_bars) == (120, 2)
    assert (m1.fetched_bars, h1.fetched_bars) == (121, 3)  # + the last cached bar, compared
    assert m1.venue_gaps == () and m1.gaps_filled == ()  # the hole is known: not asked again
    assert [(c[0], c[1]) for c in spy.calls] == [
        ("1m", START_MS - MIN),
        ("1h", START_MS - HOUR),
    ]
    expected = _venue_rows(sim, "1m", FIRST_MS, START_MS + 2 * HOUR)
    np.testing.assert_array_equal(_cached_rows(cache, "1m"), expected)


def test_an_interrupted_download_keeps_what_it_fetched_and_the_next_run_resumes(
    sim: SimExchange, client: VenueClient, cache: HistoryCache, spy: KlineSpy
) -> None:
    def interrupt_after_two_windows(state: DownloadProgress) -> None:
        if state.done_bars >= 2000:
            raise KeyboardInterrupt

    first = download(
        client,
        cache,
        ["BTC/USDT"],
        ["1m"],
        FIRST_MS,
        None,
        interrupt_after_two_windows,
        flush_every_s=0,
        window_bars=1000,
    )

    assert first.interrupted and not first.ok
    kept = cache.read(VENUE, "spot", "BTC/USDT", "1m")
    assert len(kept) == 2000 and int(kept.opens[-1]) == FIRST_MS + 1999 * MIN  # on disk
    spy.clear()

    second = download(client, cache, ["BTC/USDT"], ["1m"], FIRST_MS, None, False)

    assert second.ok and second.series[0].new_bars == 3 * 1440 - 30 - 2000
    assert spy.calls[0][1] == FIRST_MS + 1999 * MIN  # resumed at the last kept bar
    np.testing.assert_array_equal(
        _cached_rows(cache, "1m"), _venue_rows(sim, "1m", FIRST_MS, START_MS)
    )


def test_a_download_killed_with_sigkill_resumes_from_the_cli(
    sim: SimExchange, cache: HistoryCache, spy: KlineSpy
) -> None:
    env = {**os.environ, "RT_SIM_URL": sim.url, "RT_CRASH_AT": "history_flushed:1"}
    command = [
        sys.executable,
        "-m",
        "real_trade.cli",
        "download",
        "--exchange",
        "binance",
        "--symbols",
        "BTC/USDT",
        "--timeframes",
        "1m,1h",
        "--from",
        "2023-03-01",
        "--dir",
        str(cache.root),
        "--quiet",
        "--flush-seconds",
        "0",
    ]

    killed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert killed.returncode == -9, killed.stderr
    assert len(cache.read(VENUE, "spot", "BTC/USDT", "1m")) == 3 * 1440 - 30  # written
    assert len(cache.read(VENUE, "spot", "BTC/USDT", "1h")) == 0  # killed before
    spy.clear()
    del env["RT_CRASH_AT"]

    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert resumed.returncode == 0, resumed.stderr
    assert "BTC/USDT 1m: 0 new bars" in resumed.stdout
    assert "BTC/USDT 1h: 72 new bars" in resumed.stdout
    # 1m: the hole (the killed run had not confirmed it yet) and the seam bar; 1h: all of it
    assert [(c[0], c[1]) for c in spy.calls] == [
        ("1m", HOLE[0] - MIN),
        ("1m", START_MS - MIN),
        ("1h", FIRST_MS),
    ]
    assert "gap kept (the exchange has none): 2023-03-02 10:00 .. 2023-03-02 10:29" in (
        resumed.stdout
    )


def test_a_hole_in_the_cache_is_found_refetched_and_reported(
    sim: SimExchange, client: VenueClient, cache: HistoryCache, spy: KlineSpy
) -> None:
    download(client, cache, ["BTC/USDT"], ["1m"], FIRST_MS, None, False)
    path = cache.path_for(VENUE, "spot", "BTC/USDT", "1m")
    full = cache.read(VENUE, "spot", "BTC/USDT", "1m")
    cut_from, cut_to = FIRST_MS + 2 * DAY, FIRST_MS + 2 * DAY + 44 * MIN  # 45 bars lost
    keep = (full.opens < cut_from) | (full.opens > cut_to)
    damaged = type(full)("1m", full.opens[keep], full.values[keep], full.venue_gaps)
    write_series(path, damaged, venue=VENUE, market_type="spot", symbol="BTC/USDT")
    spy.clear()

    summary = download(client, cache, ["BTC/USDT"], ["1m"], FIRST_MS, None, False)

    series = summary.series[0]
    assert [(g.start_ms, g.end_ms, g.bars, g.filled) for g in series.gaps_filled] == [
        (cut_from, cut_to + MIN - 1, 45, True)
    ]
    assert series.new_bars == 45 and series.venue_gaps == ()
    assert spy.calls[0][1] == cut_from - MIN  # from the bar before the hole, compared
    np.testing.assert_array_equal(
        _cached_rows(cache, "1m"), _venue_rows(sim, "1m", FIRST_MS, START_MS)
    )


class Recorder(bt.Strategy):
    """Records (open ms, open, high, low, close, volume) of every bar."""

    def __init__(self) -> None:
        self.out: list[tuple[float, ...]] = []

    def next(self) -> None:
        d = self.data
        ms = round(d.datetime.datetime(0).replace(tzinfo=timezone.utc).timestamp() * 1000)
        self.out.append((ms, d.open[0], d.high[0], d.low[0], d.close[0], d.volume[0]))


def _run(data: bt.feed.DataBase, preload: bool = True) -> np.ndarray:
    cerebro = bt.Cerebro(stdstats=False, preload=preload)
    cerebro.adddata(data)
    cerebro.addstrategy(Recorder)
    return np.asarray(cerebro.run()[0].out)


def _dt(ms: int) -> datetime:
    """A naive UTC datetime, as backtrader's fromdate/todate take it."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).replace(tzinfo=None)


def test_a_backtest_feed_reads_a_cached_range_without_asking_the_venue(
    sim: SimExchange,
    client: VenueClient,
    store: BinanceStore,
    cache: HistoryCache,
    spy: KlineSpy,
) -> None:
    download(client, cache, ["BTC/USDT"], ["1h"], FIRST_MS, None, False)
    spy.clear()
    data = BinanceData(
        store,
        symbol="BTC/USDT",
        timeframe=bt.TimeFrame.Minutes,
        compression=60,
        historical=True,
        fromdate=_dt(FIRST_MS + 5 * HOUR),
        todate=_dt(FIRST_MS + 50 * HOUR),
        cache=cache,
    )

    bars = _run(data)

    assert spy.calls == []  # not one kline request
    np.testing.assert_array_equal(
        bars, _venue_rows(sim, "1h", FIRST_MS + 5 * HOUR, FIRST_MS + 50 * HOUR)
    )


@pytest.mark.parametrize("preload", [True, False], ids=["preloaded", "bar-by-bar"])
def test_a_backtest_feed_fetches_only_what_the_cache_lacks_and_writes_it_back(
    sim: SimExchange,
    client: VenueClient,
    store: BinanceStore,
    cache: HistoryCache,
    spy: KlineSpy,
    preload: bool,
) -> None:
    download(client, cache, ["BTC/USDT"], ["1h"], FIRST_MS, FIRST_MS + 47 * HOUR, False)
    spy.clear()
    data = BinanceData(
        store,
        symbol="BTC/USDT",
        timeframe=bt.TimeFrame.Minutes,
        compression=60,
        historical=True,
        fromdate=_dt(FIRST_MS),
        todate=_dt(START_MS - HOUR),
        cache=cache,
    )

    bars = _run(data, preload)

    assert [(c[0], c[1]) for c in spy.calls] == [("1h", FIRST_MS + 47 * HOUR)]  # from the seam
    np.testing.assert_array_equal(bars, _venue_rows(sim, "1h", FIRST_MS, START_MS - HOUR))
    assert len(cache.read(VENUE, "spot", "BTC/USDT", "1h")) == 72  # written back


def test_a_cache_disagreeing_with_the_venue_is_reported_and_not_mixed(
    sim: SimExchange, client: VenueClient, store: BinanceStore, cache: HistoryCache
) -> None:
    download(client, cache, ["BTC/USDT"], ["1h"], FIRST_MS, FIRST_MS + 47 * HOUR, False)
    path = cache.path_for(VENUE, "spot", "BTC/USDT", "1h")
    series = cache.read(VENUE, "spot", "BTC/USDT", "1h")
    true_close = float(series.values[-1, 3])
    series.values[-1, 3] = true_close + 100.0  # the cached 47th hour now lies
    write_series(path, series, venue=VENUE, market_type="spot", symbol="BTC/USDT")
    seen: list[CacheDisagreement] = []
    store.client.bus.subscribe(DISAGREEMENT_TOPIC, lambda topic, event: seen.append(event))
    data = BinanceData(
        store,
        symbol="BTC/USDT",
        timeframe=bt.TimeFrame.Minutes,
        compression=60,
        historical=True,
        fromdate=_dt(FIRST_MS),
        todate=_dt(START_MS - HOUR),
        cache=cache,
    )

    bars = _run(data)

    assert [(e.open_ms, e.cached[3], e.fetched[3]) for e in seen] == [
        (FIRST_MS + 47 * HOUR, true_close + 100.0, true_close)
    ]
    assert bars[47][4] == true_close  # the strategy saw the venue's candle
    assert float(cache.read(VENUE, "spot", "BTC/USDT", "1h").values[47, 3]) == true_close


def test_backtrader_users_load_a_cache_file_directly(
    client: VenueClient, cache: HistoryCache
) -> None:
    download(client, cache, ["BTC/USDT"], ["1m"], FIRST_MS, None, False)
    path = cache.path_for(VENUE, "spot", "BTC/USDT", "1m")
    window = {"fromdate": _dt(FIRST_MS + DAY), "todate": _dt(FIRST_MS + 2 * DAY)}

    ours = _run(CachedData(path=path, **window))
    plain = _run(pandas_feed(path, **window))
    bar_by_bar = bt.Cerebro(stdstats=False, preload=False)
    bar_by_bar.adddata(CachedData(path=path, **window))
    bar_by_bar.addstrategy(Recorder)
    slow = np.asarray(bar_by_bar.run()[0].out)

    assert len(ours) == 1441 - 30  # a day of minutes, both ends included, minus the hole
    np.testing.assert_array_equal(ours, plain)
    np.testing.assert_array_equal(ours, slow)


class StopWhenLive(bt.Strategy):
    """Records the bars of the backfill, then stops the live run once the feed is LIVE."""

    def __init__(self) -> None:
        self.out: list[tuple[float, ...]] = []

    def notify_data(self, data: bt.feed.DataBase, status: int, *args: Any, **kw: Any) -> None:
        if status == data.LIVE:
            self.env.runstop()

    def next(self) -> None:
        d = self.data
        ms = round(d.datetime.datetime(0).replace(tzinfo=timezone.utc).timestamp() * 1000)
        self.out.append((ms, d.open[0], d.high[0], d.low[0], d.close[0], d.volume[0]))


def test_the_live_backfill_reads_the_cache_and_fetches_only_the_newer_bars(
    sim: SimExchange,
    client: VenueClient,
    store: BinanceStore,
    cache: HistoryCache,
    spy: KlineSpy,
) -> None:
    download(client, cache, ["BTC/USDT"], ["1h"], FIRST_MS, None, False)
    sim.advance(3 * 3600)  # three more closed hours, not cached
    spy.clear()
    data = BinanceData(store, symbol="BTC/USDT", ccxt_timeframe="1h", history_bars=10, cache=cache)
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(data)
    cerebro.addstrategy(StopWhenLive)
    result: list[Any] = []
    runner = threading.Thread(target=lambda: result.extend(cerebro.run()), daemon=True)

    runner.start()
    runner.join(60)

    assert result, "the live run never reached LIVE"
    # kline requests reaching back into the cached hours: one, from the last cached hour on
    # (the simulator's websocket face itself reads the hour now forming: not a REST call)
    back = [(c[0], c[1]) for c in spy.calls if c[1] is not None and c[1] < START_MS + 3 * HOUR]
    assert back == [("1h", START_MS - HOUR)]
    bars = np.asarray(result[0].out)
    np.testing.assert_array_equal(
        bars, _venue_rows(sim, "1h", START_MS - 7 * HOUR, START_MS + 2 * HOUR)
    )
    assert len(cache.read(VENUE, "spot", "BTC/USDT", "1h")) == 75  # written back


def test_real_trade_backtest_loads_its_bars_through_the_cache(
    sim: SimExchange, tmp_path: Path, spy: KlineSpy
) -> None:
    from real_trade.backtest import load_bars
    from real_trade.config import RealTradeConfig

    config = RealTradeConfig(
        sim_url=sim.url,
        timeframe="1h",
        symbol="BTC/USDT",
        history={"dir": str(tmp_path / "h"), "use": True},
    )
    first = load_bars(config, FIRST_MS + HOUR, FIRST_MS + 49 * HOUR)["BTC/USDT"]
    asked = len(spy.calls)
    spy.clear()

    again = load_bars(config, FIRST_MS + HOUR, FIRST_MS + 49 * HOUR)["BTC/USDT"]

    assert asked > 0 and spy.calls == []  # the second backtest asked the venue nothing
    assert len(first) == 48 and first.equals(again)
    assert first.index[0].value // 10**6 == FIRST_MS + HOUR  # open times, UTC
    cached = HistoryCache(tmp_path / "h").load(VENUE, "spot", "BTC/USDT", "1h")
    assert len(cached) == 48
    unused = RealTradeConfig(sim_url=sim.url, timeframe="1h", history={"dir": str(tmp_path / "x")})
    load_bars(unused, FIRST_MS + HOUR, FIRST_MS + 3 * HOUR)
    assert not (tmp_path / "x").exists()  # against the simulator the cache is opt-in
