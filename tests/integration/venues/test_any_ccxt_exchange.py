"""Any ccxt exchange built on a protocol the simulator speaks, end to end: ``binanceus`` (and
``binanceusdm`` for the perpetual) through ``CCXTStore(exchange=...)`` against the Binance face
(``RT_SIM_URL``), as store + broker + data in a Cerebro run that buys then sells, on paper and
with the venue broker in testnet mode."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import backtrader as bt
import pytest

from real_trade.brokers import CCXTBroker
from real_trade.common.engine_factory import create_engine
from real_trade.feeds import CCXTData
from real_trade.sim import SimExchange, SyntheticMarket
from real_trade.stores import BaseStore, CCXTStore
from real_trade.venues.urls import protocol_family
from tests.support import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped Binance spot + USD-M simulator with two days of BTC/USDT history."""
    market = SyntheticMarket(("BTCUSDT",), seed=17, history_days=2, tick_ms=5000)
    with SimExchange(
        market=market, stepped=True, seed=17, faces=["binance", "binance_futures"]
    ) as exchange:
        exchange.advance(60)
        yield exchange


@pytest.fixture(autouse=True)
def _redirected(sim: SimExchange, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RT_SIM_URL", sim.url)
    BaseStore.clear_instances()
    yield
    BaseStore.clear_instances()


class _BuyThenSell(bt.Strategy):
    """Buys ``size`` on the first bar, sells the position once the buy has filled (a spot buy
    pays its fee in the base asset); records the fills."""

    params = (("size", 0.01), ("registry", None))

    def __init__(self) -> None:
        self.fills: list[tuple[str, float]] = []
        self.bars = 0
        if self.p.registry is not None:
            self.p.registry.append(self)

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed:
            self.fills.append(("buy" if order.isbuy() else "sell", order.executed.size))
            if len(self.fills) == 2 and self.p.registry is not None:
                self.env.runstop()  # a live run: done once both trades filled

    def next(self) -> None:
        self.bars += 1
        if len(self) == 1:
            self.buy(size=self.p.size)
        elif [f[0] for f in self.fills] == ["buy"] and self.position.size > 0:
            self.sell(size=self.position.size)


def test_binance_family_ids_speak_the_binance_protocol() -> None:
    assert protocol_family("binanceus") == protocol_family("binanceusdm") == "binance"
    assert protocol_family("kraken") is None


@pytest.mark.parametrize(
    ("exchange", "paper"),
    [("binanceus", True), ("binanceusdm", True)],
    ids=["binanceus-paper", "binanceusdm-paper"],
)
def test_ccxt_store_buys_then_sells(sim: SimExchange, exchange: str, paper: bool) -> None:
    """A history run on paper (the venue's fills come asynchronously: see the live test)."""
    perp = exchange == "binanceusdm"
    symbol = "BTC/USDT:USDT" if perp else "BTC/USDT"
    key, secret = sim.create_account({"USDT": 10_000})
    store, broker, data = create_engine(
        exchange,
        apikey=key,
        secret=secret,
        symbol=symbol,
        timeframe="1h",
        testnet=True,
        paper_trading=paper,
        backtest=True,
        market_type="future" if perp else "spot",
        history_bars=12,
    )
    assert (type(store), type(broker), type(data)) == (CCXTStore, CCXTBroker, CCXTData)
    assert store.mode == "sim" and store.venue_spec.ccxt_id == exchange
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.setbroker(broker)
    cerebro.adddata(data)
    cerebro.addstrategy(_BuyThenSell)
    (strategy,) = cerebro.run()
    (buy, bought), (sell, sold) = strategy.fills
    assert (buy, bought, sell) == ("buy", 0.01, "sell") and -0.01 <= sold < 0
    assert broker.getposition(data).size == 0
    trades = store.client.fetch_my_trades(symbol)
    if paper:
        assert trades == [], "paper trading sends nothing to the venue"
    else:
        assert [t["side"] for t in trades] == ["buy", "sell"]
        assert store.get_balance("USDT") < 10_000  # the fees


@pytest.mark.parametrize("exchange", ["binanceus", "binanceusdm"])
def test_ccxt_store_trades_live_in_testnet_mode(sim: SimExchange, exchange: str) -> None:
    """History then live one-minute bars; the venue broker's buy and sell fill on the face."""
    perp = exchange == "binanceusdm"
    symbol = "BTC/USDT:USDT" if perp else "BTC/USDT"
    key, secret = sim.create_account({"USDT": 10_000})
    store, broker, data = create_engine(
        exchange,
        apikey=key,
        secret=secret,
        symbol=symbol,
        timeframe="1m",
        testnet=True,
        paper_trading=False,
        market_type="future" if perp else "spot",
        history_bars=3,
        qcheck=0.05,
    )
    assert store.mode == "sim" and not broker.p.paper_trading
    registry: list[_BuyThenSell] = []
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.setbroker(broker)
    cerebro.adddata(data)
    cerebro.addstrategy(_BuyThenSell, registry=registry)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            cerebro.run()
        except BaseException as exc:  # reported below, not lost on this thread
            errors.append(exc)

    thread = threading.Thread(target=run, name="cerebro-any-ccxt", daemon=True)
    thread.start()
    try:
        eventually(
            lambda: not thread.is_alive() or (registry and registry[0].bars > 0),
            20,
            message="the history bars reached the strategy",
        )
        for _ in range(30):  # one market minute a step, until the strategy has stopped
            if not thread.is_alive():
                break
            seen = registry[0].bars
            sim.advance(60)
            with contextlib.suppress(AssertionError):  # a minute the feed had from history
                eventually(
                    lambda seen=seen: not thread.is_alive() or (registry[0].bars > seen),
                    5,
                    message="the strategy saw the next bar",
                )
    finally:
        cerebro.runstop()
        thread.join(20)
        store.stop()
    assert not errors and not thread.is_alive()
    (buy, bought), (sell, sold) = registry[0].fills
    assert (buy, bought, sell) == ("buy", 0.01, "sell") and -0.01 <= sold < 0
    venue = case_client(sim, exchange, key, secret)
    assert [t["side"] for t in venue.fetch_my_trades(symbol)] == ["buy", "sell"]


def case_client(sim: SimExchange, exchange: str, key: str, secret: str) -> Any:
    """A plain ccxt client of ``exchange`` on the face, to read the account back."""
    import ccxt

    kind = "future" if exchange == "binanceusdm" else "spot"
    ex = getattr(ccxt, exchange)(sim.ccxt_config(key, secret, market_type=kind))
    ex.load_markets()
    return ex
