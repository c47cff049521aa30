"""A weeks-long paper session keeps bounded memory: nothing grows with the bars played.

A backtrader strategy trades on ``BinanceBroker(paper_trading=True)`` the way a user would, with
an order working on every bar (a limit buy far below the price and one just below it, both
cancelled and replaced every bar, and a market round trip every 20 bars), over synthetic
one-minute bars. Every container reachable from the broker (the session, the order manager, the
paper execution and its market, the simulated exchange's order history, ...) must hold no more
after 2N bars than after N, or than a constant: the windows of ended orders, fills and played
ticks (set small here so that N bars overflow them). The klines and the public tape are bounded
by their own settings (``max_kline_bars``, ``max_tape_trades``, tested with the simulator).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import backtrader as bt
import pandas as pd
import pytest

from real_trade.brokers import BinanceBroker
from real_trade.execution import order_manager, paper
from real_trade.sim import history

pytestmark = pytest.mark.integration

SYMBOL = "BTC/USDT"
ENDED, FILLS, TICKS = 60, 80, 64
"""The windows, small: the order manager's and the exchange's ended orders, fills, ticks."""
BOUND = 2 * max(ENDED, FILLS, TICKS) + 50
"""No container may pass it (unless no larger than after N bars): the windows trim at 1.25x,
played ticks at 2x, and every open order is kept besides."""
OWN_BOUNDS = ("klines", "tape")  # bounded by max_kline_bars / max_tape_trades


def _bars(count: int) -> pd.DataFrame:
    """A deterministic wavy walk around 20,000 with some volume every minute."""
    rows = []
    price = 20_000.0
    for i in range(count):
        step = 15.0 * math.sin(i / 7.0) + 6.0 * math.sin(i / 2.3)
        close = price + step
        high, low = max(price, close) + 4.0, min(price, close) - 4.0
        rows.append((price, high, low, close, 2.0 + (i % 5)))
        price = close
    index = pd.date_range("2024-01-01", periods=count, freq="1min")
    return pd.DataFrame(rows, index=index, columns=["open", "high", "low", "close", "volume"])


class Churn(bt.Strategy):
    """Always an order working: two limit buys replaced every bar, a market round trip every
    20 bars."""

    def __init__(self) -> None:
        self.resting: list[Any] = []
        self.completed = 0

    def notify_order(self, order: Any) -> None:
        if order.status == order.Completed:
            self.completed += 1

    def next(self) -> None:
        close = self.data.close[0]
        for order in self.resting:
            if order.alive():
                self.cancel(order)
        self.resting = [
            self.buy(size=0.001, exectype=bt.Order.Limit, price=round(close * 0.8, 2)),
            self.buy(size=0.001, exectype=bt.Order.Limit, price=round(close - 3.0, 2)),
        ]
        step = len(self) % 20
        if step == 1:
            self.buy(size=0.002)
        elif step == 11 and self.position.size > 0:
            self.sell(size=self.position.size)


def _sizes(root: Any) -> dict[str, int]:
    """The length of every container reachable from ``root`` through real_trade's and
    backtrader's objects (not the strategy, cerebro or the feeds: backtrader's own lines),
    by path (a dict's or list's members: those of the first and last items)."""
    out: dict[str, int] = {}
    seen: set[int] = set()
    todo: deque[tuple[Any, str]] = deque([(root, "broker")])
    skip = {"datas", "data", "strategy", "cerebro", "owner", "_owner", "lines", "_drivers"}
    while todo:
        obj, path = todo.popleft()
        if id(obj) in seen or obj is None or isinstance(obj, (str, bytes, int, float, type)):
            continue
        seen.add(id(obj))
        if isinstance(obj, (list, dict, set, frozenset, deque, tuple)):
            out[path] = len(obj)
            if isinstance(obj, dict):
                items = list(obj.items())
                for key, value in items[:2] + items[-1:]:
                    todo.append((value, f"{path}[{type(key).__name__}]"))
            elif isinstance(obj, (list, deque, tuple)):
                for value in list(obj)[:2] + list(obj)[-1:]:
                    todo.append((value, f"{path}[]"))
            continue
        module = type(obj).__module__ or ""
        if not module.startswith(("real_trade", "backtrader", "collections")):
            continue
        attrs = dict(vars(obj)) if hasattr(obj, "__dict__") else {}
        for cls in type(obj).__mro__:
            for name in getattr(cls, "__slots__", ()):
                if hasattr(obj, name):
                    attrs[name] = getattr(obj, name)
        for name, value in attrs.items():
            if name not in skip:
                todo.append((value, f"{path}.{name}"))
    return out


def _run(bars: int) -> tuple[dict[str, int], int]:
    cerebro = bt.Cerebro(stdstats=False, runonce=False)
    broker = BinanceBroker(None, paper_trading=True, initial_cash=100_000.0, commission=0.001)
    cerebro.setbroker(broker)
    data = bt.feeds.PandasData(dataname=_bars(bars), timeframe=bt.TimeFrame.Minutes)
    cerebro.adddata(data, name=SYMBOL)
    cerebro.addstrategy(Churn)
    (strategy,) = cerebro.run()
    return _sizes(broker), strategy.completed


@pytest.fixture
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(order_manager, "MAX_ENDED_ORDERS", ENDED)
    monkeypatch.setattr(history, "MAX_ENDED_ORDERS", ENDED)
    monkeypatch.setattr(history, "MAX_FILLS", FILLS)
    monkeypatch.setattr(paper, "MAX_KEPT_TICKS", TICKS)


def test_nothing_grows_with_the_bars_played(small_windows: None) -> None:
    n = 300
    first, done_first = _run(n)
    second, done_second = _run(2 * n)
    assert done_second > done_first > 2 * FILLS  # fills overflow the window (each: 1 or more)
    watched = [  # what grew before (every order, fill and played tick), seen by the walk
        "broker._orders",
        "broker.session._extra",
        "broker.session.manager.orders",
        "broker.session.manager._by_client",
        "broker.session.manager._by_exchange",
        "broker.session.paper._market._ticks[str]",
        "broker.session.paper.core._history._ledgers[tuple].orders",
        "broker.session.paper.core._history._ledgers[tuple].fills",
    ]
    assert all(path in second for path in watched), sorted(second)
    grown = {
        path: (first.get(path), size)
        for path, size in second.items()
        if size > max(first.get(path, 0), BOUND) and not any(w in path for w in OWN_BOUNDS)
    }
    assert not grown, grown
