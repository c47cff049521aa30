"""ccxt's unmodified ``bybit`` trading a linear perpetual on the simulator's Bybit v5 face:
markets by category (spot over the main core, linear over the futures core, the same symbol in
both), leverage (and Bybit's no-op refusal), positions, reduce-only closes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import ccxt
import ccxt.pro as ccxtpro
import pytest

from real_trade.sim.server import SimExchange
from tests.support import eventually_async

pytestmark = pytest.mark.integration
PERP = "ETH/USDT:USDT"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """BTCUSDT and ETHUSDT, each spot and a linear perpetual, in real time."""
    with SimExchange(seed=25, symbols=("BTC/USDT", "ETH/USDT"), faces=["bybit"]) as exchange:
        yield exchange


@pytest.fixture()
def bybit(sim: SimExchange) -> Any:
    """A ccxt bybit client with a fresh funded unified account."""
    key, secret = sim.create_account({"USDT": 100_000})
    ex = ccxt.bybit(sim.ccxt_config(key, secret, venue="bybit"))
    ex.load_markets()
    return ex


def test_categories_split_spot_and_linear(bybit: Any) -> None:
    assert bybit.market("BTC/USDT")["spot"]
    perp = bybit.market(PERP)
    assert perp["swap"] and perp["linear"] and perp["settle"] == "USDT" and perp["id"] == "ETHUSDT"
    assert bybit.market("ETH/USDT")["spot"] and bybit.market("BTC/USDT:USDT")["linear"]
    ticker = bybit.fetch_ticker(PERP)
    assert ticker["symbol"] == PERP and ticker["markPrice"] > 0


def test_leverage_position_and_reduce_only_close(bybit: Any) -> None:
    bybit.set_leverage(5, PERP)
    with pytest.raises(ccxt.BadRequest) as info:  # Bybit refuses an unchanged leverage
        bybit.set_leverage(5, PERP)
    assert "110043" in str(info.value)
    bybit.create_order(PERP, "market", "buy", 0.5)
    (pos,) = [p for p in bybit.fetch_positions([PERP]) if p["contracts"]]
    assert pos["symbol"] == PERP and pos["side"] == "long" and pos["contracts"] == 0.5
    assert pos["leverage"] == 5 and pos["entryPrice"] > 0
    closing = bybit.create_order(PERP, "market", "sell", 0.5, None, {"reduceOnly": True})
    assert closing["id"]
    assert not [p for p in bybit.fetch_positions([PERP]) if p["contracts"]]
    with pytest.raises(ccxt.InvalidOrder):  # nothing left to reduce
        bybit.create_order(PERP, "market", "sell", 0.5, None, {"reduceOnly": True})
    trades = bybit.fetch_my_trades(PERP)
    assert {t["symbol"] for t in trades} == {PERP} and len(trades) >= 2


def test_pro_watches_a_linear_ticker_on_the_linear_stream(sim: SimExchange) -> None:
    async def body() -> None:
        key, secret = sim.create_account({"USDT": 1_000})
        ex = ccxtpro.bybit(sim.ccxt_config(key, secret, venue="bybit"))
        try:
            ticker = await asyncio.wait_for(ex.watch_ticker(PERP), 20)
            assert ticker["symbol"] == PERP and ticker["markPrice"] > 0
            assert any(url.endswith("/v5/public/linear") for url in ex.clients)
        finally:
            await ex.close()

    asyncio.run(body())


def test_pro_private_stream_positions_and_orders_of_a_perpetual(sim: SimExchange) -> None:
    async def body() -> None:
        key, secret = sim.create_account({"USDT": 10_000})
        ex = ccxtpro.bybit(sim.ccxt_config(key, secret, venue="bybit"))
        try:
            await ex.load_markets()

            async def long_position() -> list[Any]:
                while True:  # the first answer may be the REST snapshot, still flat
                    found = await ex.watch_positions([PERP])
                    if any(p["symbol"] == PERP and p["contracts"] for p in found):
                        return found

            positions = asyncio.create_task(long_position())
            orders = asyncio.create_task(ex.watch_orders(PERP))

            def subscribed() -> bool:  # ("authenticated" is one of ccxt's subscriptions too)
                return any(
                    url.endswith("/v5/private")
                    and {k.split(":")[0] for k in c.subscriptions} >= {"orders", "positions"}
                    for url, c in ex.clients.items()
                )

            await eventually_async(subscribed, 10, message="position and order topics")
            placed = await ex.create_order(PERP, "market", "buy", 0.2)
            got_positions, got_orders = await asyncio.wait_for(
                asyncio.gather(positions, orders), 15
            )
            assert got_orders[-1]["id"] == placed["id"] and got_orders[-1]["symbol"] == PERP
            (pos,) = [p for p in got_positions if p["symbol"] == PERP and p["contracts"]]
            assert pos["contracts"] == 0.2 and pos["side"] == "long"
        finally:
            await ex.close()

    asyncio.run(body())
