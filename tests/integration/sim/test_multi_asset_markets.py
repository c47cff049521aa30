"""Crypto AssetInfo from the venue's markets: the simulator's Binance spot and USD-M faces.

The markets come through ccxt (``exchange.market(symbol)``) and through the house's store
(``BaseStore.get_contract_details``), and the commission model is checked against the fee the
simulator charges on a real fill.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ccxt
import pytest

from real_trade.core.multi_asset import (
    AssetType,
    asset_info_from_market,
    commission_of,
)
from real_trade.errors import ConfigError
from real_trade.sim.server import SimExchange

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator serving Binance spot and USD-M perpetuals."""
    with SimExchange(stepped=True, seed=7, faces=["binance", "binance_futures"]) as exchange:
        exchange.advance(60)
        yield exchange


def _client(sim: SimExchange, market_type: str) -> Any:
    key, secret = sim.create_account({"USDT": 100_000})
    config = sim.ccxt_config(key, secret, market_type=market_type)
    config["options"]["recvWindow"] = 60_000
    ex = ccxt.binanceusdm(config) if market_type == "future" else ccxt.binance(config)
    ex.milliseconds = lambda: sim.clock.now_ms()
    ex.load_markets()
    return ex


def test_spot_market_is_crypto_with_the_venues_terms(sim: SimExchange) -> None:
    ex = _client(sim, "spot")
    market = ex.market("BTC/USDT")
    info = asset_info_from_market(market, exchange="binance")
    assert info.asset_type is AssetType.CRYPTO and info.stocklike and not info.perpetual
    assert (info.symbol, info.currency, info.exchange) == ("BTC/USDT", "USDT", "binance")
    assert info.tick_size == market["precision"]["price"] == 0.01
    assert info.lot_size == market["precision"]["amount"]
    assert info.commission_model.rate == market["taker"]
    with pytest.raises(ConfigError, match="spot"):
        asset_info_from_market(market, leverage=5)


def test_spot_fee_of_a_fill_matches_the_commission_model(sim: SimExchange) -> None:
    ex = _client(sim, "spot")
    info = asset_info_from_market(ex.market("BTC/USDT"), exchange="binance")
    order = ex.create_order("BTC/USDT", "market", "buy", 0.01)
    trades = ex.fetch_my_trades("BTC/USDT")
    assert trades and order["id"] == trades[-1]["order"]
    # the venue takes its fee in the bought asset (BTC): worth fee * price in USDT
    ours = sum(commission_of(info, t["amount"], t["price"]) for t in trades)
    theirs = sum(t["fee"]["cost"] * t["price"] for t in trades if t["fee"]["currency"] == "BTC")
    assert ours == pytest.approx(theirs, rel=1e-6)


def test_perpetual_market_is_a_linear_future(sim: SimExchange) -> None:
    ex = _client(sim, "future")
    market = ex.market("BTC/USDT:USDT")
    info = asset_info_from_market(market, exchange="binance", leverage=20)
    assert info.asset_type is AssetType.FUTURE and info.perpetual and not info.stocklike
    assert info.contract_size == market["contractSize"] == 1.0
    assert info.currency == "USDT" and info.expiration_date is None
    assert info.margin_rate == pytest.approx(0.05)
    price = float(ex.fetch_ticker("BTC/USDT:USDT")["last"])
    assert info.margin_requirement(price, 0.5) == pytest.approx(0.5 * price / 20)
    order = ex.create_order("BTC/USDT:USDT", "market", "buy", 0.01)
    trades = [t for t in ex.fetch_my_trades("BTC/USDT:USDT") if t["order"] == order["id"]]
    assert trades
    ours = sum(commission_of(info, t["amount"], t["price"]) for t in trades)
    assert ours == pytest.approx(sum(t["fee"]["cost"] for t in trades), rel=1e-6)


def test_the_stores_contract_details_give_the_same_info(sim: SimExchange) -> None:
    from real_trade.stores import BinanceStore

    store = BinanceStore(sim_url=sim.url, market_type="future")
    try:
        store.start()
        details = store.get_contract_details("BTC/USDT:USDT")
    finally:
        store.stop()
    info = asset_info_from_market(details, exchange="binance")
    assert info.asset_type is AssetType.FUTURE and info.contract_size == 1.0
