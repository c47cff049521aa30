"""A private stream on OKX or Bybit is up once the venue confirmed its subscription.

The fake exchange keeps what :class:`~real_trade.venues.streams.SubscriptionAcks` relies on in
ccxt.pro: ``handle_message(client, message)`` called by each websocket client (through its
``on_message_callback``), ``clients`` by URL, each with a ``connected`` future and Bybit's
``subscriptions`` recording the request id of each subscription.
"""

from __future__ import annotations

import asyncio
from typing import Any

from real_trade.venues.streams import SubscriptionAcks, acknowledged_channels


class _Client:
    def __init__(self, exchange: _Exchange, *, open_: bool = True) -> None:
        self.connected: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if open_:
            self.connected.set_result(True)
        self.subscriptions: dict[str, Any] = {}
        self.on_message_callback = exchange.handle_message

    def receive(self, message: Any) -> None:
        self.on_message_callback(self, message)


class _Exchange:
    def __init__(self) -> None:
        self.clients: dict[str, _Client] = {}
        self.handled: list[Any] = []

    def handle_message(self, client: Any, message: Any) -> None:
        self.handled.append(message)


OKX_ACK = {"event": "subscribe", "arg": {"channel": "orders", "instType": "ANY"}, "connId": "a"}


def test_the_confirmations_of_okx_and_bybit_name_their_channels() -> None:
    async def run() -> None:
        exchange = _Exchange()
        client = _Client(exchange)
        client.subscriptions = {
            "orders": {"id": 7, "topics": ["order.linear"]},
            "myTrades": {"id": 8, "topics": ["execution"]},
        }
        assert acknowledged_channels(client, OKX_ACK) == ["orders"]
        assert acknowledged_channels(client, {"event": "login", "code": "0"}) == []
        bybit = {"success": True, "op": "subscribe", "req_id": "7", "conn_id": "x"}
        assert acknowledged_channels(client, bybit) == ["order"]
        assert acknowledged_channels(client, {**bybit, "success": False}) == []
        assert acknowledged_channels(client, {"op": "auth", "success": True}) == []
        assert acknowledged_channels(client, "pong") == []

    asyncio.run(run())


def test_a_channel_counts_once_confirmed_on_an_open_socket_and_again_after_a_reconnect() -> None:
    async def run() -> None:
        exchange = _Exchange()
        first = exchange.clients["wss://private"] = _Client(exchange)
        acks = SubscriptionAcks(exchange)  # installed after the client: it hears it too
        late = _Client(exchange, open_=False)  # created after: takes the wrapped handler
        assert not acks.confirmed("orders")
        first.receive({"event": "login", "code": "0"})
        assert not acks.confirmed("orders")
        first.receive(OKX_ACK)
        assert acks.confirmed("orders") and not acks.confirmed("account")
        assert exchange.handled == [{"event": "login", "code": "0"}, OKX_ACK]  # passed on
        exchange.clients["wss://private"] = late  # the socket dropped: a new client
        late.receive(OKX_ACK)
        assert not acks.confirmed("orders")  # not open yet
        late.connected.set_result(True)
        assert acks.confirmed("orders")
        exchange.clients["wss://private"] = _Client(exchange)
        assert not acks.confirmed("orders")  # the new socket's subscription is not confirmed

    asyncio.run(run())


def test_binance_spot_user_data_subscription_is_acknowledged_and_futures_needs_none() -> None:
    from real_trade.venues.connection import VenueConnection

    ack = {"id": "3", "status": 200, "result": {"subscriptionId": 0}}
    assert acknowledged_channels(None, ack) == ["userDataStream"]
    refused = {"id": "3", "status": 401, "error": {"code": -2015, "msg": "Invalid API-key"}}
    assert acknowledged_channels(None, refused) == []
    assert acknowledged_channels(None, {"id": "4", "status": 200, "result": {}}) == []
    spot = VenueConnection("binance", market_type="spot")
    futures = VenueConnection("binance", market_type="future")
    assert set(spot.private_channels.values()) == {"userDataStream"}
    assert futures.private_channels == {}, "USDⓈ-M's listenKey URL is its subscription"
