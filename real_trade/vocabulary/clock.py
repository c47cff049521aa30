"""The one clock concept: the :class:`Clock` protocol and the system's :class:`SystemClock`.

A clock has two faces: :meth:`Clock.now`, seconds for measuring intervals (the engine's
scheduler, lifecycle backoff), and :meth:`Clock.now_ms`, integer ms since the epoch for
timestamps (orders, bars, the simulated exchange); and it waits (:meth:`Clock.wait`: up to a
number of its own seconds, or until an event is set). :class:`SystemClock` is the real one; the
simulator's :class:`~real_trade.sim.clock.SimClock` (real, accelerated, or stepped by hand, the
clock tests move instead of sleeping) is the other implementation.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    """What the engine and the simulator need of a clock: the time, in s and ms, and a wait."""

    def now(self) -> float:
        """The time in seconds, never going back (only differences are meaningful)."""
        ...

    def now_ms(self) -> int:
        """The time in integer ms since the epoch, never going back."""
        ...

    def wait(self, wakeup: threading.Event, seconds: float) -> bool:
        """Wait up to ``seconds`` of this clock's time or until ``wakeup`` is set.

        Returns True when ``wakeup`` was set.
        """
        ...


class SystemClock:
    """The real clock: ``time.monotonic`` for intervals, ``time.time`` for timestamps."""

    def now(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def now_ms(self) -> int:
        """The wall clock in ms since the epoch."""
        return time.time_ns() // 1_000_000

    def wait(self, wakeup: threading.Event, seconds: float) -> bool:
        """Block up to ``seconds`` (wall time) or until ``wakeup`` is set."""
        return wakeup.wait(max(0.0, seconds))

    def __repr__(self) -> str:
        """``SystemClock()``."""
        return "SystemClock()"
