"""The one factory (``real_trade.engine.factory``) and the simulator redirect as a config field.

Construction only: building a store, a broker and feeds touches no network.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import real_trade.engine.factory as factory
from real_trade.bus import EventBus
from real_trade.common.engine_factory import create_engine
from real_trade.config import RealTradeConfig
from real_trade.errors import ConfigError
from real_trade.stores import BaseStore, BinanceStore, CCXTStore
from real_trade.venues import KNOWN_VENUES, VenueSpec
from real_trade.venues.urls import effective_sim_url

SIM_A = "http://127.0.0.1:7101"
SIM_B = "http://127.0.0.1:7102"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No simulator redirect or system proxy leaks in; cached stores are stopped afterwards."""
    for name in ("RT_SIM_URL", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ALL_PROXY", raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    BaseStore.clear_instances()
    yield
    BaseStore.clear_instances()


# -- the venue's classes -----------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(KNOWN_VENUES))
def test_every_venue_of_the_table_gets_its_own_classes(name: str) -> None:
    classes = factory.venue_classes(name.upper())
    spec = KNOWN_VENUES[name]
    assert classes.store.venue is spec and classes.ccxt_id is None
    assert classes.broker.__name__ == f"{spec.display_name}Broker"
    assert classes.data.venue_name == name


def test_any_other_ccxt_id_gets_the_generic_classes() -> None:
    classes = factory.venue_classes(" Kraken ")
    assert classes.store is CCXTStore and classes.ccxt_id == "kraken"
    assert (classes.broker.__name__, classes.data.__name__) == ("CCXTBroker", "CCXTData")


def test_a_venue_added_to_the_table_without_classes_falls_back_to_ccxt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kraken = VenueSpec(name="kraken", ccxt_id="kraken", display_name="Kraken")
    monkeypatch.setattr(factory, "KNOWN_VENUES", {**KNOWN_VENUES, "kraken": kraken})
    classes = factory.venue_classes("kraken")
    assert classes.store is CCXTStore and classes.ccxt_id == "kraken"


def test_a_store_makes_its_feed_and_broker_through_the_factory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    binance = BinanceStore(sim_url=SIM_A, bus=EventBus(synchronous=True))
    kraken = CCXTStore(exchange="kraken", bus=EventBus(synchronous=True))
    for store in (binance, kraken):
        monkeypatch.setattr(store.client, "symbol_of", str)  # no markets to load: no network
        classes = factory.venue_classes(store.venue_spec.name)
        assert type(store.getbroker()) is classes.broker
        assert type(store.getdata(dataname="BTC/USDT")) is classes.data
    assert type(kraken.getbroker()).__name__ == "CCXTBroker"


# -- the store ---------------------------------------------------------------------------------
def test_a_paper_store_gets_no_keys_unless_asked() -> None:
    config = RealTradeConfig(apikey="paper-key-0001", secret="paper-secret", sim_url=SIM_A)
    store = factory.build_store(config, bus=EventBus(synchronous=True))
    assert isinstance(store, BinanceStore) and store.apikey is None and store.mode == "sim"
    keyed = factory.build_store(config, bus=EventBus(synchronous=True), keys=True)
    assert keyed.apikey == "paper-key-0001" and keyed.secret == "paper-secret"
    assert keyed is not store


def test_a_testnet_store_gets_the_keys_and_shared_means_get_instance() -> None:
    config = RealTradeConfig(
        apikey="tn-key-0001", secret="tn-secret", testnet=True, paper_trading=False
    )
    store = factory.build_store(config, shared=True)
    assert store.apikey == "tn-key-0001" and store.testnet and store.mode == "testnet"
    assert factory.build_store(config, shared=True) is store
    assert BinanceStore.get_instance("tn-key-0001", "tn-secret", True) is store


# -- the three layers --------------------------------------------------------------------------
def test_build_components_gives_the_broker_the_config_and_one_feed_per_symbol() -> None:
    config = RealTradeConfig(
        symbol="BTC/USDT",
        timeframe="15m",
        initial_cash=2_500.0,
        commission=0.0005,
        sim_url=SIM_A,
        run={"symbols": ["BTC/USDT", "ETH/USDT"], "history_bars": 30},
    )
    parts = factory.build_components(
        config, name="sma", bus=EventBus(synchronous=True), feed_options={"qcheck": 0.05}
    )
    broker = parts.broker
    assert broker.store is parts.store and broker.p.paper_trading
    assert (broker.p.initial_cash, broker.p.commission, broker.p.run_id) == (2_500.0, 0.0005, "sma")
    assert [d.symbol for d in parts.datas] == ["BTC/USDT", "ETH/USDT"]
    assert all(d.store is parts.store and d.ccxt_timeframe == "15m" for d in parts.datas)
    assert all(d.p.history_bars == 30 and d.p.qcheck == 0.05 for d in parts.datas)


def test_the_seed_factory_is_the_same_factory() -> None:
    store, broker, data = create_engine("binance", "seed-key-0001", "seed-secret", backtest=True)
    config = RealTradeConfig(apikey="seed-key-0001", secret="seed-secret")
    assert factory.build_store(config, keys=True, shared=True) is store
    assert broker.p.paper_trading and broker.p.initial_cash == config.initial_cash
    assert data.p.historical and data.symbol == config.symbol


def test_the_seed_factory_checks_its_arguments_as_the_config_does() -> None:
    with pytest.raises(ConfigError) as caught:
        create_engine("binance", timeframe="7m")
    assert caught.value.field == "timeframe"


# -- RT_SIM_URL: read by the config system, once -----------------------------------------------
def test_a_store_built_without_a_config_honours_rt_sim_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RT_SIM_URL", SIM_A + "/")
    store = BinanceStore.get_instance()
    assert store.mode == "sim" and store.sim_url == SIM_A


def test_the_config_field_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RT_SIM_URL", SIM_A)
    store = factory.build_store(RealTradeConfig(sim_url=SIM_B))
    assert store.sim_url == SIM_B
    assert RealTradeConfig.load(env={"RT_SIM_URL": SIM_A}, sim_url=SIM_B).sim_url == SIM_B
    assert RealTradeConfig.load(env={"RT_SIM_URL": SIM_A}).sim_url == SIM_A


def test_the_environment_is_read_through_the_config_system(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every store's redirect comes from ``RealTradeConfig.env_sim_url``: replace it, and the
    store follows, though the process environment says nothing."""
    seen: list[object] = []

    def env_sim_url(cls: type, env: object = None) -> str:
        seen.append(env)
        return SIM_B

    monkeypatch.setattr(RealTradeConfig, "env_sim_url", classmethod(env_sim_url))
    assert BinanceStore.get_instance().sim_url == SIM_B
    assert effective_sim_url() == SIM_B and seen


def test_a_bad_rt_sim_url_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RT_SIM_URL", "127.0.0.1:8765")
    with pytest.raises(ConfigError) as caught:
        BinanceStore.get_instance()
    assert caught.value.field == "sim_url" and "RT_SIM_URL" in str(caught.value)
    assert RealTradeConfig.env_sim_url({"RT_SIM_URL": "  "}) is None
    assert RealTradeConfig.env_sim_url({"rt_sim_url": SIM_A}) == SIM_A
