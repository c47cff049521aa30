"""Binance's own futures SDK (``binance-futures-connector``) trading the simulator's USDⓈ-M face.

Run in a subprocess by ``test_fapi_sdk.py`` with the SDK's isolated folder first on
``PYTHONPATH`` (it cannot share the venv with ``binance-connector``): ``python
fapi_sdk_client.py URL WS_URL KEY SECRET``. Prints one JSON object of what it saw; any failure
is an exception (a non-zero exit with the traceback).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from decimal import Decimal
from typing import Any

from binance.um_futures import UMFutures
from binance.websocket.um_futures.websocket_client import UMFuturesWebsocketClient

SYMBOL = "BTCUSDT"


def _until(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return value


def _bid_below(client: UMFutures, tick: Decimal) -> str:
    mark = Decimal(client.mark_price(SYMBOL)["markPrice"])
    return str((mark * Decimal("0.8") / tick).to_integral_value() * tick)


def main(url: str, ws_url: str, key: str, secret: str) -> dict[str, Any]:
    """Every call the report names, against the face at ``url``."""
    import binance

    client = UMFutures(key=key, secret=secret, base_url=url)
    out: dict[str, Any] = {"sdk": binance.__file__}
    out["server_time"] = client.time()["serverTime"]
    info = client.exchange_info()
    (sym,) = [s for s in info["symbols"] if s["symbol"] == SYMBOL]
    tick = Decimal(next(f for f in sym["filters"] if f["filterType"] == "PRICE_FILTER")["tickSize"])
    out["contract_type"] = sym["contractType"]
    out["klines"] = client.klines(SYMBOL, "1m", limit=5)
    # a resting order, looked up and cancelled
    rest = client.new_order(
        symbol=SYMBOL,
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity=0.01,
        price=_bid_below(client, tick),
    )
    out["resting_status"] = client.query_order(symbol=SYMBOL, orderId=rest["orderId"])["status"]
    out["cancelled_status"] = client.cancel_order(symbol=SYMBOL, orderId=rest["orderId"])["status"]
    # the dead-man switch through the SDK's own method: the countdown cancels a resting order
    client.new_order(
        symbol=SYMBOL,
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity=0.01,
        price=_bid_below(client, tick),
    )
    out["countdown"] = client.countdown_cancel_order(symbol=SYMBOL, countdownTime=1000)
    out["open_before_countdown"] = len(client.get_orders(symbol=SYMBOL))
    _until(lambda: client.get_orders(symbol=SYMBOL) == [], 15, "the countdown's cancel")
    # a position, the account and the balance
    out["leverage"] = client.change_leverage(symbol=SYMBOL, leverage=7)["leverage"]
    out["sell_status"] = client.new_order(symbol=SYMBOL, side="SELL", type="MARKET", quantity=0.01)[
        "status"
    ]
    out["positions"] = [
        p for p in client.get_position_risk(symbol=SYMBOL) if float(p["positionAmt"])
    ]
    account = client.account()
    out["account_assets"] = [a["asset"] for a in account["assets"] if float(a["walletBalance"])]
    out["balance"] = {b["asset"]: b["balance"] for b in client.balance()}
    # the user-data stream: a listen key, then an ORDER_TRADE_UPDATE for a fill
    listen_key = client.new_listen_key()["listenKey"]
    events: list[dict[str, Any]] = []
    filled = threading.Event()

    def on_message(_: object, raw: str) -> None:
        msg = json.loads(raw)
        events.append(msg)
        if msg.get("e") == "ORDER_TRADE_UPDATE" and msg["o"]["X"] == "FILLED":
            filled.set()

    ws = UMFuturesWebsocketClient(stream_url=f"{ws_url}/fapi-ws", on_message=on_message)
    try:
        ws.user_data(listen_key=listen_key, id=1)
        _until(lambda: any(m.get("id") == 1 for m in events), 15, "the subscription's answer")
        client.new_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity=0.01)
        if not filled.wait(15):
            raise AssertionError("no ORDER_TRADE_UPDATE FILLED on the user-data stream")
    finally:
        ws.stop()
    out["user_events"] = sorted({m["e"] for m in events if "e" in m})
    out["final_positions"] = [
        p for p in client.get_position_risk(symbol=SYMBOL) if float(p["positionAmt"])
    ]
    return out


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:5])))
