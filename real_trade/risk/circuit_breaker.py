"""A circuit breaker for order submission: closed, open, half-open, on an injected clock.

CLOSED counts consecutive failures; ``max_failures`` of them (or :meth:`CircuitBreaker.trip`)
open it. OPEN refuses everything until ``reset_timeout`` seconds have passed on the monotonic
clock; it is then HALF_OPEN and :meth:`CircuitBreaker.allow` grants ``half_open_max_calls``
probes. A probe's success closes the breaker, its failure opens it again for another timeout.
"""

from __future__ import annotations

import enum
import math
import threading
import time
from collections.abc import Callable

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(enum.Enum):
    """CLOSED passes, OPEN refuses, HALF_OPEN passes a limited number of probes."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Thread-safe circuit breaker; the caller reports outcomes with record_success/failure.

    ``clock`` is a monotonic clock in seconds (``time.monotonic`` by default; tests inject a
    fake). ``last_reason`` says why it last opened (``"3 consecutive failures"``, or the reason
    given to :meth:`trip`).
    """

    def __init__(
        self,
        max_failures: int = 5,
        reset_timeout: float = 30.0,
        *,
        half_open_max_calls: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Open after ``max_failures`` consecutive failures; probe after ``reset_timeout`` s."""
        if max_failures < 1:
            raise ValueError("max_failures must be >= 1")
        if not math.isfinite(reset_timeout) or reset_timeout < 0:
            raise ValueError("reset_timeout must be a finite number of seconds >= 0")
        if half_open_max_calls < 1:
            raise ValueError("half_open_max_calls must be >= 1")
        self.max_failures = max_failures
        self.reset_timeout = reset_timeout
        self.half_open_max_calls = half_open_max_calls
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probes = 0
        self.last_reason = ""

    # ----------------------------------------------------------------- reading
    def get_state(self) -> BreakerState:
        """The current state (OPEN turns HALF_OPEN once ``reset_timeout`` has passed)."""
        with self._lock:
            return self._current()

    def is_tripped(self) -> bool:
        """Whether the breaker is OPEN: tripped, refusing every call until ``reset_timeout``.

        The seed's name. CLOSED is not tripped, and neither is HALF_OPEN, which grants probes
        through :meth:`allow` (a probe's success closes it, its failure trips it again).
        """
        return self.get_state() is BreakerState.OPEN

    @property
    def failures(self) -> int:
        """Consecutive failures counted while CLOSED."""
        with self._lock:
            return self._failures

    def retry_in(self) -> float:
        """Seconds until an OPEN breaker allows a probe (0 when not OPEN)."""
        with self._lock:
            if self._current() is not BreakerState.OPEN:
                return 0.0
            return max(0.0, self._opened_at + self.reset_timeout - self._clock())

    def _current(self) -> BreakerState:
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self.reset_timeout
        ):
            self._state = BreakerState.HALF_OPEN
            self._probes = 0
        return self._state

    # ----------------------------------------------------------------- gating
    def allow(self) -> bool:
        """Whether a call may go ahead now; in HALF_OPEN each True consumes one probe."""
        with self._lock:
            state = self._current()
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.HALF_OPEN and self._probes < self.half_open_max_calls:
                self._probes += 1
                return True
            return False

    def record_success(self) -> None:
        """A call succeeded: reset the failure count; a HALF_OPEN breaker closes."""
        with self._lock:
            if self._current() is BreakerState.OPEN:
                return
            self._state = BreakerState.CLOSED
            self._failures = 0
            self._probes = 0

    def record_failure(self, reason: str = "") -> None:
        """A call failed (``reason``: what happened, kept for :attr:`last_reason`): count it;
        ``max_failures`` in a row, or a failed probe, opens it."""
        last = f"; last: {reason}" if reason else ""
        with self._lock:
            state = self._current()
            if state is BreakerState.HALF_OPEN:
                self._open(f"a half-open probe failed{last}")
            elif state is BreakerState.CLOSED:
                self._failures += 1
                if self._failures >= self.max_failures:
                    self._open(f"{self._failures} consecutive failures{last}")

    def trip(self, reason: str = "tripped manually") -> None:
        """Open now, whatever the state, for ``reset_timeout`` seconds."""
        with self._lock:
            self._open(reason)

    def reset(self) -> None:
        """Close now and forget the failures."""
        with self._lock:
            self._state = BreakerState.CLOSED
            self._failures = 0
            self._probes = 0
            self.last_reason = ""

    def _open(self, reason: str) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()
        self._failures = 0
        self._probes = 0
        self.last_reason = reason
