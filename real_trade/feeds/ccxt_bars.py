"""``CcxtBarSource``: closed bars from ccxt.pro's ``watch_ohlcv``, for any venue ccxt.pro serves.

ccxt.pro hands over candle updates without saying when a candle is final. This source decides:

* a candle is final when a **newer** candle appears: it is emitted once with ``closed=True``
  (with the last values seen, which on Binance are those of the ``x: true`` update);
* a candle is also final when the **venue's clock** passes its end by ``grace_s`` with no newer
  candle (a quiet market sends no update): the source then asks REST for it
  (``fetch_ohlcv``, closed bars only) and emits what the venue confirms, so a bar is never later
  than the grace period. The venue clock is estimated from the last ``fetch_time`` offset (read
  again at least every ``clock_check_s`` while a candle is overdue) and confirmed by a fresh
  ``fetch_time`` before any REST candle request, so an accelerated or stepped simulator clock is
  honoured, and a flowing stream costs no request at all. The forming candle is read once by
  REST at start, so even a stream silent from the first second closes its bars;
* after a disconnect, or a stop (a restart by the watchdog), the candle being formed is
  forgotten (its last values may be stale): the consumer
  (:class:`real_trade.feeds.bars.BarStream`) backfills it by REST.

Every update of the forming candle is passed on with ``closed=False``. Callbacks run on the
venue client's I/O thread, as does the REST check (a task on its loop), so no lock is needed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from real_trade.errors import redact
from real_trade.feeds.bars import Bar
from real_trade.feeds.timeframes import next_open_ms, timeframe_to_bt

if TYPE_CHECKING:
    from real_trade.venues.client import VenueClient
    from real_trade.venues.streams import StreamHandle, StreamStateChanged

__all__ = ["CcxtBarSource"]

_log = logging.getLogger("real_trade.feeds.ccxt")
_FORWARDED_STATES = frozenset({"connected", "disconnected", "failed"})


def _noop_bar(_bar: Bar) -> None:
    return None


def _noop_state(_state: str) -> None:
    return None


class CcxtBarSource:
    """A :class:`~real_trade.feeds.bars.LiveBarSource` over ``VenueClient.stream("ohlcv")``.

    ``client`` is the store's venue client, ``symbol`` a unified symbol or venue id,
    ``timeframe`` a ccxt string. ``grace_s`` is how long past a candle's end (venue time) the
    source waits for a newer candle before asking REST; ``check_interval_s`` how often (wall
    time) it looks; ``clock_check_s`` the longest it trusts its estimate of the venue clock
    while a candle is overdue (a simulator's clock may run faster than the wall clock).
    ``emitted_closed`` counts the closed bars emitted, ``rest_confirmations`` those from REST.
    """

    def __init__(
        self,
        client: VenueClient,
        symbol: str,
        timeframe: str,
        *,
        grace_s: float = 2.0,
        check_interval_s: float = 0.5,
        clock_check_s: float = 10.0,
    ) -> None:
        timeframe_to_bt(timeframe)
        self.client, self.symbol, self.timeframe = client, symbol, timeframe
        self.grace_s, self.check_interval_s = grace_s, check_interval_s
        self.clock_check_s = clock_check_s
        self._clock_read_monotonic = 0.0
        self.emitted_closed = 0
        self.rest_confirmations = 0
        self.last_error: str | None = None
        self._on_bar: Callable[[Bar], None] = _noop_bar
        self._on_state: Callable[[str], None] = _noop_state
        self._handle: StreamHandle | None = None
        self._timer: concurrent.futures.Future[None] | None = None
        self._current: Bar | None = None
        self._current_from_ws = False
        self._pending_open: int | None = None
        self._last_closed_ms: int | None = None
        self._last_update_monotonic = time.monotonic()
        self._venue_offset_ms: float | None = None
        self._next_rest_check = 0.0
        self._stopped = False
        self._unified = symbol

    def __repr__(self) -> str:
        """Symbol, timeframe and the last closed bar emitted."""
        return f"CcxtBarSource({self.symbol}, {self.timeframe}, last_closed={self._last_closed_ms})"

    # -- LiveBarSource -------------------------------------------------------------------
    def start(self, on_bar: Callable[[Bar], None], on_state: Callable[[str], None]) -> None:
        """Subscribe to the venue's candles and start the REST close check (idempotent)."""
        if self._handle is not None:
            return
        self._stopped = False
        self._on_bar, self._on_state = on_bar, on_state
        self._unified = self.client.symbol_of(self.symbol)
        self._handle = self.client.stream(
            "ohlcv",
            self._unified,
            on_event=self._on_candle,
            on_state=self._on_stream_state,
            timeframe=self.timeframe,
        )
        try:
            self.client.run(self._seed_async())
        except Exception as exc:  # the stream itself will show the forming candle soon
            _log.warning(  # a timeout's text is empty: name the error's class
                "%r: could not read the forming candle: %s: %s",
                self,
                type(exc).__name__,
                redact(str(exc)),
            )
        self._timer = self.client.submit(self._close_check_loop())

    def stop(self) -> None:
        """Stop the stream and the close check (idempotent).

        The forming candle is forgotten, as after a disconnect: the updates it misses while
        stopped would make its values stale if a restart (the watchdog's) closed it.
        """
        self._stopped = True
        handle, timer = self._handle, self._timer
        self._handle = self._timer = None
        if timer is not None:
            timer.cancel()
        if handle is not None:
            with contextlib.suppress(Exception):
                handle.stop()  # waits until no candle callback runs any more
        self._current, self._pending_open = None, None

    # -- on the I/O thread ---------------------------------------------------------------
    async def _seed_async(self) -> None:
        """Take the forming candle from REST, so that even a silent stream closes bars."""
        rows = await self.client.fetch_ohlcv_async(
            self._unified, self.timeframe, None, None, 1, False
        )
        if rows and self._current is None and not self._stopped:
            self._current, self._current_from_ws = Bar.from_ohlcv(rows[-1], closed=False), False
            self._pending_open = self._current.open_ms
            self._last_update_monotonic = time.monotonic()

    def _on_stream_state(self, change: StreamStateChanged) -> None:
        if change.error:
            self.last_error = change.error
        if change.state == "disconnected":
            # the forming candle's last values may be stale: the consumer backfills it by REST
            self._current, self._pending_open = None, None
        if change.state in _FORWARDED_STATES and not self._stopped:
            self._on_state(change.state)

    def _on_candle(self, candle: Any) -> None:
        if self._stopped:
            return
        bar = Bar.from_ohlcv(candle, closed=False)
        if self._last_closed_ms is not None and bar.open_ms <= self._last_closed_ms:
            return  # a late update of a bar already final
        self._last_update_monotonic = time.monotonic()
        current = self._current
        if current is not None and bar.open_ms < current.open_ms:
            self._emit_closed(bar)  # an older candle than the forming one is final
            return
        if current is not None and bar.open_ms > current.open_ms and self._current_from_ws:
            self._emit_closed(current)  # a REST-seeded candle is left to the consumer's backfill
        self._current, self._current_from_ws, self._pending_open = bar, True, bar.open_ms
        self._on_bar(bar)

    def _emit_closed(self, bar: Bar) -> bool:
        if self._last_closed_ms is not None and bar.open_ms <= self._last_closed_ms:
            return False
        self._last_closed_ms = bar.open_ms
        self.emitted_closed += 1
        self._on_bar(
            Bar(bar.open_ms, bar.open, bar.high, bar.low, bar.close, bar.volume, closed=True)
        )
        return True

    async def _close_check_loop(self) -> None:
        while not self._stopped:
            await asyncio.sleep(self.check_interval_s)
            try:
                await self._check_overdue()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed check is retried on the next round
                _log.warning("%r: REST close check failed: %s", self, exc)

    async def _check_overdue(self) -> None:
        """Close the pending candle from REST once the venue clock is past its end + grace."""
        pending = self._pending_open
        now_mono = time.monotonic()
        if pending is None or now_mono - self._last_update_monotonic < self.grace_s:
            return  # updates are flowing: a newer candle will close this one
        if now_mono < self._next_rest_check:
            return
        due_ms = next_open_ms(self.timeframe, pending) + self.grace_s * 1000
        offset = self._venue_offset_ms
        estimate_due = offset is None or self._wall_ms() + offset >= due_ms
        if not estimate_due and now_mono - self._clock_read_monotonic < self.clock_check_s:
            return
        venue_now = await self.client.fetch_time_async()
        self._clock_read_monotonic = time.monotonic()
        self._venue_offset_ms = venue_now - self._wall_ms()
        if venue_now < due_ms:
            return
        self._next_rest_check = time.monotonic() + self.grace_s
        rows = await self.client.fetch_ohlcv_async(
            self._unified, self.timeframe, pending, None, None, True
        )
        if self._stopped or self._pending_open != pending:
            return  # the stream moved on meanwhile
        for row in rows:
            bar = Bar.from_ohlcv(row, closed=True)
            if bar.open_ms >= pending and self._emit_closed(bar):
                self.rest_confirmations += 1
        last = self._last_closed_ms
        # the next bar to watch; a bar the venue has no candle for (no trades) is over too
        basis = last if last is not None and last >= pending else pending
        self._pending_open = next_open_ms(self.timeframe, basis)
        if self._current is not None and self._current.open_ms < self._pending_open:
            self._current = None

    @staticmethod
    def _wall_ms() -> float:
        return time.time() * 1000
