"""Bybit's own SDK (``pybit``), unmodified, on the simulator's Bybit websockets over TLS.

Run in a subprocess by ``test_official_sdks.py`` with ``SSL_CERT_FILE`` naming the test CA
(websocket-client loads the default verify paths, which honour it; pybit's REST session, which
sends prepared requests and so reads no environment, is told the same file through its
``requests`` session's ``verify``): ``python pybit_ws_client.py URL WS_URL KEY SECRET``.
Streams the public spot ticker, then the private order stream while it places a limit order
over REST. Prints one JSON object of what it saw; any failure is an exception (a non-zero exit
with the traceback). Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from pybit import unified_trading

SYMBOL = "BTCUSDT"
TIMEOUT = 20.0


class Inbox:
    """The messages a stream delivered, and a bounded wait for one that matches."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._changed = threading.Condition()

    def __call__(self, message: dict[str, Any]) -> None:
        """pybit's callback: one decoded message (on pybit's thread)."""
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def wait_for(
        self, match: Callable[[dict[str, Any]], bool], what: str, timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        """The first message ``match`` accepts, waiting at most ``timeout`` seconds."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: next((m for m in self.messages if match(m)), None), timeout
            )
        if found is None:
            raise AssertionError(f"no {what} in {timeout}s: {self.messages[-5:]}")
        return found


def register_before_send(manager: Any) -> None:
    """Make pybit book a subscription's ``req_id`` before it sends the request.

    pybit (5.x, ``_V5WebSocketManager.subscribe``) sends ``{"op": "subscribe", "req_id": ...}``
    and only then stores the ``req_id``; a venue that answers before the subscribing thread runs
    again (the simulator on loopback, on a loaded machine) finds its answer's ``req_id`` unknown:
    pybit's message thread raises KeyError and closes the socket. Bybit's answer crosses the
    internet, so pybit's users do not meet it. The wire is unchanged: the same message is sent.
    """
    raw_send = manager.ws.send

    def send(payload: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(payload, str) and '"subscribe"' in payload:
            request = json.loads(payload)
            if request.get("op") == "subscribe" and "req_id" in request:
                manager.subscriptions.setdefault(request["req_id"], payload)
        return raw_send(payload, *args, **kwargs)

    manager.ws.send = send


def private_websocket(key: str, secret: str) -> Any:
    """pybit's private websocket (at ``unified_trading.PRIVATE_WSS``), connected.

    pybit signs its auth to expire 1 s after it is made (``private_auth_expire=1``): on a loaded
    machine the simulator, like Bybit, can read it later and refuse it as expired, which pybit
    does not retry; a user on a slow link raises it the same way. Subscriptions are booked
    before they are sent (:func:`register_before_send`)."""
    private = unified_trading.WebSocket(
        testnet=True,
        channel_type="private",
        api_key=key,
        api_secret=secret,
        retries=3,
        private_auth_expire=10,
    )
    register_before_send(private)
    return private


def main(url: str, ws_url: str, key: str, secret: str) -> dict[str, Any]:
    """The public ticker and the private order stream of the simulator at ``ws_url``."""
    unified_trading.PUBLIC_WSS = ws_url + "/v5/public/{CHANNEL_TYPE}"
    unified_trading.PRIVATE_WSS = ws_url + "/v5/private"
    tickers, orders = Inbox(), Inbox()
    public = unified_trading.WebSocket(testnet=True, channel_type="spot", retries=3)
    register_before_send(public)
    try:
        public.ticker_stream(symbol=SYMBOL, callback=tickers)
        ticker = tickers.wait_for(lambda m: m.get("topic") == f"tickers.{SYMBOL}", "ticker")
    finally:
        public.exit()
    session = unified_trading.HTTP(testnet=True, api_key=key, api_secret=secret)
    session.endpoint = url
    session.client.verify = os.environ["SSL_CERT_FILE"]
    private = private_websocket(key, secret)
    try:
        private.order_stream(callback=orders)
        bid = session.get_orderbook(category="spot", symbol=SYMBOL)["result"]["b"][0][0]
        # pybit tells nobody when its subscription is live: orders until one is shown
        for attempt in range(10):
            oid = session.place_order(
                category="spot",
                symbol=SYMBOL,
                side="Buy",
                orderType="Limit",
                qty="0.01",
                price=f"{float(bid) * 0.9:.2f}",
            )["result"]["orderId"]
            try:
                update = orders.wait_for(
                    lambda m, oid=oid: any(r.get("orderId") == oid for r in m.get("data", [])),
                    "order update",
                    timeout=2.0 if attempt < 9 else TIMEOUT,
                )
                break
            except AssertionError:
                if attempt == 9:
                    raise
    finally:
        private.exit()
    return {
        "ticker": ticker["data"],
        "order": next(r for r in update["data"] if r["orderId"] == oid),
        "topics": sorted({m["topic"] for m in orders.messages}),
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:5])))
