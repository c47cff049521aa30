"""The seed faces: ``create_<exchange>_engine``, ``real_trade.common``, the alias modules and
backtrader's own namespaces all lead to the one implementation, with the seeds' defaults.

Against the simulator where data flows (Binance, Bybit and OKX spot, each through its own face
on one simulator, reached through ``RT_SIM_URL``); generic ccxt venues only as far as
construction goes, which needs no network.
"""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import backtrader as bt
import pytest

import real_trade
import real_trade.common as common
from real_trade.binance import create_binance_engine
from real_trade.brokers import (
    BaseBroker,
    BinanceBroker,
    BybitBroker,
    CCXTBroker,
    OKXBroker,
)
from real_trade.bybit import create_bybit_engine
from real_trade.common.engine_factory import create_engine
from real_trade.errors import ConfigError
from real_trade.feeds import BaseData, BaseWebSocket, BinanceData, BybitData, CCXTData, OKXData
from real_trade.okx import create_okx_engine
from real_trade.sim import SimExchange, SyntheticMarket
from real_trade.sim.okx.auth import DEFAULT_PASSPHRASE
from real_trade.stores import BaseStore, BinanceStore, BybitStore, CCXTStore, OKXStore

pytestmark = pytest.mark.integration
SYMBOL = "BTC/USDT"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator with two days of BTC/USDT history (time moves only on advance),
    speaking Binance, Bybit and OKX."""
    market = SyntheticMarket(("BTCUSDT",), seed=13, history_days=2, tick_ms=5000)
    faces = ["binance", "bybit", "okx"]
    with SimExchange(market=market, stepped=True, seed=13, faces=faces) as exchange:
        exchange.advance(60)
        yield exchange


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


def _utc_ms(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).replace(tzinfo=None)


class _BuyOnce(bt.Strategy):
    """Buys ``size`` on the first bar and remembers every bar's open time."""

    params = (("size", 0.01),)

    def __init__(self) -> None:
        self.stamps: list[float] = []

    def next(self) -> None:
        self.stamps.append(self.data.datetime[0])
        if len(self.stamps) == 1:
            self.buy(size=self.p.size)


# -- create_<venue>_engine against the simulator ------------------------------------------------
VENUES = [
    pytest.param(create_binance_engine, (BinanceStore, BinanceBroker, BinanceData), id="binance"),
    pytest.param(create_bybit_engine, (BybitStore, BybitBroker, BybitData), id="bybit"),
    pytest.param(create_okx_engine, (OKXStore, OKXBroker, OKXData), id="okx"),
]


@pytest.mark.parametrize(("factory", "classes"), VENUES)
def test_create_engine_backtests_on_paper_against_the_simulator(
    factory: Callable[..., Any],
    classes: tuple[type, ...],
    sim: SimExchange,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RT_SIM_URL", sim.url)
    store, broker, data = factory(
        symbol=SYMBOL, timeframe="4h", testnet=True, backtest=True, history_bars=30
    )
    assert (type(store), type(broker), type(data)) == classes
    assert store.mode == "sim" and store.testnet and store.market_type == "spot"
    assert broker.p.paper_trading, "paper trading is the default"
    assert data.p.historical and not data.islive(), "backtest=True is a history-only feed"
    assert data.ccxt_timeframe == "4h" and data.store is store and broker.store is store

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.setbroker(broker)
    cerebro.adddata(data)
    cerebro.addstrategy(_BuyOnce)
    (strategy,) = cerebro.run()

    stamps = strategy.stamps
    assert len(stamps) >= 10 and len(stamps) <= 30, "history_bars bounds the backfill"
    gaps = {round((b - a) * 24, 6) for a, b in itertools.pairwise(stamps)}
    assert gaps == {4.0}, "every 4h candle in order, once, none missing"
    recent = [bt.date2num(_utc_ms(row[0])) for row in store.fetch_ohlcv(SYMBOL, "4h", None, 3)]
    assert stamps[-1] in recent[-2:], "history reaches the last closed candle"
    assert broker.getposition(data).size > 0, "the paper broker filled the buy"
    assert broker.getcash() < 10_000.0


@pytest.mark.parametrize(("factory", "classes"), VENUES)
def test_create_engine_live_broker_uses_the_account_of_its_keys(
    factory: Callable[..., Any],
    classes: tuple[type, ...],
    sim: SimExchange,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RT_SIM_URL", sim.url)
    key, secret = sim.create_account({"USDT": 1234.5}, futures_balances={})
    extra = {"passphrase": DEFAULT_PASSPHRASE} if classes[0] is OKXStore else {}
    store, broker, data = factory(
        apikey=key,
        secret=secret,
        symbol=SYMBOL,
        timeframe="1h",
        testnet=True,
        paper_trading=False,
        backtest=False,
        **extra,
    )
    assert type(store) is classes[0] and not broker.p.paper_trading
    assert data.islive() and not data.p.historical and data.ccxt_timeframe == "1h"
    assert store.get_balance("USDT") == 1234.5, "the keys reach the simulator's account"
    again, _, _ = factory(apikey=key, secret=secret, testnet=True, **extra)
    assert again is store, "one store per key, testnet flag and market type"
    assert type(store).get_instance(apikey=key, secret=secret, testnet=True, **extra) is store


def test_create_binance_engine_refuses_live_trading_without_keys() -> None:
    with pytest.raises(ConfigError) as caught:
        create_binance_engine(paper_trading=False)
    assert caught.value.field == "apikey"


def test_create_binance_engine_honours_market_type_and_feed_options() -> None:
    spot, _, _ = create_binance_engine()
    store, broker, data = create_binance_engine(
        symbol="ETH/USDT", timeframe="15m", market_type="future", history_bars=50
    )
    assert store is not spot and store.market_type == "future"
    assert store.mode == "live" and not store.testnet, "the seed's default is not the testnet"
    assert broker.p.paper_trading and data.islive()
    assert data.symbol == "ETH/USDT" and data.ccxt_timeframe == "15m"
    assert data.p.history_bars == 50, "extra keywords go to the data feed"
    assert not store.is_connected and not store.client.is_started, "construction only"
    with pytest.raises(ConfigError) as caught:
        create_binance_engine(no_such_option=1)
    assert caught.value.field == "no_such_option"


# -- Bybit and OKX ----------------------------------------------------------------------------
def test_a_venue_without_a_simulator_face_refuses_rt_sim_url(
    sim: SimExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RT_SIM_URL", sim.url)
    with pytest.raises(ConfigError) as caught:
        create_engine("kraken", symbol=SYMBOL, timeframe="1h", testnet=True)
    assert caught.value.field == "sim_url"
    assert "Kraken" in str(caught.value) and "RT_SIM_URL" in str(caught.value)


@pytest.mark.parametrize(
    ("factory", "classes", "mode"),
    [
        (create_bybit_engine, (BybitStore, BybitBroker, BybitData), "testnet"),
        (create_okx_engine, (OKXStore, OKXBroker, OKXData), "demo"),
    ],
    ids=["bybit", "okx"],
)
def test_bybit_and_okx_engines_build_paper_engines_without_network(
    factory: Callable[..., Any], classes: tuple[type, ...], mode: str
) -> None:
    store, broker, data = factory(symbol=SYMBOL, timeframe="1h", testnet=True)
    assert (type(store), type(broker), type(data)) == classes
    assert store.mode == mode and broker.p.paper_trading and data.islive()
    assert not store.client.is_started, "construction only"


def test_okx_engine_names_the_missing_passphrase_and_takes_one() -> None:
    with pytest.raises(ConfigError) as caught:
        create_okx_engine(apikey="okx-key-0001", secret="okx-secret", testnet=True)
    assert caught.value.field == "passphrase"
    store, _, _ = create_okx_engine(
        apikey="okx-key-0001", secret="okx-secret", passphrase="okx-pass", testnet=True
    )
    assert store.client.has_credentials
    assert "okx-secret" not in repr(store) and "okx-pass" not in repr(store)


# -- a generic ccxt venue ---------------------------------------------------------------------
def test_create_engine_builds_the_generic_ccxt_classes_for_any_exchange() -> None:
    store, broker, data = create_engine("kraken", symbol="BTC/USD", timeframe="1h")
    assert (type(store), type(broker), type(data)) == (CCXTStore, CCXTBroker, CCXTData)
    assert store.venue_spec.name == "kraken" and store.venue_spec.ccxt_id == "kraken"
    assert broker.p.paper_trading and data.islive() and data.symbol == "BTC/USD"
    assert not store.client.is_started, "construction only"
    again, _, _ = create_engine("Kraken", symbol="BTC/USD")
    assert again is store, "the venue name is not case-sensitive"
    with pytest.raises(ConfigError) as caught:
        create_engine("krakenn")
    assert caught.value.field == "exchange" and "kraken" in str(caught.value)


# -- the names the seeds use ------------------------------------------------------------------
def test_real_trade_common_names_the_primary_classes() -> None:
    assert common.BaseStore is BaseStore
    assert common.BaseBroker is BaseBroker
    assert common.BaseData is BaseData
    assert common.BaseWebSocket is BaseWebSocket
    assert common.create_engine is create_engine
    assert set(common.__all__) >= {"BaseStore", "BaseBroker", "BaseData", "BaseWebSocket"}


@pytest.mark.parametrize(
    ("module", "name", "primary"),
    [
        ("real_trade.common.base_store", "BaseStore", BaseStore),
        ("real_trade.common.base_broker", "BaseBroker", BaseBroker),
        ("real_trade.common.base_data", "BaseData", BaseData),
        ("real_trade.common.base_websocket", "BaseWebSocket", BaseWebSocket),
        ("real_trade.binance.store", "BinanceStore", BinanceStore),
        ("real_trade.binance.broker", "BinanceBroker", BinanceBroker),
        ("real_trade.binance.datafeed", "BinanceData", BinanceData),
        ("real_trade.binance", "BinanceStore", BinanceStore),
        ("real_trade.bybit", "BybitData", BybitData),
        ("real_trade.okx", "OKXBroker", OKXBroker),
    ],
)
def test_alias_modules_import_the_one_implementation(module: str, name: str, primary: type) -> None:
    imported = importlib.import_module(module)
    assert getattr(imported, name) is primary
    assert name in imported.__all__


def test_backtrader_namespaces_hold_the_real_trade_classes() -> None:
    assert real_trade.__version__
    assert bt.stores.BinanceStore is BinanceStore
    assert bt.brokers.BinanceBroker is BinanceBroker
    assert bt.feeds.BinanceData is BinanceData
    assert bt.stores.CCXTStore is CCXTStore and bt.feeds.OKXData is OKXData


def test_backtrader_style_store_makes_its_feed_and_broker(sim: SimExchange) -> None:
    store = bt.stores.BinanceStore(apikey="", secret="", testnet=True, sim_url=sim.url)
    data = store.getdata(dataname="BTCUSDT", timeframe=bt.TimeFrame.Minutes, compression=60)
    broker = store.getbroker()
    assert isinstance(data, BinanceData) and data.ccxt_timeframe == "1h"
    assert data.symbol == SYMBOL, "the venue id became the unified symbol"
    assert isinstance(broker, BinanceBroker) and broker.p.paper_trading
    assert store is not BinanceStore.get_instance(testnet=True, sim_url=sim.url), (
        "constructing a store directly (seed 004) makes a new one; get_instance shares one"
    )
    store.stop()
