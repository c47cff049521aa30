"""Faults and rate limits of the simulator's REST face, as unmodified ccxt experiences them.

Request faults (5xx, 429 with Retry-After, 418, -1021, delays), ambiguous order outcomes (the
order exists although the client saw a failure), armed rejections, and the real weight and
order-count limits (429, then the 418 ban for a client that keeps going).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import ccxt
import pytest

from real_trade.sim.plumbing.ratelimit import RateLimits
from real_trade.sim.server import SimExchange

pytestmark = pytest.mark.integration
SYMBOL = "BTC/USDT"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator shared by the fault tests (faults are reset after each test)."""
    with SimExchange(stepped=True, seed=7) as exchange:
        exchange.advance(60)
        yield exchange


@pytest.fixture(autouse=True)
def _reset_faults(sim: SimExchange) -> Iterator[None]:
    yield
    sim.faults.reset()


@pytest.fixture
def ex(sim: SimExchange) -> ccxt.binance:
    """A ccxt client on a fresh funded account, markets loaded."""
    key, secret = sim.create_account({"USDT": 10_000, "BTC": 1})
    client = ccxt.binance(sim.ccxt_config(key, secret))
    client.load_markets()
    return client


def raw_get(url: str) -> tuple[int, dict[str, str], str]:
    """GET ``url``; return status, headers and body text (errors included)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


@pytest.mark.parametrize(
    ("kind", "exc"),
    [
        ("500", ccxt.ExchangeNotAvailable),
        ("502", ccxt.ExchangeNotAvailable),
        ("503", ccxt.ExchangeNotAvailable),
        ("504", ccxt.RequestTimeout),
        ("429", ccxt.DDoSProtection),
        ("418", ccxt.DDoSProtection),
        ("timestamp", ccxt.InvalidNonce),
        ("internal", ccxt.OperationFailed),
    ],
)
def test_request_fault_maps_to_the_ccxt_exception(
    sim: SimExchange, ex: ccxt.binance, kind: str, exc: type[Exception]
) -> None:
    sim.faults.fail_next(1, kind)  # type: ignore[arg-type]
    with pytest.raises(exc):
        ex.fetch_ticker(SYMBOL)
    assert ex.fetch_ticker(SYMBOL)["last"] is not None  # one fault, then service again
    assert sim.faults.injected[f"request:{kind}"] == 1


def test_429_and_418_carry_retry_after(sim: SimExchange) -> None:
    sim.faults.fail_next(1, "429", retry_after=7)
    status, headers, body = raw_get(sim.url + "/api/v3/ping")
    assert (status, headers["Retry-After"], json.loads(body)["code"]) == (429, "7", -1003)
    sim.faults.fail_next(1, "418", retry_after=120)
    status, headers, body = raw_get(sim.url + "/api/v3/ping")
    assert (status, headers["Retry-After"]) == (418, "120")
    assert "IP banned until" in json.loads(body)["msg"]


def test_path_prefix_fault_hits_only_that_path(sim: SimExchange, ex: ccxt.binance) -> None:
    sim.faults.fail_next(1, "503", path_prefix="/api/v3/order")
    assert ex.fetch_ticker(SYMBOL)["last"] is not None
    with pytest.raises(ccxt.ExchangeNotAvailable):
        ex.create_order(SYMBOL, "limit", "buy", 0.001, 10_000)
    assert ex.fetch_open_orders(SYMBOL) == []


@pytest.mark.parametrize(
    ("kind", "exc"),
    [
        ("500", ccxt.ExchangeNotAvailable),
        ("503", ccxt.ExchangeNotAvailable),
        ("timeout", ccxt.RequestTimeout),
        ("disconnect", ccxt.NetworkError),
    ],
)
def test_ambiguous_outcome_leaves_exactly_one_order(
    sim: SimExchange, ex: ccxt.binance, kind: str, exc: type[Exception]
) -> None:
    client_id = f"amb-{kind.strip('-')}"
    sim.faults.ambiguous_next(1, kind)  # type: ignore[arg-type]
    with pytest.raises(exc):
        ex.create_order(SYMBOL, "limit", "buy", 0.001, 10_000, {"clientOrderId": client_id})
    found = ex.fetch_order("", SYMBOL, {"origClientOrderId": client_id})
    assert found["status"] == "open"
    assert [o["clientOrderId"] for o in ex.fetch_open_orders(SYMBOL)] == [client_id]
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        ex.create_order(SYMBOL, "limit", "buy", 0.001, 10_000, {"clientOrderId": client_id})


def test_ambiguous_1007_is_http_408_with_binance_text(sim: SimExchange, ex: ccxt.binance) -> None:
    sim.faults.ambiguous_next(1, "timeout")
    with pytest.raises(ccxt.RequestTimeout):
        ex.create_order(SYMBOL, "limit", "buy", 0.001, 10_000)
    assert ex.last_http_response is not None
    assert json.loads(ex.last_http_response) == {
        "code": -1007,
        "msg": "Timeout waiting for response from backend server. "
        "Send status unknown; execution status unknown.",
    }


def test_armed_rejection_places_nothing(sim: SimExchange, ex: ccxt.binance) -> None:
    sim.faults.reject_next_orders(1, msg="Order rejected by the simulator.")
    with pytest.raises(ccxt.InvalidOrder, match="Order rejected by the simulator"):
        ex.create_order(SYMBOL, "limit", "buy", 0.001, 10_000)
    assert ex.fetch_orders(SYMBOL) == []


def test_delay_beyond_client_timeout_is_a_timeout(sim: SimExchange, ex: ccxt.binance) -> None:
    sim.faults.delay_next(1, 2.0)
    ex.timeout = 300  # ms
    with pytest.raises(ccxt.RequestTimeout):
        ex.fetch_time()
    ex.timeout = 10_000
    assert ex.fetch_time() == sim.context.server_time_ms()
    assert sim.faults.injected["delay"] == 1


def test_clock_skew_shifts_server_time(sim: SimExchange, ex: ccxt.binance) -> None:
    sim.faults.set_clock_skew(2500)
    assert ex.fetch_time() == sim.clock.now_ms() + 2500


@pytest.fixture
def limited() -> Iterator[SimExchange]:
    """A simulator with tiny limits and a frozen rate-limit clock (deterministic windows)."""
    limits = RateLimits(weight_per_minute=30, orders_per_10s=3, ban_after=2, ban_seconds=90)
    with SimExchange(stepped=True, seed=1, rate_limits=limits) as exchange:
        exchange.limiter.wall = lambda: 1_700_000_050.0  # 10 s into a minute
        yield exchange


def test_weight_limit_429_then_418_ban(limited: SimExchange) -> None:
    url = limited.url + "/api/v3/depth?symbol=BTCUSDT&limit=5"  # weight 5
    used = [int(raw_get(url)[1]["X-MBX-USED-WEIGHT-1M"]) for _ in range(6)]
    assert used == [5, 10, 15, 20, 25, 30]
    status, headers, body = raw_get(url)
    assert status == 429 and json.loads(body)["code"] == -1003
    assert headers["Retry-After"] == "50"  # to the next minute of the frozen clock
    assert "30 request weight per 1 MINUTE" in json.loads(body)["msg"]
    assert raw_get(url)[0] == 429
    status, headers, _ = raw_get(url)
    assert (status, headers["Retry-After"]) == (418, "90")
    assert raw_get(limited.url + "/api/v3/ping")[0] == 418
    ex = ccxt.binance(limited.ccxt_config())
    with pytest.raises(ccxt.DDoSProtection):
        ex.fetch_time()


def test_order_count_limit_is_1015(limited: SimExchange) -> None:
    key, secret = limited.create_account({"USDT": 10_000})
    ex = ccxt.binance(limited.ccxt_config(key, secret))
    ex.load_markets()
    limited.limiter.reset()  # loading markets used weight; start the minute clean
    for n in range(1, 4):
        ex.create_order(SYMBOL, "limit", "buy", 0.001, 10_000)
        assert ex.last_response_headers["X-MBX-ORDER-COUNT-10S"] == str(n)
    with pytest.raises(ccxt.DDoSProtection):
        ex.create_order(SYMBOL, "limit", "buy", 0.001, 10_000)
    assert json.loads(ex.last_http_response) == {
        "code": -1015,
        "msg": "Too many new orders; current limit is 3 orders per 10 SECOND.",
    }
    assert len(ex.fetch_open_orders(SYMBOL)) == 3
