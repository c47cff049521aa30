"""Binance's own futures SDK (``binance-futures-connector``'s ``UMFutures``) against the face.

Skipped when the SDK is not installed (it is not a dependency of the project yet).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from real_trade.sim.server import SimExchange

pytestmark = pytest.mark.integration
um_futures = pytest.importorskip("binance.um_futures")


def test_umfutures_trades_against_the_face() -> None:
    with SimExchange(stepped=True, seed=9, faces=["binance", "binance_futures"]) as sim:
        sim.advance(60)
        key, secret = sim.create_account({"USDT": 10_000})
        client = um_futures.UMFutures(key=key, secret=secret, base_url=sim.url)
        assert [s["symbol"] for s in client.exchange_info()["symbols"]] == ["BTCUSDT"]
        assert float(client.mark_price("BTCUSDT")["markPrice"]) > 0
        assert client.change_leverage("BTCUSDT", 7)["leverage"] == 7
        order = client.new_order(symbol="BTCUSDT", side="SELL", type="MARKET", quantity=0.01)
        assert order["status"] == "FILLED"
        [pos] = client.get_position_risk(symbol="BTCUSDT")
        assert float(pos["positionAmt"]) == -0.01 and pos["leverage"] == "7"
        assert float(client.balance()[0]["balance"]) < 10_000
        assert client.new_listen_key()["listenKey"]


def test_umfutures_websocket_streams_klines_and_user_data() -> None:
    from binance.websocket.um_futures.websocket_client import UMFuturesWebsocketClient

    with SimExchange(seed=4, faces=["binance", "binance_futures"]) as sim:
        key, secret = sim.create_account({"USDT": 10_000})
        client = um_futures.UMFutures(key=key, secret=secret, base_url=sim.url)
        listen_key = client.new_listen_key()["listenKey"]
        events: list[dict[str, Any]] = []
        acked = threading.Event()
        filled = threading.Event()

        def on_message(_: object, raw: str) -> None:
            msg = json.loads(raw)
            events.append(msg)
            if sum(1 for m in events if "result" in m) == 2:
                acked.set()
            if msg.get("e") == "ORDER_TRADE_UPDATE" and msg["o"]["X"] == "FILLED":
                filled.set()

        ws = UMFuturesWebsocketClient(stream_url=f"{sim.ws_url}/fapi-ws", on_message=on_message)
        try:
            ws.kline(symbol="btcusdt", interval="1m")
            ws.user_data(listen_key=listen_key)
            assert acked.wait(10)
            client.new_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity=0.01)
            assert filled.wait(10)
        finally:
            ws.stop()
        kinds = {m.get("e") for m in events}
        assert {"ORDER_TRADE_UPDATE"} <= kinds
