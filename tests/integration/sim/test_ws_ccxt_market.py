"""ccxt.pro's Binance market-data watchers against the simulator's streams, over loopback.

The simulator is stepped: a background task moves market time while the watchers wait, so each
test sees real trades, klines and book changes produced by the core's matching engine.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import ccxt.pro as ccxtpro
import pytest
from ccxt.base.errors import ChecksumError, NetworkError

from real_trade.sim.server import SimExchange
from tests.support import eventually_async

pytestmark = pytest.mark.integration
T = TypeVar("T")
SYMBOL = "BTC/USDT"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator shared by the tests of this module."""
    with SimExchange(stepped=True, seed=11) as exchange:
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
async def client(sim: SimExchange) -> AsyncIterator[Any]:
    """A ccxt.pro binance client for the simulator (markets loaded; watchers return the whole
    cache rather than only the updates since the previous call)."""
    ex = ccxtpro.binance({**sim.ccxt_config(), "newUpdates": False})
    try:
        await ex.load_markets()
        yield ex
    finally:
        await ex.close()


@contextlib.asynccontextmanager
async def market_moving(sim: SimExchange, step: float = 1.0) -> AsyncIterator[None]:
    """Advance market time by ``step`` seconds over and over while the body runs (the pause
    between steps paces the market; it is not a wait for anything)."""

    async def mover() -> None:
        while True:
            await asyncio.to_thread(sim.advance, step)
            await asyncio.sleep(0.02)

    task = asyncio.create_task(mover())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_watch_trades_are_the_tape(sim: SimExchange) -> None:
    async def body() -> None:
        async with client(sim) as ex, market_moving(sim):
            trades = await ex.watch_trades(SYMBOL)
        assert trades
        tape = {t.trade_id: t for t in sim.core.recent_trades("BTCUSDT", 1000)}
        for trade in trades:
            core = tape[int(trade["id"])]
            assert trade["price"] == float(core.price)
            assert trade["amount"] == float(core.qty)
            assert trade["side"] == ("sell" if core.is_buyer_maker else "buy")
            assert trade["timestamp"] == core.time_ms

    run(body)


def test_watch_ohlcv_sees_the_closed_bar_and_the_next_one(sim: SimExchange) -> None:
    async def body() -> None:
        async with client(sim) as ex, market_moving(sim, step=5.0):
            candles = await ex.watch_ohlcv(SYMBOL, "1m")
            first_open = candles[-1][0]

            async def next_bar() -> list[list[float]] | None:
                got = await ex.watch_ohlcv(SYMBOL, "1m")
                return got if got[-1][0] != first_open else None

            candles = await eventually_async(next_bar, 15, interval=0, message="the next 1m bar")
        opens = [c[0] for c in candles]
        assert first_open + 60_000 in opens
        closed = candles[opens.index(first_open)]
        (core,) = sim.core.klines("BTCUSDT", "1m", start_ms=first_open, limit=1)
        assert core.is_closed
        assert closed == [
            first_open,
            float(core.open),
            float(core.high),
            float(core.low),
            float(core.close),
            float(core.volume),
        ]

    run(body)


@pytest.mark.parametrize("name", ["ticker", "miniTicker"])
def test_watch_ticker(sim: SimExchange, name: str) -> None:
    async def body() -> None:
        async with client(sim) as ex, market_moving(sim):
            ticker = await ex.watch_ticker(SYMBOL, {"name": name})
        info = ticker["info"]
        tape = {t.trade_id: t for t in sim.core.recent_trades("BTCUSDT", 5000)}
        assert ticker["symbol"] == SYMBOL
        assert info["e"] == ("24hrTicker" if name == "ticker" else "24hrMiniTicker")
        assert ticker["high"] >= ticker["last"] >= ticker["low"] > 0
        if name == "ticker":
            assert info["c"] == f"{tape[info['L']].price:.8f}"  # last price = last trade's
            assert Decimal(info["p"]) == Decimal(info["c"]) - Decimal(info["o"])
            assert ticker["bid"] < ticker["ask"]
        else:
            assert info["c"] in {f"{t.price:.8f}" for t in tape.values()}

    run(body)


async def book_equals_core(ex: Any, sim: SimExchange, levels: int = 20) -> None:
    """Let the client catch up with the core, then check its book equals ``core.depth()``.

    While the client's book (ccxt's own, built from the REST snapshot and the diff stream) is
    behind the core, move the market one second and wait for the next update.
    """

    async def caught_up() -> bool:
        ob = ex.orderbooks.get(SYMBOL)
        snap = await asyncio.to_thread(sim.core.depth, "BTCUSDT", levels)
        if ob is not None and ob["nonce"] == snap.last_update_id:
            bids = [[float(p), float(q)] for p, q in snap.bids]
            asks = [[float(p), float(q)] for p, q in snap.asks]
            assert [list(x) for x in ob["bids"][:levels]] == bids
            assert [list(x) for x in ob["asks"][:levels]] == asks
            return True
        assert ob is None or ob["nonce"] is None or ob["nonce"] < snap.last_update_id
        await asyncio.to_thread(sim.advance, 1)
        with contextlib.suppress(ChecksumError):  # a gap from earlier faults: ccxt resyncs
            await ex.watch_order_book(SYMBOL)
        return False

    await eventually_async(caught_up, 20, interval=0, message="the client's book at the core's")


def test_watch_order_book_syncs_snapshot_and_diffs(sim: SimExchange) -> None:
    async def body() -> None:
        async with client(sim) as ex:
            async with market_moving(sim):
                first = await ex.watch_order_book(SYMBOL)
                start_nonce = first["nonce"]

                async def diffed() -> bool:
                    return bool((await ex.watch_order_book(SYMBOL))["nonce"] != start_nonce)

                await eventually_async(
                    diffed, 15, interval=0, message="a diff applied on the snapshot"
                )
            await book_equals_core(ex, sim)

    run(body)


def test_watch_order_book_recovers_from_dropped_and_reordered_diffs(sim: SimExchange) -> None:
    async def body() -> None:
        async with client(sim) as ex:
            await book_equals_core(ex, sim)
            sim.faults.set_depth_faults(drop=0.3, reorder=0.3)
            gaps = 0

            async def two_gaps() -> bool:
                nonlocal gaps
                try:
                    await ex.watch_order_book(SYMBOL)
                except ChecksumError:
                    gaps += 1  # ccxt saw the gap in U/u and will resync from a snapshot
                return gaps >= 2

            async with market_moving(sim):
                await eventually_async(two_gaps, 30, interval=0, message="two gaps seen by ccxt")
            injected = dict(sim.faults.injected)
            assert injected.get("depth:drop", 0) + injected.get("depth:reorder", 0) >= 1
            sim.faults.set_depth_faults()
            await book_equals_core(ex, sim)

    run(body, timeout=45)


def stream_clients(ex: Any) -> list[Any]:
    """ccxt's websocket clients connected to the simulator's market-stream endpoint."""
    return [c for url, c in ex.clients.items() if "/stream/ws/" in url]


def test_streams_resume_after_drop_connections(sim: SimExchange) -> None:
    async def body() -> None:
        async with client(sim) as ex:
            async with market_moving(sim):
                await ex.watch_trades(SYMBOL)
            (old,) = stream_clients(ex)
            assert sim.faults.drop_connections(1006) >= 1
            await eventually_async(old.closed, 5, message="ccxt sees the drop")
            mark = sim.core.recent_trades("BTCUSDT", 1)[-1].trade_id

            async def new_trade() -> bool:
                try:
                    trades = await ex.watch_trades(SYMBOL)
                except NetworkError:
                    return False  # the watch pending at the drop; the next call reconnects
                return any(int(t["id"]) > mark for t in trades)

            async with market_moving(sim):
                await eventually_async(new_trade, 15, interval=0, message="a trade after the drop")
            (new,) = stream_clients(ex)
            assert new is not old and not new.closed()

    run(body)
