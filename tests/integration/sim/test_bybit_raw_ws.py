"""Our own ``BybitWebSocket`` (public kline/book/trade topics and the private stream) against
the simulator's Bybit v5 face, on a stepped clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from real_trade.feeds.basewebsocket import BaseWebSocket
from real_trade.feeds.bybitws import BybitWebSocket
from real_trade.sim.server import SimExchange
from tests.support import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator serving the Bybit face."""
    with SimExchange(seed=24, faces=["bybit"], stepped=True) as exchange:
        yield exchange


def record(ws: BaseWebSocket, *events: str) -> list[tuple[str, Any]]:
    """Collect ``(event, data)`` for ``events`` emitted by ``ws``."""
    seen: list[tuple[str, Any]] = []
    for event in events:
        ws.on(event, lambda data, event=event: seen.append((event, data)))
    return seen


def test_public_topics_kline_confirm_and_book(sim: SimExchange) -> None:
    ws = BybitWebSocket(
        base_url=sim.url, ping_interval=2.0
    )  # idle cut 2 x 2 s: a loaded machine can stall the loop for 1 s
    seen = record(ws, "subscribed", "kline", "depth", "trade", "error")
    topics = [
        ws.kline_topic("BTC/USDT", "1m"),
        ws.orderbook_topic("BTC/USDT", 50),
        ws.trade_topic("BTC/USDT"),
    ]
    ws.start(topics)
    try:
        eventually(lambda: any(e == "depth" for e, _ in seen), 10, message="book snapshot")
        sim.advance(61)
        eventually(
            lambda: any(e == "kline" and d.closed for e, d in seen), 10, message="a closed bar"
        )
        eventually(lambda: ws.stats["heartbeats"] >= 1, 10, message="a text ping sent")
    finally:
        ws.stop()
    assert not [d for e, d in seen if e == "error"]
    books = [d for e, d in seen if e == "depth"]
    assert books[0].snapshot and not any(b.snapshot for b in books[1:])
    ids = [b.last_id for b in books]
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # u counts up by one per message
    closed = [d for e, d in seen if e == "kline" and d.closed]
    assert closed[0].close_ms - closed[0].open_ms == 59_999 and closed[0].symbol == "BTCUSDT"
    assert any(e == "trade" for e, _ in seen)


def test_private_stream_auth_orders_and_wallet(sim: SimExchange) -> None:
    key, secret = sim.create_account({"USDT": 10_000})
    account = sim.core.account_by_key(key)
    assert account is not None
    ws = BybitWebSocket(
        base_url=sim.url, private=True, api_key=key, api_secret=secret, ping_interval=2.0
    )
    seen = record(ws, "login", "subscribed", "message", "error")
    ws.start(["order", "execution", "wallet"])
    try:
        eventually(lambda: any(e == "subscribed" for e, _ in seen), 10, message="subscribed")
        sim.call(lambda: sim.core.place_order(account, "BTCUSDT", "buy", "market", quantity="0.01"))

        def topics() -> set[str]:
            return {d["topic"] for e, d in seen if e == "message"}

        eventually(lambda: {"order", "execution", "wallet"} <= topics(), 10, message="events")
        eventually(lambda: ws.stats["heartbeats"] >= 1, 10, message="a text ping sent")
    finally:
        ws.stop()
    assert seen[0][0] == "login"
    assert not [d for e, d in seen if e == "error"]
    orders = [d["data"][0] for e, d in seen if e == "message" and d["topic"] == "order"]
    assert orders[-1]["orderStatus"] == "Filled" and orders[-1]["category"] == "spot"


def test_dropped_connection_reconnects_and_resubscribes(sim: SimExchange) -> None:
    ws = BybitWebSocket(base_url=sim.url, ping_interval=0.5, reconnect_delay=0.05)
    seen = record(ws, "depth")
    ws.start([ws.orderbook_topic("BTC/USDT", 50)])
    try:
        eventually(lambda: seen, 10, message="the first snapshot")
        assert sim.faults.drop_connections(1006) >= 1
        eventually(lambda: sum(1 for _, d in seen if d.snapshot) >= 2, 10, message="a new snapshot")
    finally:
        ws.stop()
    assert ws.stats["connects"] >= 2


def test_private_topics_with_keys_choose_the_private_endpoint(sim: SimExchange) -> None:
    """Keys and ``order``/``wallet`` topics, without ``private=True``: auth on /v5/private;
    keys with public topics: no auth on the public endpoint (Bybit refuses it there)."""
    key, secret = sim.create_account({"USDT": 1_000})
    ws = BybitWebSocket(base_url=sim.url, api_key=key, api_secret=secret)
    seen = record(ws, "login", "subscribed", "error")
    ws.start(["order", "wallet"])
    assert ws._get_ws_url().endswith("/v5/private")
    try:
        eventually(lambda: any(e == "subscribed" for e, _ in seen), 10, message="subscribed")
    finally:
        ws.stop()
    assert seen[0][0] == "login" and not [d for e, d in seen if e == "error"]

    public = BybitWebSocket(base_url=sim.url, api_key=key, api_secret=secret)
    heard = record(public, "login", "subscribed", "error")
    public.start([public.orderbook_topic("BTC/USDT", 50)])
    assert public._get_ws_url().endswith("/v5/public/spot")
    try:
        eventually(lambda: any(e == "subscribed" for e, _ in heard), 10, message="subscribed")
    finally:
        public.stop()
    assert [e for e, _ in heard] == ["subscribed"], heard
