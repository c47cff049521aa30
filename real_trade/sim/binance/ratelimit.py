"""Binance spot's rate limits: endpoint weights and Binance's words for a refusal.

The accounting is the shared :class:`~real_trade.sim.plumbing.ratelimit.RateLimiter` (request
weight per IP per minute, reported as ``X-MBX-USED-WEIGHT-1M``; new orders per account per 10
seconds and per day, ``X-MBX-ORDER-COUNT-10S`` / ``-1D``). :func:`binance_limiter` makes one that
refuses in Binance's words (:func:`refusal`): over the weight limit is -1003 with HTTP 429 plus
``Retry-After`` (seconds to the next window), then a ban with HTTP 418; over an order limit is
-1015 with HTTP 429 and no ``Retry-After``, as on Binance.

:data:`ENDPOINT_WEIGHTS` and :func:`request_weight` hold the documented weight of each REST
endpoint, including the parameter-dependent ones (depth by ``limit``, tickers by symbol count).
"""

from __future__ import annotations

from collections.abc import Mapping

from real_trade.sim.binance.errors import BinanceApiError, rate_limited
from real_trade.sim.plumbing.ratelimit import RateLimiter, RateLimitExceeded, RateLimits

__all__ = [
    "ENDPOINT_WEIGHTS",
    "binance_limiter",
    "depth_weight",
    "refusal",
    "request_weight",
]

_INTERVALS = {"minute": "1 MINUTE", "10s": "10 SECOND", "day": "1 DAY"}

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


def refusal(exc: RateLimitExceeded) -> BinanceApiError:
    """Binance's answer to a rate-limit refusal: -1003 (429, or 418 when banned) or -1015."""
    interval = _INTERVALS[exc.interval]
    if exc.scope == "orders":
        return BinanceApiError(
            -1015,
            f"Too many new orders; current limit is {exc.limit} orders per {interval}.",
            http_status=429,
        )
    retry = exc.retry_after if exc.retry_after is not None else 1
    return rate_limited(exc.limit, interval, retry, banned_until=exc.banned_until_ms)


def binance_limiter(limits: RateLimits | None = None) -> RateLimiter:
    """A rate limiter with ``limits`` (Binance spot's by default) refusing in Binance's words."""
    return RateLimiter(limits if limits is not None else RateLimits(), refuse=refusal)
