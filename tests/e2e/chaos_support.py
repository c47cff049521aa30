"""The strategy the chaos test runs in its ``real-trade run`` subprocesses.

``ChaosTrader`` trades on every live bar so that a kill at a random moment is likely to land
with orders in flight: a small market order (buying while the position is small, selling once
it has grown), a limit order a little away from the close that may rest for a while, and the
cancellation of any order (its own or one recovered after a restart) older than a few bars. It
never trades on backfilled history, so a restart does not replay old decisions.
"""

from __future__ import annotations

from typing import Any

import backtrader as bt

__all__ = ["ChaosTrader"]


class ChaosTrader(bt.Strategy):
    """Busy on purpose (module docstring); ``size`` is the order size in base units."""

    params = (("size", 0.002), ("max_position", 0.01), ("offset", 0.0008), ("max_age", 3))

    def __init__(self) -> None:
        """Start with no live bar seen."""
        self.live = False
        self.born: dict[int, int] = {}

    def notify_data(self, data: Any, status: int, *args: Any, **kwargs: Any) -> None:
        """Trade only once the feed is live."""
        self.live = status == data.LIVE

    def notify_order(self, order: Any) -> None:
        """Remember when each order was first seen (recovered ones included)."""
        self.born.setdefault(order.ref, len(self))

    def next(self) -> None:
        """Cancel old orders, then a market order and a resting limit order."""
        if not self.live:
            return
        for ref, order in list(self.broker.open_orders.items()):
            if len(self) - self.born.setdefault(ref, len(self)) >= self.p.max_age:
                self.cancel(order)
        size, close = self.p.size, float(self.data.close[0])
        if self.position.size + size <= self.p.max_position:
            self.buy(size=size)
            self.buy(size=size, exectype=bt.Order.Limit, price=close * (1 - self.p.offset))
        else:
            self.sell(size=size * 2)
            self.sell(size=size, exectype=bt.Order.Limit, price=close * (1 + self.p.offset))
