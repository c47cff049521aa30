"""Strategies the CLI tests name by dotted path (``tests.e2e.cli_strategies:...``)."""

from __future__ import annotations

import backtrader as bt

__all__ = ["FlipOnLiveBars", "RestingLimitBuy"]


class FlipOnLiveBars(bt.Strategy):
    """Buys ``size`` on a live bar when flat and sells it on the next, so that every run trades
    from its first live bar on, whatever the market does (unlike a crossover, which may not
    cross within a short run)."""

    params = (("size", 0.01),)

    def __init__(self) -> None:
        self.live = False

    def notify_data(self, data: bt.DataBase, status: int, *args: object, **kwargs: object) -> None:
        """Trade only once the feed is live."""
        self.live = status == data.LIVE

    def next(self) -> None:
        """Flat: buy; long: sell what is held."""
        if not self.live:
            return
        if not self.position:
            self.buy(size=self.p.size)
        else:
            self.close()


class RestingLimitBuy(bt.Strategy):
    """Places one buy limit at half the price on its first live bar: an order that rests (for
    the tests that cancel it from outside)."""

    def __init__(self) -> None:
        self.live = False
        self.placed = False

    def notify_data(self, data: bt.DataBase, status: int, *args: object, **kwargs: object) -> None:
        """Trade only once the feed is live."""
        self.live = status == data.LIVE

    def next(self) -> None:
        """Once: a resting buy limit far below the market."""
        if self.live and not self.placed:
            self.placed = True
            self.buy(size=0.01, exectype=bt.Order.Limit, price=self.data.close[0] * 0.5)
