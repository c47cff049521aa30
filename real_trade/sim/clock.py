"""The simulator's clock: real time, accelerated time or stepped time.

Everything in the simulator that needs "now" (the market pump, order timestamps, kline
boundaries, ``serverTime``) asks one :class:`SimClock`, so a whole simulated exchange can run
at wall-clock pace, faster than real time, or frozen and moved by a test. It is a
:class:`~real_trade.vocabulary.clock.Clock`, so a stepped one is also the clock engine tests
move by hand (the scheduler's and the lifecycle's waits wake on :meth:`SimClock.advance`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

__all__ = ["SimClock"]

_POLL_S = 0.02  # how often a waiter on a stepped clock looks at its wake-up event (wall seconds)


class SimClock:
    """Market time for the simulator: real time, accelerated, or stepped by hand.

    * real time (``speed=1``, the default): market time moves with the wall clock; with no
      ``start_ms`` it *is* the wall clock (ms since the epoch).
    * accelerated (``speed > 1``): market time starts at ``start_ms`` and moves ``speed`` times
      faster than ``wall`` (``speed=60``: one market minute per wall second).
    * stepped (``stepped=True``): market time stays at ``start_ms`` and moves only when
      :meth:`advance` is called.

    ``wall`` (seconds since the epoch, ``time.time`` by default) can be injected to drive the
    clock in tests. ``now_ms`` never goes backwards, even if the wall clock does. All methods
    are thread-safe; changing :attr:`speed` re-anchors the clock so time stays continuous.
    :meth:`now` is the same time in seconds; :meth:`wait` waits on market time (a stepped
    clock's waiters, counted in :attr:`waiters`, wake when :meth:`advance` passes their end).
    """

    def __init__(
        self,
        *,
        start_ms: int | None = None,
        speed: float = 1.0,
        stepped: bool = False,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """Create a clock starting at ``start_ms`` (default: the wall clock's now)."""
        _check_speed(speed)
        self._lock = threading.Condition()
        self.waiters = 0
        self._wall = wall
        self._stepped = bool(stepped)
        self._speed = float(speed)
        wall_now = float(wall())
        self._start_ms = int(start_ms) if start_ms is not None else math.floor(wall_now * 1000)
        # market time = anchor_ms + (wall - anchor_wall) * speed * 1000   (not stepped)
        # market time = start_ms + stepped_offset_ns / 1e6                (stepped; exact ints)
        self._anchor_ms: float = float(self._start_ms)
        self._anchor_wall = wall_now
        self._stepped_offset_ns = 0
        self._last_ms = self._start_ms

    @property
    def speed(self) -> float:
        """Market seconds per wall second; setting it keeps market time continuous."""
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        _check_speed(value)
        with self._lock:
            if not self._stepped:
                wall_now = float(self._wall())
                self._anchor_ms = self._raw_ms(wall_now)
                self._anchor_wall = wall_now
            self._speed = float(value)

    @property
    def stepped(self) -> bool:
        """Whether time moves only on :meth:`advance` (fixed at construction)."""
        return self._stepped

    @property
    def start_ms(self) -> int:
        """The market time (ms) the clock started at."""
        return self._start_ms

    def _raw_ms(self, wall_now: float) -> float:
        """Return the unclamped market time for the wall reading ``wall_now`` (lock held)."""
        if self._stepped:
            return self._start_ms + self._stepped_offset_ns / 1_000_000
        return self._anchor_ms + (wall_now - self._anchor_wall) * self._speed * 1000.0

    def now_ms(self) -> int:
        """Return the current market time in integer ms since the epoch (never decreasing)."""
        if self._stepped:  # only advance() moves it, never back: one attribute read, no lock
            return self._start_ms + self._stepped_offset_ns // 1_000_000
        with self._lock:
            now = math.floor(self._raw_ms(float(self._wall())))
            if now < self._last_ms:
                now = self._last_ms
            self._last_ms = now
            return now

    def now(self) -> float:
        """The market time in seconds since the epoch (exact for a stepped clock)."""
        if not self._stepped:
            return self.now_ms() / 1000.0
        with self._lock:
            return self._stepped_now_s()

    def wait(self, wakeup: threading.Event, seconds: float) -> bool:
        """Wait until ``seconds`` of market time have passed or ``wakeup`` is set.

        A running clock waits the wall time those seconds take at the current speed; a stepped
        one until :meth:`advance` moves it far enough. Returns True when ``wakeup`` was set.
        """
        deadline = self.now() + max(0.0, seconds)
        if not self._stepped:
            while not wakeup.is_set() and (left := deadline - self.now()) > 0:
                wakeup.wait(left / self._speed)
            return wakeup.is_set()
        with self._lock:
            self.waiters += 1
            try:
                while not wakeup.is_set() and self._stepped_now_s() < deadline:
                    self._lock.wait(_POLL_S)
            finally:
                self.waiters -= 1
        return wakeup.is_set()

    def _stepped_now_s(self) -> float:
        """A stepped clock's time in seconds (lock held)."""
        return (self._start_ms * 1_000_000 + self._stepped_offset_ns) / 1_000_000_000

    def advance(self, seconds: float) -> float:
        """Move a stepped clock forward by ``seconds`` of market time; return :meth:`now`.

        Raises ``ValueError`` when the clock is not stepped, or when ``seconds`` is negative
        or not finite.
        """
        if not self._stepped:
            raise ValueError("advance() needs a stepped clock (SimClock(stepped=True))")
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be a finite number >= 0, got {seconds}")
        with self._lock:
            self._stepped_offset_ns += round(seconds * 1_000_000_000)
            if self.waiters:  # counted under the lock by wait(), the only one that waits on it
                self._lock.notify_all()
            return self._stepped_now_s()

    def to_wall_seconds(self, market_ms_delta: float) -> float:
        """Return the wall-clock seconds in which ``market_ms_delta`` ms of market time pass.

        It is ``market_ms_delta / 1000 / speed``; a negative delta (an instant already past)
        gives 0.0. For a stepped clock, where no amount of waiting moves time, the same
        formula gives a sensible polling pace for loops that wait for :meth:`advance`.
        """
        if market_ms_delta <= 0:
            return 0.0
        return market_ms_delta / 1000.0 / self._speed

    def __repr__(self) -> str:
        """Describe the clock's mode and current market time."""
        mode = "stepped" if self._stepped else f"speed={self._speed:g}"
        return f"SimClock({mode}, now_ms={self.now_ms()})"


def _check_speed(speed: float) -> None:
    """Raise ``ValueError`` unless ``speed`` is a positive finite number."""
    if not isinstance(speed, int | float) or not math.isfinite(speed) or speed <= 0:
        raise ValueError(f"speed must be a positive finite number, got {speed!r}")
