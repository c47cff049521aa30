"""Untriggered stop orders of one symbol, indexed by the price that fires them.

Binance's spot stop types trigger on the last trade price: a BUY ``STOP_LOSS``/``STOP_LOSS_LIMIT``
and a SELL ``TAKE_PROFIT``/``TAKE_PROFIT_LIMIT`` fire when the last price rises to the stop price
or above; the other four (side, type) pairs fire when it falls to the stop price or below.
:class:`StopBook` keeps both kinds sorted so the matching engine finds the fired ones in
O(log n); it holds order ids only and knows nothing about funds or the book.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from decimal import Decimal

from real_trade.sim.types import Order, OrderType, Side

__all__ = ["StopBook", "triggers_upward", "would_trigger"]

_UP_TRIGGERED = frozenset(
    {
        (Side.BUY, OrderType.STOP_LOSS),
        (Side.BUY, OrderType.STOP_LOSS_LIMIT),
        (Side.SELL, OrderType.TAKE_PROFIT),
        (Side.SELL, OrderType.TAKE_PROFIT_LIMIT),
    }
)


def triggers_upward(side: Side, order_type: OrderType) -> bool:
    """Whether a stop of this side and type fires when the last price rises to its stop price."""
    return (side, order_type) in _UP_TRIGGERED


def would_trigger(side: Side, order_type: OrderType, stop_price: Decimal, last: Decimal) -> bool:
    """Whether a stop of this side, type and ``stop_price`` fires at last trade price ``last``."""
    if triggers_upward(side, order_type):
        return last >= stop_price
    return last <= stop_price


class StopBook:
    """The pending (untriggered) stop orders of one symbol, by trigger price then order id.

    :meth:`add` files an order under its direction; :meth:`discard` drops it (on cancel);
    :meth:`pop_fired` removes and returns the ids of every order the last price has crossed.
    """

    __slots__ = ("_down", "_up")

    def __init__(self) -> None:
        """Create an empty stop book."""
        self._up: list[tuple[Decimal, int]] = []  # (stop, id): fire when last >= stop
        self._down: list[tuple[Decimal, int]] = []  # (-stop, id): fire when last <= stop

    def __len__(self) -> int:
        """Number of pending stop orders."""
        return len(self._up) + len(self._down)

    def _slot(self, order: Order) -> tuple[list[tuple[Decimal, int]], tuple[Decimal, int]]:
        stop = order.stop_price
        assert stop is not None
        if triggers_upward(order.side, order.type):
            return self._up, (stop, order.order_id)
        return self._down, (-stop, order.order_id)

    def add(self, order: Order) -> None:
        """File a pending stop order (its ``stop_price`` must be set)."""
        lst, key = self._slot(order)
        insort(lst, key)

    def discard(self, order: Order) -> None:
        """Drop a stop order if it is still pending (a no-op once it fired)."""
        lst, key = self._slot(order)
        i = bisect_left(lst, key)
        if i < len(lst) and lst[i] == key:
            del lst[i]

    def pop_fired(self, last: Decimal) -> list[int]:
        """Remove and return, by ascending order id, the stops that ``last`` has triggered."""
        fired: list[int] = []
        up, down = self._up, self._down
        while up and up[0][0] <= last:
            fired.append(up.pop(0)[1])
        while down and -down[0][0] >= last:
            fired.append(down.pop(0)[1])
        fired.sort()
        return fired
