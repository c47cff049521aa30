"""Shared pieces of the engine's integration tests: strategies, a simulator, runner settings.

The simulator runs an accelerated synthetic market (a one-minute bar every quarter of a wall
second), so a runner backfills a few bars, goes LIVE and trades within seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import backtrader as bt

from real_trade.bus import EventBus
from real_trade.engine import BarReport, TradingRunner
from real_trade.sim import SimExchange

__all__ = [
    "SPEED",
    "CrashOnFirstLiveBar",
    "RestingLimit",
    "exchange_open_orders",
    "make_runner",
]

SPEED = 240.0  # market seconds per wall second: a 1m bar closes every 0.25 s


class RestingLimit(bt.Strategy):
    """Places one limit buy far below the market on its first live bar and leaves it resting
    (so there is an open order at the exchange when the runner stops)."""

    params = (("size", 0.01), ("discount", 0.5))

    def __init__(self) -> None:
        self.is_live = False
        self.order: Any = None
        self.notes: list[str] = []

    def notify_data(self, data: Any, status: int, *args: Any, **kwargs: Any) -> None:
        self.is_live = status == data.LIVE

    def notify_order(self, order: Any) -> None:
        self.notes.append(order.getstatusname())

    def next(self) -> None:
        if self.is_live and self.order is None:
            price = round(float(self.data.close[0]) * self.p.discount, 2)
            self.order = self.buy(size=self.p.size, exectype=bt.Order.Limit, price=price)


class CrashOnFirstLiveBar(bt.Strategy):
    """Raises on its first live bar in the first ``crashes`` runs (a bug in strategy code)."""

    params = (("crashes", 1),)
    runs = 0

    def __init__(self) -> None:
        type(self).runs += 1
        self.is_live = False

    def notify_data(self, data: Any, status: int, *args: Any, **kwargs: Any) -> None:
        self.is_live = status == data.LIVE

    def next(self) -> None:
        if self.is_live and type(self).runs <= self.p.crashes:
            raise ZeroDivisionError("a bug in the strategy")


def make_runner(
    sim: SimExchange,
    tmp_path: Path,
    strategy_cls: type,
    *,
    testnet: bool = False,
    key: tuple[str, str] | None = None,
    journal: Any = "default",
    bars: list[BarReport] | None = None,
    **options: Any,
) -> TradingRunner:
    """A runner on ``sim``: paper (default) or testnet with ``key``; journal in ``tmp_path``."""
    apikey, secret = key if key is not None else (None, None)
    if journal == "default":
        journal = f"sqlite:///{tmp_path / 'journal.db'}"
    options.setdefault("bus", EventBus())
    options.setdefault("history_bars", 8)
    options.setdefault("feed_options", {"qcheck": 0.05})
    return TradingRunner(
        "binance",
        apikey,
        secret,
        "BTC/USDT",
        "1m",
        strategy_cls,
        testnet,
        not testnet,
        sim_url=sim.url,
        journal=journal,
        on_bar=bars.append if bars is not None else None,
        **options,
    )


def exchange_open_orders(sim: SimExchange, apikey: str) -> list[Any]:
    """The account's open orders as the simulated exchange knows them."""
    account = sim.core.account_by_key(apikey)
    assert account is not None
    return sim.core.open_orders(account)
