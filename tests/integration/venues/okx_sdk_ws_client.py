"""OKX's own SDK (``python-okx``), unmodified, on the simulator's OKX websockets over TLS.

Run in a subprocess by ``test_official_sdks.py`` with ``SSL_CERT_FILE`` naming the test CA
(python-okx's websocket factory always passes an SSL context built by
``ssl.create_default_context()``, which trusts that file; so does httpx for its REST calls):
``python okx_sdk_ws_client.py URL WS_URL KEY SECRET PASSPHRASE``. Subscribes ``WsPublicAsync``
to tickers and books (``/ws/v5/public``) and candle1m (``/ws/v5/business``), logs
``WsPrivateAsync`` in, subscribes it to ``orders``, places a limit order over REST and waits
for its update. Prints one JSON object of what it saw; any failure is an exception (a non-zero
exit with the traceback). Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

from okx.MarketData import MarketAPI
from okx.PublicData import PublicAPI
from okx.Trade import TradeAPI
from okx.websocket.WsPrivateAsync import WsPrivateAsync
from okx.websocket.WsPublicAsync import WsPublicAsync

INST = "BTC-USDT"
TIMEOUT = 20.0


class Inbox:
    """The JSON messages a client received, and a bounded wait for one that matches."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._changed = asyncio.Event()

    def __call__(self, text: str) -> None:
        """python-okx's callback: one raw text message."""
        self.messages.append(json.loads(text))
        self._changed.set()

    async def wait_for(self, match: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        """The first message ``match`` accepts, waiting at most :data:`TIMEOUT` seconds."""
        try:
            async with asyncio.timeout(TIMEOUT):
                while (found := next((m for m in self.messages if match(m)), None)) is None:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"no {what} in {TIMEOUT}s: {self.messages[-5:]}") from None
        return found


def _pushed(channel: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m.get("arg", {}).get("channel") == channel and bool(m.get("data"))


async def _public(ws_url: str) -> dict[str, Any]:
    inbox, business = Inbox(), Inbox()
    public_ws = WsPublicAsync(url=ws_url + "/ws/v5/public")
    business_ws = WsPublicAsync(url=ws_url + "/ws/v5/business")
    await public_ws.start()
    await business_ws.start()
    try:
        args = [{"channel": c, "instId": INST} for c in ("tickers", "books")]
        await public_ws.subscribe(args, callback=inbox)
        candles = [{"channel": "candle1m", "instId": INST}]
        await business_ws.subscribe(candles, callback=business)
        ticker = await inbox.wait_for(_pushed("tickers"), "tickers push")
        book = await inbox.wait_for(_pushed("books"), "books push")
        candle = await business.wait_for(_pushed("candle1m"), "candle1m push")
    finally:
        await public_ws.stop()
        await business_ws.stop()
    return {
        "ticker": ticker["data"][0],
        "book_action": book.get("action"),
        "book": book["data"][0],
        "candle": candle["data"][0],
    }


async def _private(url: str, ws_url: str, key: str, secret: str, passphrase: str) -> dict[str, Any]:
    inbox = Inbox()
    ws = WsPrivateAsync(
        apiKey=key, passphrase=passphrase, secretKey=secret, url=ws_url + "/ws/v5/private"
    )
    await ws.start()
    try:
        # the SDK logs in, waits its own fixed 5 s, then subscribes
        await ws.subscribe([{"channel": "orders", "instType": "SPOT"}], callback=inbox)
        login = await inbox.wait_for(lambda m: m.get("event") == "login", "login answer")
        await inbox.wait_for(lambda m: m.get("event") == "subscribe", "subscribe answer")
        public = PublicAPI(flag="1", domain=url)
        trade = TradeAPI(
            api_key=key, api_secret_key=secret, passphrase=passphrase, flag="1", domain=url
        )
        market = MarketAPI(flag="1", domain=url)
        instruments = (await asyncio.to_thread(public.get_instruments, instType="SPOT"))["data"]
        ticker = (await asyncio.to_thread(market.get_ticker, instId=INST))["data"][0]
        price = f"{float(ticker['bidPx']) * 0.9:.1f}"
        placed = await asyncio.to_thread(
            trade.place_order,
            instId=INST,
            tdMode="cash",
            side="buy",
            ordType="limit",
            sz="0.01",
            px=price,
        )
        ord_id = placed["data"][0]["ordId"]
        update = await inbox.wait_for(
            lambda m: any(r.get("ordId") == ord_id for r in m.get("data", [])), "order update"
        )
    finally:
        await ws.stop()
    return {
        "login": login,
        "instruments": [i["instId"] for i in instruments],
        "placed": placed,
        "order": next(r for r in update["data"] if r["ordId"] == ord_id),
        "channels": sorted({m["arg"]["channel"] for m in inbox.messages if "data" in m}),
    }


async def main(url: str, ws_url: str, key: str, secret: str, passphrase: str) -> dict[str, Any]:
    """Both clients, one after the other, against the simulator at ``url`` / ``ws_url``."""
    return {
        "public": await _public(ws_url),
        "private": await _private(url, ws_url, key, secret, passphrase),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(*sys.argv[1:6]))))
