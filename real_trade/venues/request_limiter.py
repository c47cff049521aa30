"""``RequestLimiter``: the venue's own request limits, kept on our side, idle time credited.

ccxt's default limiter is a leaky bucket that never banks idle time: every request waits
``cost x rateLimit`` after the one before, however long ago that was, so a Binance spot order
always waited ~10 ms. ccxt 4.5's ``rateLimiterAlgorithm = "rollingWindow"`` does credit idle
time, but it keeps one window per exchange object sized from ``rateLimit`` (not the venue's
order counts: Binance's ORDERS 100/10 s and 200,000/day, futures' 300/10 s and 1,200/min),
copies its whole list of timestamps on every request, and hands each request over through a
looper task (one more loop iteration per request).

This limiter keeps one rolling window per documented limit of the venue (request weight per
IP, orders per account, per-endpoint counts) as a deque with a running sum. A request that fits
every window goes out at once, with no task switch; one that does not waits exactly until the
oldest entries leave the windows it needs (first come, first served). Because a rolling
window of length W holding at most C bounds every fixed, clock-aligned window of length W (the
way venues count) to C as well, a client that obeys it is never refused for sending too fast;
each window is lengthened by ``margin_s`` for network jitter between our send and their count.

:func:`install_request_limiter` puts it on a ccxt exchange object: ccxt still asks its
``calculate_rate_limiter_cost`` for each REST call, which is turned into a :class:`RequestCost`
(venue weight plus the named counters the endpoint uses) and handed to the limiter by
``throttle``. Limits per venue and market type are in :data:`VENUE_REQUEST_LIMITS` (Binance
spot and USDⓈ-M from Binance's docs, Bybit and OKX from ``research/VENUES.md`` §6).

The limiter also listens to the venue, through ccxt's ``on_rest_response`` (called with every
REST answer's headers): a 429/418 with ``Retry-After`` pauses every request of the limiter until
then (:meth:`RequestLimiter.pause_until`), not only the refused one, and Binance's
``X-MBX-USED-WEIGHT-1M`` (spot and USDⓈ-M: the IP's weight in the venue's current minute,
other processes on the IP included) is taken as used now when it is above what our weight
window counts (:meth:`RequestLimiter.observe_used`), so we slow down before the venue refuses.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "VENUE_REQUEST_LIMITS",
    "LimiterStats",
    "RateWindow",
    "RequestCost",
    "RequestLimiter",
    "VenueRequestLimits",
    "install_request_limiter",
    "request_limits_for",
    "response_header",
    "retry_after_seconds",
]

WEIGHT = "weight"
"""The counter every request is charged to (by its weight): the venue's per-IP budget."""


@dataclass(frozen=True, slots=True)
class RateWindow:
    """At most ``capacity`` units of ``counter`` in any ``seconds`` (a rolling window)."""

    counter: str
    capacity: float
    seconds: float


@dataclass(frozen=True, slots=True)
class RequestCost:
    """What one request uses: ``weight`` on the weight counter, one unit on each ``counters``."""

    weight: float
    counters: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VenueRequestLimits:
    """One venue's limits: its ``windows``, how a ccxt cost converts to venue weight
    (``weight_per_cost``; None: every request weighs 1), which ``(method, ccxt path)``
    endpoints count on which extra counters (``endpoint_counters``) and the response header
    reporting the IP's used weight in the venue's current window (``used_weight_header``)."""

    windows: tuple[RateWindow, ...]
    weight_per_cost: float | None
    endpoint_counters: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    used_weight_header: str | None = None

    def cost_of(self, ccxt_cost: Any, method: str, path: str) -> RequestCost:
        """The :class:`RequestCost` of one ccxt request (``ccxt_cost`` as ccxt computed it)."""
        if self.weight_per_cost is None:
            weight = 1.0
        else:
            weight = float(ccxt_cost or 0) * self.weight_per_cost
        return RequestCost(weight, self.endpoint_counters.get((method.upper(), path), ()))


_BINANCE_USED_WEIGHT = "X-MBX-USED-WEIGHT-1M"  # spot and USDⓈ-M alike
_BINANCE_SPOT_ORDERS = ("orders_10s", "orders_day")
_BINANCE_FUTURE_ORDERS = ("orders_10s", "orders_min")

VENUE_REQUEST_LIMITS: Mapping[tuple[str, str], VenueRequestLimits] = {
    # Binance spot: REQUEST_WEIGHT 6000/min per IP; ORDERS 100/10 s and 200,000/day per account.
    # ccxt's spot costs are 0.2 per unit of weight (its 50 ms x 1,200/min = 6,000 weight/min).
    ("binance", "spot"): VenueRequestLimits(
        windows=(
            RateWindow(WEIGHT, 6000, 60),
            RateWindow("orders_10s", 100, 10),
            RateWindow("orders_day", 200_000, 86_400),
        ),
        weight_per_cost=5.0,
        endpoint_counters={
            ("POST", "order"): _BINANCE_SPOT_ORDERS,
            ("POST", "order/oco"): _BINANCE_SPOT_ORDERS,
            ("POST", "orderList/oco"): _BINANCE_SPOT_ORDERS,
            ("POST", "orderList/oto"): _BINANCE_SPOT_ORDERS,
            ("POST", "orderList/otoco"): _BINANCE_SPOT_ORDERS,
            ("POST", "order/cancelReplace"): _BINANCE_SPOT_ORDERS,
            ("POST", "sor/order"): _BINANCE_SPOT_ORDERS,
        },
        used_weight_header=_BINANCE_USED_WEIGHT,
    ),
    # Binance USDⓈ-M: 2,400 weight/min per IP; orders 300/10 s and 1,200/min per account.
    # ccxt's fapi costs are the weights themselves.
    ("binance", "future"): VenueRequestLimits(
        windows=(
            RateWindow(WEIGHT, 2400, 60),
            RateWindow("orders_10s", 300, 10),
            RateWindow("orders_min", 1200, 60),
        ),
        weight_per_cost=1.0,
        endpoint_counters={
            ("POST", "order"): _BINANCE_FUTURE_ORDERS,
            ("POST", "batchOrders"): _BINANCE_FUTURE_ORDERS,
        },
        used_weight_header=_BINANCE_USED_WEIGHT,
    ),
    # Bybit: 600 requests / 5 s per IP; order create/cancel 20/s spot, 10/s linear per UID.
    ("bybit", "spot"): VenueRequestLimits(
        windows=(RateWindow(WEIGHT, 600, 5), RateWindow("orders_1s", 20, 1)),
        weight_per_cost=None,
        endpoint_counters={
            ("POST", "v5/order/create"): ("orders_1s",),
            ("POST", "v5/order/cancel"): ("orders_1s",),
        },
    ),
    ("bybit", "swap"): VenueRequestLimits(
        windows=(RateWindow(WEIGHT, 600, 5), RateWindow("orders_1s", 10, 1)),
        weight_per_cost=None,
        endpoint_counters={
            ("POST", "v5/order/create"): ("orders_1s",),
            ("POST", "v5/order/cancel"): ("orders_1s",),
        },
    ),
    # OKX: per endpoint, per 2 s: place 60, cancel 60, candles 40, balance/positions 10.
    ("okx", "spot"): VenueRequestLimits(
        windows=(
            RateWindow("place_2s", 60, 2),
            RateWindow("cancel_2s", 60, 2),
            RateWindow("candles_2s", 40, 2),
            RateWindow("account_2s", 10, 2),
        ),
        weight_per_cost=0.0,
        endpoint_counters={
            ("POST", "trade/order"): ("place_2s",),
            ("POST", "trade/cancel-order"): ("cancel_2s",),
            ("GET", "market/candles"): ("candles_2s",),
            ("GET", "market/history-candles"): ("candles_2s",),
            ("GET", "account/balance"): ("account_2s",),
            ("GET", "account/positions"): ("account_2s",),
        },
    ),
}
"""Documented limits per ``(ccxt id, ccxt defaultType)``; OKX swap shares OKX spot's table."""


def request_limits_for(ccxt_id: str, default_type: str) -> VenueRequestLimits | None:
    """The limits of a venue's market type, or None when we do not know them (ccxt's own
    limiter stays in charge there)."""
    limits = VENUE_REQUEST_LIMITS.get((ccxt_id, default_type))
    if limits is None and ccxt_id == "okx":
        limits = VENUE_REQUEST_LIMITS[("okx", "spot")]
    return limits


@dataclass(slots=True)
class LimiterStats:
    """What the limiter did: requests admitted, how many had to wait and for how long in all
    (seconds), the wait of the last request (0.0 when it went out at once), how many pauses the
    venue asked for (``pauses``) and the weight booked from its reports (``observed_weight``)."""

    requests: int = 0
    waited: int = 0
    total_wait_s: float = 0.0
    last_wait_s: float = 0.0
    pauses: int = 0
    observed_weight: float = 0.0


class _Window:
    """One rolling window: entries ``(time, units)`` in time order and their running sum."""

    __slots__ = ("capacity", "entries", "seconds", "used")

    def __init__(self, capacity: float, seconds: float) -> None:
        self.capacity, self.seconds = capacity, seconds
        self.entries: deque[tuple[float, float]] = deque()
        self.used = 0.0

    def expire(self, now: float) -> None:
        """Drop the entries that left the window by ``now``."""
        entries, cutoff = self.entries, now - self.seconds
        while entries and entries[0][0] <= cutoff:
            self.used -= entries.popleft()[1]
        if not entries:
            self.used = 0.0  # no float drift left behind

    def earliest(self, now: float, units: float) -> float:
        """The earliest time >= ``now`` at which ``units`` more fit (entries already expired)."""
        units = min(units, self.capacity)  # an oversized request waits for an empty window
        excess = self.used + units - self.capacity
        if excess <= 1e-9:
            return now
        latest = now - self.seconds
        for at, amount in self.entries:  # in booking order; a waiter's may precede a later one's
            latest = max(latest, at)
            excess -= amount
            if excess <= 1e-9:
                break
        return max(now, latest + self.seconds)

    def add(self, at: float, units: float) -> None:
        """Record ``units`` sent at ``at`` (a request that fits now may be booked after one
        that waits; the late-booked entry then leaves the window no earlier: conservative)."""
        self.entries.append((at, units))
        self.used += units


class RequestLimiter:
    """Rolling windows over the venue's limits (see the module docstring).

    ``clock`` is monotonic seconds (injectable for tests); ``margin_s`` lengthens every window
    for jitter between our send and the venue's count. :meth:`reserve` is the accounting (it
    returns how long the request must wait and books it at that time); :meth:`acquire` waits
    that long on the running loop, and past any pause the venue asked for meanwhile
    (:meth:`pause_until`). :meth:`observe_used` takes in the venue's own count of the weight.
    Use it from one event loop (ccxt's).
    """

    def __init__(
        self,
        windows: tuple[RateWindow, ...],
        *,
        clock: Callable[[], float] = time.monotonic,
        margin_s: float = 0.25,
    ) -> None:
        """Build one rolling window per :class:`RateWindow`."""
        self.windows = windows
        self._clock = clock
        self._by_counter: dict[str, list[_Window]] = {}
        for window in windows:
            counter = self._by_counter.setdefault(window.counter, [])
            counter.append(_Window(window.capacity, window.seconds + margin_s))
        self._last_booked = float("-inf")
        self._paused_until = float("-inf")
        self.stats = LimiterStats()

    @property
    def clock(self) -> Callable[[], float]:
        """The limiter's monotonic clock (seconds)."""
        return self._clock

    @property
    def paused_until(self) -> float:
        """The limiter's clock time before which nothing is sent (-inf: no pause)."""
        return self._paused_until

    def pause_until(self, deadline: float) -> None:
        """Send no request before ``deadline`` (the limiter's clock): the venue refused with
        a ``Retry-After``. Requests already waiting wait on; a later deadline extends it."""
        if deadline > self._paused_until:
            self._paused_until = deadline
            self.stats.pauses += 1

    def observe_used(self, used: float) -> None:
        """The venue reports ``used`` weight in its current window (the IP's, other processes'
        included): when that is more than our weight window counts, the difference is booked
        as sent now, so the requests that follow wait for it as for our own."""
        windows = self._by_counter.get(WEIGHT)
        if not windows:
            return
        window = windows[0]
        now = self._clock()
        window.expire(now)
        extra = min(used, window.capacity) - window.used
        if extra > 1e-9:
            for each in windows:
                each.add(now, extra)
            self.stats.observed_weight += extra

    def used(self, counter: str) -> float:
        """Units of ``counter`` in its (first) window now."""
        windows = self._by_counter.get(counter)
        if not windows:
            return 0.0
        windows[0].expire(self._clock())
        return windows[0].used

    def reserve(self, cost: RequestCost) -> float:
        """Book one request of ``cost``; return the seconds it must wait before it is sent."""
        now = self._clock()
        charges: list[tuple[_Window, float]] = []
        if cost.weight > 0:
            charges.extend((w, cost.weight) for w in self._by_counter.get(WEIGHT, ()))
        for counter in cost.counters:
            charges.extend((w, 1.0) for w in self._by_counter.get(counter, ()))
        at = now
        for window, units in charges:
            window.expire(now)
            at = max(at, window.earliest(now, units))
        if self._paused_until > at:
            at = self._paused_until
        if at > now:
            at = max(at, self._last_booked)  # first come, first served among waiters
        for window, units in charges:
            window.add(at, min(units, window.capacity))
        self._last_booked = max(self._last_booked, at)
        wait = at - now
        stats = self.stats
        stats.requests += 1
        stats.last_wait_s = wait
        if wait > 0:
            stats.waited += 1
            stats.total_wait_s += wait
        return wait

    async def acquire(self, cost: RequestCost) -> None:
        """Wait until ``cost`` fits every window and no pause is on (no await at all when it
        fits now); a pause begun while waiting is waited out as well."""
        wait = self.reserve(cost)
        if wait > 0:
            await asyncio.sleep(wait)
        while True:  # a deadline, not an event: the venue may extend it meanwhile
            pause = self._paused_until - self._clock()
            if pause <= 0:
                return
            await asyncio.sleep(pause)


def response_header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Header ``name`` of a REST answer as ccxt keeps it (the server's spelling: looked up as
    given, lower-cased, then case-insensitively), or None."""
    if not headers:
        return None
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = headers.get(lowered)
        if value is None:
            for key, each in headers.items():
                if key.lower() == lowered:
                    return each
    return value


def retry_after_seconds(
    headers: Mapping[str, str] | None, now: float | None = None
) -> float | None:
    """The seconds a ``Retry-After`` header asks for (a number or an HTTP date; ``now`` is the
    wall clock for a date, ``time.time()`` by default), or None when absent or unreadable."""
    raw = response_header(headers, "Retry-After")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def install_request_limiter(
    exchange: Any, limits: VenueRequestLimits, *, margin_s: float = 0.25
) -> RequestLimiter:
    """Replace ccxt's leaky bucket on ``exchange`` (a ccxt async exchange) by a
    :class:`RequestLimiter` over ``limits``; return it.

    ccxt still computes each REST call's cost (``calculate_rate_limiter_cost``); an instance
    override turns it into a :class:`RequestCost`, which ccxt passes on unchanged to
    ``throttle``, here the limiter's :meth:`~RequestLimiter.acquire`. ``enableRateLimit`` stays
    on (it is what makes ccxt call the two); turning it off turns this limiter off as well.
    ccxt's ``on_rest_response`` (every REST answer, refusals included) hands the limiter the
    venue's used weight (``limits.used_weight_header``) and the ``Retry-After`` of a 429/418.
    """
    limiter = RequestLimiter(limits.windows, margin_s=margin_s)
    ccxt_cost = type(exchange).calculate_rate_limiter_cost.__get__(exchange)  # not a previous
    ccxt_on_response = type(exchange).on_rest_response.__get__(exchange)
    weight_header = limits.used_weight_header

    def calculate_rate_limiter_cost(
        api: Any, method: Any, path: Any, params: Any, config: Any = None
    ) -> RequestCost:
        cost = ccxt_cost(api, method, path, params, config or {})
        return limits.cost_of(cost, str(method), str(path))

    async def throttle(cost: Any = None) -> None:
        if not isinstance(cost, RequestCost):  # a direct call with a plain ccxt cost
            cost = limits.cost_of(cost if cost is not None else 1, "", "")
        await limiter.acquire(cost)

    def on_rest_response(
        code: Any,
        reason: Any,
        url: Any,
        method: Any,
        response_headers: Any,
        response_body: Any,
        request_headers: Any,
        request_body: Any,
    ) -> Any:
        if weight_header is not None and response_headers:
            used = response_header(response_headers, weight_header)
            if used is not None and used.isdigit():
                limiter.observe_used(float(used))
        if code == 429 or code == 418:
            after = retry_after_seconds(response_headers)
            if after is not None:
                limiter.pause_until(limiter.clock() + after)
        return ccxt_on_response(
            code,
            reason,
            url,
            method,
            response_headers,
            response_body,
            request_headers,
            request_body,
        )

    exchange.calculate_rate_limiter_cost = calculate_rate_limiter_cost
    exchange.throttle = throttle
    exchange.on_rest_response = on_rest_response
    exchange.request_limiter = limiter
    return limiter
