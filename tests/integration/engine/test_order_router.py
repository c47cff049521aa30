"""``OrderRouter`` (seed 003) against two simulated venues: each order reaches the account that
trades its symbol, over loopback with the real ccxt client.

Venue A lists BTC/USDT only, venue B ETH/USDT only (both speak Binance, today's one venue face);
each account starts with 10,000 USDT and nothing else, so a fill shows on one account alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from real_trade.brokers import BinanceBroker
from real_trade.engine import OrderRouter
from real_trade.errors import BadSymbolError, ConfigError
from real_trade.sim import SimExchange
from real_trade.stores import BinanceStore

pytestmark = pytest.mark.integration


@dataclass
class Venues:
    btc_sim: SimExchange
    eth_sim: SimExchange
    btc: BinanceStore
    eth: BinanceStore


def _store(sim: SimExchange) -> BinanceStore:
    key, secret = sim.create_account({"USDT": 10_000})
    return BinanceStore(apikey=key, secret=secret, testnet=True, sim_url=sim.url)


@pytest.fixture(scope="module")
def venues() -> Iterator[Venues]:
    """Two stepped simulators with a funded account each."""
    with (
        SimExchange(symbols=("BTC/USDT",), stepped=True, seed=31) as btc_sim,
        SimExchange(symbols=("ETH/USDT",), stepped=True, seed=32) as eth_sim,
    ):
        btc_sim.advance(90)
        eth_sim.advance(90)
        btc, eth = _store(btc_sim), _store(eth_sim)
        try:
            yield Venues(btc_sim, eth_sim, btc, eth)
        finally:
            btc.stop()
            eth.stop()


def test_routes_each_symbol_to_the_venue_that_lists_it(venues: Venues) -> None:
    router = OrderRouter([venues.btc, venues.eth])
    assert list(router.accounts) == ["binance", "binance-2"]
    btc = router.route("BTCUSDT")  # a venue id works as well as the unified symbol
    assert (btc.name, btc.store, btc.symbol) == ("binance", venues.btc, "BTC/USDT")
    eth = router.route("ETH/USDT")
    assert (eth.name, eth.store, eth.symbol) == ("binance-2", venues.eth, "ETH/USDT")


def test_orders_fill_on_the_routed_account_only(venues: Venues) -> None:
    router = OrderRouter([venues.btc, venues.eth])
    eth_before = venues.eth.get_balance("ETH")
    order = router.place_order("ETH/USDT", "buy", 0.5)
    assert order["account"] == "binance-2" and order["filled"] == pytest.approx(0.5)
    assert router.get_order_status(order["id"], "ETHUSDT") == "closed"
    assert venues.eth.get_balance("ETH") > eth_before
    assert venues.btc.get_balance("ETH") == 0.0, "the other venue saw nothing"

    btc_before = venues.btc.get_balance("BTC")
    below = venues.btc.get_ticker("BTC/USDT")["last"] * 0.8
    resting = router.place_order("BTC/USDT", "buy", 0.01, "limit", below)
    assert resting["account"] == "binance"
    assert router.get_order_status(resting["id"], "BTC/USDT") == "open"
    router.cancel_order(resting["id"], "BTC/USDT")
    assert router.get_order_status(resting["id"], "BTC/USDT") == "canceled"
    assert venues.btc.get_balance("BTC") == btc_before


def test_an_unknown_symbol_names_each_venues_closest_symbols(venues: Venues) -> None:
    router = OrderRouter([venues.btc, venues.eth])
    with pytest.raises(BadSymbolError) as caught:
        router.route("SOL/USDT")
    text = str(caught.value)
    assert "SOL/USDT" in text and "binance:" in text and "binance-2:" in text
    assert "BTC/USDT" in text and "ETH/USDT" in text


def test_several_accounts_for_one_symbol_need_venue_or_explicit_symbols(venues: Venues) -> None:
    second = _store(venues.btc_sim)  # a second account on the BTC venue
    try:
        router = OrderRouter([venues.btc])
        assert router.add_account(second, name="hedge") == "hedge"
        with pytest.raises(ConfigError) as caught:
            router.route("BTC/USDT")
        assert "binance, hedge" in str(caught.value) and "venue=" in str(caught.value)
        assert router.route("BTC/USDT", venue="hedge").store is second

        explicit = OrderRouter([venues.btc])
        explicit.add_account(second, name="btc-desk", symbols=["BTCUSDT"])
        assert explicit.route("BTC/USDT").store is second, "an explicit assignment wins"
        with pytest.raises(ConfigError):
            explicit.route("BTC/USDT", venue="okx")
    finally:
        second.stop()


def test_a_broker_is_routed_by_its_store_and_anything_else_is_refused(venues: Venues) -> None:
    router = OrderRouter()
    with pytest.raises(ConfigError):
        router.route("BTC/USDT")
    router.add_account(BinanceBroker(venues.eth))
    assert router.route("ETH/USDT").store is venues.eth
    with pytest.raises(ConfigError) as caught:
        router.add_account(object())
    assert "not a venue account" in str(caught.value)
    with pytest.raises(ConfigError):
        router.add_account(venues.btc, symbols=[])
