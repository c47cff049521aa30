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

from real_trade.errors import (
    AuthenticationError,
    PermissionDeniedError,
    RateLimitError,
    RealTradeError,
)
from real_trade.sim.plumbing.ratelimit import RateLimits
from real_trade.sim.server import SimExchange
from real_trade.venues import BINANCE, BYBIT, VenueClient
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


# -- what the venue says: the IP's used weight (other processes) and Retry-After -------------
WEIGHT_LIMIT = 120
"""The simulator's request weight per IP per minute in the tests below."""
WEIGHT_SCALE = 20.0  # the simulator's minute lasts 3 s


class Recorder:
    """Every REST request a client's ccxt sends (monotonic time, url) and every answer's
    HTTP status, recorded around ccxt's ``fetch`` and ``on_rest_response``."""

    def __init__(self, client: VenueClient) -> None:
        exchange = client.exchange
        self.sent: list[tuple[float, str]] = []
        self.statuses: list[int] = []
        fetch, on_response = exchange.fetch, exchange.on_rest_response

        async def recording_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
            self.sent.append((time.monotonic(), url))
            return await fetch(url, *args, **kwargs)

        def recording_on_response(code: int, *args: Any) -> Any:
            self.statuses.append(code)
            return on_response(code, *args)

        exchange.fetch = recording_fetch
        exchange.on_rest_response = recording_on_response


def _weight_limiter(client: VenueClient, minute_s: float) -> RequestLimiter:
    """Binance spot's limiter with the simulator's weight limit over a ``minute_s`` minute."""
    spot = request_limits_for("binance", "spot")
    assert spot is not None
    limits = VenueRequestLimits(
        (RateWindow(WEIGHT, WEIGHT_LIMIT, minute_s),),
        spot.weight_per_cost,
        spot.endpoint_counters,
        spot.used_weight_header,
    )
    return install_request_limiter(client.exchange, limits, margin_s=0.2)


def _public_client(sim: SimExchange, policy: RetryPolicy) -> VenueClient:
    client = VenueClient(BINANCE, sim_url=sim.url, retry_policy=policy)
    client.load_markets()
    return client


def _fetch_times(client: VenueClient, n: int) -> list[Any]:
    """``n`` GET /api/v3/time (weight 1 each) sent at once by ``client``."""

    async def all_at_once() -> list[Any]:
        calls = [client.exchange.fetch_time() for _ in range(n)]
        return await asyncio.gather(*calls, return_exceptions=True)

    return client.run(all_at_once(), timeout=60)


@pytest.fixture
def scaled_weight_sim() -> Iterator[SimExchange]:
    """A simulator allowing ``WEIGHT_LIMIT`` weight a minute, its minute lasting 3 s."""
    limits = RateLimits(weight_per_minute=WEIGHT_LIMIT, ban_after=1_000)
    with SimExchange(stepped=True, seed=5, rate_limits=limits) as exchange:
        exchange.advance(90)
        exchange.limiter.wall = lambda: time.time() * WEIGHT_SCALE
        yield exchange


def test_a_second_process_told_the_ips_used_weight_is_never_refused(
    scaled_weight_sim: SimExchange,
) -> None:
    """Another process on the IP spends most of the minute's weight; ours, one request at a
    time as a strategy does, learns it from X-MBX-USED-WEIGHT-1M and waits instead of
    running into -1003 (with no retries, a 429 would surface)."""
    once = RetryPolicy(max_attempts=1)
    with (
        _public_client(scaled_weight_sim, once) as other,
        _public_client(scaled_weight_sim, once) as ours,
    ):
        _weight_limiter(other, 60 / WEIGHT_SCALE)
        limiter = _weight_limiter(ours, 60 / WEIGHT_SCALE)
        # a fresh simulator minute (3 s from now), of which the other spends 100 of 120
        t0 = time.time()
        start = (int(t0 * WEIGHT_SCALE // 60) + 10) * 60
        scaled_weight_sim.limiter.wall = lambda: start + (time.time() - t0) * WEIGHT_SCALE
        assert [r for r in _fetch_times(other, 100) if isinstance(r, Exception)] == []
        for _ in range(40):  # more than the minute has left
            ours.fetch_time()
        assert limiter.stats.observed_weight > 0  # the other's weight, from the header
        assert limiter.stats.waited > 0  # we slowed down for it


def test_a_429_with_retry_after_pauses_every_request_of_the_connection(
    scaled_weight_sim: SimExchange,
) -> None:
    """The fault plan answers one request with 429 and Retry-After: 2. The retry waits at least
    that long, and a second call made during the pause reaches the venue only after it."""
    sim = scaled_weight_sim
    with _public_client(sim, RetryPolicy(max_attempts=3)) as ours:
        limiter = ours.exchange.request_limiter
        recorder = Recorder(ours)
        sim.faults.fail_next(1, "429", retry_after=2, path_prefix="/api/v3/time")
        first = ours.submit(ours.fetch_time_async())
        eventually(lambda: limiter.stats.pauses == 1, message="the 429 pauses the limiter")
        refused_at = recorder.sent[0][0]
        assert time.monotonic() < limiter.paused_until  # the second call starts in the pause
        second = ours.submit(ours.fetch_ticker_async(SYMBOL))
        assert first.result(30) > 0 and second.result(30)["symbol"] == SYMBOL
        assert recorder.statuses == [429, 200, 200]
        later = [at for at, _url in recorder.sent[1:]]
        assert len(later) == 2 and min(later) >= limiter.paused_until >= refused_at + 2.0


def test_a_retry_waits_for_retry_after_without_the_limiter_too(
    scaled_weight_sim: SimExchange,
) -> None:
    """With the limiter off (ccxt then calls no throttle), the refused call's own retry still
    waits the Retry-After: the connection reads it from ccxt's last response headers."""
    sim = scaled_weight_sim
    with _public_client(sim, RetryPolicy(max_attempts=3)) as ours:
        ours.exchange.enableRateLimit = False
        recorder = Recorder(ours)
        sim.faults.fail_next(1, "429", retry_after=2, path_prefix="/api/v3/time")
        assert ours.fetch_time() > 0
        assert recorder.statuses == [429, 200]
        (refused_at, _), (retried_at, _) = recorder.sent
        assert retried_at - refused_at >= 2.0 - 0.01  # the backoff alone is 0.25-0.5 s


@pytest.fixture
def weight_sim() -> Iterator[SimExchange]:
    """A simulator allowing ``WEIGHT_LIMIT`` weight a minute that bans after two refusals."""
    limits = RateLimits(weight_per_minute=WEIGHT_LIMIT, ban_after=2, ban_seconds=3)
    with SimExchange(stepped=True, seed=5, rate_limits=limits) as exchange:
        exchange.advance(90)
        yield exchange


def test_retries_after_an_exhausted_minute_wait_for_it_and_are_never_banned(
    weight_sim: SimExchange,
) -> None:
    """The morning's incident: another process used up the IP's minute; our call is refused
    with 429 and Retry-After (the seconds left in the minute). Our retries wait that long,
    instead of backing off 0.5, 1, 2 s into the 418 ban that follows a few more refusals."""
    with (
        _public_client(weight_sim, RetryPolicy(max_attempts=1)) as other,
        _public_client(weight_sim, RetryPolicy()) as ours,
    ):
        recorder = Recorder(ours)
        # a fresh simulator minute with 3.5 s left, before the other spends all of it
        now = time.time()
        minute = int(now // 60) + 10
        weight_sim.limiter.wall = lambda: time.time() - now + minute * 60 + 56.5
        assert [r for r in _fetch_times(other, WEIGHT_LIMIT) if isinstance(r, Exception)] == []
        assert ours.fetch_time() > 0
        assert recorder.statuses[0] == 429  # the minute was used up
        assert recorder.statuses[-1] == 200 and 418 not in recorder.statuses


# -- Bybit: an IP over its limit is answered HTTP 403 "access too frequent" -----------------
@pytest.fixture
def bybit_sim() -> Iterator[SimExchange]:
    """A simulator serving Bybit v5 (its IP limiter answers 403 when over)."""
    with SimExchange(stepped=True, seed=5, faces=["bybit"]) as exchange:
        yield exchange


def _bybit_over_the_ip_limit(sim: SimExchange) -> Any:
    """Close the Bybit face's IP limit (no request fits); the face's limiter."""
    (limiter,) = [f.limiter for f in sim.faces if f.name == "bybit"]
    limiter.configure(RateLimits(weight_per_minute=0, ban_after=1_000))
    return limiter


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_a_bybit_403_is_a_rate_limit_not_a_refused_key(
    bybit_sim: SimExchange, private: bool
) -> None:
    """Bybit answers an IP over its 600 requests / 5 s with HTTP 403 ("access too frequent"),
    public and signed calls alike: a rate limit (retryable, backed off), never a refused key
    and never a final error."""
    key, secret = bybit_sim.create_account({"USDT": 1_000})
    policy = RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.1)
    with VenueClient(
        BYBIT, apikey=key, secret=secret, sim_url=bybit_sim.url, retry_policy=policy
    ) as client:
        client.load_markets()
        recorder = Recorder(client)
        _bybit_over_the_ip_limit(bybit_sim)
        with pytest.raises(RealTradeError) as caught:
            client.fetch_balance() if private else client.fetch_ticker(SYMBOL)
    assert isinstance(caught.value, RateLimitError), repr(caught.value)
    assert not isinstance(caught.value, AuthenticationError | PermissionDeniedError)
    assert set(recorder.statuses) == {403}
    urls = [url for _at, url in recorder.sent]  # a signed call probes the account type first
    assert urls.count(urls[0]) == 3  # tried again, as a rate limit is, up to the policy's 3


def test_a_bybit_call_refused_with_403_succeeds_once_the_limit_lifts(
    bybit_sim: SimExchange,
) -> None:
    """The retry after the 403 backs off, then goes through (the limit lifted meanwhile)."""
    policy = RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.1)
    with VenueClient(BYBIT, sim_url=bybit_sim.url, retry_policy=policy) as client:
        client.load_markets()
        recorder = Recorder(client)
        limiter = _bybit_over_the_ip_limit(bybit_sim)
        answer = client.exchange.on_rest_response

        def lift_after_the_refusal(code: int, *args: Any) -> Any:
            if code == 403:
                limiter.configure(RateLimits(weight_per_minute=7200, ban_after=1_000))
            return answer(code, *args)

        client.exchange.on_rest_response = lift_after_the_refusal
        assert client.fetch_ticker(SYMBOL)["symbol"] == SYMBOL
    assert recorder.statuses == [403, 200]
