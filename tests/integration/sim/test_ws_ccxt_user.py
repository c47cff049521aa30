"""ccxt.pro's private Binance watchers and WebSocket API orders against the simulator.

ccxt.pro subscribes to spot user data with ``userDataStream.subscribe.signature`` on the
WebSocket API; the simulator runs in real time here (ccxt signs with the wall clock, corrected
by ``adjustForTimeDifference``) and orders fill against the core's synthetic market.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import ccxt.pro as ccxtpro
import pytest
from ccxt.base.errors import NetworkError

from real_trade.sim.server import SimExchange
from tests.support import eventually_async

pytestmark = pytest.mark.integration
T = TypeVar("T")
SYMBOL = "BTC/USDT"
ORDERS = f"orders:{SYMBOL}"  # ccxt's message hashes of the watchers used here


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A real-time simulator shared by the tests of this module."""
    with SimExchange(seed=13) as exchange:
        yield exchange


@pytest.fixture(autouse=True)
def _reset_faults(sim: SimExchange) -> Iterator[None]:
    yield
    sim.faults.reset()


def run(fn: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
    """Run an async test body with a hard timeout."""

    async def bounded() -> T:
        return await asyncio.wait_for(fn(), timeout)

    return asyncio.run(bounded())


@contextlib.asynccontextmanager
async def client(sim: SimExchange) -> AsyncIterator[tuple[Any, Any]]:
    """A ccxt.pro binance client with a fresh funded account; yields ``(exchange, account)``."""
    key, secret = sim.create_account({"USDT": 100_000, "BTC": 1})
    config = sim.ccxt_config(key, secret)
    config["options"]["adjustForTimeDifference"] = True
    ex = ccxtpro.binance(config)
    try:
        await ex.load_markets()
        yield ex, sim.core.account_by_key(key)
    finally:
        await ex.close()


async def watch_until(
    watch: Callable[[], Awaitable[T]], cond: Callable[[T], bool], what: str, timeout: float = 10.0
) -> T:
    """Call a ccxt watcher until its result satisfies ``cond`` (``what`` names it on failure)."""

    async def matching() -> T:
        while True:  # no pause between calls: ccxt reports only what arrives while one waits
            result = await watch()
            if cond(result):
                return result

    found: T = await eventually_async(matching, timeout, message=what)
    return found


def api_clients(ex: Any) -> list[Any]:
    """ccxt's websocket clients connected to the simulator's WebSocket API."""
    return [c for url, c in ex.clients.items() if url.endswith("/ws-api/v3")]


async def watching(ex: Any, *hashes: str, besides: Any = None) -> Any:
    """Wait until ccxt awaits every message hash in ``hashes`` on its WebSocket API connection
    (one other than ``besides``): the watchers are registered, so no event can pass them by.
    Returns that connection's client."""

    def registered() -> Any:
        return next(
            (
                c
                for c in api_clients(ex)
                if c is not besides and all(h in c.futures for h in hashes)
            ),
            None,
        )

    return await eventually_async(registered, 5, message=f"ccxt watching {hashes}")


@contextlib.asynccontextmanager
async def subscribed(ex: Any) -> AsyncIterator[None]:
    """Subscribe ccxt to the user-data stream (``authenticate`` returns once the WebSocket API
    confirmed it), then run a ``watch_orders`` in the background as an application would: it
    also prepares ccxt's balance cache, without which ccxt fails on the first
    ``outboundAccountPosition``."""
    await ex.authenticate({"type": "spot"})
    background = asyncio.create_task(ex.watch_orders(SYMBOL))
    await watching(ex, ORDERS)
    try:
        yield
    finally:
        background.cancel()
        with contextlib.suppress(asyncio.CancelledError, NetworkError):
            await background


def test_filled_limit_order_produces_order_trade_and_balance_events(sim: SimExchange) -> None:
    async def body() -> None:
        async with client(sim) as (ex, account), subscribed(ex):
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
            # the tasks run in the order they were created: once the last two are registered,
            # the orders watcher (sharing the background watcher's future) is too
            await watching(ex, ORDERS, f"myTrades:{SYMBOL}", "spot:balance")
            ask = (await ex.fetch_order_book(SYMBOL, 5))["asks"][0][0]
            placed = await ex.create_order(SYMBOL, "limit", "buy", 0.01, ask * 1.01)
            assert placed["status"] == "closed"

            final = (await orders)[-1]
            assert final["id"] == placed["id"] and final["filled"] == 0.01
            assert final["clientOrderId"] == placed["clientOrderId"]
            (trade, *_) = await trades
            assert trade["order"] == placed["id"] and trade["amount"] == 0.01
            assert trade["fee"]["currency"] == "BTC" and trade["fee"]["cost"] > 0
            (fill,) = sim.core.my_trades(account, "BTCUSDT", order_id=int(placed["id"]))
            assert int(trade["id"]) == fill.trade_id and trade["price"] == float(fill.price)
            bal = await balance
            core = sim.core.balances(account)
            assert Decimal(str(bal["BTC"]["free"])) == core["BTC"][0]
            assert Decimal(str(bal["USDT"]["free"])) == core["USDT"][0]

    run(body)


def test_orders_over_the_websocket_api(sim: SimExchange) -> None:
    async def body() -> None:
        async with client(sim) as (ex, account), subscribed(ex):
            bid = (await ex.fetch_order_book(SYMBOL, 5))["bids"][0][0]
            placed = await ex.create_order_ws(SYMBOL, "limit", "buy", 0.01, round(bid * 0.9, 2))
            assert placed["status"] == "open"
            fetched = await ex.fetch_order_ws(placed["id"], SYMBOL)
            assert fetched["status"] == "open" and fetched["id"] == placed["id"]
            (open_order,) = sim.core.open_orders(account, "BTCUSDT")
            assert str(open_order.order_id) == placed["id"]

            canceled_seen = asyncio.create_task(
                watch_until(
                    lambda: ex.watch_orders(SYMBOL),
                    lambda o: o[-1]["status"] == "canceled",
                    "the cancel on watch_orders",
                )
            )
            await asyncio.sleep(0)  # let the task await the orders future (already registered)
            canceled = await ex.cancel_order_ws(placed["id"], SYMBOL)
            assert canceled["status"] == "canceled"
            seen = (await canceled_seen)[-1]
            assert seen["id"] == placed["id"]
            assert seen["clientOrderId"] == placed["clientOrderId"]  # ccxt reads "C" for cancels
            assert sim.core.open_orders(account, "BTCUSDT") == []

    run(body)


def test_user_stream_resumes_after_drop_connections(sim: SimExchange) -> None:
    async def body() -> None:
        async with client(sim) as (ex, _account):
            await ex.authenticate({"type": "spot"})
            pending = asyncio.create_task(ex.watch_orders(SYMBOL))
            old = await watching(ex, ORDERS)
            assert sim.faults.drop_connections(1006) >= 1
            with pytest.raises(NetworkError):
                await pending  # the dropped connection fails the watcher waiting on it
            # the next call reconnects and subscribes again: ccxt.pro's own recovery
            await ex.authenticate({"type": "spot"})
            seen = asyncio.create_task(
                watch_until(
                    lambda: ex.watch_orders(SYMBOL),
                    lambda os: os[-1]["status"] == "open",
                    "the new order on watch_orders",
                )
            )
            new = await watching(ex, ORDERS, besides=old)
            assert api_clients(ex) == [new]
            bid = (await ex.fetch_order_book(SYMBOL, 5))["bids"][0][0]
            placed = await ex.create_order(SYMBOL, "limit", "buy", 0.01, round(bid * 0.9, 2))
            assert (await seen)[-1]["id"] == placed["id"]

    run(body)
