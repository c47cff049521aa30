"""Clocks for the engine: the system's monotonic clock, and a manual one for tests.

A :class:`Clock` tells the time (:meth:`Clock.now`, seconds on a monotonic scale) and waits
(:meth:`Clock.wait`: up to a number of its own seconds, or until an event is set). The
:class:`~real_trade.engine.scheduler.Scheduler` and the
:class:`~real_trade.engine.lifecycle.LifecycleManager` take one as an argument, so a test moves
time by hand with :class:`ManualClock` instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]

_POLL_S = 0.02  # how often a ManualClock waiter looks at its wake-up event (wall seconds)


class Clock(Protocol):
    """What the engine needs of a clock: the time now and an interruptible wait."""

    def now(self) -> float:
        """The time in seconds on a monotonic scale (only differences are meaningful)."""
        ...

    def wait(self, wakeup: threading.Event, seconds: float) -> bool:
        """Wait up to ``seconds`` of this clock's time or until ``wakeup`` is set.

        Returns True when ``wakeup`` was set.
        """
        ...


class SystemClock:
    """The real monotonic clock: ``time.monotonic`` and ``Event.wait``."""

    def now(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def wait(self, wakeup: threading.Event, seconds: float) -> bool:
        """Block up to ``seconds`` (wall time) or until ``wakeup`` is set."""
        return wakeup.wait(max(0.0, seconds))

    def __repr__(self) -> str:
        """``SystemClock()``."""
        return "SystemClock()"


class ManualClock:
    """A clock that only moves when told to (:meth:`advance`), for deterministic tests.

    ``ManualClock(start=0.0)``. Threads waiting on it (:meth:`wait`) wake when enough manual
    time has passed or their event is set; :meth:`advance` wakes them at once. Thread-safe.
    """

    def __init__(self, start: float = 0.0) -> None:
        """Start the clock at ``start`` seconds."""
        self._now = float(start)
        self._cond = threading.Condition()
        self.waiters = 0

    def now(self) -> float:
        """The manual time."""
        with self._cond:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the time ``seconds`` forward (>= 0), wake every waiter, return the new time."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go back: advance({seconds})")
        with self._cond:
            self._now += seconds
            self._cond.notify_all()
            return self._now

    def wait(self, wakeup: threading.Event, seconds: float) -> bool:
        """Wait until ``seconds`` of manual time have passed or ``wakeup`` is set."""
        with self._cond:
            deadline = self._now + max(0.0, seconds)
            self.waiters += 1
            try:
                while not wakeup.is_set() and self._now < deadline:
                    self._cond.wait(_POLL_S)
            finally:
                self.waiters -= 1
        return wakeup.is_set()

    def __repr__(self) -> str:
        """``ManualClock(now=...)``."""
        return f"ManualClock(now={self.now():g})"
