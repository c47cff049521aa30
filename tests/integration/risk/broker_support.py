"""Harness for the risk tests through a real broker: a scripted strategy, paper and sim runs.

``Stepper`` is a backtrader strategy that runs a list of steps, one step per bar, each only once
every order it made so far has settled (final, or resting at the venue); a step returning False
is tried again on the next bar. ``run_paper`` drives it over hand-made bars with a paper
``BinanceBroker``; ``run_sim`` over a live paced feed with a testnet ``BinanceBroker`` on a fresh
simulator account. Both give the broker a bus, a SQLite journal and the risk setting under test,
and return a ``Run`` with what the strategy saw and what went over the bus.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd

from real_trade.brokers import BinanceBroker
from real_trade.bus import EventBus
from real_trade.persistence import Journal
from real_trade.sim import SimExchange
from real_trade.stores import BinanceStore
from tests.integration.live.test_broker_live import PacedFeed

__all__ = ["SYMBOL", "PacedFeed", "Run", "Step", "Stepper", "run_paper", "run_sim"]

SYMBOL = "BTC/USDT"
Step = Callable[["Stepper"], "bool | None"]
_FINAL = ("Completed", "Canceled", "Rejected", "Margin", "Expired")


class Stepper(bt.Strategy):
    """Runs ``steps`` in order (module docstring); ``done`` once all ran and all settled."""

    params = (("steps", None), ("registry", None))

    def __init__(self) -> None:
        self.p.registry.append(self)
        self.orders: list[Any] = []
        self.statuses: dict[int, list[str]] = {}
        self.next_step = 0
        self.done = False
        self.memo: dict[str, Any] = {}

    def track(self, order: Any) -> Any:
        """Remember ``order``: :meth:`settled` waits for it."""
        self.orders.append(order)
        return order

    def place(self, side: str, size: float, **kwargs: Any) -> Any:
        """Place and track a buy or sell."""
        return self.track((self.buy if side == "buy" else self.sell)(size=size, **kwargs))

    def notify_order(self, order: Any) -> None:
        """Keep every status an order goes through."""
        self.statuses.setdefault(order.ref, []).append(order.getstatusname())

    def settled(self) -> bool:
        """Every order is final, or accepted and resting (not a market order)."""
        for order in self.orders:
            name = order.getstatusname()
            resting = name == "Accepted" and order.exectype != bt.Order.Market
            if name not in _FINAL and not resting:
                return False
        return True

    def next(self) -> None:
        """Run the next step when every order so far has settled."""
        steps = self.p.steps or []
        ready = self.next_step < len(steps) and self.settled()
        if ready and steps[self.next_step](self) is not False:
            self.next_step += 1
        self.done = self.next_step >= len(steps) and self.settled()

    @property
    def position_size(self) -> float:
        """The broker's position in the feed's symbol."""
        return float(self.broker.getposition(self.data).size)


@dataclass
class Run:
    """What one run left: the strategy, the broker, bus events, the journal, the sim key."""

    strategy: Stepper
    broker: BinanceBroker
    journal: Journal
    events: list[tuple[str, Any]] = field(default_factory=list)
    key: str = ""

    def status(self, nth: int) -> str:
        """The last status of the ``nth`` order (1-based)."""
        return str(self.strategy.orders[nth - 1].getstatusname())

    def info(self, nth: int) -> Any:
        """The ``info`` of the ``nth`` order (1-based)."""
        return self.strategy.orders[nth - 1].info

    def topics(self) -> list[str]:
        """The bus topics seen, in order."""
        return [topic for topic, _ in self.events]


def _recording_bus() -> tuple[EventBus, list[tuple[str, Any]]]:
    bus = EventBus(name="risk-test")
    events: list[tuple[str, Any]] = []
    lock = threading.Lock()

    def keep(topic: str, event: Any) -> None:
        with lock:
            events.append((topic, event))

    bus.subscribe("**", keep)
    return bus, events


def run_paper(
    risk: Any, steps: list[Step], tmp_path: Path, *, price: float = 40_000.0, bars: int = 30
) -> Run:
    """Run ``steps`` on a paper broker over ``bars`` flat bars at ``price`` (cash 10,000)."""
    rows = [(price, price + 10.0, price - 10.0, price, 5.0)] * bars
    index = pd.date_range("2024-03-01", periods=bars, freq="1min")
    frame = pd.DataFrame(rows, index=index, columns=["open", "high", "low", "close", "volume"])
    bus, events = _recording_bus()
    journal = Journal(f"sqlite:///{tmp_path / 'paper.db'}")
    broker = BinanceBroker(
        None, paper_trading=True, bus=bus, journal=journal, risk=risk, run_id="paper"
    )
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.setbroker(broker)
    cerebro.broker.setcash(10_000.0)
    cerebro.adddata(
        bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes), name=SYMBOL
    )
    registry: list[Stepper] = []
    cerebro.addstrategy(Stepper, steps=steps, registry=registry)
    (strategy,) = cerebro.run()
    bus.flush(10)
    return Run(strategy, broker, journal, events)


def run_sim(
    sim: SimExchange,
    risk: Any,
    steps: list[Step],
    tmp_path: Path,
    *,
    balances: dict[str, float] | None = None,
) -> Run:
    """Run ``steps`` on a testnet broker against a fresh simulator account (10,000 USDT)."""
    key, secret = sim.create_account(balances or {"USDT": 10_000})
    bus, events = _recording_bus()
    journal = Journal(f"sqlite:///{tmp_path / 'sim.db'}")
    store = BinanceStore(key, secret, testnet=True, sim_url=sim.url, bus=EventBus())
    broker = BinanceBroker(
        store, paper_trading=False, bus=bus, journal=journal, risk=risk, run_id=f"risk{key[:6]}"
    )
    registry: list[Stepper] = []
    cerebro = bt.Cerebro(quicknotify=True, stdstats=False)
    cerebro.setbroker(broker)
    feed = PacedFeed(
        price=lambda: sim.core.last_price("BTCUSDT"),
        done=lambda: bool(registry) and registry[0].done,
    )
    cerebro.adddata(feed, name=SYMBOL)
    cerebro.addstrategy(Stepper, steps=steps, registry=registry)
    try:
        (strategy,) = cerebro.run()
    finally:
        store.stop()
    bus.flush(10)
    return Run(strategy, broker, journal, events, key)
