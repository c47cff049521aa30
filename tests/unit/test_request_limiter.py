"""``RequestLimiter``: rolling windows over a venue's limits, idle time credited (fake clock)."""

from __future__ import annotations

import asyncio

import ccxt.async_support as ccxt_async

from real_trade.venues.request_limiter import (
    WEIGHT,
    RateWindow,
    RequestCost,
    RequestLimiter,
    install_request_limiter,
    request_limits_for,
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
