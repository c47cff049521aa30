"""BarStream: history, live bars, reconnect backfill, dedupe, states; with injected fakes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from real_trade.bus import EventBus
from real_trade.errors import BadSymbolError, NetworkError
from real_trade.feeds import Bar, BarStream, FeedState, LiveBarSource, StateChange
from tests.support import eventually

MIN = 60_000
T0 = 1_677_628_800_000  # 2023-03-01 00:00 UTC


def bar(i: int, closed: bool = True) -> Bar:
    """The i-th one-minute bar after T0, with prices that identify it."""
    return Bar(T0 + i * MIN, 100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i, 1.0 + i, closed)


class FakeHistory:
    """A venue's REST history: the closed bars up to ``newest`` (movable), with failures.

    ``calls`` records every ``(since_ms, until_ms)``; ``fail_next(n, exc)`` makes the next
    ``n`` calls raise; ``gate`` (when set) makes a call wait until it is opened.
    """

    def __init__(self, newest: int, latest_count: int = 5) -> None:
        self.newest = newest
        self.latest_count = latest_count
        self.calls: list[tuple[int | None, int | None]] = []
        self.failures: list[Exception] = []
        self.gate: threading.Event | None = None
        self.entered = threading.Event()

    def fail_next(self, n: int, exc: Exception) -> None:
        self.failures.extend([exc] * n)

    def __call__(self, since_ms: int | None, until_ms: int | None) -> Iterator[Bar]:
        self.calls.append((since_ms, until_ms))
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(10)
        if self.failures:
            raise self.failures.pop(0)
        if since_ms is None:
            first = self.newest - self.latest_count + 1
        else:
            first = max(0, -(-(since_ms - T0) // MIN))
        last = self.newest if until_ms is None else min(self.newest, (until_ms - T0) // MIN)
        return iter([bar(i) for i in range(first, last + 1)])


class ScriptedSource:
    """A LiveBarSource driven by the test: ``push(bar)`` and ``state(name)``."""

    def __init__(self) -> None:
        self.on_bar: Callable[[Bar], None] | None = None
        self.on_state: Callable[[str], None] | None = None
        self.started = threading.Event()
        self.stops = 0
        self.last_error: str | None = None

    def start(self, on_bar: Callable[[Bar], None], on_state: Callable[[str], None]) -> None:
        self.on_bar, self.on_state = on_bar, on_state
        self.started.set()

    def stop(self) -> None:
        self.stops += 1

    def push(self, *bars: Bar) -> None:
        assert self.on_bar is not None
        for b in bars:
            self.on_bar(b)

    def state(self, name: str) -> None:
        assert self.on_state is not None
        self.on_state(name)


class Reader:
    """Reads a stream's items from the test thread, as backtrader's thread would."""

    def __init__(self, stream: BarStream) -> None:
        self.stream = stream
        self.items: list[Bar | StateChange] = []

    def pump(self) -> list[Bar | StateChange]:
        while (item := self.stream.next_item(0)) is not None:
            self.items.append(item)
        return self.items

    def until(self, condition: Callable[[list[Bar | StateChange]], bool]) -> None:
        eventually(lambda: condition(self.pump()), 10, message=f"items so far: {self.items}")

    @property
    def bars(self) -> list[Bar]:
        return [i for i in self.items if isinstance(i, Bar)]

    @property
    def states(self) -> list[FeedState]:
        return [i.state for i in self.items if isinstance(i, StateChange)]

    def opens(self) -> list[int]:
        return [(b.open_ms - T0) // MIN for b in self.bars]


def live_stream(
    history: FakeHistory, source: ScriptedSource, **kwargs: object
) -> tuple[BarStream, Reader]:
    stream = BarStream(history, source, "1m", mode="live", **kwargs)  # type: ignore[arg-type]
    stream.start()
    assert source.started.wait(5)
    return stream, Reader(stream)


def test_the_scripted_source_satisfies_the_protocol() -> None:
    assert isinstance(ScriptedSource(), LiveBarSource)


def test_backtest_delivers_the_range_then_ends() -> None:
    history = FakeHistory(newest=50)
    stream = BarStream(
        history, None, "1m", fromdate_ms=T0 + 10 * MIN, todate_ms=T0 + 19 * MIN, mode="backtest"
    )
    stream.start()
    reader = Reader(stream)
    reader.until(
        lambda items: any(getattr(i, "state", None) is FeedState.DISCONNECTED for i in items)
    )
    assert reader.states == [FeedState.DELAYED, FeedState.DISCONNECTED]
    assert reader.opens() == list(range(10, 20))
    assert history.calls == [(T0 + 10 * MIN, T0 + 19 * MIN)]
    assert stream.ended and stream.error is None
    assert stream.next_item(None) is None  # after the end, never blocks


def test_backtest_drops_duplicates_backwards_and_open_bars() -> None:
    rows = [bar(1), bar(2), bar(2), bar(1), bar(3, closed=False), bar(4)]
    stream = BarStream(lambda s, u: rows, None, "1m", mode="backtest")
    stream.start()
    reader = Reader(stream)
    reader.until(lambda items: stream.ended and not stream.has_items())
    assert reader.opens() == [1, 2, 4]
    assert stream.last_bar_ms == bar(4).open_ms


def test_backtest_failure_ends_with_the_error() -> None:
    history = FakeHistory(newest=5)
    history.fail_next(1, BadSymbolError("unknown symbol 'NOPE/USDT'"))
    stream = BarStream(history, None, "1m", mode="backtest")
    stream.start()
    reader = Reader(stream)
    reader.until(lambda items: stream.ended and not stream.has_items())
    end = reader.items[-1]
    assert isinstance(end, StateChange) and end.state is FeedState.DISCONNECTED
    assert isinstance(end.error, BadSymbolError)
    assert "NOPE" in end.reason


def test_live_backfills_then_goes_live_with_closed_bars_only() -> None:
    history = FakeHistory(newest=9, latest_count=5)
    source = ScriptedSource()
    stream, reader = live_stream(history, source)
    reader.until(lambda items: FeedState.LIVE in reader.states)
    assert reader.states == [FeedState.DELAYED, FeedState.LIVE]
    assert reader.opens() == [5, 6, 7, 8, 9]
    source.state("connected")
    source.push(bar(10, closed=False), bar(10, closed=False), bar(10), bar(11, closed=False))
    reader.until(lambda items: len(reader.bars) == 6)
    assert reader.opens() == [5, 6, 7, 8, 9, 10]
    assert all(b.closed for b in reader.bars)
    assert stream.last_bar_ms == bar(10).open_ms
    stream.stop()
    assert source.stops >= 1
    reader.until(lambda items: stream.ended and not stream.has_items())
    assert reader.states[-1] is FeedState.DISCONNECTED


def test_live_bars_during_the_backfill_are_buffered_and_merged() -> None:
    history = FakeHistory(newest=9, latest_count=10)
    history.gate = threading.Event()
    source = ScriptedSource()
    stream, reader = live_stream(history, source)
    assert history.entered.wait(5)
    # the backfill request is in flight; meanwhile the live source closes bars 9, 10 and 11
    source.push(bar(9), bar(10), bar(11))
    history.newest = 10  # the REST answer already includes bar 10
    history.gate.set()
    reader.until(lambda items: len(reader.bars) == 11)
    assert reader.opens() == list(range(1, 12))  # the latest 10 from REST, then bar 11
    assert reader.states == [FeedState.DELAYED, FeedState.LIVE]
    last = reader.items[-1]  # the buffered bars come before LIVE
    assert isinstance(last, StateChange) and last.state is FeedState.LIVE
    stream.stop()


def test_reconnect_backfills_the_gap_in_order_without_duplicates() -> None:
    history = FakeHistory(newest=4, latest_count=5)
    source = ScriptedSource()
    stream, reader = live_stream(history, source)
    source.state("connected")
    reader.until(lambda items: FeedState.LIVE in reader.states)
    source.push(bar(5))
    reader.until(lambda items: len(reader.bars) == 6)
    source.state("disconnected")
    reader.until(lambda items: FeedState.CONNBROKEN in reader.states)
    history.newest = 9  # bars 6..9 closed while the socket was down
    source.state("connected")
    source.push(bar(9), bar(10))  # the new socket replays 9 and then closes 10
    reader.until(lambda items: len(reader.bars) == 11)
    assert reader.opens() == list(range(11))
    assert reader.states == [
        FeedState.DELAYED,
        FeedState.LIVE,
        FeedState.CONNBROKEN,
        FeedState.DELAYED,
        FeedState.LIVE,
    ]
    assert (T0 + 6 * MIN, None) in history.calls  # from the bar after the last one delivered
    stream.stop()


def test_a_live_bar_after_a_hole_is_preceded_by_the_rest_fill() -> None:
    history = FakeHistory(newest=2, latest_count=3)
    source = ScriptedSource()
    stream, reader = live_stream(history, source)
    reader.until(lambda items: FeedState.LIVE in reader.states)
    history.newest = 6
    source.push(bar(6))  # bars 3, 4, 5 never came over the socket
    reader.until(lambda items: len(reader.bars) == 7)
    assert reader.opens() == list(range(7))
    assert (T0 + 3 * MIN, T0 + 6 * MIN - 1) in history.calls
    stream.stop()


def test_the_first_live_bar_after_a_hole_from_fromdate_is_preceded_by_the_rest_fill() -> None:
    """The start's backfill found no closed bar (the first closes just after it), and the
    socket subscribed after that bar closed: its first bar is the second. The first comes by
    REST, from ``fromdate`` (the soak lost it under load)."""
    history = FakeHistory(newest=-1)  # nothing closed yet
    source = ScriptedSource()
    stream, reader = live_stream(history, source, fromdate_ms=T0)
    reader.until(lambda items: FeedState.LIVE in reader.states)
    assert reader.bars == []
    history.newest = 1
    source.push(bar(1))  # bar 0 closed before the socket listened
    reader.until(lambda items: len(reader.bars) == 2)
    assert reader.opens() == [0, 1]
    assert (T0, T0 + MIN - 1) in history.calls
    stream.stop()


def test_without_fromdate_the_first_live_bar_starts_the_feed() -> None:
    """No start date and no bar yet: nothing to fill before the first live bar."""
    history = FakeHistory(newest=-1, latest_count=0)
    source = ScriptedSource()
    stream, reader = live_stream(history, source)
    reader.until(lambda items: FeedState.LIVE in reader.states)
    history.newest = 5
    source.push(bar(5))
    reader.until(lambda items: len(reader.bars) == 1)
    assert reader.opens() == [5]
    assert history.calls == [(None, None)]  # the start's backfill only
    stream.stop()


def test_a_failing_backfill_is_retried_and_the_state_shows_it() -> None:
    history = FakeHistory(newest=3, latest_count=4)
    source = ScriptedSource()
    stream, reader = live_stream(history, source, retry_delay_s=0.01)
    reader.until(lambda items: FeedState.LIVE in reader.states)
    source.state("disconnected")
    history.newest = 6
    history.fail_next(2, NetworkError("connection reset"))
    source.state("connected")
    reader.until(lambda items: len(reader.bars) == 7 and reader.states[-1] is FeedState.LIVE)
    assert reader.opens() == list(range(7))
    assert len([c for c in history.calls if c == (T0 + 4 * MIN, None)]) == 3
    stream.stop()


def test_a_failed_source_ends_the_stream_with_a_reason() -> None:
    history = FakeHistory(newest=1)
    source = ScriptedSource()
    stream, reader = live_stream(history, source)
    reader.until(lambda items: FeedState.LIVE in reader.states)
    source.last_error = "BadSymbolError: unknown market"
    source.state("failed")
    reader.until(lambda items: stream.ended and not stream.has_items())
    end = reader.items[-1]
    assert isinstance(end, StateChange) and end.state is FeedState.DISCONNECTED
    assert end.error is not None and "unknown market" in str(end.error)


def test_live_stream_ends_at_todate() -> None:
    history = FakeHistory(newest=2, latest_count=3)
    source = ScriptedSource()
    stream, reader = live_stream(history, source, todate_ms=T0 + 4 * MIN)
    reader.until(lambda items: FeedState.LIVE in reader.states)
    source.push(bar(3), bar(4), bar(5))
    reader.until(lambda items: stream.ended and not stream.has_items())
    assert reader.opens() == [0, 1, 2, 3, 4]
    assert reader.states[-1] is FeedState.DISCONNECTED


def test_no_backfill_at_start_means_live_bars_only() -> None:
    history = FakeHistory(newest=9)
    source = ScriptedSource()
    stream, reader = live_stream(history, source, backfill_start=False)
    source.push(bar(10))
    reader.until(lambda items: len(reader.bars) == 1)
    assert history.calls == []
    assert reader.opens() == [10]
    stream.stop()


def test_bus_events_and_activity_markers() -> None:
    bus = EventBus(synchronous=True)
    seen: list[tuple[str, object]] = []
    bus.subscribe("feed.**", lambda topic, event: seen.append((topic, event)))
    history = FakeHistory(newest=1, latest_count=2)
    source = ScriptedSource()
    stream, reader = live_stream(history, source, bus=bus, name="BTC/USDT")
    reader.until(lambda items: FeedState.LIVE in reader.states)
    before = stream.last_activity_monotonic
    source.push(bar(2, closed=False))
    eventually(lambda: stream.last_activity_monotonic > before)
    assert stream.last_bar_ms == bar(1).open_ms  # an open bar is activity, not a bar
    topics = [topic for topic, _ in seen]
    assert topics.count("feed.bar.BTC/USDT") == 2
    assert "feed.state.BTC/USDT" in topics
    states = [e.state for t, e in seen if isinstance(e, StateChange)]
    assert states == [FeedState.DELAYED, FeedState.LIVE]
    stream.stop()
    bus.close()


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="LiveBarSource"):
        BarStream(lambda s, u: [], None, "1m", mode="live")
    with pytest.raises(ValueError, match="mode"):
        BarStream(lambda s, u: [], None, "1m", mode="paper")  # type: ignore[arg-type]


def test_month_bars_use_calendar_boundaries_for_holes() -> None:
    feb, mar, apr = 1_675_209_600_000, 1_677_628_800_000, 1_680_307_200_000  # 1st, 00:00 UTC
    months = [Bar(feb, 2, 2, 2, 2, 2), Bar(mar, 3, 3, 3, 3, 3), Bar(apr, 4, 4, 4, 4, 4)]
    calls: list[tuple[int | None, int | None]] = []

    def history(since: int | None, until: int | None) -> list[Bar]:
        calls.append((since, until))
        if since is None:
            return months[:1]  # at start, February is the latest closed month
        return [m for m in months if m.open_ms >= since and (until is None or m.open_ms <= until)]

    source = ScriptedSource()
    stream = BarStream(history, source, "1M", mode="live")
    stream.start()
    assert source.started.wait(5)
    reader = Reader(stream)
    reader.until(lambda items: FeedState.LIVE in reader.states)
    source.push(months[2])  # April closes; March never came over the socket
    reader.until(lambda items: len(reader.bars) == 3)
    assert [b.open_ms for b in reader.bars] == [feb, mar, apr]
    assert calls == [(None, None), (mar, apr - 1)]  # the hole starts on March 1st, not Feb 1 + 31d
    stream.stop()


def test_the_next_live_bar_skips_the_worker_and_a_bar_after_a_hole_does_not() -> None:
    bus = EventBus(synchronous=True)
    threads: dict[int, str] = {}
    bus.subscribe(
        "feed.bar.*",
        lambda _t, b: threads.setdefault((b.open_ms - T0) // MIN, threading.current_thread().name),
    )
    history = FakeHistory(newest=4, latest_count=5)
    source = ScriptedSource()
    stream, reader = live_stream(history, source, bus=bus, name="fast")
    reader.until(lambda items: FeedState.LIVE in reader.states)
    source.state("connected")
    mine = threading.current_thread().name
    pushed = [4]

    def push_next() -> bool:
        pushed[0] += 1
        source.push(bar(pushed[0]))
        return threads.get(pushed[0]) == mine

    # once the worker waits on its empty inbox, the next bar is delivered by the source's thread
    eventually(push_next, 10, message="no bar was delivered on the source's thread")
    direct = pushed[0]
    assert stream.last_bar_ms == bar(direct).open_ms  # delivered before push() returned
    history.newest = direct + 3
    source.push(bar(direct + 3))  # a hole: the worker fills it by REST first
    reader.until(lambda items: len(reader.bars) == direct + 4)
    assert reader.opens() == list(range(0, direct + 4))
    assert threads[direct + 3].startswith("rt-feed-")
    stream.stop()


def test_wake_ends_the_readers_wait_without_an_item_once_and_keeps_the_items() -> None:
    history = FakeHistory(newest=1)
    source = ScriptedSource()
    stream, reader = live_stream(history, source, backfill_start=False)
    reader.until(lambda items: FeedState.LIVE in reader.states)
    got: list[object] = []
    waiting = threading.Thread(target=lambda: got.append(stream.next_item(60)))
    waiting.start()
    stream.wake()  # the reader waits for a bar (or is about to): it returns with none
    waiting.join(20)
    assert not waiting.is_alive() and got == [None]
    stream.wake()
    stream.wake()  # both before the reader looks: one wake-up
    source.push(bar(2))
    assert stream.has_items()
    assert stream.next_item(0) is None
    assert stream.next_item(10) == bar(2)
    assert not stream.has_items() and stream.next_item(0) is None
    stream.stop()


def test_a_wake_up_never_outlives_the_end_of_the_stream() -> None:
    history = FakeHistory(newest=1)
    source = ScriptedSource()
    stream, reader = live_stream(history, source)
    reader.until(lambda items: FeedState.LIVE in reader.states)
    stream.wake()
    source.state("failed")
    reader.until(lambda items: stream.ended and not stream.has_items())
    stream.wake()  # after the end was read: nothing to read, nothing pending
    assert not stream.has_items() and stream.next_item(None) is None
    assert reader.states[-1] is FeedState.DISCONNECTED
