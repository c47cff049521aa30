"""Seed 002's guide "add a new exchange", followed by hand: it trades end to end.

The user's code below is the seed's appendix as a user writes it for an exchange ccxt knows
(Binance, the one the simulator speaks): a ``BaseStore`` subclass whose ``_create_exchange``
builds its own ccxt object from ``self.apikey``, ``self.secret`` and ``self.testnet``, empty
``Broker`` and ``Data`` subclasses, and a ``create_newexchange_engine``. With ``RT_SIM_URL`` set,
the store's client and the user's own ccxt object both talk to the simulator; the strategy
trades round trips on paper and in testnet mode on a stepped simulator.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import backtrader as bt
import ccxt
import pytest

from real_trade.common import BaseBroker, BaseData, BaseStore
from real_trade.errors import ConfigError
from real_trade.sim import SimExchange, SyntheticMarket
from tests.support import eventually

pytestmark = pytest.mark.integration
SYMBOL = "BTC/USDT"
SIZE = 0.01
ORDERS = 4


# ---- the user's code, as seed 002's appendix shows it ---------------------------------------
class NewExchangeStore(BaseStore):
    def _create_exchange(self, **kwargs):  # type: ignore[no-untyped-def]
        import ccxt

        config = {
            "apiKey": self.apikey,
            "secret": self.secret,
            "enableRateLimit": True,
        }

        if self.testnet:
            config["urls"] = {"api": ccxt.binance().urls["test"]}

        self._exchange = ccxt.binance(config)


class NewExchangeBroker(BaseBroker):
    pass  # no extra code needed (the seed: 无需额外代码)


class NewExchangeData(BaseData):
    pass  # no extra code needed (the seed: 无需额外代码)


def create_newexchange_engine(symbol, timeframe, paper_trading=True, **kwargs):  # type: ignore[no-untyped-def]
    store = NewExchangeStore.get_instance(**kwargs)
    broker = NewExchangeBroker(store, paper_trading=paper_trading)
    data = NewExchangeData.from_timeframe_string(timeframe, store, symbol=symbol, qcheck=0.05)
    return store, broker, data


# ---- the test harness -------------------------------------------------------------------------
class RoundTrips(bt.Strategy):
    """Once the feed is live: buy ``SIZE`` when flat, close when long, ``ORDERS`` orders in all,
    one at a time; records what it saw."""

    params = (("registry", None),)

    def __init__(self) -> None:
        self.p.registry.append(self)
        self.states: list[str] = []
        self.live_bars = 0
        self.pending: Any = None
        self.placed = 0
        self.orders: list[Any] = []

    def notify_data(self, data: Any, status: int, *args: Any, **kwargs: Any) -> None:
        self.states.append(data._getstatusname(status))

    def notify_order(self, order: Any) -> None:
        if order.status in (order.Completed, order.Canceled, order.Margin, order.Rejected):
            self.orders.append(order)
            self.pending = None

    def next(self) -> None:
        if not self.states or self.states[-1] != "LIVE":
            return
        self.live_bars += 1
        if self.pending is not None or self.placed >= ORDERS:
            return
        self.placed += 1
        self.pending = self.close() if self.position else self.buy(size=SIZE)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator (time moves only on advance) with a day of BTC/USDT history."""
    market = SyntheticMarket(("BTCUSDT",), seed=17, history_days=1, tick_ms=5000)
    with SimExchange(market=market, stepped=True, seed=17) as exchange:
        exchange.advance(60)
        yield exchange


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No simulator redirect or proxy from the environment; cached stores stopped after."""
    for name in ("RT_SIM_URL", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    BaseStore.clear_instances()
    yield
    BaseStore.clear_instances()


def _trade(store: Any, broker: Any, data: Any, sim: SimExchange) -> RoundTrips:
    """Run Cerebro on a thread, step the market a minute at a time until every order ended."""
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.setbroker(broker)
    cerebro.adddata(data)
    registry: list[RoundTrips] = []
    cerebro.addstrategy(RoundTrips, registry=registry)
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.extend(cerebro.run()), daemon=True)
    thread.start()
    try:
        eventually(lambda: registry, 30, message="cerebro built the strategy")
        strategy = registry[0]
        eventually(lambda: "LIVE" in strategy.states, 30, message="the feed went LIVE")
        for _ in range(3 * ORDERS):
            seen = strategy.live_bars
            sim.advance(60)
            eventually(lambda s=seen: strategy.live_bars > s, 30, message="a live bar")  # type: ignore[misc]
            if len(strategy.orders) == ORDERS:
                break
    finally:
        cerebro.runstop()
        thread.join(30)
    assert not thread.is_alive() and result, "cerebro stopped"
    return strategy


def _completed(strategy: RoundTrips) -> tuple[list[Any], list[Any]]:
    done = [o for o in strategy.orders if o.status == o.Completed]
    assert len(done) == len(strategy.orders), [o.getstatusname() for o in strategy.orders]
    return [o for o in done if o.isbuy()], [o for o in done if o.issell()]


@pytest.mark.parametrize("paper", [True, False], ids=["paper", "testnet"])
def test_the_seed_002_new_exchange_trades_end_to_end(
    sim: SimExchange, monkeypatch: pytest.MonkeyPatch, paper: bool
) -> None:
    monkeypatch.setenv("RT_SIM_URL", sim.url)
    key, secret = sim.create_account({"USDT": 10_000})
    store, broker, data = create_newexchange_engine(
        SYMBOL, "1m", paper_trading=paper, apikey=key, secret=secret, testnet=True
    )
    assert store.mode == "sim" and store.venue_spec.name == "binance"
    assert store.testnet and store.apikey == key and secret not in repr(store)
    # the user's own ccxt object went to the simulator too: its calls never leave loopback
    own = store._exchange
    assert isinstance(own, ccxt.binance) and own is not store.exchange
    assert own.urls["api"]["public"].startswith(sim.url)
    assert own.fetch_balance()["free"]["USDT"] == 10_000

    strategy = _trade(store, broker, data, sim)

    buys, sells = _completed(strategy)
    assert len(buys) == len(sells) == ORDERS // 2, "round trips, not one stuck position"
    assert all(o.executed.size == pytest.approx(SIZE) for o in buys)
    acct = sim.core.account_by_key(key)
    assert acct is not None
    at_exchange = sim.call(lambda: sim.core.all_orders(acct, "BTCUSDT"))
    if paper:
        assert at_exchange == [], "paper orders never reach the exchange"
        assert broker.getcash() != 10_000.0
    else:
        assert len(at_exchange) == len(buys) + len(sells), "each order went to the exchange"
        usdt = own.fetch_balance()["total"]["USDT"]
        assert usdt < 10_000, "the account paid commissions and spreads"


def test_the_hook_decides_testnet_or_live_without_a_simulator() -> None:
    testnet = NewExchangeStore(apikey="k" * 16, secret="s" * 16, testnet=True)
    assert testnet.mode == "testnet", "the class's test URLs mean the venue's testnet"
    assert testnet.client.endpoints.sandbox and not testnet.client.endpoints.custom_urls
    live = NewExchangeStore(apikey="k" * 16, secret="s" * 16)
    assert live.mode == "live"
    assert "k" * 16 not in repr(live) and "s" * 16 not in repr(live)


def test_a_hook_with_its_own_urls_keeps_them_and_a_hook_that_builds_nothing_is_named() -> None:
    class OwnUrls(BaseStore):
        def _create_exchange(self, **kwargs: Any) -> Any:
            return ccxt.binance({"urls": {"api": {"public": "https://example.invalid/api/v3"}}})

    own = OwnUrls(testnet=True)
    assert own.mode == "testnet" and own.client.endpoints.custom_urls
    assert not own.client.endpoints.sandbox, "no sandbox switch over the user's URLs"

    class Nothing(BaseStore):
        def _create_exchange(self, **kwargs: Any) -> Any:
            return None

    with pytest.raises(ConfigError) as caught:
        Nothing()
    assert caught.value.field == "_create_exchange"


def test_the_hook_s_sandbox_switch_market_type_and_headers_are_honoured() -> None:
    class Futures(BaseStore):
        def _create_exchange(self, **kwargs: Any) -> Any:
            exchange = ccxt.binance(
                {"options": {"defaultType": "future"}, "headers": {"X-Desk": "rt"}}
            )
            exchange.set_sandbox_mode(True)
            return exchange

    store = Futures()
    try:
        assert store.mode == "testnet" and store.market_type == "future"
        built = store.exchange  # the client's ccxt.pro object (built without a request)
        assert built.options["defaultType"] == "future" and built.headers["X-Desk"] == "rt"
        assert built.isSandboxModeEnabled
    finally:
        store.stop()
