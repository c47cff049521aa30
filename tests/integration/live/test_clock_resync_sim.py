"""A timestamp refusal on an accelerated simulator is retried, and the run goes on.

A venue refuses a signed request whose timestamp is outside its receive window (Binance -1021,
Bybit 10002, OKX 50102): on a loaded machine a request can simply reach the simulator late.
The client retries; against a real venue it first adopts the venue's clock (ccxt's time
difference). The simulator's time endpoint reports its market clock, which an accelerated run
moves 120 times faster than the wall clock its signature check also accepts: adopting it made
every later signed request late, so one slow request ended the run at start with
ClockSkewError (``real-trade sim --speed 120``, Bybit perpetual on paper, seen in a user trial).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import backtrader as bt
import pytest

from real_trade import brokers, feeds, stores
from real_trade.bus import EventBus
from real_trade.sim import SimExchange
from real_trade.sim.okx.auth import DEFAULT_PASSPHRASE
from tests.integration.live.parity_support import clear_proxy_env

pytestmark = pytest.mark.integration

PREFIX = {"binance": "Binance", "bybit": "Bybit", "okx": "OKX"}
MAX_LIVE_BARS = 30  # a bound so that a broken path ends the run instead of hanging it


class _BuyOnce(bt.Strategy):
    """Buys 0.01 on the first live bar and stops once it is filled."""

    def __init__(self) -> None:
        self.live_bars = 0
        self.order: Any = None

    def next(self) -> None:
        if self.data._laststatus != self.data.LIVE:
            return
        self.live_bars += 1
        if self.order is None:
            self.order = self.buy(size=0.01)
        elif self.order.status == bt.Order.Completed or self.live_bars > MAX_LIVE_BARS:
            self.env.runstop()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxy_env(monkeypatch)


@pytest.fixture(params=list(PREFIX))
def venue(request: pytest.FixtureRequest) -> str:
    """The venue whose face the simulator serves."""
    return str(request.param)


@pytest.fixture
def sim(venue: str) -> Iterator[SimExchange]:
    """An accelerated simulator (a one-minute bar every 0.5 s) serving ``venue``."""
    with SimExchange(faces=[venue], speed=120, seed=5) as exchange:
        yield exchange


def test_a_late_signed_request_is_retried_and_the_strategy_trades(
    venue: str, sim: SimExchange, caplog: pytest.LogCaptureFixture
) -> None:
    key, secret = sim.create_account({"USDT": 10_000.0}, futures_balances={})
    prefix = PREFIX[venue]
    store = getattr(stores, f"{prefix}Store")(
        key,
        secret,
        testnet=True,
        passphrase=DEFAULT_PASSPHRASE if venue == "okx" else None,
        sim_url=sim.url,
        bus=EventBus(),
    )
    broker = getattr(brokers, f"{prefix}Broker")(store, paper_trading=False, bus=EventBus())
    data = getattr(feeds, f"{prefix}Data").from_timeframe_string(
        "1m", store, symbol="BTC/USDT", history_bars=5, qcheck=0.05
    )
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.setbroker(broker)
    cerebro.adddata(data)
    cerebro.addstrategy(_BuyOnce)
    sim.faults.fail_next(1, "timestamp")  # the first request arrives outside the window
    with caplog.at_level(logging.WARNING, logger="real_trade.venues"):
        try:
            (strategy,) = cerebro.run()
        finally:
            store.stop()
    assert sim.faults.injected.get("request:timestamp") == 1
    skews = [r.getMessage() for r in caplog.records if "ClockSkewError" in r.getMessage()]
    assert len(skews) == 1, ("only the injected refusal, no request late after it", skews)
    assert strategy.order is not None and strategy.order.status == bt.Order.Completed, venue
    assert broker.getposition(data).size == pytest.approx(0.00999), venue
