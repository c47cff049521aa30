"""ccxt.pro's unmodified ``bybit`` and raw frames against the simulator's Bybit v5 websockets.

Public topics (kline, orderbook snapshot + delta, trades, tickers) and the private stream
(auth, order, execution, wallet) with ``op: ping`` answered. A real-time simulator serves the
ccxt tests; a stepped one shows kline ``confirm`` and the orderbook's ``u``/``seq`` on the wire.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import aiohttp
import ccxt.pro as ccxtpro
import pytest

from real_trade.sim.server import SimExchange
from tests.support import eventually_async

pytestmark = pytest.mark.integration
T = TypeVar("T")
SYMBOL = "BTC/USDT"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A real-time simulator serving the Bybit face."""
    with SimExchange(seed=22, faces=["bybit"]) as exchange:
        yield exchange


@pytest.fixture(scope="module")
def stepped() -> Iterator[SimExchange]:
    """A stepped simulator serving the Bybit face (market time moves on ``advance``)."""
    with SimExchange(seed=23, faces=["bybit"], stepped=True) as exchange:
        yield exchange


def run(fn: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
    """Run an async test body with a hard timeout."""

    async def bounded() -> T:
        return await asyncio.wait_for(fn(), timeout)

    return asyncio.run(bounded())


def pro_client(sim: SimExchange, keep_alive_ms: int | None = None) -> Any:
    """A ccxt.pro bybit client with a fresh funded account."""
    key, secret = sim.create_account({"USDT": 100_000, "BTC": 1})
    config = sim.ccxt_config(key, secret, venue="bybit")
    if keep_alive_ms is not None:
        config["streaming"] = {"keepAlive": keep_alive_ms}
    return ccxtpro.bybit(config)


async def watch_until(
    watch: Callable[[], Awaitable[T]], cond: Callable[[T], bool], what: str, timeout: float = 10.0
) -> T:
    """Call a ccxt watcher until its result satisfies ``cond``."""

    async def matching() -> T:
        while True:
            result = await watch()
            if cond(result):
                return result

    found: T = await eventually_async(matching, timeout, message=what)
    return found


def test_public_watchers(sim: SimExchange) -> None:
    async def body() -> None:
        ex = pro_client(sim, keep_alive_ms=200)
        try:
            await ex.load_markets()
            bars = await ex.watch_ohlcv(SYMBOL, "1m")
            assert bars and bars[-1][0] % 60_000 == 0 and bars[-1][4] > 0
            first_book = await ex.watch_order_book(SYMBOL)
            snapshot_ts = first_book["timestamp"]
            book = await watch_until(  # only the snapshot resets the book: later ones are deltas
                lambda: ex.watch_order_book(SYMBOL),
                lambda b: b["timestamp"] != snapshot_ts and bool(b["bids"]),
                "a book updated by deltas",
            )
            assert book["bids"][0][0] < book["asks"][0][0]
            trades = await ex.watch_trades(SYMBOL)
            assert trades and trades[-1]["symbol"] == SYMBOL and trades[-1]["price"] > 0
            ticker = await ex.watch_ticker(SYMBOL)
            assert ticker["symbol"] == SYMBOL and ticker["last"] > 0
            # ccxt pings every 200 ms and needs our pongs: lastPong moves on
            client = next(c for url, c in ex.clients.items() if url.endswith("/v5/public/spot"))
            first = client.lastPong
            await eventually_async(
                lambda: client.lastPong is not None and client.lastPong != first,
                5,
                message="ccxt saw a pong",
            )
        finally:
            await ex.close()

    run(body)


def test_private_stream_orders_trades_balance(sim: SimExchange) -> None:
    async def body() -> None:
        ex = pro_client(sim, keep_alive_ms=200)
        try:
            await ex.load_markets()
            orders = asyncio.create_task(
                watch_until(
                    lambda: ex.watch_orders(SYMBOL),
                    lambda o: o[-1]["status"] == "closed",
                    "the order closed on watch_orders",
                )
            )
            trades = asyncio.create_task(ex.watch_my_trades(SYMBOL))
            balance = asyncio.create_task(
                watch_until(
                    ex.watch_balance,
                    lambda b: b.get("BTC", {}).get("total", 1) > 1,
                    "more BTC on watch_balance",
                )
            )

            def subscribed() -> bool:
                return any(
                    url.endswith("/v5/private") and len(c.subscriptions) >= 3
                    for url, c in ex.clients.items()
                )

            await eventually_async(subscribed, 10, message="the private topics subscribed")
            placed = await ex.create_order(SYMBOL, "market", "buy", 0.01, None)
            got_orders, got_trades, got_balance = await asyncio.gather(orders, trades, balance)
            assert got_orders[-1]["id"] == placed["id"] and got_orders[-1]["filled"] > 0
            assert got_trades[-1]["order"] == placed["id"] and got_trades[-1]["symbol"] == SYMBOL
            assert got_balance["BTC"]["total"] > 1
            client = next(c for url, c in ex.clients.items() if url.endswith("/v5/private"))
            first = client.lastPong
            await eventually_async(
                lambda: client.lastPong is not None and client.lastPong != first,
                5,
                message="ccxt saw a private pong",
            )
        finally:
            await ex.close()

    run(body)


async def _next(ws: aiohttp.ClientWebSocketResponse, cond: Callable[[dict[str, Any]], bool]) -> Any:
    while True:
        msg = json.loads(await asyncio.wait_for(ws.receive_str(), 10))
        if cond(msg):
            return msg


def test_kline_confirm_and_book_sequence_on_the_wire(stepped: SimExchange) -> None:
    async def body() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(stepped.ws_url + "/v5/public/spot")
            await ws.send_str(
                json.dumps(
                    {
                        "op": "subscribe",
                        "req_id": "s1",
                        "args": ["kline.1.BTCUSDT", "orderbook.50.BTCUSDT", "nope.BTCUSDT"],
                    }
                )
            )
            ack = await _next(ws, lambda m: m.get("op") == "subscribe")
            assert ack["success"] is False and "nope" in ack["ret_msg"]
            await ws.send_str(
                json.dumps(
                    {
                        "op": "subscribe",
                        "req_id": "s2",
                        "args": ["kline.1.BTCUSDT", "orderbook.50.BTCUSDT"],
                    }
                )
            )
            ack = await _next(ws, lambda m: m.get("op") == "subscribe")
            assert ack["success"] is True and ack["req_id"] == "s2"
            snap = await _next(
                ws, lambda m: m.get("type") == "snapshot" and "orderbook" in m.get("topic", "")
            )
            await asyncio.to_thread(stepped.advance, 61)
            seen: list[dict[str, Any]] = []

            def confirmed_bar(m: dict[str, Any]) -> bool:
                seen.append(m)
                return m.get("topic") == "kline.1.BTCUSDT" and m["data"][0]["confirm"]

            confirmed = await _next(ws, confirmed_bar)
            await asyncio.to_thread(stepped.advance, 5)
            await _next(ws, lambda m: seen.append(m) is None and m.get("type") == "delta")
            deltas = [m["data"] for m in seen if m.get("type") == "delta"]
            assert len(deltas) >= 2
            assert [d["u"] for d in deltas] == list(
                range(snap["data"]["u"] + 1, snap["data"]["u"] + 1 + len(deltas))
            )
            seqs = [snap["data"]["seq"]] + [d["seq"] for d in deltas]
            assert seqs == sorted(set(seqs))
            bar = confirmed["data"][0]
            assert bar["end"] - bar["start"] == 59_999 and bar["interval"] == "1"
            await ws.send_str(json.dumps({"op": "ping", "req_id": "p1"}))
            pong = await _next(ws, lambda m: m.get("op") == "ping")
            assert pong == {**pong, "success": True, "ret_msg": "pong", "req_id": "p1"}
            await ws.close()

    run(body)


def test_private_auth_refusals_and_ping(stepped: SimExchange) -> None:
    key, secret = stepped.create_account({"USDT": 100})

    async def body() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(stepped.ws_url + "/v5/private")
            await ws.send_str(json.dumps({"op": "subscribe", "args": ["order"]}))
            refused = await _next(ws, lambda m: m.get("op") == "subscribe")
            assert refused["success"] is False
            expires = str(int(time.time() * 1000) + 10_000)  # wall-clock ms, as clients sign
            bad = hmac.new(b"wrong", f"GET/realtime{expires}".encode(), hashlib.sha256)
            await ws.send_str(json.dumps({"op": "auth", "args": [key, expires, bad.hexdigest()]}))
            assert (await _next(ws, lambda m: m.get("op") == "auth"))["success"] is False
            good = hmac.new(secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256)
            await ws.send_str(json.dumps({"op": "auth", "args": [key, expires, good.hexdigest()]}))
            assert (await _next(ws, lambda m: m.get("op") == "auth"))["success"] is True
            await ws.send_str(json.dumps({"op": "ping", "req_id": "p2"}))
            pong = await _next(ws, lambda m: m.get("op") == "pong")
            assert pong["req_id"] == "p2" and int(pong["args"][0]) > 0
            await ws.close()

    run(body)


def test_paused_private_stream_holds_events_then_delivers_them(stepped: SimExchange) -> None:
    key, secret = stepped.create_account({"USDT": 10_000})
    account = stepped.core.account_by_key(key)
    assert account is not None

    async def body() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(stepped.ws_url + "/v5/private")
            expires = str(int(time.time() * 1000) + 10_000)
            sig = hmac.new(secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256)
            await ws.send_str(json.dumps({"op": "auth", "args": [key, expires, sig.hexdigest()]}))
            await _next(ws, lambda m: m.get("op") == "auth")
            await ws.send_str(json.dumps({"op": "subscribe", "args": ["order", "wallet"]}))
            await _next(ws, lambda m: m.get("op") == "subscribe")
            stepped.faults.pause_user_stream(True)
            try:
                await asyncio.to_thread(
                    stepped.call,
                    lambda: stepped.core.place_order(
                        account, "BTCUSDT", "buy", "market", quantity="0.01"
                    ),
                )
                await asyncio.to_thread(stepped.call, lambda: None)  # events reached the face
                await ws.send_str(json.dumps({"op": "ping", "req_id": "held"}))
                early: list[dict[str, Any]] = []
                await _next(ws, lambda m: early.append(m) is None and m.get("op") == "pong")
                assert not [m for m in early if "topic" in m]
            finally:
                stepped.faults.pause_user_stream(False)
            filled = await _next(
                ws, lambda m: m.get("topic") == "order" and m["data"][0]["orderStatus"] == "Filled"
            )
            assert filled["data"][0]["symbol"] == "BTCUSDT"
            await ws.close()

    run(body)


def test_depth_faults_show_as_gaps_and_repeats_in_u(stepped: SimExchange) -> None:
    async def body() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(stepped.ws_url + "/v5/public/spot")
            topic = "orderbook.50.BTCUSDT"
            await ws.send_str(json.dumps({"op": "subscribe", "args": [topic]}))
            snap = await _next(ws, lambda m: m.get("type") == "snapshot")
            try:
                stepped.faults.set_depth_faults(drop=1.0)
                await asyncio.to_thread(stepped.advance, 2)
                stepped.faults.set_depth_faults(duplicate=1.0)
                await asyncio.to_thread(stepped.advance, 2)
            finally:
                stepped.faults.set_depth_faults()
            first = await _next(ws, lambda m: m.get("type") == "delta")
            again = await _next(ws, lambda m: m.get("type") == "delta")
            assert first["data"]["u"] > snap["data"]["u"] + 1  # the dropped ones left a gap
            assert again == first  # a duplicate repeats the frame, u included
            await ws.close()

    run(body)
