"""Rate limits of a simulated exchange's face: request weight per IP, new orders per account.

:class:`RateLimiter` keeps fixed windows aligned to the wall clock, as exchanges do: request
weight per IP per minute, and new orders per account per 10 seconds and per day. A request that
would go over the weight limit is refused with the seconds to the next window; a client that
keeps sending after that is banned for :attr:`RateLimits.ban_seconds`. A refusal is a neutral
:class:`RateLimitExceeded` that the face turns into its own error (Binance: -1003 with HTTP 429
or 418, -1015; :mod:`real_trade.sim.binance.ratelimit`). How much each request weighs is the
face's too. All methods are thread-safe; the clock is injectable for tests.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["OrderCounts", "RateLimitExceeded", "RateLimiter", "RateLimits"]


class RateLimitExceeded(Exception):  # noqa: N818 - a refusal, named for what happened
    """Over a limit: ``scope`` (request ``"weight"`` or new ``"orders"``), the ``limit`` and its
    ``interval`` (``"minute"``, ``"10s"``, ``"day"``), the seconds to wait (``retry_after``) and,
    for a ban, when it ends (``banned_until_ms``)."""

    def __init__(
        self,
        scope: Literal["weight", "orders"],
        limit: int,
        interval: Literal["minute", "10s", "day"],
        retry_after: int | None = None,
        banned_until_ms: int | None = None,
    ) -> None:
        """Describe the refusal."""
        super().__init__(f"over the {scope} limit of {limit} per {interval}")
        self.scope = scope
        self.limit = limit
        self.interval = interval
        self.retry_after = retry_after
        self.banned_until_ms = banned_until_ms


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The limits one face of a simulated exchange enforces (Binance spot's by default).

    ``enabled=False`` turns every check off (benchmarks); counters and headers keep working.
    ``ban_after`` is how many requests a client may send while limited before the 418 ban.
    """

    weight_per_minute: int = 6000
    orders_per_10s: int = 100
    orders_per_day: int = 200_000
    ban_after: int = 5
    ban_seconds: int = 120
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class OrderCounts:
    """An account's new-order counts in the current 10-second and one-day windows."""

    count_10s: int
    count_1d: int


@dataclass(slots=True)
class _IpState:
    window: int = -1
    used: int = 0
    refused: int = 0
    banned_until: float = 0.0


@dataclass(slots=True)
class _AccountState:
    window_10s: int = -1
    count_10s: int = 0
    window_1d: int = -1
    count_1d: int = 0


@dataclass
class RateLimiter:
    """Request-weight and order-count accounting; a refusal when over a limit.

    ``charge(ip, weight)`` is called before a request is served and returns the IP's used
    weight in the current minute or raises; ``count_order(account_id)`` is called before a new
    order and returns the account's counts or raises. What is raised is ``refuse`` applied to a
    neutral :class:`RateLimitExceeded` (the face's error in its own words; by default the
    :class:`RateLimitExceeded` itself). ``wall`` (seconds since the epoch) drives the windows.
    """

    limits: RateLimits = field(default_factory=RateLimits)
    wall: Callable[[], float] = time.time
    refuse: Callable[[RateLimitExceeded], Exception] = field(default=lambda exc: exc, repr=False)
    _ips: dict[str, _IpState] = field(default_factory=dict, repr=False)
    _accounts: dict[int, _AccountState] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def configure(self, limits: RateLimits) -> None:
        """Replace the limits (counters are kept)."""
        with self._lock:
            self.limits = limits

    def reset(self) -> None:
        """Forget every counter and ban."""
        with self._lock:
            self._ips.clear()
            self._accounts.clear()

    def charge(self, ip: str, weight: int) -> int:
        """Add ``weight`` to ``ip``'s minute and return the used weight; refused when over."""
        now = self.wall()
        minute = int(now // 60)
        with self._lock:
            st = self._ips.get(ip)
            if st is None:
                st = self._ips[ip] = _IpState()
            if st.window != minute:
                st.window, st.used, st.refused = minute, 0, 0
            lim = self.limits
            if lim.enabled and st.banned_until > now:
                retry = max(1, math.ceil(st.banned_until - now))
                raise self.refuse(
                    RateLimitExceeded(
                        "weight",
                        lim.weight_per_minute,
                        "minute",
                        retry,
                        int(st.banned_until * 1000),
                    )
                )
            if lim.enabled and st.used + weight > lim.weight_per_minute:
                st.refused += 1
                if st.refused > lim.ban_after:
                    st.banned_until = now + lim.ban_seconds
                    raise self.refuse(
                        RateLimitExceeded(
                            "weight",
                            lim.weight_per_minute,
                            "minute",
                            lim.ban_seconds,
                            int(st.banned_until * 1000),
                        )
                    )
                retry = max(1, math.ceil((minute + 1) * 60 - now))
                raise self.refuse(
                    RateLimitExceeded("weight", lim.weight_per_minute, "minute", retry)
                )
            st.used += weight
            return st.used

    def used_weight(self, ip: str) -> int:
        """Return ``ip``'s used weight in the current minute."""
        minute = int(self.wall() // 60)
        with self._lock:
            st = self._ips.get(ip)
            return st.used if st is not None and st.window == minute else 0

    def count_order(self, account_id: int) -> OrderCounts:
        """Count one new order of ``account_id``; refused when over a limit."""
        now = self.wall()
        w10 = int(now // 10)
        wday = int(now // 86_400)
        with self._lock:
            st = self._accounts.get(account_id)
            if st is None:
                st = self._accounts[account_id] = _AccountState()
            if st.window_10s != w10:
                st.window_10s, st.count_10s = w10, 0
            if st.window_1d != wday:
                st.window_1d, st.count_1d = wday, 0
            lim = self.limits
            if lim.enabled:
                if st.count_10s + 1 > lim.orders_per_10s:
                    raise self.refuse(RateLimitExceeded("orders", lim.orders_per_10s, "10s"))
                if st.count_1d + 1 > lim.orders_per_day:
                    raise self.refuse(RateLimitExceeded("orders", lim.orders_per_day, "day"))
            st.count_10s += 1
            st.count_1d += 1
            return OrderCounts(st.count_10s, st.count_1d)

    def order_counts(self, account_id: int) -> OrderCounts:
        """Return ``account_id``'s counts in the current windows without counting anything."""
        now = self.wall()
        with self._lock:
            st = self._accounts.get(account_id)
            if st is None:
                return OrderCounts(0, 0)
            c10 = st.count_10s if st.window_10s == int(now // 10) else 0
            c1d = st.count_1d if st.window_1d == int(now // 86_400) else 0
            return OrderCounts(c10, c1d)
