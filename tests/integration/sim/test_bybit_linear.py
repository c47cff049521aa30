"""ccxt's unmodified ``bybit`` trading a linear perpetual on the simulator's Bybit v5 face:
markets by category, leverage (and Bybit's no-op refusal), positions, reduce-only closes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import ccxt
import ccxt.pro as ccxtpro
import pytest

from real_trade.sim.server import SimExchange

pytestmark = pytest.mark.integration
PERP = "ETH/USDT:USDT"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """BTCUSDT spot and ETHUSDT as a linear perpetual, in real time."""
    with SimExchange(
        seed=25, symbols=("BTC/USDT", "ETH/USDT"), perpetuals=("ETH/USDT",), faces=["bybit"]
    ) as exchange:
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
    assert "ETH/USDT" not in bybit.markets and "BTC/USDT:USDT" not in bybit.markets
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
