"""Bars and the typed engine behind every data feed: :class:`BarStream`.

A :class:`Bar` is one candle stamped with its **open** time (``open_ms``, UTC), as ccxt and the
exchanges stamp it; ``closed`` tells a final bar from an update of the bar still forming. A
:class:`LiveBarSource` (ccxt.pro in :mod:`real_trade.feeds.ccxt_bars`, raw websockets elsewhere)
pushes bar updates and its connection state from the venue client's I/O thread.

:class:`BarStream` turns a history function and an optional live source into one ordered
sequence of closed bars and :class:`StateChange` items, read by backtrader's thread through a
thread-safe queue (:meth:`BarStream.next_item`). Its own worker thread does the blocking work
(REST history, gap backfill), so neither the I/O loop nor Cerebro ever waits on it; a live bar
that is simply the next one, arriving while the worker idles, is put in that queue by the
source's thread itself (one thread hop fewer on the reaction path). :meth:`BarStream.wake`
(any thread) makes the reader's wait return at once without an item, so Cerebro runs a cycle
between bars (a live broker books the fills that just came in, off the next bar's path):

* ``mode="backtest"``: DELAYED, the history between ``fromdate_ms`` and ``todate_ms``, then
  DISCONNECTED (the end).
* ``mode="live"``: DELAYED, the live source started first (its bars are buffered), the history
  backfill, the buffered bars, then LIVE. A ``"disconnected"`` source means CONNBROKEN; the
  next ``"connected"`` (or the next live bar) means DELAYED, a REST backfill from the bar after
  the last one delivered up to the newest closed bar, then LIVE. A live bar that skips bars is
  preceded by a REST fill of the hole. Bars are delivered strictly in ``open_ms`` order, each
  once; a retryable history failure is retried with backoff, a final one ends the stream.

Delivered bars and states are published on the bus as ``feed.bar.<name>`` (:class:`Bar`) and
``feed.state.<name>`` (:class:`StateChange`). A :class:`~real_trade.feeds.watchdog.FeedWatchdog`
(``watchdog=``) restarts the live source when the data goes stale or the connection gets old:
CONNBROKEN, ``stop()`` and ``start()`` of the source, then the reconnect path above.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Literal, Protocol, runtime_checkable

from real_trade.bus import EventBus
from real_trade.errors import ExchangeError, FinalError, RetryableError
from real_trade.feeds.timeframes import next_open_ms, timeframe_to_bt
from real_trade.feeds.watchdog import FeedWatchdog

__all__ = [
    "Bar",
    "BarStream",
    "FeedState",
    "HistoryFetcher",
    "LiveBarSource",
    "StateChange",
    "StreamMode",
]

_log = logging.getLogger("real_trade.feeds")

StreamMode = Literal["backtest", "live"]
"""``backtest``: history only, then the end; ``live``: backfill, then live closed bars."""

HistoryFetcher = Callable[[int | None, int | None], Iterable["Bar"]]
"""``history(since_ms, until_ms)``: closed bars opening in ``[since_ms, until_ms]``, ascending.

``since_ms=None`` asks for the most recent bars (how many is the fetcher's choice);
``until_ms=None`` means up to the newest closed bar. The fetcher paginates.
"""


@dataclass(frozen=True, slots=True)
class Bar:
    """One candle: open time in ms (UTC), OHLCV as floats, and whether it is final.

    ``closed=False`` marks an update of the bar still forming; only closed bars ever reach a
    strategy.
    """

    open_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    closed: bool = True

    @classmethod
    def from_ohlcv(cls, row: Sequence[float | int | str | None], closed: bool = True) -> Bar:
        """Build a bar from a ccxt candle ``[open_ms, open, high, low, close, volume]``."""
        volume = row[5] if len(row) > 5 and row[5] is not None else 0.0
        o, h, low, c = (float(v) if v is not None else float("nan") for v in row[1:5])
        return cls(int(float(row[0] or 0)), o, h, low, c, float(volume or 0.0), closed)


class FeedState(str, Enum):
    """The states a feed reports, named as backtrader's data notifications."""

    DELAYED = "DELAYED"
    LIVE = "LIVE"
    CONNBROKEN = "CONNBROKEN"
    DISCONNECTED = "DISCONNECTED"
    NOTSUBSCRIBED = "NOTSUBSCRIBED"


@dataclass(frozen=True, slots=True)
class StateChange:
    """The feed entered ``state`` (``reason`` in words); DISCONNECTED is the end of the stream.

    ``error`` is the exception that ended the stream, if one did.
    """

    state: FeedState
    reason: str = ""
    error: BaseException | None = None


@runtime_checkable
class LiveBarSource(Protocol):
    """A push source of live bars for one symbol and timeframe.

    ``start(on_bar, on_state)`` begins streaming: ``on_bar(bar)`` for every bar update (with
    ``closed=True`` once, when the bar is final) and ``on_state(state)`` with ``"connected"``,
    ``"disconnected"`` or ``"failed"`` (final: the source gave up). Callbacks may come from any
    thread and must be cheap. ``stop()`` ends it; it is idempotent.
    """

    def start(self, on_bar: Callable[[Bar], None], on_state: Callable[[str], None]) -> None:
        """Begin streaming to the callbacks."""

    def stop(self) -> None:
        """Stop streaming (idempotent)."""


_WAKE = ("wake", None)


class _Nudge:
    """The item :meth:`BarStream.wake` queues: the reader's wait ends with no bar."""


_NUDGE = _Nudge()


class BarStream:
    """Ordered closed bars and feed states for one symbol (see the module docstring).

    ``history`` is the :data:`HistoryFetcher`, ``source`` the :class:`LiveBarSource` (None for
    backtests), ``timeframe`` a ccxt string (``"1m"``). ``fromdate_ms``/``todate_ms`` bound the
    bars by open time. ``backfill_start=False`` skips the initial history in live mode and
    ``backfill=False`` the gap backfill after a reconnect. ``bus`` and ``name`` name the topics;
    ``retry_delay_s``/``max_retry_delay_s`` pace retries of a failing history request;
    ``watchdog`` (live mode) watches for stale data and old connections.
    """

    def __init__(
        self,
        history: HistoryFetcher,
        source: LiveBarSource | None,
        timeframe: str,
        *,
        fromdate_ms: int | None = None,
        todate_ms: int | None = None,
        mode: StreamMode = "live",
        backfill_start: bool = True,
        backfill: bool = True,
        bus: EventBus | None = None,
        name: str = "feed",
        retry_delay_s: float = 0.5,
        max_retry_delay_s: float = 30.0,
        watchdog: FeedWatchdog | None = None,
    ) -> None:
        if mode not in ("backtest", "live"):
            raise ValueError(f"mode must be 'backtest' or 'live', not {mode!r}")
        if mode == "live" and source is None:
            raise ValueError("a live BarStream needs a LiveBarSource")
        timeframe_to_bt(timeframe)
        self.history, self.source, self.timeframe = history, source, timeframe
        self.fromdate_ms, self.todate_ms, self.mode = fromdate_ms, todate_ms, mode
        self.backfill_start, self.backfill = backfill_start, backfill
        self.bus, self.name = bus, name.replace(".", "_") or "feed"
        self.retry_delay_s, self.max_retry_delay_s = retry_delay_s, max_retry_delay_s
        self.watchdog = watchdog or FeedWatchdog(timeframe, stale_after=None)  # inactive
        self.watchdog.bind(name, bus)
        self.state: FeedState | None = None
        self.last_bar_ms: int | None = None
        self.last_activity_monotonic: float = time.monotonic()
        self.delivered = 0
        self.error: BaseException | None = None
        self._out: queue.SimpleQueue[Bar | StateChange | _Nudge] = queue.SimpleQueue()
        self._inbox: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._ended = threading.Event()
        self._end_taken = False
        self._woken = False  # a nudge is queued (wake() coalesces)
        self._source_up: bool | None = None
        self._thread: threading.Thread | None = None
        # held by the worker except while it waits on an empty inbox: whoever holds it may
        # deliver (see _deliver_now, the source thread's direct path)
        self._turn = threading.Lock()

    def __repr__(self) -> str:
        """Name, timeframe, mode, state and the last bar delivered."""
        state = self.state.value if self.state else "NEW"
        return (
            f"BarStream({self.name}, {self.timeframe}, {self.mode}, {state}, "
            f"last_bar_ms={self.last_bar_ms})"
        )

    # -- the consumer side (backtrader's thread) ------------------------------------------
    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"rt-feed-{self.name}", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the live source and the worker (idempotent); queued items stay readable."""
        self._stopping.set()
        self._stop_source()
        self._inbox.put(_WAKE)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def next_item(self, timeout: float | None = 0.0) -> Bar | StateChange | None:
        """The next closed bar or state change, or None if none comes within ``timeout``.

        ``timeout=0`` never waits, ``None`` waits until something comes (or the stream has
        ended and everything was read).
        """
        if self._end_taken:
            return None
        try:
            item = self._out.get(timeout is None or timeout > 0, timeout)
        except queue.Empty:
            return None
        if isinstance(item, _Nudge):
            self._woken = False
            return None
        if isinstance(item, StateChange) and item.state is FeedState.DISCONNECTED:
            self._end_taken = True
        return item

    def has_items(self) -> bool:
        """Whether :meth:`next_item` would return without waiting (an item or a wake-up)."""
        return not self._end_taken and not self._out.empty()

    def wake(self) -> None:
        """Any thread: the reader's current (or next) wait in :meth:`next_item` returns None
        at once, once; calls before it is read count as one. Items keep their order."""
        if not self._woken and not self._end_taken:
            self._woken = True
            self._out.put(_NUDGE)

    @property
    def ended(self) -> bool:
        """Whether the stream has produced its final DISCONNECTED."""
        return self._ended.is_set()

    # -- the producer side (the worker thread) --------------------------------------------
    def _on_source_bar(self, bar: Bar) -> None:
        self.last_activity_monotonic = time.monotonic()
        self.watchdog.source_message()
        if bar.closed and not self._deliver_now(bar):
            self._inbox.put(("bar", bar))

    def _deliver_now(self, bar: Bar) -> bool:
        """Deliver ``bar`` from the source's thread, without the hop through the worker: only
        while the stream is LIVE, the worker waits on an empty inbox (so nothing queued and
        no backfill is under way) and ``bar`` is the very next bar. Else False (the worker
        takes it: reconnects, gaps and late bars keep one path)."""
        if self.state is not FeedState.LIVE or not self._turn.acquire(blocking=False):
            return False
        try:
            last = self.last_bar_ms
            if (
                self.state is not FeedState.LIVE
                or last is None
                or self._stopping.is_set()
                or not self._inbox.empty()
                or bar.open_ms != next_open_ms(self.timeframe, last)
                or self._past_end()
            ):
                return False
            self._deliver(bar)
            return True
        finally:
            self._turn.release()

    def _on_source_state(self, state: str) -> None:
        self.last_activity_monotonic = time.monotonic()
        self.watchdog.source_state(state)
        self._inbox.put(("state", state))

    def _run(self) -> None:
        error: BaseException | None = None
        self._turn.acquire()
        try:
            if self.mode == "backtest":
                self._set_state(FeedState.DELAYED, "loading history")
                self._fill(self.fromdate_ms, self.todate_ms, retry=False)
            else:
                self._run_live()
        except Exception as exc:
            error = exc
            _log.error("%r ended by an error: %s", self, exc)
        finally:
            if self.source is not None:
                with contextlib.suppress(Exception):
                    self.source.stop()
            self._finish(error)
            self._turn.release()

    def _run_live(self) -> None:
        assert self.source is not None
        self._set_state(FeedState.DELAYED, "backfilling history")
        self.source.start(self._on_source_bar, self._on_source_state)
        self.watchdog.source_started()
        if self.backfill_start:
            self._fill(self.fromdate_ms, None, retry=True)
        self._drain(block=False)
        if self.state is FeedState.DELAYED and self._source_up is not False:
            self._set_state(FeedState.LIVE, "live bars")
        while not self._stopping.is_set() and not self._past_end():
            self._drain(block=True)
            self._watch()

    def _watch(self) -> None:
        """Restart the live source when the watchdog says so; the reconnect path backfills."""
        event = self.watchdog.check()
        if event is None or self.source is None or self._stopping.is_set():
            return
        self._set_state(FeedState.CONNBROKEN, f"watchdog: {event.reason}, resubscribing")
        self._source_up = False
        self._stop_source()
        with contextlib.suppress(queue.Empty):
            while True:  # what the old connection left: its "connected" must not count
                self._inbox.get_nowait()
        self.source.start(self._on_source_bar, self._on_source_state)
        self.watchdog.source_started()

    def _stop_source(self) -> None:
        if self.source is not None:
            try:
                self.source.stop()
            except Exception:
                _log.warning("%r: stopping the live source failed", self, exc_info=True)

    def _drain(self, block: bool) -> None:
        while not self._stopping.is_set() and not self._past_end():
            try:
                kind, payload = self._wait_inbox(block)
            except queue.Empty:
                return
            if kind == "state":
                self._on_state(str(payload))
            elif kind == "bar" and isinstance(payload, Bar):
                self._on_live_bar(payload)
            block = False

    def _wait_inbox(self, block: bool) -> tuple[str, object]:
        """The next inbox item; while blocked on it the worker lets the source deliver."""
        if not block:
            return self._inbox.get_nowait()
        self._turn.release()
        try:
            return self._inbox.get(True, self.watchdog.check_interval)
        finally:
            self._turn.acquire()

    def _on_state(self, state: str) -> None:
        if state == "failed":
            cause = getattr(self.source, "last_error", None)
            detail = f": {cause}" if cause else ""
            raise ExchangeError(f"the live bar source of {self.name} failed{detail}")
        if state == "disconnected":
            self._source_up = False
            if self.state in (FeedState.LIVE, FeedState.DELAYED):
                self._set_state(FeedState.CONNBROKEN, "live source disconnected")
        elif state == "connected":
            self._source_up = True
            if self.state is FeedState.CONNBROKEN:
                self._recover()

    def _recover(self) -> None:
        """After a reconnect: DELAYED, backfill from the bar after the last one, LIVE."""
        self._set_state(FeedState.DELAYED, "reconnected: backfilling the gap")
        if self.backfill:
            self._fill(self._resume_ms(), None, retry=True)
        if self.state is FeedState.DELAYED:
            self._set_state(FeedState.LIVE, "live bars")

    def _on_live_bar(self, bar: Bar) -> None:
        if self.state is FeedState.CONNBROKEN:
            self._source_up = True
            self._recover()
        last = self.last_bar_ms
        if last is not None and bar.open_ms <= last:
            return
        if self.backfill and last is not None:
            expected = next_open_ms(self.timeframe, last)
            if bar.open_ms > expected:
                self._fill(expected, bar.open_ms - 1, retry=True)
        elif (
            self.backfill
            and self.backfill_start
            and self.fromdate_ms is not None
            and bar.open_ms > self.fromdate_ms
        ):
            # no bar yet: the start's backfill found none closed, and the socket may have
            # subscribed after the first bar from fromdate closed (the soak lost it under load)
            self._fill(self.fromdate_ms, bar.open_ms - 1, retry=True)
        self._deliver(bar)

    def _resume_ms(self) -> int | None:
        if self.last_bar_ms is None:
            return self.fromdate_ms
        return next_open_ms(self.timeframe, self.last_bar_ms)

    def _fill(self, since_ms: int | None, until_ms: int | None, *, retry: bool) -> None:
        """Deliver history bars in ``[since_ms, until_ms]``; retry retryable failures."""
        failures = 0
        while not self._stopping.is_set():
            try:
                for bar in self.history(since_ms, until_ms):
                    if self._stopping.is_set() or self._past_end():
                        return
                    self._deliver(bar)
                if failures and self.state is FeedState.CONNBROKEN and self._source_up is not False:
                    self._set_state(FeedState.LIVE, "history reachable again")
                return
            except FinalError:
                raise
            except (RetryableError, OSError) as exc:
                if not retry:
                    raise
                failures += 1
                delay = min(self.max_retry_delay_s, self.retry_delay_s * 2 ** (failures - 1))
                _log.warning("%r: history request failed (%s); retry in %.1fs", self, exc, delay)
                if self.state is FeedState.LIVE:
                    self._set_state(FeedState.CONNBROKEN, "history request failed")
                self._stopping.wait(delay)
                since_ms = self._resume_ms() if self.last_bar_ms is not None else since_ms

    def _past_end(self) -> bool:
        last, end = self.last_bar_ms, self.todate_ms
        return end is not None and last is not None and next_open_ms(self.timeframe, last) > end

    def _deliver(self, bar: Bar) -> None:
        if not bar.closed or (self.last_bar_ms is not None and bar.open_ms <= self.last_bar_ms):
            return
        if self.fromdate_ms is not None and bar.open_ms < self.fromdate_ms:
            return
        if self.todate_ms is not None and bar.open_ms > self.todate_ms:
            return
        self.last_bar_ms = bar.open_ms
        self.last_activity_monotonic = time.monotonic()
        self.delivered += 1
        self.watchdog.bar_delivered(bar.open_ms)
        self._out.put(bar)
        self._publish(f"feed.bar.{self.name}", bar)

    def _set_state(self, state: FeedState, reason: str, error: BaseException | None = None) -> None:
        if state is self.state and error is None:
            return
        self.state = state
        self.last_activity_monotonic = time.monotonic()
        change = StateChange(state, reason, error)
        self._out.put(change)
        self._publish(f"feed.state.{self.name}", change)

    def _finish(self, error: BaseException | None) -> None:
        self.error = error
        reason = f"ended by {type(error).__name__}: {error}" if error else "end of data"
        if self._stopping.is_set() and error is None:
            reason = "stopped"
        self.state = None  # force the final notification even if already DISCONNECTED
        self._set_state(FeedState.DISCONNECTED, reason, error)
        self._ended.set()

    def _publish(self, topic: str, event: object) -> None:
        if self.bus is not None:
            with contextlib.suppress(RuntimeError):  # a closed bus: its owner is shutting down
                self.bus.publish(topic, event)
