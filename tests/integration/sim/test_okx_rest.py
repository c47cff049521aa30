"""ccxt's unmodified ``okx`` client (apiKey, secret, password) against the simulator's OKX v5
face: SPOT over the main core and SWAP (``BTC-USDT-SWAP``, contracts of ``ctVal``) over the
futures core, one key for both.

The simulator runs in real time, so ccxt signs with the wall clock; with keys set,
``load_markets`` fetches OKX's currencies (private) first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from real_trade.sim.plumbing.ratelimit import RateLimits
from real_trade.sim.server import SimExchange
from real_trade.venues.spec import get_venue
from real_trade.venues.urls import resolve_endpoints

pytestmark = pytest.mark.integration
SPOT = "BTC/USDT"
SWAP = "BTC/USDT:USDT"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A real-time simulator serving the OKX face, shared by this module."""
    with SimExchange(seed=31, faces=["okx"]) as exchange:
        yield exchange


@pytest.fixture(autouse=True)
def _reset_faults(sim: SimExchange) -> Iterator[None]:
    yield
    sim.faults.reset()


def _client(sim: SimExchange, balances: dict[str, float] | None = None, **extra: Any) -> Any:
    key, secret = sim.create_account(balances or {"USDT": 100_000, "BTC": 1})
    ex = ccxt.okx({**sim.ccxt_config(key, secret, venue="okx"), **extra})
    ex.load_markets()
    return ex


@pytest.fixture()
def okx(sim: SimExchange) -> Any:
    """A ccxt okx client with a fresh funded account."""
    return _client(sim)


def test_markets_spot_and_swap_with_ct_val(sim: SimExchange, okx: Any) -> None:
    spot, swap = okx.market(SPOT), okx.market(SWAP)
    assert spot["spot"] and spot["id"] == "BTC-USDT"
    assert swap["swap"] and swap["linear"] and swap["id"] == "BTC-USDT-SWAP"
    assert swap["contractSize"] == 0.01 and swap["settle"] == "USDT"
    assert swap["limits"]["amount"]["min"] == 0.001  # contracts
    assert abs(okx.fetch_time() - sim.clock.now_ms()) < 5_000


def test_public_data(okx: Any) -> None:
    bars = okx.fetch_ohlcv(SPOT, "1m", limit=5)
    assert len(bars) == 5 and [b[0] for b in bars] == sorted(b[0] for b in bars)
    assert all(b[0] % 60_000 == 0 for b in bars)
    page = okx.fetch_ohlcv(SPOT, "1m", since=bars[1][0], limit=2)
    assert [b[0] for b in page] == [bars[1][0], bars[2][0]]
    book = okx.fetch_order_book(SPOT, 5)
    assert book["bids"] and book["asks"] and book["bids"][0][0] < book["asks"][0][0]
    ticker = okx.fetch_ticker(SPOT)
    assert ticker["last"] > 0 and ticker["bid"] < ticker["ask"]
    swap_book = okx.fetch_order_book(SWAP, 5)
    assert swap_book["bids"][0][0] > 0


def test_balance_and_limit_order_lifecycle(okx: Any) -> None:
    assert okx.fetch_balance()["free"]["BTC"] >= 1
    last = okx.fetch_ticker(SPOT)["last"]
    order = okx.create_order(SPOT, "limit", "buy", 0.01, round(last * 0.8, 2))
    assert order["clientOrderId"]
    opened = okx.fetch_open_orders(SPOT)
    assert [o["id"] for o in opened] == [order["id"]] and opened[0]["status"] == "open"
    assert okx.fetch_balance()["used"]["USDT"] > 0
    okx.cancel_order(order["id"], SPOT)
    assert okx.fetch_order(order["id"], SPOT)["status"] == "canceled"
    assert okx.fetch_open_orders(SPOT) == []


def test_market_orders_trades_and_closed_orders(okx: Any) -> None:
    sell = okx.create_order(SPOT, "market", "sell", 0.01)
    done = okx.fetch_order(sell["id"], SPOT)
    assert done["status"] == "closed" and done["filled"] == 0.01 and done["fee"]["cost"] > 0
    buy = okx.create_order(SPOT, "market", "buy", 0.01, params={"tgtCcy": "base_ccy"})
    assert okx.fetch_order(buy["id"], SPOT)["filled"] == 0.01
    closed = {o["id"] for o in okx.fetch_closed_orders(SPOT)}
    assert {sell["id"], buy["id"]} <= closed
    trades = okx.fetch_my_trades(SPOT)
    assert {t["order"] for t in trades} >= {sell["id"], buy["id"]}
    assert all(t["amount"] > 0 and t["takerOrMaker"] == "taker" for t in trades)


def test_per_order_scode_errors(sim: SimExchange, okx: Any) -> None:
    poor = _client(sim, {"USDT": 10})
    with pytest.raises(ccxt.InsufficientFunds, match="51008"):
        poor.create_order(SPOT, "limit", "buy", 0.01, 50_000)
    with pytest.raises(ccxt.OrderNotFound):
        poor.fetch_order("123456789", SPOT)
    with pytest.raises(ccxt.OrderNotFound):
        poor.cancel_order("123456789", SPOT)
    ask = okx.fetch_order_book(SPOT, 5)["asks"][0][0]
    with pytest.raises(ccxt.InvalidOrder, match="51020"):  # post-only would take
        okx.create_order(SPOT, "limit", "buy", 0.01, round(ask * 1.01, 2), {"postOnly": True})
    first = okx.create_order(SPOT, "limit", "buy", 0.01, round(ask * 0.5, 2), {"clOrdId": "dup1"})
    with pytest.raises(ccxt.InvalidOrder, match="51016"):
        okx.create_order(SPOT, "limit", "buy", 0.01, round(ask * 0.5, 2), {"clOrdId": "dup1"})
    okx.cancel_order(first["id"], SPOT)


def _raw(sim: SimExchange, path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(sim.url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _signed(key: str, secret: str, path: str, ts: str, passphrase: str) -> dict[str, str]:
    text = f"{ts}GET{path}"
    sig = base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest())
    return {
        "OK-ACCESS-KEY": key,
        "OK-ACCESS-SIGN": sig.decode(),
        "OK-ACCESS-TIMESTAMP": ts,
        "OK-ACCESS-PASSPHRASE": passphrase,
    }


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def test_signing_errors(sim: SimExchange) -> None:
    key, secret = sim.create_account({"USDT": 100})
    config = sim.ccxt_config(key, secret, venue="okx")
    bad_secret = ccxt.okx({**config, "secret": secret[::-1]})
    with pytest.raises(ccxt.AuthenticationError, match="50113"):
        bad_secret.fetch_balance()
    bad_pass = ccxt.okx({**config, "password": "wrong"})
    with pytest.raises(ccxt.AuthenticationError, match="50105"):
        bad_pass.fetch_balance()
    path = "/api/v5/account/balance"
    old = _iso(datetime.now(UTC) - timedelta(minutes=2))
    status, body = _raw(sim, path, _signed(key, secret, path, old, config["password"]))
    assert status == 401 and body["code"] == "50102"
    now = _iso(datetime.now(UTC))
    status, body = _raw(sim, path, _signed(key, secret, path, now, config["password"]))
    assert status == 200 and body["code"] == "0" and body["data"][0]["details"]
    skewed = ccxt.okx(config)
    sim.faults.set_clock_skew(120_000)
    with pytest.raises(ccxt.InvalidNonce):
        skewed.fetch_balance()


def test_demo_header(sim: SimExchange) -> None:
    # the unified balance sums the spot and SWAP wallets: fund the spot one only
    key, secret = sim.create_account({"USDT": 1_000}, futures_balances={})
    ex = ccxt.okx(sim.ccxt_config(key, secret, venue="okx"))
    ex.set_sandbox_mode(True)
    face = next(f for f in sim.faces if f.name == "okx")
    before = face.stats.demo_requests  # type: ignore[attr-defined]
    ex.load_markets()
    assert ex.fetch_balance()["free"]["USDT"] == 1_000
    assert face.stats.demo_requests > before  # type: ignore[attr-defined]
    assert ex.urls["api"]["rest"] == sim.url


def test_swap_leverage_short_and_positions(sim: SimExchange, okx: Any) -> None:
    reply = okx.set_leverage(7, SWAP, {"marginMode": "cross"})
    assert reply["data"][0]["lever"] == "7"
    assert okx.fetch_leverage(SWAP, {"marginMode": "cross"})["longLeverage"] == 7
    short = okx.create_order(SWAP, "market", "sell", 3)  # three contracts of 0.01 BTC
    done = okx.fetch_order(short["id"], SWAP)
    assert done["filled"] == 3 and done["status"] == "closed"
    positions = okx.fetch_positions([SWAP])
    assert len(positions) == 1
    pos = positions[0]
    assert pos["side"] == "short" and pos["contracts"] == 3 and pos["contractSize"] == 0.01
    assert pos["leverage"] == 7
    account = sim.futures_core.account_by_key(okx.apiKey) if sim.futures_core else None
    assert account is not None
    assert sim.futures_core.positions(account)[0].qty == Decimal("-0.03")  # type: ignore[union-attr]
    with pytest.raises(ccxt.InvalidOrder):  # reduce-only beyond the position
        okx.create_order(SWAP, "market", "sell", 1, params={"reduceOnly": True})
    close = okx.create_order(SWAP, "market", "buy", 3, params={"reduceOnly": True})
    assert okx.fetch_order(close["id"], SWAP)["filled"] == 3
    assert okx.fetch_positions([SWAP]) == []
    assert okx.fetch_my_trades(SWAP)[0]["symbol"] == SWAP


def test_fault_plan_in_okx_words(sim: SimExchange, okx: Any) -> None:
    sim.faults.fail_next(1, "503", path_prefix="/api/v5/market/ticker")
    with pytest.raises(ccxt.ExchangeNotAvailable):
        okx.fetch_ticker(SPOT)
    sim.faults.fail_next(1, "429", path_prefix="/api/v5/market/ticker")
    with pytest.raises(ccxt.RateLimitExceeded):
        okx.fetch_ticker(SPOT)
    sim.faults.reject_next_orders(1)
    with pytest.raises(ccxt.BadRequest):
        okx.create_order(SPOT, "market", "sell", 0.01)
    sim.faults.ambiguous_next(1, "timeout")
    with pytest.raises(ccxt.RequestTimeout):
        okx.create_order(SPOT, "market", "sell", 0.01, params={"clOrdId": "amb1"})
    assert okx.fetch_order(None, SPOT, {"clOrdId": "amb1"})["status"] == "closed"


def test_rt_sim_url_redirects_okx(sim: SimExchange) -> None:
    endpoints = resolve_endpoints(get_venue("okx"), sim_url=sim.url, default_type="swap")
    assert endpoints.mode == "sim" and endpoints.urls is not None
    assert endpoints.urls["api"]["rest"] == sim.url
    assert endpoints.options["fetchMarkets"] == {"types": ["swap"]}
    key, secret = sim.create_account({"USDT": 100})
    ex = ccxt.okx(
        {
            "apiKey": key,
            "secret": secret,
            "password": sim.ccxt_config(venue="okx")["password"],
            "urls": dict(endpoints.urls),
            "options": dict(endpoints.options),
        }
    )
    ex.load_markets()
    assert list(ex.markets) == [SWAP]


def test_order_rate_limit_is_rate_limit_exceeded() -> None:
    limits = RateLimits(weight_per_minute=1200, orders_per_10s=2)
    with SimExchange(seed=34, faces=["okx"], stepped=True, rate_limits=limits) as tight:
        ex = _client(tight)
        bid = ex.fetch_order_book(SPOT)["bids"][0][0]
        order = (SPOT, "limit", "buy", 0.001, round(bid * 0.9, 2))
        ex.create_order(*order)
        ex.create_order(*order)
        with pytest.raises(ccxt.RateLimitExceeded, match="50011"):
            ex.create_order(*order)
