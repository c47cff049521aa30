"""``SmaCross``: the sample strategy of the demo and the examples, on ``RealTradeStrategyBase``.

Buys ``size`` when the fast simple moving average crosses above the slow one and closes the
position when it crosses back below, with at most one order pending at a time; with
``long_short`` (a perpetual) it holds ``size`` long above and ``size`` short below, reversing on
each cross. On a live feed it
trades only once the feed is LIVE (the backfilled history warms the averages up; orders on stale
backfill bars would fill at today's prices). It uses nothing of real_trade at run time but what
:class:`~real_trade.strategies.base.RealTradeStrategyBase` (itself a ``bt.Strategy``) adds:
``log``/``log_trades`` and, when set, ``stop_loss``/``take_profit`` exits (off by default here).
"""

from __future__ import annotations

from typing import Any

import backtrader as bt

from real_trade.strategies.base import RealTradeStrategyBase

__all__ = ["SmaCross"]


class SmaCross(RealTradeStrategyBase):
    """Fast/slow SMA crossover, long only (or ``long_short``), fixed size; optional progress
    callback and bar cap.

    Params: ``fast`` (10), ``slow`` (30), ``size`` (0.01 base units), ``max_live_bars`` (0 = run
    until stopped: after that many bars delivered live the run stops itself), ``on_bar`` (a
    callable ``on_bar(strategy)`` called on every bar, e.g. to print progress), ``on_order``
    (``on_order(strategy, order)`` on every order notification), ``long_short`` (False: go
    short below instead of flat, reversing with one order of twice the size); from the base:
    ``stop_loss`` and ``take_profit`` (fractions of the entry price, 0 = off, the default
    here), ``printlog``, ``log_trades``.
    """

    params = (
        ("stop_loss", 0.0),
        ("take_profit", 0.0),
        ("fast", 10),
        ("slow", 30),
        ("size", 0.01),
        ("max_live_bars", 0),
        ("on_bar", None),
        ("on_order", None),
        ("long_short", False),
    )

    def __init__(self) -> None:
        fast = bt.indicators.SMA(self.data.close, period=self.p.fast)
        slow = bt.indicators.SMA(self.data.close, period=self.p.slow)
        self.crossover = bt.indicators.CrossOver(fast, slow)
        self.live_bars = 0
        self.is_live = False
        self.data_states: list[str] = []
        self.orders: list[Any] = []
        self.pending: Any = None

    def notify_data(self, data: Any, status: int, *args: Any, **kwargs: Any) -> None:
        """Track the feed's state (DELAYED while backfilling, LIVE, CONNBROKEN, ...)."""
        super().notify_data(data, status, *args, **kwargs)
        self.data_states.append(data._getstatusname(status))
        self.is_live = status == data.LIVE

    def notify_order(self, order: Any) -> None:
        """Remember every order notification and pass it to ``on_order``."""
        self.orders.append(order)
        # brokers notify snapshots (clones) of the order: match it by ``ref``, not identity
        if self.pending is not None and order.ref == self.pending.ref and not order.alive():
            self.pending = None
        if self.p.on_order is not None:
            self.p.on_order(self, order)
        super().notify_order(order)

    def next(self) -> None:
        """Trade the crossover; count live bars and stop after ``max_live_bars`` (placing no
        order on that last bar)."""
        if self.is_live:
            self.live_bars += 1
        if self.p.on_bar is not None:
            self.p.on_bar(self)
        # no new order on the bar that ends the run: nothing would be left to hear of its fill
        last = bool(self.p.max_live_bars) and self.live_bars >= self.p.max_live_bars
        may_trade = self.pending is None and not last and (self.is_live or not self.data.islive())
        if self.p.long_short:
            if may_trade and self.crossover != 0:
                target = self.p.size if self.crossover > 0 else -self.p.size
                self.pending = self.order_target_size(target=target)
        elif may_trade and not self.position and self.crossover > 0:
            self.pending = self.buy(size=self.p.size)
        elif (
            may_trade
            and self.position
            and (self.crossover < 0 or self.check_stop_loss() or self.check_take_profit())
        ):
            self.pending = self.close()
        if self.p.max_live_bars and self.live_bars >= self.p.max_live_bars:
            self.env.runstop()
