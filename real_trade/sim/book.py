"""A price-level order book for one symbol: price-time priority, O(1) cancel, change tracking.

Each side keeps its price levels in a sorted list of keys (found by ``bisect``; bids are keyed
by the negated price so that index 0 is the best level on both sides) and a dict from key to
:class:`PriceLevel`. A level keeps its orders in an insertion-ordered dict (FIFO, O(1) removal
by order id) and the total remaining quantity. The book records which prices changed since the
last :meth:`OrderBook.drain_changes`, which is what a depth diff stream publishes.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from decimal import Decimal

from real_trade.sim.types import ZERO, Order, Side

__all__ = ["BookSide", "Levels", "OrderBook", "PriceLevel"]

Levels = list[tuple[Decimal, Decimal]]
"""Aggregated levels: ``(price, quantity)`` pairs, best first."""


class PriceLevel:
    """The resting orders at one price, oldest first, and their total remaining quantity."""

    __slots__ = ("orders", "price", "qty")

    def __init__(self, price: Decimal) -> None:
        """Create an empty level at ``price``."""
        self.price = price
        self.orders: dict[int, Order] = {}
        self.qty = ZERO

    def first(self) -> Order:
        """Return the oldest order of the level (the next to fill)."""
        return next(iter(self.orders.values()))

    def __repr__(self) -> str:
        """Show price, quantity and order count."""
        return f"PriceLevel({self.price}, qty={self.qty}, orders={len(self.orders)})"


class BookSide:
    """One side of the book: levels sorted best-first, with O(log n) level lookup."""

    __slots__ = ("_keys", "_levels", "is_bid")

    def __init__(self, is_bid: bool) -> None:
        """Create an empty side; ``is_bid`` sorts by descending price."""
        self.is_bid = is_bid
        self._keys: list[Decimal] = []
        self._levels: dict[Decimal, PriceLevel] = {}

    def __len__(self) -> int:
        """Number of price levels."""
        return len(self._keys)

    def best(self) -> PriceLevel | None:
        """Return the best level, or None when the side is empty."""
        if not self._keys:
            return None
        return self._levels[self._keys[0]]

    def level(self, price: Decimal) -> PriceLevel | None:
        """Return the level at ``price`` if there is one."""
        return self._levels.get(-price if self.is_bid else price)

    def get_or_create(self, price: Decimal) -> PriceLevel:
        """Return the level at ``price``, inserting an empty one in sorted position if needed."""
        key = -price if self.is_bid else price
        lvl = self._levels.get(key)
        if lvl is None:
            lvl = self._levels[key] = PriceLevel(price)
            keys = self._keys
            keys.insert(bisect_left(keys, key), key)
        return lvl

    def remove_level(self, price: Decimal) -> None:
        """Drop the (empty) level at ``price``."""
        key = -price if self.is_bid else price
        del self._levels[key]
        keys = self._keys
        del keys[bisect_left(keys, key)]

    def levels(self) -> Iterator[PriceLevel]:
        """Iterate levels best-first (do not mutate the side while iterating)."""
        levels = self._levels
        for key in self._keys:
            yield levels[key]

    def top(self, limit: int) -> list[tuple[Decimal, Decimal]]:
        """Return ``(price, qty)`` of the best ``limit`` levels."""
        levels = self._levels
        return [(levels[k].price, levels[k].qty) for k in self._keys[:limit]]


class OrderBook:
    """Both sides of one symbol's book, an order-id index and the set of changed prices."""

    __slots__ = ("_ask_changes", "_bid_changes", "_index", "asks", "bids")

    def __init__(self) -> None:
        """Create an empty book."""
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)
        self._index: dict[int, PriceLevel] = {}
        self._bid_changes: set[Decimal] = set()
        self._ask_changes: set[Decimal] = set()

    def side(self, side: Side) -> BookSide:
        """Return the side resting orders of ``side`` go to."""
        return self.bids if side is Side.BUY else self.asks

    def opposite(self, side: Side) -> BookSide:
        """Return the side an incoming order of ``side`` matches against."""
        return self.asks if side is Side.BUY else self.bids

    def __contains__(self, order_id: object) -> bool:
        """Whether an order with this id rests on the book."""
        return order_id in self._index

    def __len__(self) -> int:
        """Number of resting orders."""
        return len(self._index)

    def add(self, order: Order) -> None:
        """Rest ``order`` (a priced, open order) at the back of its price level."""
        assert order.price is not None
        lvl = self.side(order.side).get_or_create(order.price)
        lvl.orders[order.order_id] = order
        lvl.qty += order.orig_qty - order.executed_qty
        self._index[order.order_id] = lvl
        self._changed(order.side, order.price)

    def remove(self, order_id: int) -> Order | None:
        """Take an order off the book (cancel/expire); None if it is not resting."""
        lvl = self._index.pop(order_id, None)
        if lvl is None:
            return None
        order = lvl.orders.pop(order_id)
        lvl.qty -= order.orig_qty - order.executed_qty
        if not lvl.orders:
            self.side(order.side).remove_level(lvl.price)
        self._changed(order.side, lvl.price)
        return order

    def resize(self, order: Order, orig_qty: Decimal) -> None:
        """Set resting ``order``'s total quantity to ``orig_qty`` where it stands in its level
        (an amend that keeps priority; ``orig_qty`` stays above what has executed)."""
        lvl = self._index[order.order_id]
        lvl.qty += orig_qty - order.orig_qty
        order.orig_qty = orig_qty
        self._changed(order.side, lvl.price)

    def reduce(self, order: Order, qty: Decimal) -> None:
        """Record that resting ``order`` just executed ``qty`` (call after updating the order).

        The level's quantity drops by ``qty``; a fully executed order leaves the book.
        """
        lvl = self._index[order.order_id]
        lvl.qty -= qty
        if order.executed_qty >= order.orig_qty:
            del self._index[order.order_id]
            del lvl.orders[order.order_id]
            if not lvl.orders:
                self.side(order.side).remove_level(lvl.price)
        self._changed(order.side, lvl.price)

    def _changed(self, side: Side, price: Decimal) -> None:
        (self._bid_changes if side is Side.BUY else self._ask_changes).add(price)

    def has_changes(self) -> bool:
        """Whether any level changed since the last :meth:`drain_changes`."""
        return bool(self._bid_changes or self._ask_changes)

    def drain_changes(self) -> tuple[Levels, Levels]:
        """Return and forget the changed levels: ``(bids, asks)`` of ``(price, new qty)``.

        Bids come best (highest) first, asks best (lowest) first; a quantity of 0 means the
        level is gone.
        """
        bids = [(p, self._qty(self.bids, p)) for p in sorted(self._bid_changes, reverse=True)]
        asks = [(p, self._qty(self.asks, p)) for p in sorted(self._ask_changes)]
        self._bid_changes.clear()
        self._ask_changes.clear()
        return bids, asks

    def forget_changes(self) -> int:
        """Forget the changed levels unread (nobody listens to depth); how many there were."""
        count = len(self._bid_changes) + len(self._ask_changes)
        self._bid_changes.clear()
        self._ask_changes.clear()
        return count

    @staticmethod
    def _qty(side: BookSide, price: Decimal) -> Decimal:
        lvl = side.level(price)
        return lvl.qty if lvl is not None else ZERO

    def plan_take(
        self,
        side: Side,
        *,
        limit: Decimal | None = None,
        qty_cap: Decimal | None = None,
        quote_cap: Decimal | None = None,
        step: Decimal = ZERO,
    ) -> tuple[Decimal, Decimal, bool]:
        """Walk the book for a taker of ``side`` without touching it: ``(qty, quote, exhausted)``.

        Stops at the limit price ``limit``, at ``qty_cap`` and at the first level where
        ``quote_cap`` runs out (the quantity there floored to ``step``; 0 = no flooring), so
        executing exactly ``qty`` best-first reproduces the same fills. ``exhausted`` tells
        whether the walk ran out of levels before any cap or the limit stopped it.
        """
        qty = cost = ZERO
        buy = side is Side.BUY
        for lvl in self.opposite(side).levels():
            price = lvl.price
            if limit is not None and (price > limit if buy else price < limit):
                return qty, cost, False
            take = lvl.qty if qty_cap is None else min(lvl.qty, qty_cap - qty)
            if quote_cap is not None:
                afford = (quote_cap - cost) / price
                afford = (afford // step) * step if step > 0 else afford
                if afford < take:
                    return qty + afford, cost + afford * price, False
            qty += take
            cost += take * price
            if qty_cap is not None and qty >= qty_cap:
                return qty, cost, False
        return qty, cost, True

    def depth(self, limit: int) -> tuple[Levels, Levels]:
        """Return the aggregated best ``limit`` levels per side: ``(bids, asks)``."""
        return self.bids.top(limit), self.asks.top(limit)
