"""Binance's own websocket clients (binance-connector 3) against the simulator, unmodified.

``SpotWebsocketStreamClient`` subscribes to market streams and, by ``SUBSCRIBE``-ing a listenKey,
to the user-data stream; ``SpotWebsocketAPIClient`` places orders and opens the listenKey over
the WebSocket API. The SDK signs with the wall clock, so the simulator runs in real time with
its reported clock skewed onto the wall clock (the fault plan's clock-skew knob).
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from binance.websocket.spot.websocket_api import SpotWebsocketAPIClient
from binance.websocket.spot.websocket_stream import SpotWebsocketStreamClient

from real_trade.sim.server import SimExchange
from tests.support import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A real-time simulator whose server time is the wall clock."""
    with SimExchange(seed=17) as exchange:
        exchange.faults.set_clock_skew(int(time.time() * 1000) - exchange.clock.now_ms())
        yield exchange


class Inbox:
    """Messages an SDK client received (on its own thread), parsed."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self.seen: list[dict[str, Any]] = []

    def __call__(self, _manager: Any, message: str) -> None:
        data = json.loads(message)
        if isinstance(data, dict):
            self.queue.put(data)

    def first(
        self, cond: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        """Return the first message (seen or still to come) satisfying ``cond``."""

        def check() -> dict[str, Any]:
            while True:
                try:
                    self.seen.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            return next((m for m in self.seen if cond(m)), {})

        return eventually(check, timeout, message="an SDK message")


def test_stream_client_receives_trades_and_depth(sim: SimExchange) -> None:
    inbox = Inbox()
    client = SpotWebsocketStreamClient(stream_url=sim.ws_url, on_message=inbox)
    try:
        client.trade(symbol="btcusdt", id=1)
        client.diff_book_depth(symbol="btcusdt", speed=100, id=2)
        assert inbox.first(lambda m: m.get("id") == 1) == {"result": None, "id": 1}
        trade = inbox.first(lambda m: m.get("e") == "trade")
        assert trade["s"] == "BTCUSDT" and isinstance(trade["p"], str)
        depth = inbox.first(lambda m: m.get("e") == "depthUpdate")
        assert depth["u"] >= depth["U"]
    finally:
        client.stop()


def test_api_client_orders_and_listen_key_user_stream(sim: SimExchange) -> None:
    key, secret = sim.create_account({"USDT": 50_000, "BTC": 1})
    api_inbox, stream_inbox = Inbox(), Inbox()
    api = SpotWebsocketAPIClient(
        stream_url=sim.ws_url + "/ws-api/v3", api_key=key, api_secret=secret, on_message=api_inbox
    )
    stream = SpotWebsocketStreamClient(stream_url=sim.ws_url, on_message=stream_inbox)
    try:
        api.user_data_start(id="start")
        listen_key = api_inbox.first(lambda m: m.get("id") == "start")["result"]["listenKey"]
        stream.user_data(listen_key=listen_key, id=7)
        assert stream_inbox.first(lambda m: m.get("id") == 7) == {"result": None, "id": 7}

        api.new_order(
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity=0.01,
            price=20000,
            newClientOrderId="sdk-ws-1",
            id="place",
        )
        placed = api_inbox.first(lambda m: m.get("id") == "place")
        assert placed["status"] == 200, placed
        assert placed["result"]["status"] == "NEW"
        report = stream_inbox.first(lambda m: m.get("e") == "executionReport")
        assert report["c"] == "sdk-ws-1" and report["i"] == placed["result"]["orderId"]

        api.cancel_order(symbol="BTCUSDT", origClientOrderId="sdk-ws-1", id="cancel")
        assert api_inbox.first(lambda m: m.get("id") == "cancel")["result"]["status"] == "CANCELED"
        canceled = stream_inbox.first(lambda m: m.get("x") == "CANCELED")
        assert canceled["C"] == "sdk-ws-1"
        api.user_data_stop(listenKey=listen_key, id="stop")
        assert api_inbox.first(lambda m: m.get("id") == "stop")["result"] == {}
    finally:
        stream.stop()
        api.stop()
