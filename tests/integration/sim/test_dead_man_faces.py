"""The exchange-side dead-man switch on each face, driven by unmodified ccxt.

Binance USDⓈ-M ``countdownCancelAll`` (per symbol), OKX ``cancel-all-after`` (the whole
account) and Bybit's disconnect protection (DCP: the window set over REST, armed when the last
private websocket subscribed to ``dcp`` closes) all arm the one countdown book of the core. The
simulators are stepped, so the countdown runs on the simulator's clock and ``advance`` expires it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any

import aiohttp
import ccxt
import pytest

from real_trade.sim.server import SimExchange

pytestmark = pytest.mark.integration
PERP = "BTC/USDT:USDT"


def _resting_buy(ex: Any, symbol: str, amount: float) -> Any:
    price = ex.fetch_ticker(symbol)["last"] * 0.8
    return ex.create_order(symbol, "limit", "buy", amount, ex.price_to_precision(symbol, price))


def test_binance_futures_countdown_cancels_the_symbol_once_it_expires() -> None:
    with SimExchange(stepped=True, seed=3, faces=["binance", "binance_futures"]) as sim:
        sim.advance(60)
        key, secret = sim.create_account({"USDT": 10_000})
        ex = ccxt.binanceusdm(sim.ccxt_config(key, secret, market_type="future"))
        ex.options["recvWindow"] = 60_000
        ex.milliseconds = lambda: sim.clock.now_ms()
        ex.load_markets()
        _resting_buy(ex, PERP, 0.01)
        answer = ex.fapiPrivatePostCountdownCancelAll({"symbol": "BTCUSDT", "countdownTime": 5000})
        assert answer == {"symbol": "BTCUSDT", "countdownTime": "5000"}
        sim.advance(3)
        ex.fapiPrivatePostCountdownCancelAll({"symbol": "BTCUSDT", "countdownTime": 5000})
        sim.advance(3)  # 6 s after the first arm, 3 s after the heartbeat: still resting
        assert len(ex.fetch_open_orders(PERP)) == 1
        sim.advance(3)
        assert ex.fetch_open_orders(PERP) == []
        assert [o["status"] for o in ex.fetch_orders(PERP)] == ["canceled"]
        # disarmed: a zero countdown leaves the next order alone
        _resting_buy(ex, PERP, 0.01)
        ex.fapiPrivatePostCountdownCancelAll({"symbol": "BTCUSDT", "countdownTime": 5000})
        ex.fapiPrivatePostCountdownCancelAll({"symbol": "BTCUSDT", "countdownTime": 0})
        sim.advance(10)
        assert len(ex.fetch_open_orders(PERP)) == 1
        with pytest.raises(ccxt.BadSymbol):
            ex.fapiPrivatePostCountdownCancelAll({"symbol": "NOPEUSDT", "countdownTime": 5000})


def test_okx_cancel_all_after_covers_spot_and_swap_and_refuses_out_of_range() -> None:
    with SimExchange(stepped=True, seed=31, faces=["okx"]) as sim:
        sim.advance(60)
        key, secret = sim.create_account({"USDT": 100_000, "BTC": 1})
        ex = ccxt.okx(sim.ccxt_config(key, secret, venue="okx"))
        ex.load_markets()
        _resting_buy(ex, "BTC/USDT", 0.01)
        _resting_buy(ex, PERP, 1)
        with pytest.raises(ccxt.ExchangeError, match="51000"):
            ex.privatePostTradeCancelAllAfter({"timeOut": "5"})
        answer = ex.privatePostTradeCancelAllAfter({"timeOut": "10"})
        assert int(answer["data"][0]["triggerTime"]) == sim.clock.now_ms() + 10_000
        sim.advance(9)
        assert len(ex.fetch_open_orders()) == 2
        sim.advance(2)
        assert ex.fetch_open_orders("BTC/USDT") == [] and ex.fetch_open_orders(PERP) == []
        _resting_buy(ex, PERP, 1)
        ex.cancel_all_orders_after(30_000)  # ccxt's unified method sends timeOut in seconds
        assert ex.cancel_all_orders_after(0)["data"][0]["triggerTime"] == "0"
        sim.advance(40)
        assert len(ex.fetch_open_orders(PERP)) == 1


def _bybit_auth(key: str, secret: str) -> dict[str, Any]:
    expires = int(time.time() * 1000) + 10_000
    sign = hmac.new(secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256)
    return {"op": "auth", "args": [key, expires, sign.hexdigest()]}


async def _dcp_connection(sim: SimExchange, key: str, secret: str) -> tuple[Any, Any]:
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(f"{sim.ws_url}/v5/private")
    for msg in (_bybit_auth(key, secret), {"op": "subscribe", "req_id": "1", "args": ["dcp"]}):
        await ws.send_str(json.dumps(msg))
        reply = json.loads((await ws.receive(timeout=10)).data)
        assert reply["success"], reply
    return session, ws


def test_bybit_dcp_cancels_derivatives_when_the_private_stream_stays_down() -> None:
    with SimExchange(
        stepped=True,
        seed=25,
        symbols=("BTC/USDT", "ETH/USDT"),
        faces=["bybit"],
    ) as sim:
        sim.advance(60)
        key, secret = sim.create_account({"USDT": 100_000}, futures_balances={"USDT": 100_000})
        ex = ccxt.bybit(sim.ccxt_config(key, secret, venue="bybit"))
        ex.load_markets()
        eth = "ETH/USDT:USDT"
        with pytest.raises(ccxt.BadRequest):
            ex.privatePostV5OrderDisconnectedCancelAll({"product": "DERIVATIVES", "timeWindow": 2})
        ex.cancel_all_orders_after(10_000)  # ccxt: product DERIVATIVES, timeWindow 10 s
        _resting_buy(ex, eth, 0.1)
        _resting_buy(ex, "BTC/USDT", 0.001)  # spot: not covered by DERIVATIVES

        async def drop_and_come_back() -> None:
            session, ws = await _dcp_connection(sim, key, secret)
            await ws.close()
            await session.close()
            await asyncio.sleep(0)  # let the server see the close (no wait on time)
            assert await _countdown_armed(sim)
            sim.advance(5)
            session, ws = await _dcp_connection(sim, key, secret)  # back within the window
            sim.advance(20)
            assert len(ex.fetch_open_orders(eth)) == 1
            await ws.close()
            await session.close()
            assert await _countdown_armed(sim)

        asyncio.run(drop_and_come_back())
        sim.advance(11)
        assert ex.fetch_open_orders(eth) == []
        assert len(ex.fetch_open_orders("BTC/USDT")) == 1


async def _countdown_armed(sim: SimExchange) -> bool:
    core = sim.futures_core  # Bybit's linear perpetuals (DERIVATIVES) live in the futures core
    assert core is not None
    for _ in range(500):  # the server handles the close on its own loop: poll the core
        if core.countdowns.armed():
            return True
        await asyncio.sleep(0.01)
    return False
