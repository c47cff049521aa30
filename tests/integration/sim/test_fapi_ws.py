"""ccxt.pro (``binanceusdm``) watchers against the simulator's USDⓈ-M websockets.

Market streams on ``/fapi-ws/{public,market}/ws`` (kline, trades, depth diffs with ``pu``) and
user data on ``/fapi-ws/private/ws?listenKey=`` (``ORDER_TRADE_UPDATE``, ``ACCOUNT_UPDATE``,
``ALGO_UPDATE``). The simulator runs in real time; ccxt signs with the wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import ccxt.pro as ccxtpro
import pytest

from real_trade.sim.server import SimExchange

pytestmark = pytest.mark.integration
T = TypeVar("T")
SYMBOL = "BTC/USDT:USDT"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A real-time simulator serving spot and USD-M."""
    with SimExchange(seed=21, faces=["binance", "binance_futures"]) as exchange:
        yield exchange


def run(fn: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
    """Run an async test body with a hard timeout."""

    async def bounded() -> T:
        return await asyncio.wait_for(fn(), timeout)

    return asyncio.run(bounded())


@contextlib.asynccontextmanager
async def client(sim: SimExchange) -> AsyncIterator[Any]:
    """A ccxt.pro binanceusdm client with a fresh account holding 10 000 USDT of futures."""
    key, secret = sim.create_account({"USDT": 10_000})
    config = sim.ccxt_config(key, secret, market_type="future")
    config["options"]["adjustForTimeDifference"] = True
    ex = ccxtpro.binanceusdm(config)
    try:
        await ex.load_markets()
        yield ex
    finally:
        await ex.close()


def test_market_watchers(sim: SimExchange) -> None:
    async def body() -> None:
        async with client(sim) as ex:
            bars = await ex.watch_ohlcv(SYMBOL, "1m")
            assert bars and bars[-1][2] >= bars[-1][3]
            trades = await ex.watch_trades(SYMBOL)
            assert trades and trades[-1]["symbol"] == SYMBOL
            book = await ex.watch_order_book(SYMBOL)
            first = book["nonce"]
            assert book["bids"][0][0] < book["asks"][0][0]
            while book["nonce"] == first:  # diffs keep applying: pu matched every time
                book = await ex.watch_order_book(SYMBOL)
            assert book["nonce"] > first and book["bids"][0][0] < book["asks"][0][0]

    run(body)


def test_user_data_orders_positions_balance(sim: SimExchange) -> None:
    async def body() -> None:
        async with client(sim) as ex:
            orders = asyncio.ensure_future(ex.watch_orders(SYMBOL))
            balance = asyncio.ensure_future(ex.watch_balance())
            await ex.watch_positions([SYMBOL])  # the REST snapshot: flat
            positions = asyncio.ensure_future(ex.watch_positions([SYMBOL]))
            await asyncio.sleep(0.2)  # let the listen-key connection open
            placed = await ex.create_order(SYMBOL, "market", "sell", 0.01)
            seen = await orders
            assert seen[-1]["id"] == placed["id"]
            while seen[-1]["status"] != "closed":
                seen = await ex.watch_orders(SYMBOL)
            assert seen[-1]["filled"] == 0.01
            [pos] = await positions
            assert pos["side"] == "short" and pos["contracts"] == 0.01
            assert pos["entryPrice"] == pytest.approx(placed["average"])
            wallet = (await balance)["USDT"]["total"]
            assert 9_990 < wallet < 10_000  # the taker fee is paid

    run(body)


def test_conditional_orders_arrive_as_algo_updates(sim: SimExchange) -> None:
    async def body() -> None:
        async with client(sim) as ex:
            orders = asyncio.ensure_future(ex.watch_orders(SYMBOL))
            await asyncio.sleep(0.2)
            last = (await ex.fetch_ticker(SYMBOL))["last"]
            stop = await ex.create_order(
                SYMBOL,
                "STOP_MARKET",
                "buy",
                0.01,
                None,
                params={"triggerPrice": round(last * 1.2, 1)},
            )
            seen = await orders
            assert seen[-1]["id"] == stop["id"] and seen[-1]["status"] == "open"
            assert seen[-1]["info"]["aid"] == int(stop["id"])
            await ex.cancel_order(stop["id"], SYMBOL, params={"trigger": True})
            seen = await ex.watch_orders(SYMBOL)
            assert seen[-1]["status"] == "canceled"

    run(body)


def test_mark_price_stream(sim: SimExchange) -> None:
    async def body() -> None:
        ex = ccxtpro.binanceusdm(sim.ccxt_config(market_type="future"))
        try:
            await ex.load_markets()
            ticker = await ex.watch_mark_price(SYMBOL)
            assert ticker["info"]["e"] == "markPriceUpdate"
            assert ticker["markPrice"] > 0 and ticker["indexPrice"] > 0
            assert ticker["info"]["T"] % (8 * 3_600_000) == 0  # the next funding time
        finally:
            await ex.close()

    run(body)
