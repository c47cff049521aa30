"""An order-rate throttle: at most N orders in any sliding window (one second by default).

The window is sliding, not bucketed: an order at time ``t`` is admitted only if fewer than
``max_orders`` were admitted at times ``s`` with ``t - s < window``, so no window of that
length anywhere holds more than ``max_orders`` admitted orders. The clock is injected
(monotonic seconds).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["OrderThrottle"]


class OrderThrottle:
    """Thread-safe sliding-window rate limit for order submissions.

    :meth:`try_acquire` admits and records an order, or refuses it (nothing recorded);
    :meth:`would_allow` asks without recording. ``clock`` is a monotonic clock in seconds.
    """

    def __init__(
        self,
        max_orders: int,
        window: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Admit at most ``max_orders`` (>= 1) orders in any ``window`` seconds (> 0)."""
        if max_orders < 1:
            raise ValueError("max_orders must be >= 1")
        if not math.isfinite(window) or window <= 0:
            raise ValueError("window must be a finite number of seconds > 0")
        self.max_orders = max_orders
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._admitted: deque[float] = deque()

    def _expire(self, now: float) -> None:
        while self._admitted and now - self._admitted[0] >= self.window:
            self._admitted.popleft()

    def in_window(self) -> int:
        """How many admitted orders are inside the current window."""
        with self._lock:
            self._expire(self._clock())
            return len(self._admitted)

    def would_allow(self) -> bool:
        """Whether :meth:`try_acquire` would admit an order now (nothing is recorded)."""
        return self.in_window() < self.max_orders

    def try_acquire(self) -> bool:
        """Admit and record one order now, or return False when the window is full."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            if len(self._admitted) >= self.max_orders:
                return False
            self._admitted.append(now)
            return True
