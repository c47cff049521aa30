"""ccxt.pro's unmodified ``okx`` client and raw websockets against the simulator's OKX v5 face:
business candles, public books (``seqId``/``prevSeqId`` and the checksum), trades, the private
login and orders/balance/positions, and the text ``ping``/``pong``; on a stepped clock."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Iterator
from typing import Any

import aiohttp
import ccxt.pro as ccxtpro
import pytest

from real_trade.feeds.okxws import okx_login_message
from real_trade.sim.server import SimExchange

pytestmark = pytest.mark.integration
SPOT = "BTC/USDT"
SWAP = "BTC/USDT:USDT"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator serving the OKX face."""
    with SimExchange(seed=32, faces=["okx"], stepped=True) as exchange:
        yield exchange


@pytest.fixture(autouse=True)
def _reset_faults(sim: SimExchange) -> Iterator[None]:
    yield
    sim.faults.reset()


async def _advancing(sim: SimExchange, watch: Any, seconds: float = 5) -> Any:
    """Start ``watch`` (a coroutine), step the market until it resolves (at most 20 steps)."""
    task = asyncio.ensure_future(watch)
    for _ in range(20):
        await asyncio.sleep(0.02)
        if task.done():
            break
        await asyncio.to_thread(sim.advance, seconds)
    return await asyncio.wait_for(task, 10)


def test_ccxt_pro_public_streams(sim: SimExchange) -> None:
    async def run() -> None:
        ex = ccxtpro.okx(sim.ccxt_config(venue="okx"))
        try:
            await ex.load_markets()
            bars = await _advancing(sim, ex.watch_ohlcv(SPOT, "1m"), 61)
            assert bars[-1][0] % 60_000 == 0 and bars[-1][4] > 0
            book = await _advancing(sim, ex.watch_order_book(SPOT))
            nonces = [book["nonce"]]
            for _ in range(3):
                book = await _advancing(sim, ex.watch_order_book(SPOT))
                nonces.append(book["nonce"])
            assert nonces == sorted(nonces) and len(set(nonces)) == len(nonces)
            assert book["bids"][0][0] < book["asks"][0][0]
            swap_book = await _advancing(sim, ex.watch_order_book(SWAP))
            assert swap_book["bids"]
            trades = await _advancing(sim, ex.watch_trades(SPOT))
            assert trades and trades[0]["symbol"] == SPOT and trades[0]["amount"] > 0
            ticker = await _advancing(sim, ex.watch_ticker(SWAP))
            assert ticker["symbol"] == SWAP and ticker["last"] > 0
        finally:
            await ex.close()

    asyncio.run(run())


def test_ccxt_pro_private_streams(sim: SimExchange) -> None:
    key, secret = sim.create_account({"USDT": 100_000, "BTC": 1})

    async def run() -> None:
        ex = ccxtpro.okx(sim.ccxt_config(key, secret, venue="okx"))
        try:
            await ex.load_markets()
            orders = asyncio.ensure_future(ex.watch_orders())
            balance = asyncio.ensure_future(ex.watch_balance())
            await asyncio.sleep(0.3)
            placed = await ex.create_order(SPOT, "limit", "buy", 0.01, 30_000)
            seen = await asyncio.wait_for(orders, 10)
            assert seen[-1]["id"] == placed["id"] and seen[-1]["status"] == "open"
            bal = await asyncio.wait_for(balance, 10)
            assert bal["USDT"]["used"] > 0
            positions = asyncio.ensure_future(ex.watch_positions())
            fills = asyncio.ensure_future(ex.watch_my_trades(SWAP))
            await asyncio.sleep(0.3)
            short = await ex.create_order(SWAP, "market", "sell", 2)
            pos = await asyncio.wait_for(positions, 10)
            assert pos[-1]["symbol"] == SWAP and pos[-1]["side"] == "short"
            assert pos[-1]["contracts"] == 2
            trades = await asyncio.wait_for(fills, 10)
            assert trades[-1]["order"] == short["id"] and trades[-1]["amount"] > 0
        finally:
            await ex.close()

    asyncio.run(run())


def _checksum(bids: dict[str, str], asks: dict[str, str]) -> int:
    top_b = sorted(bids.items(), key=lambda kv: -float(kv[0]))[:25]
    top_a = sorted(asks.items(), key=lambda kv: float(kv[0]))[:25]
    parts: list[str] = []
    for i in range(25):
        if i < len(top_b):
            parts.extend(top_b[i])
        if i < len(top_a):
            parts.extend(top_a[i])
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


async def _recv_json(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await asyncio.wait_for(ws.receive(), 10)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    data: dict[str, Any] = json.loads(msg.data)
    return data


def test_raw_books_checksum_seq_and_ping(sim: SimExchange) -> None:
    async def run() -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(sim.ws_url + "/ws/v5/public") as ws,
        ):
            await ws.send_str("ping")
            pong = await asyncio.wait_for(ws.receive(), 10)
            assert pong.data == "pong"
            arg = {"channel": "books", "instId": "BTC-USDT"}
            await ws.send_json({"op": "subscribe", "args": [arg]})
            ack = await _recv_json(ws)
            assert ack["event"] == "subscribe" and ack["arg"] == arg
            bids: dict[str, str] = {}
            asks: dict[str, str] = {}
            prev = None
            updates = 0
            while updates < 5:
                msg = await _recv_json(ws)
                if "event" in msg:
                    assert msg["event"] == "subscribe"
                    continue
                data = msg["data"][0]
                if msg["action"] == "snapshot":
                    assert data["prevSeqId"] == -1
                    bids.clear()
                    asks.clear()
                else:
                    assert data["prevSeqId"] == prev
                    updates += 1
                for side, levels in ((bids, data["bids"]), (asks, data["asks"])):
                    for px, sz, _, _ in levels:
                        if float(sz) == 0:
                            side.pop(px, None)
                        else:
                            side[px] = sz
                assert data["checksum"] == _checksum(bids, asks)
                prev = data["seqId"]
                if updates < 5:
                    await asyncio.to_thread(sim.advance, 1)
            # candles live on /business: on /public they are an error
            await ws.send_json(
                {"op": "subscribe", "args": [{"channel": "candle1m", "instId": "BTC-USDT"}]}
            )
            while (err := await _recv_json(ws)).get("event") != "error":
                pass
            assert err["code"] == "60018"

    asyncio.run(run())


def test_raw_login_errors_and_private_needs_login(sim: SimExchange) -> None:
    key, secret = sim.create_account({"USDT": 100})
    password = sim.ccxt_config(venue="okx")["password"]

    async def run() -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(sim.ws_url + "/ws/v5/private") as ws,
        ):
            await ws.send_json(
                {"op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]}
            )
            assert (await _recv_json(ws))["code"] == "60011"
            await ws.send_json(okx_login_message(key, secret, "wrong"))
            assert (await _recv_json(ws))["code"] == "60024"
            await ws.send_json(okx_login_message(key, secret[::-1], password))
            assert (await _recv_json(ws))["code"] == "60007"
            await ws.send_json(okx_login_message(key, secret, password, 1_000_000))
            assert (await _recv_json(ws))["code"] == "60006"
            await ws.send_json(okx_login_message(key, secret, password))
            reply = await _recv_json(ws)
            assert reply["event"] == "login" and reply["code"] == "0"

    asyncio.run(run())


def test_depth_drop_shows_as_a_seq_gap_to_ccxt_pro(sim: SimExchange) -> None:
    async def run() -> None:
        ex = ccxtpro.okx(sim.ccxt_config(venue="okx"))
        try:
            await ex.load_markets()
            await _advancing(sim, ex.watch_order_book(SPOT))
            sim.faults.set_depth_faults(drop=1.0)
            await asyncio.to_thread(sim.advance, 2)  # updates lost: seqId moves on unseen
            sim.faults.set_depth_faults()
            with pytest.raises(ccxtpro.InvalidNonce):
                await _advancing(sim, ex.watch_order_book(SPOT), 1)
        finally:
            await ex.close()

    asyncio.run(run())


def test_paused_private_stream_delivers_in_order_on_resume(sim: SimExchange) -> None:
    key, secret = sim.create_account({"USDT": 10_000})
    password = sim.ccxt_config(venue="okx")["password"]
    account = sim.core.account_by_key(key)
    assert account is not None

    async def run() -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(sim.ws_url + "/ws/v5/private") as ws,
        ):
            await ws.send_json(okx_login_message(key, secret, password))
            assert (await _recv_json(ws))["event"] == "login"
            arg = {"channel": "orders", "instType": "SPOT"}
            await ws.send_json({"op": "subscribe", "args": [arg]})
            assert (await _recv_json(ws))["event"] == "subscribe"
            sim.faults.pause_user_stream()
            for price in ("30000", "30001"):
                sim.call(
                    lambda p=price: sim.core.place_order(
                        account,
                        "BTCUSDT",
                        "buy",
                        "limit",
                        quantity="0.01",
                        price=p,
                        time_in_force="gtc",
                    )
                )
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ws.receive(), 0.3)
            sim.faults.pause_user_stream(False)
            first, second = await _recv_json(ws), await _recv_json(ws)
            assert [first["data"][0]["px"], second["data"][0]["px"]] == ["30000", "30001"]

    asyncio.run(run())
