"""Binance spot's rate limits: request weight per IP, order counts per account, 429 then 418.

:class:`RateLimiter` keeps fixed windows aligned to the wall clock, as Binance does: request
weight per IP per minute (``X-MBX-USED-WEIGHT-1M``), and new orders per account per 10 seconds
and per day (``X-MBX-ORDER-COUNT-10S`` / ``-1D``). A request that would go over the weight
limit is refused with -1003 and HTTP 429 plus ``Retry-After`` (seconds to the next window); a
client that keeps sending after that is banned with HTTP 418 for :attr:`RateLimits.ban_seconds`.
Going over an order limit is -1015 with HTTP 429 and no ``Retry-After``, as on Binance.

:data:`ENDPOINT_WEIGHTS` and :func:`request_weight` hold the documented weight of each REST
endpoint, including the parameter-dependent ones (depth by ``limit``, tickers by symbol count).
All methods are thread-safe; the clock is injectable for tests.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from real_trade.sim.binance.errors import BinanceApiError, rate_limited

__all__ = [
    "ENDPOINT_WEIGHTS",
    "OrderCounts",
    "RateLimiter",
    "RateLimits",
    "depth_weight",
    "request_weight",
]

ENDPOINT_WEIGHTS: dict[tuple[str, str], int] = {
    ("GET", "/api/v3/ping"): 1,
    ("GET", "/api/v3/time"): 1,
    ("GET", "/api/v3/exchangeInfo"): 20,
    ("GET", "/api/v3/trades"): 25,
    ("GET", "/api/v3/historicalTrades"): 25,
    ("GET", "/api/v3/aggTrades"): 4,
    ("GET", "/api/v3/klines"): 2,
    ("GET", "/api/v3/uiKlines"): 2,
    ("GET", "/api/v3/avgPrice"): 2,
    ("POST", "/api/v3/order"): 1,
    ("POST", "/api/v3/order/test"): 1,
    ("GET", "/api/v3/order"): 4,
    ("DELETE", "/api/v3/order"): 1,
    ("DELETE", "/api/v3/openOrders"): 1,
    ("GET", "/api/v3/allOrders"): 20,
    ("GET", "/api/v3/account"): 20,
    ("GET", "/api/v3/myTrades"): 20,
    ("GET", "/api/v3/rateLimit/order"): 40,
}
"""Fixed weights of the REST endpoints; the others are computed by :func:`request_weight`."""


def depth_weight(limit: int) -> int:
    """Return the weight of GET depth for ``limit`` (5, 25, 50 or 250)."""
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


def _symbol_count(query: Mapping[str, str]) -> int | None:
    """How many symbols a ticker request names (1 for ``symbol``, n for ``symbols``, None: all)."""
    if query.get("symbol"):
        return 1
    raw = query.get("symbols")
    if raw:
        return max(1, raw.count(",") + 1)
    return None


def request_weight(method: str, path: str, query: Mapping[str, str]) -> int:
    """Return the request weight Binance charges for ``method path`` with ``query``."""
    fixed = ENDPOINT_WEIGHTS.get((method, path))
    if fixed is not None:
        return fixed
    if path == "/api/v3/depth":
        try:
            limit = int(query.get("limit", "100"))
        except ValueError:
            limit = 100
        return depth_weight(limit)
    if path == "/api/v3/ticker/24hr":
        n = _symbol_count(query)
        if n is None:
            return 80
        return 2 if n <= 20 else 40 if n <= 100 else 80
    if path in ("/api/v3/ticker/price", "/api/v3/ticker/bookTicker"):
        return 2 if _symbol_count(query) == 1 and "symbol" in query else 4
    if path == "/api/v3/openOrders" and method == "GET":
        return 6 if query.get("symbol") else 80
    return 1


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The limits one simulated exchange enforces (Binance spot's by default).

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
    """Request-weight and order-count accounting with Binance's answers when over a limit.

    ``charge(ip, weight)`` is called before a request is served and returns the IP's used
    weight in the current minute (for ``X-MBX-USED-WEIGHT-1M``) or raises the 429/418 error;
    ``count_order(account_id)`` is called before a new order and returns the account's counts
    (for ``X-MBX-ORDER-COUNT-*``) or raises -1015. ``wall`` (seconds since the epoch) drives
    the windows.
    """

    limits: RateLimits = field(default_factory=RateLimits)
    wall: Callable[[], float] = time.time
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
        """Add ``weight`` to ``ip``'s minute and return the used weight; 429/418 when over."""
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
                raise rate_limited(
                    lim.weight_per_minute,
                    "1 MINUTE",
                    retry,
                    banned_until=int(st.banned_until * 1000),
                )
            if lim.enabled and st.used + weight > lim.weight_per_minute:
                st.refused += 1
                if st.refused > lim.ban_after:
                    st.banned_until = now + lim.ban_seconds
                    raise rate_limited(
                        lim.weight_per_minute,
                        "1 MINUTE",
                        lim.ban_seconds,
                        banned_until=int(st.banned_until * 1000),
                    )
                retry = max(1, math.ceil((minute + 1) * 60 - now))
                raise rate_limited(lim.weight_per_minute, "1 MINUTE", retry)
            st.used += weight
            return st.used

    def used_weight(self, ip: str) -> int:
        """Return ``ip``'s used weight in the current minute."""
        minute = int(self.wall() // 60)
        with self._lock:
            st = self._ips.get(ip)
            return st.used if st is not None and st.window == minute else 0

    def count_order(self, account_id: int) -> OrderCounts:
        """Count one new order of ``account_id``; -1015 (HTTP 429) when over a limit."""
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
                    raise _too_many_orders(lim.orders_per_10s, "10 SECOND")
                if st.count_1d + 1 > lim.orders_per_day:
                    raise _too_many_orders(lim.orders_per_day, "1 DAY")
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


def _too_many_orders(limit: int, interval: str) -> BinanceApiError:
    return BinanceApiError(
        -1015,
        f"Too many new orders; current limit is {limit} orders per {interval}.",
        http_status=429,
    )
