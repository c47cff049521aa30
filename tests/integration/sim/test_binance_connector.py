"""Binance's own Python SDK (binance-connector ``Spot``) against the simulator, unmodified."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from binance.error import ClientError
from binance.spot import Spot

from real_trade.sim.server import SimExchange

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator with two market minutes played."""
    with SimExchange(stepped=True, seed=21) as exchange:
        exchange.advance(120)
        yield exchange


@pytest.fixture
def client(sim: SimExchange) -> Spot:
    """A ``Spot`` client on a fresh account."""
    key, secret = sim.create_account({"USDT": 50_000, "BTC": 1})
    return Spot(api_key=key, api_secret=secret, base_url=sim.url)


def test_market_data(sim: SimExchange, client: Spot) -> None:
    assert client.ping() == {}
    assert client.time()["serverTime"] == sim.context.server_time_ms()
    bars = client.klines("BTCUSDT", "1m", limit=50)
    assert len(bars) == 50 and all(len(b) == 12 for b in bars)
    assert all(b[6] == b[0] + 59_999 for b in bars)
    book = client.depth("BTCUSDT", limit=10)
    assert float(book["bids"][0][0]) < float(book["asks"][0][0])
    assert client.ticker_price("BTCUSDT")["symbol"] == "BTCUSDT"


def test_place_query_cancel(client: Spot) -> None:
    order = client.new_order(
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.01",
        price="20000.00",
        newClientOrderId="sdk-1",
    )
    assert order["status"] == "NEW" and order["clientOrderId"] == "sdk-1"
    assert order["fills"] == []
    got = client.get_order("BTCUSDT", orderId=order["orderId"])
    assert got["status"] == "NEW" and got["price"] == "20000.00000000"
    assert got["isWorking"] is True
    assert [o["orderId"] for o in client.get_open_orders("BTCUSDT")] == [order["orderId"]]
    cancelled = client.cancel_order("BTCUSDT", origClientOrderId="sdk-1")
    assert cancelled["status"] == "CANCELED" and cancelled["origClientOrderId"] == "sdk-1"
    balances = {b["asset"]: b for b in client.account()["balances"]}
    assert balances["USDT"] == {"asset": "USDT", "free": "50000.00000000", "locked": "0.00000000"}


def test_market_order_and_my_trades(client: Spot) -> None:
    order = client.new_order(symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.02")
    assert order["status"] == "FILLED" and order["executedQty"] == "0.02000000"
    trades = client.my_trades("BTCUSDT")
    assert {t["orderId"] for t in trades} == {order["orderId"]}
    assert all(t["commissionAsset"] == "USDT" and not t["isBuyer"] for t in trades)


def test_errors_are_client_errors_with_binance_codes(client: Spot) -> None:
    with pytest.raises(ClientError) as info:
        client.get_order("BTCUSDT", orderId=424242)
    assert (info.value.status_code, info.value.error_code) == (400, -2013)
    assert info.value.error_message == "Order does not exist."
    with pytest.raises(ClientError) as info:
        client.new_order(
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="5",
            price="60000.00",
        )
    assert info.value.error_code == -2010
    bad = Spot(api_key=client.api_key, api_secret="wrong", base_url=client.base_url)
    with pytest.raises(ClientError) as info:
        bad.account()
    assert (info.value.status_code, info.value.error_code) == (400, -1022)
