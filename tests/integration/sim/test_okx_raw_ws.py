"""Our own ``OKXWebSocket`` (business candles, public books/trades, the private stream with
login) against the simulator's OKX v5 face, on a stepped clock."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from real_trade.errors import ConfigError
from real_trade.feeds.basewebsocket import BaseWebSocket
from real_trade.feeds.okxws import OKXWebSocket
from real_trade.sim.server import SimExchange
from tests.support import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator serving the OKX face."""
    with SimExchange(seed=33, faces=["okx"], stepped=True) as exchange:
        yield exchange


def record(ws: BaseWebSocket, *events: str) -> list[tuple[str, Any]]:
    """Collect ``(event, data)`` for ``events`` emitted by ``ws``."""
    seen: list[tuple[str, Any]] = []
    for event in events:
        ws.on(event, lambda data, event=event: seen.append((event, data)))
    return seen


def test_candles_on_business_with_confirm(sim: SimExchange) -> None:
    ws = OKXWebSocket(
        base_url=sim.url, ping_interval=2.0
    )  # idle cut 2 x 2 s: a loaded machine can stall the loop for 1 s
    seen = record(ws, "subscribed", "kline", "error")
    ws.start([ws.candle_channel("BTC/USDT", "1m")])
    try:
        eventually(lambda: any(e == "subscribed" for e, _ in seen), 10, message="subscribed")
        sim.advance(61)
        eventually(
            lambda: any(e == "kline" and d.closed for e, d in seen), 10, message="a closed bar"
        )
        eventually(lambda: ws.stats["heartbeats"] >= 1, 10, message="a text ping answered")
    finally:
        ws.stop()
    assert not [d for e, d in seen if e == "error"]
    closed = [d for e, d in seen if e == "kline" and d.closed]
    assert closed[0].close_ms - closed[0].open_ms == 59_999 and closed[0].symbol == "BTC-USDT"


def test_books_and_trades_on_public(sim: SimExchange) -> None:
    ws = OKXWebSocket(base_url=sim.url, ping_interval=2.0)
    seen = record(ws, "depth", "trade", "error")
    ws.start([ws.books_channel("BTC/USDT"), ws.trades_channel("BTC/USDT")])
    try:
        eventually(lambda: any(e == "depth" for e, _ in seen), 10, message="book snapshot")
        sim.advance(10)
        eventually(lambda: any(e == "trade" for e, _ in seen), 10, message="a trade")
        eventually(lambda: sum(e == "depth" for e, _ in seen) >= 3, 10, message="book updates")
    finally:
        ws.stop()
    assert not [d for e, d in seen if e == "error"]
    books = [d for e, d in seen if e == "depth"]
    assert books[0].snapshot and not any(b.snapshot for b in books[1:])
    for before, after in itertools.pairwise(books):
        assert after.prev_id == before.last_id  # seqId continuity


def test_private_login_orders_and_account(sim: SimExchange) -> None:
    key, secret = sim.create_account({"USDT": 10_000})
    password = sim.ccxt_config(venue="okx")["password"]
    account = sim.core.account_by_key(key)
    assert account is not None
    ws = OKXWebSocket(
        base_url=sim.url,
        endpoint="private",
        api_key=key,
        api_secret=secret,
        passphrase=password,
        ping_interval=2.0,
    )
    seen = record(ws, "login", "subscribed", "message", "error")
    ws.start([{"channel": "orders", "instType": "ANY"}, {"channel": "account"}])
    try:
        eventually(lambda: sum(e == "subscribed" for e, _ in seen) >= 2, 10, message="subscribed")
        sim.call(lambda: sim.core.place_order(account, "BTCUSDT", "buy", "market", quantity="0.01"))

        def channels() -> set[str]:
            return {d["arg"]["channel"] for e, d in seen if e == "message"}

        eventually(lambda: {"orders", "account"} <= channels(), 10, message="events")
    finally:
        ws.stop()
    assert seen[0][0] == "login"
    assert not [d for e, d in seen if e == "error"]
    orders = [d["data"][0] for e, d in seen if e == "message" and d["arg"]["channel"] == "orders"]
    assert orders[-1]["state"] == "filled" and orders[-1]["instId"] == "BTC-USDT"
    assert orders[-1]["tradeId"] and orders[-1]["fillSz"] == "0.01"


def test_private_channels_choose_the_private_endpoint_themselves(sim: SimExchange) -> None:
    """Without ``endpoint=``: orders/account go to /ws/v5/private (login accepted there only)."""
    key, secret = sim.create_account({"USDT": 1_000})
    password = sim.ccxt_config(venue="okx")["password"]
    ws = OKXWebSocket(base_url=sim.url, api_key=key, api_secret=secret, passphrase=password)
    channels = [{"channel": "orders", "instType": "SPOT"}, {"channel": "account"}]
    seen = record(ws, "login", "subscribed", "error")
    ws.start(channels)
    assert ws._get_ws_url().endswith("/ws/v5/private")
    try:
        eventually(lambda: sum(e == "subscribed" for e, _ in seen) >= 2, 10, message="subscribed")
    finally:
        ws.stop()
    assert seen[0][0] == "login" and not [d for e, d in seen if e == "error"]
    with pytest.raises(ConfigError, match="cannot carry"):
        OKXWebSocket._endpoint_for([{"channel": "orders"}, {"channel": "candle1m"}])
