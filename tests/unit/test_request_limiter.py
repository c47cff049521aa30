"""``RequestLimiter``: rolling windows over a venue's limits, idle time credited (fake clock)."""

from __future__ import annotations

import asyncio

import ccxt.async_support as ccxt_async
import pytest

from real_trade.venues import request_limiter
from real_trade.venues.request_limiter import (
    WEIGHT,
    RateWindow,
    RequestCost,
    RequestLimiter,
    install_request_limiter,
    request_limits_for,
    response_header,
    retry_after_seconds,
)


class FakeClock:
    """Monotonic seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


ORDER = RequestCost(1.0, ("orders",))


def _limiter(clock: FakeClock, margin: float = 0.0) -> RequestLimiter:
    windows = (RateWindow(WEIGHT, 10, 60), RateWindow("orders", 3, 10))
    return RequestLimiter(windows, clock=clock, margin_s=margin)


def test_requests_within_the_limits_go_out_at_once() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    assert [limiter.reserve(ORDER) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.stats.waited == 0 and limiter.used("orders") == 3


def test_an_order_over_the_count_waits_until_the_oldest_leaves_the_window() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, margin=0.5)
    for _ in range(3):
        limiter.reserve(ORDER)
        clock.now += 1.0  # orders at 1000, 1001, 1002
    # at 1003 the window (10 s + 0.5 s margin) holds 3: the 4th waits for 1000 + 10.5
    assert limiter.reserve(ORDER) == 7.5
    # the 5th queues behind it, until 1001 leaves: never before the 4th (first come first served)
    assert limiter.reserve(ORDER) == 8.5
    assert limiter.stats.waited == 2 and limiter.stats.total_wait_s == 16.0


def test_idle_time_is_credited() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    for _ in range(3):
        limiter.reserve(ORDER)
    clock.now += 10.0  # idle for a whole window
    assert limiter.reserve(ORDER) == 0.0
    assert limiter.stats.last_wait_s == 0.0 and limiter.used("orders") == 1


def test_weight_is_summed_and_a_heavy_request_waits_for_room() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    assert limiter.reserve(RequestCost(8.0)) == 0.0
    clock.now += 30.0
    assert limiter.reserve(RequestCost(4.0)) == 30.0  # 8 + 4 > 10 until the first leaves
    assert limiter.used(WEIGHT) == 12.0  # booked (in the future) as soon as reserved
    clock.now += 31.0
    assert limiter.used(WEIGHT) == 4.0


def test_a_request_that_fits_is_not_held_behind_an_order_waiting_for_its_count() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    for _ in range(3):
        limiter.reserve(ORDER)
    assert limiter.reserve(ORDER) > 0  # waits for the order count
    assert limiter.reserve(RequestCost(1.0)) == 0.0  # a read has weight room now


def test_acquire_does_not_suspend_when_the_request_fits() -> None:
    limiter = _limiter(FakeClock())

    async def main() -> bool:
        task = asyncio.ensure_future(limiter.acquire(ORDER))
        await asyncio.sleep(0)  # one loop turn: enough only for a coroutine that never waits
        return task.done()

    assert asyncio.run(main())


def test_binance_costs_become_venue_weights_and_order_counts() -> None:
    spot = request_limits_for("binance", "spot")
    assert spot is not None
    assert spot.cost_of(0.2, "POST", "order") == RequestCost(1.0, ("orders_10s", "orders_day"))
    assert spot.cost_of(4, "GET", "myTrades") == RequestCost(20.0, ())
    future = request_limits_for("binance", "future")
    assert future is not None and future.cost_of(1, "post", "order").counters
    assert request_limits_for("kraken", "spot") is None


def test_install_routes_ccxt_costs_to_the_limiter() -> None:
    exchange = ccxt_async.binance({"enableRateLimit": True})
    limits = request_limits_for("binance", "spot")
    assert limits is not None
    limiter = install_request_limiter(exchange, limits)
    api_cost = exchange.api["private"]["post"]["order"]  # ccxt's own table entry
    cost = exchange.calculate_rate_limiter_cost("private", "POST", "order", {}, api_cost)
    assert cost == RequestCost(1.0, ("orders_10s", "orders_day"))

    async def main() -> None:
        await exchange.throttle(cost)
        await exchange.close()

    asyncio.run(main())
    assert limiter.stats.requests == 1 and limiter.used("orders_10s") == 1


# -- what the venue says: pauses (Retry-After) and its own count of the weight ---------------
def test_a_pause_holds_every_request_until_its_deadline() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    limiter.pause_until(clock.now + 5.0)
    assert limiter.reserve(RequestCost(1.0)) == 5.0  # even one that fits every window
    clock.now += 2.0
    assert limiter.reserve(RequestCost(1.0)) == 3.0
    limiter.pause_until(clock.now + 1.0)  # an earlier deadline does not shorten the pause
    assert limiter.paused_until == 1005.0 and limiter.stats.pauses == 1
    clock.now += 3.0
    assert limiter.reserve(RequestCost(1.0)) == 0.0


def test_a_pause_begun_while_a_request_waits_holds_it_too(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    for _ in range(3):
        limiter.reserve(ORDER)
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 1:  # the venue refuses another call while this order waits
            limiter.pause_until(clock.now + 20.0)
        clock.now += seconds

    monkeypatch.setattr(request_limiter.asyncio, "sleep", fake_sleep)
    asyncio.run(limiter.acquire(ORDER))  # waits 10 s for the order window, then the pause
    assert sleeps == [10.0, 10.0]  # the order window, then the rest of the pause
    assert clock.now == limiter.paused_until


def test_weight_the_venue_reports_beyond_ours_is_booked_as_used_now() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)  # 10 weight per 60 s
    limiter.reserve(RequestCost(1.0))
    limiter.observe_used(7.0)  # another process on the IP used 6
    assert limiter.used(WEIGHT) == 7.0 and limiter.stats.observed_weight == 6.0
    limiter.observe_used(7.0)  # the same report again books nothing more
    limiter.observe_used(3.0)  # nor does a report below our own count
    assert limiter.used(WEIGHT) == 7.0
    assert [limiter.reserve(RequestCost(1.0)) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.reserve(RequestCost(1.0)) == 60.0  # full: waits for the window
    clock.now += 61.0
    assert limiter.used(WEIGHT) == 1.0  # the observed weight left with the window


def test_a_limiter_without_a_weight_window_ignores_reports() -> None:
    limiter = RequestLimiter((RateWindow("orders", 3, 10),), clock=FakeClock())
    limiter.observe_used(100.0)
    assert limiter.stats.observed_weight == 0.0 and limiter.used(WEIGHT) == 0.0


def test_response_headers_are_read_case_insensitively() -> None:
    assert response_header({"x-mbx-used-weight-1m": "12"}, "X-MBX-USED-WEIGHT-1M") == "12"
    assert response_header({"X-Mbx-Used-Weight-1m": "3"}, "X-MBX-USED-WEIGHT-1M") == "3"
    assert response_header({}, "Retry-After") is None
    assert retry_after_seconds({"retry-after": "7"}) == 7.0
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    date = "Sun, 06 Dec 2026 10:00:30 GMT"
    assert retry_after_seconds({"Retry-After": date}, now=1796551200.0) == 30.0


def test_install_feeds_the_venues_answers_to_the_limiter() -> None:
    exchange = ccxt_async.binance({"enableRateLimit": True})
    limits = request_limits_for("binance", "spot")
    assert limits is not None
    limiter = install_request_limiter(exchange, limits)
    ok = {"X-MBX-USED-WEIGHT-1M": "4000", "Content-Type": "application/json"}
    assert exchange.on_rest_response(200, "OK", "u", "GET", ok, " {} ", {}, None) == "{}"
    assert limiter.used(WEIGHT) == 4000.0
    refused = {"Retry-After": "30", "Content-Type": "application/json"}
    exchange.on_rest_response(429, "Too Many Requests", "u", "GET", refused, "{}", {}, None)
    assert limiter.paused_until - limiter.clock() > 29.0
    assert limiter.stats.pauses == 1
    asyncio.run(exchange.close())
