"""Signed Binance spot REST of the simulator, driven by unmodified ccxt (sync ``binance``).

Every order type ccxt can send to Binance spot, the order queries, cancels, balances and
fills, each checked against the simulator's core. The clock is stepped; each test opens its
own account so balances and order lists start clean.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import ccxt
import pytest

from real_trade.sim.server import SimExchange

pytestmark = pytest.mark.integration
SYMBOL = "BTC/USDT"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator with one minute of market played (so the tape has a last price)."""
    with SimExchange(stepped=True, seed=5) as exchange:
        exchange.advance(60)
        yield exchange


@pytest.fixture
def ex(sim: SimExchange) -> ccxt.binance:
    """A ccxt client on a fresh account holding 100,000 USDT and 2 BTC."""
    key, secret = sim.create_account({"USDT": 100_000, "BTC": 2})
    client = ccxt.binance(sim.ccxt_config(key, secret))
    client.load_markets()
    return client


def last(ex: ccxt.binance) -> float:
    """The last trade price of BTC/USDT."""
    price = ex.fetch_ticker(SYMBOL)["last"]
    assert price is not None
    return float(price)


def test_fetch_balance(ex: ccxt.binance) -> None:
    bal = ex.fetch_balance()
    assert bal["USDT"] == {"free": 100_000.0, "used": 0.0, "total": 100_000.0}
    assert bal["BTC"]["total"] == 2.0
    assert bal["info"]["canTrade"] is True
    assert bal["info"]["commissionRates"]["taker"] == "0.00100000"


def test_limit_order_lifecycle(ex: ccxt.binance) -> None:
    price = round(last(ex) * 0.9, 2)
    order = ex.create_order(SYMBOL, "limit", "buy", 0.01, price)
    assert order["status"] == "open" and order["price"] == price and order["amount"] == 0.01
    assert order["timeInForce"] == "GTC"
    fetched = ex.fetch_order(order["id"], SYMBOL)
    assert fetched["status"] == "open" and fetched["clientOrderId"] == order["clientOrderId"]
    assert [o["id"] for o in ex.fetch_open_orders(SYMBOL)] == [order["id"]]
    bal = ex.fetch_balance()
    assert bal["USDT"]["used"] == pytest.approx(0.01 * price)
    cancelled = ex.cancel_order(order["id"], SYMBOL)
    assert cancelled["status"] == "canceled" and cancelled["id"] == order["id"]
    assert cancelled["info"]["origClientOrderId"] == order["clientOrderId"]
    assert ex.fetch_open_orders(SYMBOL) == []
    assert ex.fetch_order(order["id"], SYMBOL)["status"] == "canceled"
    assert ex.fetch_balance()["USDT"] == {"free": 100_000.0, "used": 0.0, "total": 100_000.0}


def test_market_buy_fills_with_fee_in_base(sim: SimExchange, ex: ccxt.binance) -> None:
    order = ex.create_order(SYMBOL, "market", "buy", 0.05)
    assert order["status"] == "closed" and order["filled"] == 0.05
    fills = order["info"]["fills"]
    assert fills and all(f["commissionAsset"] == "BTC" for f in fills)
    fee = sum(Decimal(f["commission"]) for f in fills)
    assert Decimal(str(order["fee"]["cost"])) == fee
    cost = Decimal(order["info"]["cummulativeQuoteQty"])
    bal = ex.fetch_balance()
    assert Decimal(str(bal["BTC"]["total"])) == Decimal(2) + Decimal("0.05") - fee
    assert Decimal(str(bal["USDT"]["total"])) == Decimal(100_000) - cost
    trades = ex.fetch_my_trades(SYMBOL)
    assert {t["order"] for t in trades} == {order["id"]}
    assert sum(Decimal(str(t["amount"])) for t in trades) == Decimal("0.05")
    assert all(t["takerOrMaker"] == "taker" and t["side"] == "buy" for t in trades)


def test_quote_order_qty_market_buy(ex: ccxt.binance) -> None:
    order = ex.create_market_buy_order_with_cost(SYMBOL, 100)
    assert order["status"] == "closed"
    assert order["info"]["origQuoteOrderQty"] == "100.00000000"
    assert 0 < order["cost"] <= 100
    assert order["filled"] > 0


def test_market_sell(ex: ccxt.binance) -> None:
    order = ex.create_order(SYMBOL, "market", "sell", 0.1)
    assert order["status"] == "closed" and order["filled"] == 0.1
    assert all(f["commissionAsset"] == "USDT" for f in order["info"]["fills"])
    assert ex.fetch_balance()["BTC"]["total"] == pytest.approx(1.9)


def test_limit_maker_via_post_only(ex: ccxt.binance) -> None:
    price = last(ex)
    resting = ex.create_order(
        SYMBOL, "limit", "buy", 0.01, round(price * 0.95, 2), {"postOnly": True}
    )
    assert resting["status"] == "open" and resting["postOnly"] is True
    assert resting["info"]["type"] == "LIMIT_MAKER"
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        ex.create_order(SYMBOL, "limit", "buy", 0.01, round(price * 1.05, 2), {"postOnly": True})


@pytest.mark.parametrize(
    ("ccxt_type", "binance_type", "price_factor", "params"),
    [
        ("market", "STOP_LOSS", None, {"stopLossPrice": 0.9}),
        ("limit", "STOP_LOSS_LIMIT", 0.89, {"stopLossPrice": 0.9}),
        ("market", "TAKE_PROFIT", None, {"takeProfitPrice": 1.1}),
        ("limit", "TAKE_PROFIT_LIMIT", 1.11, {"takeProfitPrice": 1.1}),
    ],
)
def test_conditional_orders_rest_until_triggered(
    ex: ccxt.binance,
    ccxt_type: str,
    binance_type: str,
    price_factor: float | None,
    params: dict[str, float],
) -> None:
    ref = last(ex)
    trigger = {k: round(ref * v, 2) for k, v in params.items()}
    price = round(ref * price_factor, 2) if price_factor is not None else None
    order = ex.create_order(SYMBOL, ccxt_type, "sell", 0.01, price, trigger)
    assert order["status"] == "open"
    fetched = ex.fetch_order(order["id"], SYMBOL)
    assert fetched["info"]["type"] == binance_type
    assert fetched["triggerPrice"] == next(iter(trigger.values()))
    assert fetched["info"]["isWorking"] is False
    assert ex.fetch_balance()["BTC"]["used"] == pytest.approx(0.01)
    assert ex.cancel_order(order["id"], SYMBOL)["status"] == "canceled"


def test_stop_that_would_trigger_immediately_is_rejected(ex: ccxt.binance) -> None:
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        ex.create_order(SYMBOL, "market", "sell", 0.01, None, {"stopLossPrice": last(ex) * 2})


def test_client_order_id_lookup_and_duplicate(ex: ccxt.binance) -> None:
    price = round(last(ex) * 0.8, 2)
    order = ex.create_order(SYMBOL, "limit", "buy", 0.01, price, {"clientOrderId": "my-order-1"})
    assert order["clientOrderId"] == "my-order-1"
    by_client = ex.fetch_order(None, SYMBOL, {"origClientOrderId": "my-order-1"})
    assert by_client["id"] == order["id"]
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        ex.create_order(SYMBOL, "limit", "buy", 0.01, price, {"clientOrderId": "my-order-1"})
    ex.cancel_order(None, SYMBOL, {"origClientOrderId": "my-order-1"})
    again = ex.create_order(SYMBOL, "limit", "buy", 0.01, price, {"clientOrderId": "my-order-1"})
    assert again["id"] != order["id"]


def test_fetch_orders_and_cancel_all(ex: ccxt.binance) -> None:
    price = round(last(ex) * 0.8, 2)
    ids = [ex.create_order(SYMBOL, "limit", "buy", 0.01, price - i)["id"] for i in range(3)]
    ex.create_order(SYMBOL, "market", "buy", 0.01)
    orders = ex.fetch_orders(SYMBOL)
    assert [o["id"] for o in orders][:3] == ids and len(orders) == 4
    cancelled = ex.cancel_all_orders(SYMBOL)
    assert sorted(o["id"] for o in cancelled) == sorted(ids)
    assert all(o["status"] == "canceled" for o in cancelled)
    assert ex.fetch_open_orders(SYMBOL) == []
    with pytest.raises(ccxt.OrderNotFound):
        ex.cancel_all_orders(SYMBOL)


def test_order_test_endpoint_validates_without_placing(ex: ccxt.binance) -> None:
    resp = ex.privatePostOrderTest(
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.01",
            "price": "1000.00",
            "computeCommissionRates": "true",
        }
    )
    assert resp["standardCommissionForOrder"] == {"maker": "0.00100000", "taker": "0.00100000"}
    assert ex.fetch_open_orders(SYMBOL) == []
    with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):
        ex.privatePostOrderTest(
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.00001",
                "price": "1000.00",
            }
        )


def test_rate_limit_order_counts_new_orders(ex: ccxt.binance) -> None:
    before = {r["interval"]: r["count"] for r in ex.privateGetRateLimitOrder()}
    ex.create_order(SYMBOL, "limit", "buy", 0.01, round(last(ex) * 0.8, 2))
    after = {r["interval"]: r["count"] for r in ex.privateGetRateLimitOrder()}
    assert after["DAY"] == before["DAY"] + 1
    assert ex.last_response_headers["X-MBX-USED-WEIGHT-1M"].isdigit()


@pytest.mark.parametrize(
    ("call", "exc", "code"),
    [
        (
            lambda e: e.create_order(SYMBOL, "limit", "buy", 9, 60_000),
            ccxt.InsufficientFunds,
            -2010,
        ),
        (lambda e: e.create_order(SYMBOL, "limit", "buy", 0.0001, 100), ccxt.BadRequest, -1013),
        (lambda e: e.fetch_order("987654", SYMBOL), ccxt.OrderNotFound, -2013),
        (lambda e: e.cancel_order("987654", SYMBOL), ccxt.OrderNotFound, -2011),
        (
            lambda e: e.fetch_order("", SYMBOL, {"origClientOrderId": "x"}),
            ccxt.OrderNotFound,
            -2013,
        ),
    ],
)
def test_binance_errors_map_to_ccxt_exceptions(
    ex: ccxt.binance, call: object, exc: type[Exception], code: int
) -> None:
    assert callable(call)
    with pytest.raises(exc):
        call(ex)
    assert json.loads(ex.last_http_response)["code"] == code


def test_filter_failures_name_the_filter(ex: ccxt.binance) -> None:
    with pytest.raises(ccxt.BaseError, match="Filter failure: NOTIONAL"):
        ex.create_order(SYMBOL, "limit", "buy", 0.0001, 100)
    raw = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):
        ex.privatePostOrder({**raw, "quantity": "0.000015", "price": "50000.00"})
    with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):
        ex.privatePostOrder({**raw, "quantity": "0.001", "price": "50000.005"})
    with pytest.raises(ccxt.BadRequest, match="-1104"):
        ex.privatePostOrder({**raw, "quantity": "0.001", "price": "50000.00", "bogus": "1"})


def test_authentication_failures(sim: SimExchange, ex: ccxt.binance) -> None:
    key = ex.apiKey
    cases = [
        (key, "x" * 64, -1022),
        ("A" * 64, "x" * 64, -2015),
        ("bad-key!", "x" * 64, -2014),
    ]
    for api_key, secret, code in cases:
        client = ccxt.binance(sim.ccxt_config(api_key, secret))
        with pytest.raises(ccxt.AuthenticationError) as info:
            client.privateGetAccount()
        assert json.loads(client.last_http_response)["code"] == code
        assert secret not in str(info.value)


def test_clock_skew_gives_both_1021_messages(sim: SimExchange, ex: ccxt.binance) -> None:
    try:
        sim.faults.set_clock_skew(-3_600_000)
        with pytest.raises(ccxt.InvalidNonce, match="1000ms ahead of the server's time"):
            ex.fetch_balance()
        sim.faults.set_clock_skew(3_600_000)
        with pytest.raises(ccxt.InvalidNonce, match="outside of the recvWindow"):
            ex.fetch_balance()
        assert ex.fetch_time() == sim.clock.now_ms() + 3_600_000
    finally:
        sim.faults.reset()
    assert ex.fetch_balance()["USDT"]["total"] == 100_000.0
