"""The data watchdog: staleness and proactive reconnects, on an injected clock with fake sources.

The policy (:class:`FeedWatchdog`) is checked on its own with a hand-moved clock; then through a
live :class:`BarStream` whose source and history are fakes passed to its constructor: a silent
source is restarted and the gap backfilled, an old connection is replaced, and the delivered bar
sequence has no gap and no duplicate either way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

from real_trade.bus import EventBus
from real_trade.errors import ConfigError
from real_trade.feeds import (
    Bar,
    BarStream,
    BaseData,
    CcxtBarSource,
    FeedReconnect,
    FeedStale,
    FeedState,
    FeedWatchdog,
    StateChange,
)
from real_trade.feeds.watchdog import default_max_connection_age, default_stale_after
from tests.support import eventually

MIN = 60_000
T0 = 1_677_628_800_000  # 2023-03-01 00:00 UTC


def bar(i: int) -> Bar:
    """The i-th closed one-minute bar after T0, with prices that identify it."""
    return Bar(T0 + i * MIN, 100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i, 1.0 + i)


class FakeClock:
    """A clock in seconds that moves only when the test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class VenueHistory:
    """REST history of a venue whose newest closed bar is ``newest`` (the test moves it)."""

    def __init__(self, newest: int) -> None:
        self.newest = newest
        self.calls: list[tuple[int | None, int | None]] = []

    def __call__(self, since_ms: int | None, until_ms: int | None) -> Iterator[Bar]:
        self.calls.append((since_ms, until_ms))
        first = 0 if since_ms is None else max(0, -(-(since_ms - T0) // MIN))
        last = self.newest if until_ms is None else min(self.newest, (until_ms - T0) // MIN)
        return iter([bar(i) for i in range(first, last + 1)])


class RestartableSource:
    """A LiveBarSource the test drives, counting starts and stops (the watchdog restarts it)."""

    def __init__(self) -> None:
        self.on_bar: Callable[[Bar], None] | None = None
        self.on_state: Callable[[str], None] | None = None
        self.starts = 0
        self.stops = 0

    def start(self, on_bar: Callable[[Bar], None], on_state: Callable[[str], None]) -> None:
        self.on_bar, self.on_state = on_bar, on_state
        self.starts += 1

    def stop(self) -> None:
        self.stops += 1

    def push(self, *bars: Bar) -> None:
        assert self.on_bar is not None
        for b in bars:
            self.on_bar(b)

    def state(self, name: str) -> None:
        assert self.on_state is not None
        self.on_state(name)


class Recorder:
    """Reads a stream as backtrader's thread would, and records the bus events of the feed."""

    def __init__(self, stream: BarStream, bus: EventBus) -> None:
        self.stream = stream
        self.items: list[Bar | StateChange] = []
        self.events: list[tuple[str, Any]] = []
        bus.subscribe("feed.stale", lambda topic, e: self.events.append((topic, e)))
        bus.subscribe("feed.reconnect", lambda topic, e: self.events.append((topic, e)))

    def pump(self) -> list[Bar | StateChange]:
        while (item := self.stream.next_item(0)) is not None:
            self.items.append(item)
        return self.items

    def until(self, condition: Callable[[], bool], what: str) -> None:
        def check() -> bool:
            self.pump()
            return condition()

        eventually(check, 10, message=f"{what}; items {self.items}")

    @property
    def opens(self) -> list[int]:
        return [(i.open_ms - T0) // MIN for i in self.items if isinstance(i, Bar)]

    @property
    def states(self) -> list[FeedState]:
        return [i.state for i in self.items if isinstance(i, StateChange)]

    def has(self, opened: int) -> bool:
        return opened in self.opens


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def watched_stream(
    clock: FakeClock, newest: int, **watchdog: Any
) -> tuple[BarStream, RestartableSource, VenueHistory, Recorder]:
    history, source, bus = VenueHistory(newest), RestartableSource(), EventBus(synchronous=True)
    dog = FeedWatchdog("1m", clock=clock, check_interval=0.005, **watchdog)
    stream = BarStream(history, source, "1m", bus=bus, name="BTC/USDT", watchdog=dog)
    recorder = Recorder(stream, bus)
    stream.start()
    recorder.until(lambda: FeedState.LIVE in recorder.states, "the stream went LIVE")
    return stream, source, history, recorder


# -- the policy -------------------------------------------------------------------------------
def test_default_bounds_follow_the_bar_length_and_the_venue_limit() -> None:
    assert default_stale_after("1m") == 100.0  # 1.5 x 60 s + 10 s
    assert default_stale_after("1h") == 5410.0
    assert default_max_connection_age(24 * 3600) == 23 * 3600  # Binance: an hour early
    assert default_max_connection_age(1800) == 900  # a short limit: half of it
    assert default_max_connection_age(None) is None
    assert FeedWatchdog("1h").stale_after == 5410.0


def test_stale_after_the_bound_once_then_again_only_after_another_bound(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    bus, seen = EventBus(synchronous=True), []
    bus.subscribe("feed.*", lambda topic, event: seen.append((topic, event)))
    dog = FeedWatchdog("1m", clock=clock)
    dog.bind("ETH/USDT", bus)
    dog.source_started()
    dog.bar_delivered(T0)
    clock.advance(60)
    dog.source_message()  # a forming-bar update: the source talks, but closes no bar
    clock.advance(40)
    assert dog.check() is None  # exactly at the bound: not yet
    clock.advance(1)
    with caplog.at_level(logging.WARNING, logger="real_trade.feeds.watchdog"):
        event = dog.check()
    assert event == FeedReconnect("ETH/USDT", "1m", "stale", 101.0, 101.0)
    stale = FeedStale("ETH/USDT", "1m", 101.0, 100.0, T0, 41.0)
    assert seen == [("feed.stale", stale), ("feed.reconnect", event)]
    assert "ETH/USDT 1m: no closed bar for 101.0s" in caplog.text
    clock.advance(99)
    assert dog.check() is None  # the restart counts as fresh: no restart loop
    clock.advance(2)
    assert dog.check() is not None and (dog.stales, dog.reconnects) == (2, 2)


def test_connection_age_counts_from_the_last_connect_and_not_while_down(clock: FakeClock) -> None:
    dog = FeedWatchdog("1m", stale_after=None, max_connection_age=3600, clock=clock)
    dog.source_started()
    clock.advance(1800)
    dog.source_state("disconnected")
    clock.advance(3600)
    assert dog.check() is None  # down: there is no connection to age
    dog.source_state("connected")  # the source reconnected on its own: a new connection
    clock.advance(3599)
    assert dog.check() is None
    clock.advance(1)
    event = dog.check()
    assert event is not None and (event.reason, event.connection_age) == (
        "max_connection_age",
        3600.0,
    )
    assert dog.stales == 0 and dog.reconnects == 1


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("stale_after", {"stale_after": 0}),
        ("stale_after", {"stale_after": "soon"}),
        ("max_connection_age", {"max_connection_age": -5}),
        ("check_interval", {"check_interval": 0}),
    ],
)
def test_bad_bounds_are_refused_naming_the_field(field: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=field) as info:
        FeedWatchdog("1m", **kwargs)
    assert info.value.field == field


def test_the_feed_refuses_a_bad_bound_when_built() -> None:
    with pytest.raises(ConfigError, match="stale_after"):
        BaseData(object(), symbol="BTC/USDT", stale_after=-1)
    with pytest.raises(ConfigError, match="max_connection_age"):
        BaseData(object(), symbol="BTC/USDT", max_connection_age=0)


def test_without_bounds_the_watchdog_is_inactive(clock: FakeClock) -> None:
    dog = FeedWatchdog("1m", stale_after=None, clock=clock)
    dog.source_started()
    clock.advance(10**9)
    assert not dog.active and dog.check() is None


# -- through a live BarStream ------------------------------------------------------------------
def test_a_silent_source_is_restarted_and_the_gap_backfilled(clock: FakeClock) -> None:
    stream, source, history, rec = watched_stream(clock, newest=4)
    try:
        source.push(bar(5))
        rec.until(lambda: rec.has(5), "the live bar")
        history.newest = 8  # three bars close on the venue; the stream says nothing
        clock.advance(100)
        assert source.starts == 1  # within the bound: left alone
        clock.advance(1)
        rec.until(lambda: source.starts == 2, "the silent source restarted")
        assert source.stops == 1 and stream.state is FeedState.CONNBROKEN
        source.state("connected")
        rec.until(lambda: rec.has(8) and rec.states[-1] is FeedState.LIVE, "the backfill")
        source.push(bar(8), bar(9))  # the new connection repeats the last close: dropped
        rec.until(lambda: rec.has(9), "live bars again")
        assert rec.opens == list(range(10))  # no gap, no duplicate
        assert rec.states == [
            FeedState.DELAYED,
            FeedState.LIVE,
            FeedState.CONNBROKEN,
            FeedState.DELAYED,
            FeedState.LIVE,
        ]
        stale = [e for t, e in rec.events if t == "feed.stale"]
        assert stale == [FeedStale("BTC/USDT", "1m", 101.0, 100.0, T0 + 5 * MIN, 101.0)]
        assert [e.reason for t, e in rec.events if t == "feed.reconnect"] == ["stale"]
    finally:
        stream.stop()


def test_an_old_connection_is_replaced_without_losing_or_repeating_a_bar(
    clock: FakeClock,
) -> None:
    stream, source, history, rec = watched_stream(clock, newest=0, max_connection_age=3600)
    try:
        for i in range(1, 61):  # an hour of healthy live bars
            clock.advance(60)
            history.newest = i
            source.push(bar(i))
            rec.until(lambda i=i: rec.has(i), f"bar {i}")
        rec.until(lambda: source.starts == 2, "the proactive reconnect")
        assert source.stops == 1
        reconnects = [e for t, e in rec.events if t == "feed.reconnect"]
        assert reconnects == [FeedReconnect("BTC/USDT", "1m", "max_connection_age", 3600.0, 0.0)]
        assert not [e for t, e in rec.events if t == "feed.stale"]
        history.newest = 62  # two bars close while the new connection subscribes
        source.state("connected")
        rec.until(lambda: rec.has(62) and rec.states[-1] is FeedState.LIVE, "the backfill")
        source.push(bar(61), bar(62), bar(63))
        rec.until(lambda: rec.has(63), "live again")
        assert rec.opens == list(range(64))
        clock.advance(3599)
        source.push(bar(64))
        rec.until(lambda: rec.has(64), "bar 64")
        assert source.starts == 2  # the new connection's age counts from its connect
    finally:
        stream.stop()


def test_stopping_the_stream_during_silence_stops_the_source_for_good(clock: FakeClock) -> None:
    stream, source, _history, rec = watched_stream(clock, newest=2)
    clock.advance(101)
    rec.until(lambda: source.starts == 2, "the restart")
    stream.stop()
    assert stream.ended and source.stops >= 2  # the restarted source was stopped too
    clock.advance(1000)
    assert source.starts == 2


# -- a restarted ccxt source -------------------------------------------------------------------
class FakeHandle:
    """A stream handle of the fake venue client."""

    def __init__(self) -> None:
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True


class FakeVenueClient:
    """The venue client surface CcxtBarSource uses: one ohlcv stream the test feeds by hand,
    REST answering the forming candle ``forming``, and no background close check."""

    def __init__(self, forming: list[float]) -> None:
        self.forming = forming
        self.on_candle: Callable[[Any], None] | None = None
        self.handles: list[FakeHandle] = []

    def symbol_of(self, symbol: str) -> str:
        return symbol

    def stream(
        self,
        kind: str,
        symbol: str,
        *,
        on_event: Callable[[Any], None],
        on_state: Callable[[Any], None],
        timeframe: str,
    ) -> FakeHandle:
        self.on_candle = on_event
        self.handles.append(FakeHandle())
        return self.handles[-1]

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run(coro)

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[None]:
        coro.close()  # the REST close check is not under test here
        return concurrent.futures.Future()

    async def fetch_ohlcv_async(self, *args: Any) -> list[list[float]]:
        return [self.forming]


def test_a_restarted_ccxt_source_never_closes_a_candle_with_values_from_before_the_stop() -> None:
    candle = [float(T0), 100.0, 101.0, 99.0, 100.0, 5.0]
    client = FakeVenueClient(forming=candle)
    source = CcxtBarSource(client, "BTC/USDT", "1m")  # type: ignore[arg-type]
    got: list[Bar] = []
    source.start(got.append, lambda state: None)
    assert client.on_candle is not None
    client.on_candle(candle)  # the forming candle as the stream saw it before the restart
    source.stop()
    # while stopped, the candle traded on to 104 and closed; the venue now forms the next one
    client.forming = [float(T0 + MIN), 104.0, 104.0, 104.0, 104.0, 0.5]
    source.start(got.append, lambda state: None)
    client.on_candle([float(T0 + MIN), 104.0, 104.5, 104.0, 104.5, 1.0])
    assert [b for b in got if b.closed] == []  # the stale candle is left to the REST backfill
    assert client.handles[0].stopped and len(client.handles) == 2
