"""The plain classes behind ``BaseData``: FeedPlan, the live-source and watchdog factories,
BarHistory, the date-number conversions and the Cerebro stop signals."""

from __future__ import annotations

import datetime as dt
import random
import signal
import threading
from types import SimpleNamespace
from typing import Any

import backtrader as bt
import pytest

from real_trade.errors import ConfigError, FinalError
from real_trade.feeds.bars import Bar, FeedState, StateChange
from real_trade.feeds.ccxt_bars import CcxtBarSource
from real_trade.feeds.feed_plan import FeedPlan
from real_trade.feeds.sources import BarHistory, make_live_source, make_watchdog
from real_trade.feeds.timeframes import date_num_of_ms, ms_of_date_num
from real_trade.utils.stop_signals import restore_signals, stop_cerebro_on_signals
from real_trade.venues.spec import BINANCE, BYBIT


class _Client:
    """Just enough of a VenueClient for the feed's plain classes."""

    def __init__(self, venue: Any = BYBIT, timeframes: dict[str, str] | None = None) -> None:
        self.venue = venue
        self.bus = None
        self.mode = "sim"
        self.exchange = SimpleNamespace(timeframes=timeframes or {"1m": "1", "1h": "60"})
        self.calls: list[tuple[Any, ...]] = []

    def symbol_of(self, symbol: str) -> str:
        return "BTC/USDT" if symbol == "BTCUSDT" else symbol

    def fetch_ohlcv(self, *args: Any) -> list[list[float]]:
        self.calls.append(args)
        return [[60_000, 1, 2, 0.5, 1.5, 10], [120_000, 1.5, 3, 1, 2, 20]]


def test_feed_plan_reads_the_feed_params_and_unifies_the_symbol_on_the_venue() -> None:
    params = SimpleNamespace(
        historical=True,
        backfill_start=False,
        backfill=True,
        history_bars=5,
        live_source="ccxt",
        stale_after=None,
        max_connection_age=None,
        clock=None,
        watchdog_interval=0.25,
        cache=False,
    )
    plan = FeedPlan.from_params(params, "BTCUSDT", "1h")
    assert (plan.historical, plan.history_bars, plan.live_source) == (True, 5, "ccxt")
    resolved = plan.on_venue(_Client())
    assert resolved.symbol == "BTC/USDT" and plan.symbol == "BTCUSDT"
    with pytest.raises(ConfigError, match="Bybit"):
        FeedPlan("BTC/USDT", "1h").on_venue(_Client(timeframes={"1m": "1"}))


def test_a_backtest_plan_streams_history_only_and_a_failed_one_raises_at_the_end() -> None:
    client = _Client()
    plan = FeedPlan("BTC/USDT", "1m", historical=True, cache=False)
    history = plan.history(client)
    assert history.cached is None
    stream = plan.stream(client, history, fromdate_ms=0)
    assert stream.mode == "backtest"
    plan.end(StateChange(FeedState.DISCONNECTED, "end of data"))  # no error: nothing raised
    failure = FinalError("history refused")
    with pytest.raises(FinalError, match="history refused"):
        plan.end(StateChange(FeedState.DISCONNECTED, "failed", failure))
    live = FeedPlan("BTC/USDT", "1m")
    live.end(StateChange(FeedState.DISCONNECTED, "failed", failure))  # logged, not raised


def test_bar_history_asks_rest_for_the_latest_bars_without_a_start_and_the_cache_first() -> None:
    client = _Client()
    history = BarHistory(client, "BTC/USDT", "1m", history_bars=7)
    bars = history(None, None)
    assert [bar.open_ms for bar in bars] == [60_000, 120_000]
    assert client.calls == [("BTC/USDT", "1m", None, None, 7, True)]
    history(60_000, 120_000)
    assert client.calls[-1] == ("BTC/USDT", "1m", 60_000, 120_000, None, True)
    cached_bar = Bar(0, 1, 1, 1, 1, 1)
    cached = BarHistory(client, "BTC/USDT", "1m", cached=lambda since, until: [cached_bar])
    assert cached(None, None) == [cached_bar]
    assert len(client.calls) == 2  # the cache answered


def test_live_source_choices() -> None:
    client = _Client(venue=BYBIT)
    assert isinstance(make_live_source("auto", client, "BTC/USDT", "1m"), CcxtBarSource)
    assert isinstance(make_live_source("ccxt", client, "BTC/USDT", "1m"), CcxtBarSource)
    made = object()
    assert make_live_source(lambda c, s, t: made, client, "BTC/USDT", "1m") is made
    with pytest.raises(ConfigError, match="no native bar source for Bybit"):
        make_live_source("native", client, "BTC/USDT", "1m")
    with pytest.raises(ConfigError, match="unknown live_source"):
        make_live_source("websocket", client, "BTC/USDT", "1m")


def test_watchdog_auto_age_comes_from_the_venue_table_and_bad_bounds_name_the_parameter() -> None:
    limit = BINANCE.quirks["ws_max_connection_seconds"]
    assert make_watchdog("1m", BINANCE).max_connection_age == limit - 3600
    assert make_watchdog("1m", BYBIT).max_connection_age is None
    assert make_watchdog("1m", None, max_connection_age=120).max_connection_age == 120
    with pytest.raises(ConfigError) as caught:
        FeedPlan("BTC/USDT", "1m", stale_after=-5).watchdog()
    assert caught.value.field == "stale_after"


def test_date_numbers_and_epoch_ms_convert_both_ways() -> None:
    ms = 1_700_000_040_000
    assert ms_of_date_num(date_num_of_ms(ms)) == ms
    assert ms_of_date_num(float("inf")) is None and ms_of_date_num(float("-inf")) is None
    assert bt.num2date(date_num_of_ms(0)).year == 1970


def test_date_numbers_equal_backtraders_own_of_the_datetime() -> None:
    """``date_num_of_ms`` sums the parts of the integer: bit for bit ``bt.date2num`` of the
    UTC datetime, at whole minutes, odd milliseconds, day edges, and outside 1970-2099."""
    rng = random.Random(16)
    samples = [0, 1, 999, 59_999, 86_399_999, 86_400_000, 4_102_444_799_999, 4_102_444_800_001]
    samples += [rng.randrange(0, 4_102_444_800_000) for _ in range(20_000)]
    samples += [rng.randrange(0, 4_102_444_800_000) // 60_000 * 60_000 for _ in range(5_000)]
    samples += [-1_000, -86_400_001]
    for ms in samples:
        moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).replace(tzinfo=None)
        assert date_num_of_ms(ms) == bt.date2num(moment), ms


def test_cerebro_stop_signals_install_only_for_a_cerebro_in_the_main_thread() -> None:
    assert stop_cerebro_on_signals(None, print) == {}
    result: list[dict[Any, Any]] = []
    worker = threading.Thread(
        target=lambda: result.append(stop_cerebro_on_signals(bt.Cerebro(), print))
    )
    worker.start()
    worker.join()
    assert result == [{}]
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("the test runner installed its own SIGINT handler")
    previous = stop_cerebro_on_signals(bt.Cerebro(), print)
    try:
        assert set(previous) == {signal.SIGINT, signal.SIGTERM}
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    finally:
        restore_signals(previous)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
