"""Data feeds against the simulator replaying real candles, with the real ccxt clients.

Backtests equal the simulator's own klines bar for bar, and make the same decisions as
``bt.feeds.PandasData`` over the same candles; a live Cerebro run sees DELAYED then LIVE, only
closed bars, CONNBROKEN after a forced disconnect and LIVE again, with no gap and no duplicate;
the ccxt source closes bars by REST when the stream is silent.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import pairwise
from pathlib import Path

import backtrader as bt
import pandas as pd
import pytest

from real_trade.bus import EventBus
from real_trade.errors import BadSymbolError, ConfigError
from real_trade.feeds import Bar, BinanceData, BybitData, CcxtBarSource, FeedState
from real_trade.sim.plumbing.ws_conn import WsSettings
from real_trade.sim.server import SimExchange
from real_trade.stores import BaseStore, BinanceStore
from tests.integration.live.venues import ALL_VENUES, BINANCE_SPOT, Venue
from tests.support import eventually

pytestmark = pytest.mark.integration

FILE = "binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv"
MIN = 60_000
START = datetime(2023, 3, 5, tzinfo=timezone.utc)  # the simulator's clock starts here
START_MS = int(START.timestamp() * 1000)


def _data_file() -> Path | None:
    env = os.environ.get("RT_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[3].parent / "shared" / "data")
    return next((c / FILE for c in candidates if (c / FILE).is_file()), None)


CSV = _data_file()
needs_data = pytest.mark.skipif(
    CSV is None,
    reason=f"{FILE} not found: set RT_DATA_DIR or put the real candle files in ../shared/data",
)


def _ms(moment: datetime) -> int:
    return int(moment.replace(tzinfo=timezone.utc).timestamp() * 1000)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator replaying the real BTC/USDT minutes; its clock starts on March 5.

    It serves every venue's faces over the one market, spot and perpetual (the live disconnect
    test runs on each)."""
    if CSV is None:
        pytest.skip(f"{FILE} not found: set RT_DATA_DIR or put it in ../shared/data")
    faces = list(dict.fromkeys(f for v in ALL_VENUES for f in (v.faces or (v.face,))))
    with SimExchange(market=CSV, stepped=True, start_ms=START_MS, faces=faces) as exchange:
        yield exchange


@pytest.fixture
def store(sim: SimExchange, monkeypatch: pytest.MonkeyPatch) -> Iterator[BinanceStore]:
    """A Binance store on the simulator (no proxy, fast reconnects), stopped afterwards."""
    for name in ("RT_SIM_URL", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    created = BinanceStore(
        sim_url=sim.url,
        bus=EventBus(synchronous=True),
        reconnect_base_delay=1.0,
        reconnect_max_delay=1.0,
    )
    yield created
    created.stop()
    BaseStore.clear_instances()


def _sim_klines(
    sim: SimExchange, interval: str, first_ms: int, last_ms: int, venue: Venue = BINANCE_SPOT
) -> list[Bar]:
    """The simulator's own klines (of ``venue``'s market) opening in ``[first_ms, last_ms]``."""
    bars: list[Bar] = []
    cursor = first_ms
    while cursor <= last_ms:
        page = venue.core(sim).klines(
            "BTCUSDT", interval, start_ms=cursor, end_ms=last_ms, limit=1000
        )
        if not page:
            break
        for k in page:
            bars.append(
                Bar(
                    k.open_ms,
                    *(float(v) for v in (k.open, k.high, k.low, k.close)),
                    float(k.volume),
                )
            )
        cursor = page[-1].open_ms + 1
    return bars


class BarRecorder(bt.Strategy):
    """Records every bar (open time in ms, OHLCV) and every data notification."""

    params = (("out", None),)

    def __init__(self) -> None:
        self.out: list[Bar] = self.p.out

    def next(self) -> None:
        d = self.data
        opened = d.datetime.datetime(0).replace(tzinfo=timezone.utc)
        self.out.append(
            Bar(
                int(opened.timestamp() * 1000),
                d.open[0],
                d.high[0],
                d.low[0],
                d.close[0],
                d.volume[0],
            )
        )


def _run_backtest(data: bt.feed.DataBase) -> list[Bar]:
    out: list[Bar] = []
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(data)
    cerebro.addstrategy(BarRecorder, out=out)
    cerebro.run()
    return out


@needs_data
def test_backtest_over_3000_minutes_equals_the_simulators_klines(
    sim: SimExchange, store: BinanceStore
) -> None:
    fromdate, todate = datetime(2023, 3, 2), datetime(2023, 3, 4, 6)
    data = BinanceData(
        store,
        symbol="BTC/USDT",
        timeframe=bt.TimeFrame.Minutes,
        compression=1,
        historical=True,
        fromdate=fromdate,
        todate=todate,
    )
    bars = _run_backtest(data)
    expected = _sim_klines(sim, "1m", _ms(fromdate), _ms(todate))
    assert len(bars) == 3241 == len(expected)
    assert bars == expected
    opens = [b.open_ms for b in bars]
    assert all(b - a == MIN for a, b in pairwise(opens))  # no gap, no dup


class SmaCross(bt.Strategy):
    """Records the datetime and direction of every SMA(10)/SMA(30) crossover."""

    params = (("signals", None),)

    def __init__(self) -> None:
        self.cross = bt.indicators.CrossOver(bt.ind.SMA(period=10), bt.ind.SMA(period=30))

    def next(self) -> None:
        if self.cross[0]:
            self.p.signals.append((self.data.datetime.datetime(0), int(self.cross[0])))


def _signals(data: bt.feed.DataBase) -> list[tuple[datetime, int]]:
    signals: list[tuple[datetime, int]] = []
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(data)
    cerebro.addstrategy(SmaCross, signals=signals)
    cerebro.run()
    return signals


@needs_data
def test_backtest_decisions_equal_pandasdata_over_the_same_candles(store: BinanceStore) -> None:
    assert CSV is not None
    fromdate, todate = datetime(2023, 3, 3), datetime(2023, 3, 4, 12)
    frame = pd.read_csv(CSV, parse_dates=["open_time"])
    frame["open_time"] = frame["open_time"].dt.tz_convert("UTC").dt.tz_localize(None)
    frame = frame.set_index("open_time").loc[fromdate:todate]
    pandas_signals = _signals(bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes))
    feed = BinanceData.from_timeframe_string(
        "1m", store, symbol="BTC/USDT", historical=True, fromdate=fromdate, todate=todate
    )
    feed_signals = _signals(feed)
    assert len(pandas_signals) > 50  # a real test: many decisions over 2,161 minutes
    assert feed_signals == pandas_signals
    assert feed_signals[0][0] >= fromdate


@needs_data
def test_seed_usage_daily_history_timeframe_strings_and_getdata(
    sim: SimExchange, store: BinanceStore
) -> None:
    data = BinanceData(  # seed 004's backtest example
        store, symbol="BTC/USDT", timeframe=bt.TimeFrame.Days, compression=1, historical=True
    )
    days = _run_backtest(data)
    assert days == _sim_klines(sim, "1d", _ms(datetime(2023, 3, 1)), START_MS - 1)
    assert len(days) == 4  # March 1 to 4: the closed days before the clock

    day = datetime(2023, 3, 2)
    hourly = BinanceData.from_timeframe_string(  # seed 000's example, as a backtest
        "1h", store, symbol="BTC/USDT", historical=True, fromdate=day, todate=day.replace(hour=23)
    )
    assert (hourly.p.timeframe, hourly.p.compression) == (bt.TimeFrame.Minutes, 60)
    hours = _run_backtest(hourly)
    assert hours == _sim_klines(sim, "1h", _ms(day), _ms(day.replace(hour=23)))
    assert len(hours) == 24

    keyword_style = BinanceData.from_timeframe_string(timeframe="4h", store=store, symbol="BTCUSDT")
    assert keyword_style.ccxt_timeframe == "4h" and keyword_style.p.compression == 240

    until = day.replace(hour=5, minute=45)
    via_store = store.getdata(
        dataname="BTCUSDT",
        timeframe=bt.TimeFrame.Minutes,
        compression=15,
        historical=True,
        fromdate=day,
        todate=until,
    )
    assert isinstance(via_store, BinanceData)
    quarters = _run_backtest(via_store)
    assert quarters == _sim_klines(sim, "15m", _ms(day), _ms(until))
    assert len(quarters) == 24


def test_timeframe_string_errors_name_the_valid_ones(store: BinanceStore) -> None:
    with pytest.raises(ConfigError, match=r"'2m'.*1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w, 1M"):
        BinanceData.from_timeframe_string("2m", store, symbol="BTC/USDT")
    with pytest.raises(ConfigError, match="Minutes/7"):
        BinanceData(store, symbol="BTC/USDT", timeframe=bt.TimeFrame.Minutes, compression=7)
    with pytest.raises(ConfigError, match="bybit store"):
        BybitData(store, symbol="BTC/USDT")
    with pytest.raises(ConfigError, match="unknown parameters: colour"):
        BinanceData(store, symbol="BTC/USDT", colour="red")


@needs_data
def test_an_unknown_symbol_fails_the_backtest_clearly(store: BinanceStore) -> None:
    data = BinanceData(store, symbol="NOPE/USDT", historical=True)
    with pytest.raises(BadSymbolError, match="NOPE"):
        _run_backtest(data)


@dataclass
class LiveLog:
    """What the live strategy saw, shared with the test thread."""

    bars: list[tuple[Bar, str]] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    live_after_reconnect: int = 0

    def saw_reconnect(self) -> bool:
        return "CONNBROKEN" in self.states and self.states[-1] == "LIVE"


class LiveRecorder(bt.Strategy):
    """Records bars with the feed status; stops after 3 live bars following a reconnect."""

    params = (("log", None),)

    def notify_data(self, data: bt.feed.DataBase, status: int, *args: object, **kw: object) -> None:
        self.p.log.states.append(data._getstatusname(status))

    def next(self) -> None:
        d, log = self.data, self.p.log
        opened = d.datetime.datetime(0).replace(tzinfo=timezone.utc)
        bar = Bar(
            int(opened.timestamp() * 1000), d.open[0], d.high[0], d.low[0], d.close[0], d.volume[0]
        )
        log.bars.append((bar, d._getstatusname(d._laststatus)))
        if log.saw_reconnect():
            log.live_after_reconnect += 1
            if log.live_after_reconnect >= 3:
                self.env.runstop()


@needs_data
@pytest.mark.parametrize(
    ("venue", "live_source", "source_class"),
    [
        pytest.param(BINANCE_SPOT, "ccxt", "CcxtBarSource", id="binance-spot-ccxt"),
        pytest.param(BINANCE_SPOT, "auto", "BinanceKlineSource", id="binance-spot-native"),
        *(
            # Binance USDⓈ-M has the native kline source too; no native source elsewhere
            pytest.param(
                v,
                "auto",
                "BinanceKlineSource" if v.venue == "binance" else "CcxtBarSource",
                id=v.id,
            )
            for v in ALL_VENUES
            if v is not BINANCE_SPOT
        ),
    ],
)
def test_live_run_survives_a_disconnect_without_gap_or_duplicate(
    sim: SimExchange,
    store: BinanceStore,
    venue: Venue,
    live_source: str,
    source_class: str,
    request: pytest.FixtureRequest,
) -> None:
    if venue is not BINANCE_SPOT:
        store = venue.make_public_store(  # type: ignore[assignment]
            sim,
            bus=EventBus(synchronous=True),
            reconnect_base_delay=1.0,
            reconnect_max_delay=1.0,
            **{k: v for k, v in venue.store_kwargs.items() if k == "market_type"},
        )
        request.addfinalizer(store.stop)
    data = venue.data(
        store,
        symbol=venue.symbol,
        ccxt_timeframe="1m",
        history_bars=5,
        live_source=live_source,
        qcheck=0.1,
    )
    log = LiveLog()
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(data)
    cerebro.addstrategy(LiveRecorder, log=log)
    runner = threading.Thread(target=cerebro.run, name="cerebro", daemon=True)
    runner.start()

    def market_moves_until(condition: Callable[[], bool]) -> bool:
        sim.advance(10)
        return condition() or not runner.is_alive()

    def wait(condition: Callable[[], bool], timeout: float) -> None:
        try:
            eventually(condition, timeout)
        except AssertionError as exc:
            seen = [(b.open_ms, status) for b, status in log.bars]
            raise AssertionError(
                f"{exc}; states {log.states}; bars {seen}; {data.stream}"
            ) from None

    def live_for_two_bars() -> bool:
        return log.states[-2:] == ["DELAYED", "LIVE"] and sum(s == "LIVE" for _, s in log.bars) >= 2

    wait(lambda: market_moves_until(live_for_two_bars), 30)
    assert data.stream is not None and type(data.stream.source).__name__ == source_class
    assert sim.faults.drop_connections() >= 1
    wait(lambda: data.stream is not None and data.stream.state is FeedState.CONNBROKEN, 10)
    sim.advance(180)  # three bars close while the socket is down: only REST can bring them
    wait(lambda: market_moves_until(lambda: False), 30)
    runner.join(10)
    assert not runner.is_alive()

    assert log.states[:2] == ["DELAYED", "LIVE"]
    broken = log.states.index("CONNBROKEN")
    assert "LIVE" in log.states[broken:]
    bars = [bar for bar, _ in log.bars]
    opens = [b.open_ms for b in bars]
    assert all(b - a == MIN for a, b in pairwise(opens)), opens
    assert bars == _sim_klines(
        sim, "1m", opens[0], opens[-1], venue
    )  # final values: closed bars only
    assert opens[-1] + MIN <= sim.clock.now_ms()
    first_live = next(i for i, (_, status) in enumerate(log.bars) if status == "LIVE")
    backfilled = [b for b, status in log.bars[first_live:] if status == "DELAYED"]
    assert len(backfilled) >= 3  # the minutes missed while disconnected came by REST
    assert log.live_after_reconnect >= 3


@needs_data
def test_ccxt_source_closes_bars_by_rest_when_the_stream_is_silent() -> None:
    assert CSV is not None
    silent = WsSettings(pacer_interval_s=3600.0)  # the kline stream never sends an update
    with SimExchange(market=CSV, stepped=True, start_ms=START_MS, ws_settings=silent) as quiet:
        quiet.advance(30)
        store = BinanceStore(sim_url=quiet.url, bus=EventBus(synchronous=True))
        source = CcxtBarSource(
            store.client, "BTCUSDT", "1m", grace_s=0.2, check_interval_s=0.02, clock_check_s=0.05
        )
        received: list[Bar] = []
        try:
            source.start(received.append, lambda state: None)
            for minutes in (1, 2, 3):
                quiet.advance(60)
                eventually(lambda n=minutes: sum(b.closed for b in received) == n, 10)
            closed = [b for b in received if b.closed]
            assert closed == [
                Bar(b.open_ms, b.open, b.high, b.low, b.close, b.volume, closed=True)
                for b in _sim_klines(quiet, "1m", START_MS, START_MS + 2 * MIN)
            ]
            assert source.rest_confirmations == 3
        finally:
            source.stop()
            store.stop()
