"""USDⓈ-M's limits and request weights.

2400 weight per IP per minute and 300 orders per account per 10 seconds (the venue also caps
1200 orders a minute; the shared limiter counts 10-second and daily windows, so the minute cap
is not enforced). Refusals are spot's words (-1003 with 429/418, -1015), which USDⓈ-M shares.
"""

from __future__ import annotations

from collections.abc import Mapping

from real_trade.sim.binance.ratelimit import refusal
from real_trade.sim.plumbing.ratelimit import RateLimiter, RateLimits

__all__ = ["FAPI_LIMITS", "fapi_limiter", "fapi_weight"]

FAPI_LIMITS = RateLimits(weight_per_minute=2400, orders_per_10s=300, orders_per_day=1_000_000)
"""USDⓈ-M's documented limits."""

_FIXED: dict[tuple[str, str], int] = {
    ("GET", "/fapi/v1/exchangeInfo"): 1,
    ("POST", "/fapi/v1/countdownCancelAll"): 10,
    ("GET", "/fapi/v1/trades"): 5,
    ("GET", "/fapi/v1/aggTrades"): 20,
    ("GET", "/fapi/v1/premiumIndex"): 1,
    ("GET", "/fapi/v1/fundingRate"): 1,
    ("GET", "/fapi/v1/allOrders"): 5,
    ("GET", "/fapi/v1/userTrades"): 5,
    ("GET", "/fapi/v2/positionRisk"): 5,
    ("GET", "/fapi/v3/positionRisk"): 5,
    ("GET", "/fapi/v2/account"): 5,
    ("GET", "/fapi/v3/account"): 5,
    ("GET", "/fapi/v2/balance"): 5,
    ("GET", "/fapi/v3/balance"): 5,
    ("GET", "/fapi/v1/allAlgoOrders"): 5,
    ("GET", "/fapi/v1/commissionRate"): 20,
    ("GET", "/fapi/v1/positionSide/dual"): 30,
    ("GET", "/fapi/v1/multiAssetsMargin"): 30,
}


def _by_limit(limit: int, steps: tuple[tuple[int, int], ...], top: int) -> int:
    for bound, weight in steps:
        if limit < bound:
            return weight
    return top


def fapi_weight(method: str, path: str, query: Mapping[str, str]) -> int:
    """The weight USDⓈ-M charges for ``method path`` with ``query``."""
    fixed = _FIXED.get((method, path))
    if fixed is not None:
        return fixed
    if path == "/fapi/v1/depth":
        limit = int(query.get("limit", "500") or 500) if query.get("limit", "").isdigit() else 500
        return _by_limit(limit, ((100, 2), (500, 5), (1000, 10)), 20)
    if path.endswith("Klines") or path == "/fapi/v1/klines":
        limit = int(query["limit"]) if query.get("limit", "").isdigit() else 500
        return _by_limit(limit, ((100, 1), (500, 2), (1001, 5)), 10)
    if path == "/fapi/v1/ticker/24hr":
        return 1 if query.get("symbol") else 40
    if path in ("/fapi/v1/ticker/price", "/fapi/v2/ticker/price", "/fapi/v1/ticker/bookTicker"):
        return 1 if query.get("symbol") else 2
    if path in ("/fapi/v1/openOrders", "/fapi/v1/openAlgoOrders") and method == "GET":
        return 1 if query.get("symbol") else 40
    return 1


def fapi_limiter(limits: RateLimits | None = None) -> RateLimiter:
    """A rate limiter with ``limits`` (USDⓈ-M's by default) refusing in Binance's words."""
    return RateLimiter(limits if limits is not None else FAPI_LIMITS, refuse=refusal)
