"""ccxt's unmodified ``bybit`` client against the simulator's Bybit v5 face (spot, REST).

The simulator runs in real time, so ccxt signs with the wall clock; with keys set,
``load_markets`` makes Bybit's private probes (currencies, the UTA probe).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import ccxt
import pytest

from real_trade.sim.plumbing.ratelimit import RateLimits
from real_trade.sim.server import SimExchange

pytestmark = pytest.mark.integration
SYMBOL = "BTC/USDT"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A real-time simulator serving the Bybit face, shared by this module."""
    with SimExchange(seed=21, faces=["bybit"]) as exchange:
        yield exchange


@pytest.fixture(autouse=True)
def _reset_faults(sim: SimExchange) -> Iterator[None]:
    yield
    sim.faults.reset()


def _client(sim: SimExchange, balances: dict[str, float] | None = None) -> Any:
    key, secret = sim.create_account(balances or {"USDT": 100_000, "BTC": 1})
    ex = ccxt.bybit(sim.ccxt_config(key, secret, venue="bybit"))
    ex.load_markets()
    return ex


@pytest.fixture()
def bybit(sim: SimExchange) -> Any:
    """A ccxt bybit client with a fresh funded unified account."""
    return _client(sim)


def test_markets_time_and_public_data(sim: SimExchange, bybit: Any) -> None:
    market = bybit.market(SYMBOL)
    assert market["spot"] and market["id"] == "BTCUSDT"
    assert market["precision"]["price"] > 0 and market["limits"]["amount"]["min"] > 0
    assert abs(bybit.fetch_time() - sim.clock.now_ms()) < 5_000
    bars = bybit.fetch_ohlcv(SYMBOL, "1m", limit=5)
    assert len(bars) == 5
    assert [b[0] for b in bars] == sorted(b[0] for b in bars)  # newest-first reversed by ccxt
    assert all(b[0] % 60_000 == 0 for b in bars)
    since = bars[1][0]
    page = bybit.fetch_ohlcv(SYMBOL, "1m", since=since, limit=2)
    assert [b[0] for b in page] == [since, since + 60_000]
    book = bybit.fetch_order_book(SYMBOL)
    assert book["bids"] and book["asks"] and book["bids"][0][0] < book["asks"][0][0]
    ticker = bybit.fetch_ticker(SYMBOL)
    assert ticker["symbol"] == SYMBOL and ticker["last"] > 0 and ticker["bid"] > 0


def test_balance_is_unified(bybit: Any) -> None:
    balance = bybit.fetch_balance()
    assert balance["USDT"]["total"] == 100_000 and balance["BTC"]["free"] == 1
    assert balance["info"]["result"]["list"][0]["accountType"] == "UNIFIED"


def test_limit_order_lifecycle_and_amend(bybit: Any) -> None:
    bid = bybit.fetch_order_book(SYMBOL)["bids"][0][0]
    price = round(bid * 0.9, 2)
    placed = bybit.create_order(SYMBOL, "limit", "buy", 0.01, price, {"clientOrderId": "bb-lim-1"})
    assert placed["id"] and placed["clientOrderId"] == "bb-lim-1"
    opened = bybit.fetch_open_orders(SYMBOL)
    assert [o["id"] for o in opened] == [placed["id"]]
    assert opened[0]["price"] == price and opened[0]["status"] == "open"
    fetched = bybit.fetch_order(placed["id"], SYMBOL, {"acknowledged": True})
    assert fetched["clientOrderId"] == "bb-lim-1" and fetched["amount"] == 0.01
    assert bybit.fetch_balance()["USDT"]["used"] == pytest.approx(0.01 * price)
    new_price = round(price * 0.99, 2)
    edited = bybit.edit_order(placed["id"], SYMBOL, "limit", "buy", 0.02, new_price)
    opened = bybit.fetch_open_orders(SYMBOL)
    assert len(opened) == 1 and opened[0]["id"] == edited["id"]
    assert opened[0]["price"] == new_price and opened[0]["amount"] == 0.02
    assert opened[0]["clientOrderId"] == "bb-lim-1"
    bybit.cancel_order(edited["id"], SYMBOL)
    assert bybit.fetch_open_orders(SYMBOL) == []
    closed = bybit.fetch_canceled_and_closed_orders(SYMBOL)
    assert {o["status"] for o in closed} == {"canceled"}
    with pytest.raises(ccxt.OrderNotFound):
        bybit.cancel_order(edited["id"], SYMBOL)


def test_market_orders_fill_and_show_in_trades(bybit: Any) -> None:
    buy = bybit.create_order(SYMBOL, "market", "buy", 0.01)
    sell = bybit.create_order(SYMBOL, "market", "sell", 0.005)
    closed = bybit.fetch_closed_orders(SYMBOL)
    by_id = {o["id"]: o for o in closed}
    assert by_id[buy["id"]]["status"] == "closed" and by_id[buy["id"]]["filled"] > 0
    assert by_id[sell["id"]]["filled"] == 0.005
    trades = bybit.fetch_my_trades(SYMBOL)
    assert {t["order"] for t in trades} == {buy["id"], sell["id"]}
    assert all(t["symbol"] == SYMBOL and t["fee"]["cost"] >= 0 for t in trades)
    balance = bybit.fetch_balance()
    assert balance["BTC"]["total"] > 1


def test_insufficient_balance_is_insufficient_funds(sim: SimExchange) -> None:
    poor = _client(sim, {"USDT": 10})
    bid = poor.fetch_order_book(SYMBOL)["bids"][0][0]
    with pytest.raises(ccxt.InsufficientFunds):
        poor.create_order(SYMBOL, "limit", "buy", 1, round(bid * 0.9, 2))


def test_signing_errors_arrive_as_ccxt_exceptions(sim: SimExchange, bybit: Any) -> None:
    bad = ccxt.bybit(sim.ccxt_config(bybit.apiKey, "not-the-secret", venue="bybit"))
    bad.markets, bad.markets_by_id = bybit.markets, bybit.markets_by_id
    bad.options["enableUnifiedAccount"], bad.options["enableUnifiedMargin"] = True, False
    with pytest.raises(ccxt.AuthenticationError) as info:
        bad.fetch_balance()
    assert "10004" in str(info.value)
    sim.faults.set_clock_skew(60_000)
    with pytest.raises(ccxt.InvalidNonce) as nonce:
        bybit.fetch_balance()
    assert "10002" in str(nonce.value)


def test_request_faults_in_bybit_words(sim: SimExchange, bybit: Any) -> None:
    sim.faults.fail_next(1, "503")
    with pytest.raises(ccxt.ExchangeNotAvailable):
        bybit.fetch_ticker(SYMBOL)
    sim.faults.fail_next(1, "429")
    with pytest.raises(ccxt.RateLimitExceeded):
        bybit.fetch_ticker(SYMBOL)
    assert bybit.fetch_ticker(SYMBOL)["last"] > 0


def test_ambiguous_submit_is_resolved_by_client_id(sim: SimExchange, bybit: Any) -> None:
    bid = bybit.fetch_order_book(SYMBOL)["bids"][0][0]
    sim.faults.ambiguous_next(1, "503")
    with pytest.raises(ccxt.ExchangeNotAvailable):
        bybit.create_order(
            SYMBOL, "limit", "buy", 0.01, round(bid * 0.9, 2), {"clientOrderId": "bb-amb-1"}
        )
    (accepted,) = bybit.fetch_open_orders(SYMBOL)  # the order was taken all the same
    assert accepted["clientOrderId"] == "bb-amb-1"
    sim.faults.ambiguous_next(1, "timeout")
    with pytest.raises(ccxt.RequestTimeout):
        bybit.create_order(
            SYMBOL, "limit", "buy", 0.01, round(bid * 0.9, 2), {"clientOrderId": "bb-amb-2"}
        )
    assert {o["clientOrderId"] for o in bybit.fetch_open_orders(SYMBOL)} == {"bb-amb-1", "bb-amb-2"}


def test_one_simulator_serves_binance_and_bybit_over_one_account() -> None:
    with SimExchange(seed=26, faces=["binance", "bybit"], stepped=True) as both:
        key, secret = both.create_account({"USDT": 500})
        binance = ccxt.binance(both.ccxt_config(key, secret))
        bybit = ccxt.bybit(both.ccxt_config(key, secret, venue="bybit"))
        assert binance.fetch_balance()["USDT"]["total"] == 500
        assert bybit.fetch_balance()["USDT"]["total"] == 500
        bybit.load_markets()
        bid = bybit.fetch_order_book(SYMBOL)["bids"][0][0]
        placed = bybit.create_order(SYMBOL, "limit", "buy", 0.001, round(bid * 0.9, 2))
        (seen,) = binance.fetch_open_orders(SYMBOL)  # the same order book, the same account
        assert seen["id"] == placed["id"]


def test_spot_stop_order_waits_untriggered(bybit: Any) -> None:
    bid = bybit.fetch_order_book(SYMBOL)["bids"][0][0]
    trigger = round(bid * 0.8, 2)
    stop = bybit.create_order(SYMBOL, "market", "sell", 0.01, None, {"triggerPrice": trigger})
    (opened,) = bybit.fetch_open_orders(SYMBOL, None, None, {"orderFilter": "StopOrder"})
    assert opened["id"] == stop["id"] and opened["status"] == "open"
    assert opened["info"]["orderStatus"] == "Untriggered"
    assert opened["triggerPrice"] == trigger
    bybit.cancel_order(stop["id"], SYMBOL, {"orderFilter": "StopOrder"})
    assert bybit.fetch_open_orders(SYMBOL) == []


def test_order_rate_limit_is_rate_limit_exceeded() -> None:
    limits = RateLimits(weight_per_minute=7200, orders_per_10s=2)
    with SimExchange(seed=27, faces=["bybit"], stepped=True, rate_limits=limits) as tight:
        ex = _client(tight)
        bid = ex.fetch_order_book(SYMBOL)["bids"][0][0]
        orders = [(SYMBOL, "limit", "buy", 0.001, round(bid * 0.9, 2))] * 3
        ex.create_order(*orders[0])
        ex.create_order(*orders[1])
        with pytest.raises(ccxt.RateLimitExceeded) as info:
            ex.create_order(*orders[2])
        assert "10006" in str(info.value)


def test_testnet_and_demo_clients_land_on_the_face(sim: SimExchange) -> None:
    key, secret = sim.create_account({"USDT": 77})
    testnet = ccxt.bybit(sim.ccxt_config(key, secret, venue="bybit"))
    testnet.set_sandbox_mode(True)
    assert testnet.fetch_balance()["USDT"]["total"] == 77
    demo = ccxt.bybit(sim.ccxt_config(key, secret, venue="bybit"))
    demo.enable_demo_trading(True)
    assert demo.fetch_balance()["USDT"]["total"] == 77
    assert all(url.startswith(sim.url) for url in demo.urls["api"].values() if isinstance(url, str))


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        body: dict[str, Any] = json.loads(resp.read())
    return body


def test_instruments_page_with_a_cursor_and_the_envelope() -> None:
    with SimExchange(seed=29, faces=["bybit"], stepped=True, symbols=("BTC/USDT", "ETH/USDT")) as s:
        base = f"{s.url}/v5/market/instruments-info?category=spot&limit=1"
        first = _get(base)
        assert first["retCode"] == 0 and first["retMsg"] == "OK" and first["time"] > 0
        assert len(first["result"]["list"]) == 1 and first["result"]["nextPageCursor"]
        second = _get(f"{base}&cursor={first['result']['nextPageCursor']}")
        assert second["result"]["nextPageCursor"] == ""
        names = {first["result"]["list"][0]["symbol"], second["result"]["list"][0]["symbol"]}
        assert names == {"BTCUSDT", "ETHUSDT"}
        assert _get(f"{s.url}/v5/market/instruments-info?category=inverse")["result"]["list"] == []
        wrong = _get(f"{s.url}/v5/market/tickers?category=spot&symbol=SOLUSDT")
        assert wrong["retCode"] == 10001  # not a symbol of the category
        linear = _get(f"{s.url}/v5/market/tickers?category=linear&symbol=BTCUSDT")
        (perp,) = linear["result"]["list"]  # the futures core's BTCUSDT, beside the spot one
        assert linear["retCode"] == 0 and float(perp["markPrice"]) > 0
