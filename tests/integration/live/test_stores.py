"""Stores against the simulator: the RT_SIM_URL redirect, one instance per account under
concurrency, paper-safe public access, account queries, and secrets kept out of reprs and logs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from real_trade.bus import EventBus
from real_trade.errors import AuthenticationError, ConfigError
from real_trade.sim.server import SimExchange
from real_trade.stores import BaseStore, BinanceStore, BybitStore, CCXTStore, OKXStore
from real_trade.venues.retry import RetryPolicy

pytestmark = pytest.mark.integration
SYMBOL = "BTC/USDT"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator shared by this module."""
    with SimExchange(stepped=True, seed=5) as exchange:
        exchange.advance(30)
        yield exchange


@pytest.fixture(autouse=True)
def _fresh_instances(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No simulator redirect or system proxy leaks in; cached stores are stopped afterwards."""
    for name in ("RT_SIM_URL", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ALL_PROXY", raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    BaseStore.clear_instances()
    yield
    BaseStore.clear_instances()


@pytest.fixture
def account(sim: SimExchange) -> tuple[str, str]:
    """A fresh simulator account holding 50,000 USDT and 0.5 BTC."""
    return sim.create_account({"USDT": 50_000, "BTC": "0.5"})


def _store(sim: SimExchange, key: str | None = None, secret: str | None = None) -> BinanceStore:
    return BinanceStore(key, secret, sim_url=sim.url, bus=EventBus(synchronous=True))


def test_rt_sim_url_redirects_a_plain_testnet_store(
    sim: SimExchange, account: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RT_SIM_URL", sim.url)
    key, secret = account
    store = BinanceStore.get_instance(apikey=key, secret=secret, testnet=True)
    assert store.mode == "sim" and store.testnet
    assert store.get_balance("USDT") == 50_000.0  # the simulator's account, not a testnet's
    assert store.get_balance("BTC") == 0.5
    assert store.exchange.urls["api"]["public"].startswith(sim.url)


def test_get_instance_is_one_per_key_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RT_SIM_URL", "http://127.0.0.1:9")
    first = BinanceStore.get_instance("key-aaaaaaaaaaaa", "secret-aaaaaaaaaa")
    assert BinanceStore.get_instance("key-aaaaaaaaaaaa", "secret-aaaaaaaaaa") is first
    assert BinanceStore.get_instance("key-bbbbbbbbbbbb", "secret-bbbbbbbbbb") is not first
    assert BinanceStore.get_instance("key-aaaaaaaaaaaa", "s", testnet=True) is not first
    assert BinanceStore.get_instance("key-aaaaaaaaaaaa", "s", market_type="future") is not first


def test_get_instance_under_concurrent_callers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RT_SIM_URL", "http://127.0.0.1:9")
    barrier = threading.Barrier(16)
    got: list[BinanceStore] = []
    lock = threading.Lock()

    def caller(index: int) -> None:
        barrier.wait()
        store = BinanceStore.get_instance(f"key-{index % 2}-xxxxxxxx", "secret-xxxxxxxxxx")
        with lock:
            got.append(store)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(got) == 16
    assert len({id(store) for store in got}) == 2  # one per key, however the threads raced


def test_paper_safe_public_data_needs_no_keys(sim: SimExchange) -> None:
    store = _store(sim)
    store.start()
    assert store.is_connected and store.test_connection()
    assert store.get_ticker("BTCUSDT")["symbol"] == SYMBOL
    assert SYMBOL in store.get_markets()
    details = store.get_contract_details(SYMBOL)
    assert details["precision"]["amount"] and details["limits"]["amount"]["min"]
    bars = store.fetch_ohlcv(SYMBOL, "1m", limit=1_500)
    assert len(bars) == 1_500 and len({bar[0] for bar in bars}) == 1_500
    with pytest.raises(AuthenticationError, match="credentials"):
        store.get_balance()
    store.stop()
    store.stop()
    assert not store.is_connected
    store.start()  # a stopped store starts again
    assert store.is_connected
    store.stop()


def test_account_queries(sim: SimExchange, account: tuple[str, str]) -> None:
    store = _store(sim, *account)
    try:
        assert store.get_balance() == 50_000.0
        last = store.get_ticker(SYMBOL)["last"]
        assert store.get_total_value("USDT") == pytest.approx(50_000 + 0.5 * last)
        assert store.get_positions() == [{"symbol": SYMBOL, "size": 0.5, "price": None}]
        assert store.get_positions(["BTCUSDT"]) == [{"symbol": SYMBOL, "size": 0.5, "price": None}]
        order = store.client.create_order(SYMBOL, "limit", "buy", 0.01, last * 0.8)
        assert [o["id"] for o in store.get_open_orders(SYMBOL)] == [order["id"]]
        assert store.get_balance("USDT") < 50_000.0  # the order's quote is locked
    finally:
        store.stop()


def test_connection_test_reports_failure_without_raising(sim: SimExchange) -> None:
    dead = BinanceStore(
        sim_url="http://127.0.0.1:9", retry_policy=RetryPolicy(max_attempts=1), bus=None
    )
    try:
        assert dead.test_connection() is False
        assert not dead.is_connected
    finally:
        dead.stop()


def test_secrets_never_in_reprs_or_logs(
    sim: SimExchange, account: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key, secret = account
    store = BinanceStore(key, secret, sim_url=sim.url, retry_policy=RetryPolicy(base_delay=0.01))
    try:
        sim.faults.fail_next(1, "429", retry_after=0)  # a retry, which logs a warning
        assert store.get_balance() > 0
        wrong = BinanceStore(key, "wrong-secret-value-123", sim_url=sim.url)
        with pytest.raises(AuthenticationError) as info:
            wrong.get_balance()
        wrong.stop()
        texts = [repr(store), repr(store.client), str(info.value), caplog.text]
        assert "retrying" in caplog.text
        for text in texts:
            assert key not in text and secret not in text and "wrong-secret-value" not in text
        assert "BinanceStore(venue='binance', mode='sim'" in repr(store)
        assert key[-4:] in repr(store)
    finally:
        sim.faults.reset()
        store.stop()


def test_incomplete_credentials_name_the_missing_field(sim: SimExchange) -> None:
    with pytest.raises(ConfigError) as info:
        OKXStore("okx-key-123456", "okx-secret-123456")
    assert info.value.field == "passphrase"
    with pytest.raises(ConfigError) as info:
        BinanceStore("only-a-key-123456")
    assert info.value.field == "secret"
    okx = OKXStore()  # no keys: public data and paper trading
    assert okx.mode == "live" and okx.venue_spec.name == "okx"
    okx_demo = OKXStore("k" * 16, "s" * 16, passphrase="p" * 8, testnet=True)
    assert okx_demo.mode == "demo"


def test_venues_the_simulator_does_not_speak_are_refused(sim: SimExchange) -> None:
    assert BybitStore(sim_url=sim.url).mode == "sim"  # the Bybit face speaks it
    assert OKXStore(sim_url=sim.url).mode == "sim"  # and the OKX face
    with pytest.raises(ConfigError, match="Binance, Bybit and OKX only"):
        CCXTStore.get_instance(exchange="kraken", sim_url=sim.url)


def test_generic_store_for_any_ccxt_exchange() -> None:
    kraken = CCXTStore(exchange="kraken")
    assert kraken.venue_spec.ccxt_id == "kraken" and kraken.mode == "live"
    assert CCXTStore.get_instance(exchange="kraken") is CCXTStore.get_instance(exchange="Kraken")
    assert CCXTStore.get_instance(exchange="kraken") is not CCXTStore.get_instance(
        exchange="bitstamp"
    )
    with pytest.raises(ConfigError, match="kraken"):
        CCXTStore(exchange="krakn")
    with pytest.raises(ConfigError) as info:
        CCXTStore()
    assert info.value.field == "exchange"


def test_system_proxy_is_detected_but_never_used_for_the_simulator(
    sim: SimExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert BinanceStore._detect_system_proxy() == "http://proxy.example:3128"
    live = BinanceStore()
    assert live.proxy == "http://proxy.example:3128" and live.client.proxy == live.proxy
    assert BinanceStore(proxy="").proxy is None  # explicitly none
    simulated = _store(sim)
    assert simulated.proxy is None and simulated.client.proxy is None


def test_getdata_maps_the_venue_id_to_the_unified_symbol(sim: SimExchange) -> None:
    pytest.importorskip("real_trade.feeds", reason="the feeds package is not written yet")
    store = _store(sim)
    try:
        data = store.getdata(dataname="BTCUSDT")
        assert data.symbol == SYMBOL  # seed 000: BaseData.symbol
    finally:
        store.stop()


def test_getbroker_defaults_to_paper_trading(sim: SimExchange) -> None:
    pytest.importorskip("real_trade.brokers", reason="the brokers package is not written yet")
    store = _store(sim)
    try:
        broker = store.getbroker()
        assert broker.paper_trading is True
    finally:
        store.stop()
