"""Strategies the CLI tests name by dotted path (``tests.e2e.cli_strategies:...``)."""

from __future__ import annotations

import backtrader as bt

__all__ = ["FlipOnLiveBars", "RestingBid", "RestingLimitBuy", "ShortThenCover"]


class _LiveOnly(bt.Strategy):
    """Tracks whether the feed is live (``self.live``): these strategies trade live bars only."""

    def __init__(self) -> None:
        self.live = False

    def notify_data(self, data: bt.DataBase, status: int, *args: object, **kwargs: object) -> None:
        """Trade only once the feed is live."""
        self.live = status == data.LIVE


class FlipOnLiveBars(_LiveOnly):
    """Buys ``size`` on a live bar when flat and sells it on the next, so that every run trades
    from its first live bar on, whatever the market does (unlike a crossover, which may not
    cross within a short run). ``short=True`` sells first and buys back."""

    params = (("size", 0.01), ("short", False))

    def next(self) -> None:
        """Flat: open (buy, or sell when ``short``); holding: close."""
        if not self.live:
            return
        if not self.position:
            (self.sell if self.p.short else self.buy)(size=self.p.size)
        else:
            self.close()


class RestingBid(_LiveOnly):
    """On its first live bar, a limit buy ``discount`` below the close that rests on the book
    (the dead-man switch test kills the process while it rests)."""

    params = (("size", 0.01), ("discount", 0.1))

    def __init__(self) -> None:
        super().__init__()
        self.placed = False

    def next(self) -> None:
        """Place the one resting bid."""
        if self.live and not self.placed:
            self.placed = True
            price = float(self.data.close[0]) * (1 - self.p.discount)
            self.buy(size=self.p.size, exectype=bt.Order.Limit, price=price)


class RestingLimitBuy(RestingBid):
    """A :class:`RestingBid` at half the price: an order that rests far from the market (for the
    tests that cancel it from outside)."""

    params = (("discount", 0.5),)


class ShortThenCover(FlipOnLiveBars):
    """Sells ``size`` on a live bar when flat (a short on a perpetual) and closes it on the
    next (a reduce-only buy), so that a run on a contract goes short from its first live bar."""

    params = (("short", True),)
