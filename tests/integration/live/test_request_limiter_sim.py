"""Our request limiter against the simulator's rate limits, over loopback with ccxt.

The simulator counts new orders in fixed windows aligned to its wall clock, as Binance does.
Its clock runs ``SCALE`` times faster here (a 10 s order window lasts 1 s), and the client's
limiter is given the same limits over the same scaled windows, so a burst that needs several
windows finishes in seconds. A burst sent with no limiter is refused (the test can fail); the
same burst through the limiter never is; an order after an idle window goes out without
waiting, by the limiter's own accounting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from real_trade.sim.plumbing.ratelimit import RateLimits
from real_trade.sim.server import SimExchange
from real_trade.venues import BINANCE, VenueClient
from real_trade.venues.request_limiter import (
    WEIGHT,
    RateWindow,
    RequestLimiter,
    VenueRequestLimits,
    install_request_limiter,
    request_limits_for,
)
from real_trade.venues.retry import RetryPolicy
from tests.support import eventually

pytestmark = pytest.mark.integration
SYMBOL = "BTC/USDT"
SCALE = 10.0
ORDERS_PER_WINDOW = 10
BURST = 25  # needs three order windows


@pytest.fixture
def sim() -> Iterator[SimExchange]:
    """A stepped simulator whose rate-limit clock runs ``SCALE`` times faster."""
    limits = RateLimits(orders_per_10s=ORDERS_PER_WINDOW, ban_after=1_000)
    with SimExchange(stepped=True, seed=5, rate_limits=limits) as exchange:
        exchange.advance(90)
        exchange.limiter.wall = lambda: time.time() * SCALE
        yield exchange


@pytest.fixture
def client(sim: SimExchange) -> Iterator[VenueClient]:
    """A funded client that never retries (a refusal must surface)."""
    key, secret = sim.create_account({"USDT": 1_000_000, "BTC": 10})
    once = RetryPolicy(max_attempts=1)
    with VenueClient(BINANCE, apikey=key, secret=secret, sim_url=sim.url, retry_policy=once) as c:
        c.load_markets()
        yield c


def _scaled_limiter(client: VenueClient) -> RequestLimiter:
    """Binance spot's limits with the simulator's limits over its scaled windows."""
    spot = request_limits_for("binance", "spot")
    assert spot is not None
    windows = (
        RateWindow(WEIGHT, 6000, 60 / SCALE),
        RateWindow("orders_10s", ORDERS_PER_WINDOW, 10 / SCALE),
    )
    limits = VenueRequestLimits(windows, spot.weight_per_cost, spot.endpoint_counters)
    return install_request_limiter(client.exchange, limits, margin_s=0.2)  # loaded machines


def _burst(client: VenueClient, n: int) -> list[Any]:
    """``n`` market orders sent at once on the client's loop; results or exceptions."""

    async def all_at_once() -> list[Any]:
        orders = [
            client.exchange.create_order(SYMBOL, "market", "buy" if i % 2 else "sell", 0.001)
            for i in range(n)
        ]
        return await asyncio.gather(*orders, return_exceptions=True)

    return client.run(all_at_once(), timeout=60)


def test_our_connection_replaces_ccxts_leaky_bucket(client: VenueClient) -> None:
    assert isinstance(client.exchange.request_limiter, RequestLimiter)


def test_a_burst_without_a_limiter_is_refused(client: VenueClient) -> None:
    client.exchange.enableRateLimit = False  # ccxt then calls no throttle at all
    results = _burst(client, BURST)
    refused = [r for r in results if isinstance(r, Exception)]
    assert refused and "Too many new orders" in str(refused[0])


def test_a_burst_through_the_limiter_is_never_refused(client: VenueClient) -> None:
    limiter = _scaled_limiter(client)
    results = _burst(client, BURST)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert limiter.stats.requests == BURST
    assert limiter.stats.waited == BURST - ORDERS_PER_WINDOW  # exactly the excess waited


def test_an_order_after_idle_time_is_sent_without_waiting(client: VenueClient) -> None:
    limiter = _scaled_limiter(client)
    assert [r for r in _burst(client, ORDERS_PER_WINDOW) if isinstance(r, Exception)] == []
    eventually(lambda: limiter.used("orders_10s") == 0, message="the order window empties")
    client.create_order(SYMBOL, "market", "buy", 0.001)
    assert limiter.stats.requests == ORDERS_PER_WINDOW + 1
    assert limiter.stats.waited == 0 and limiter.stats.last_wait_s == 0.0
