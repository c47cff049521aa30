"""Users' order and trade history: every order a user placed and every fill, per symbol.

The exchange core records each accepted user order (the live :class:`Order`, which the matching
engine keeps updating) and each user fill, and answers Binance's ``order``, ``allOrders`` and
``myTrades`` queries from here with Binance's paging (:func:`page`); snapshots go out, never the
live objects.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from real_trade.sim.errors import UnknownOrder
from real_trade.sim.types import Fill, Order

__all__ = ["OrderHistory", "page"]

_T = TypeVar("_T")


def page(
    items: list[_T],
    key: Callable[[_T], int],
    time_of: Callable[[_T], int],
    start_ms: int | None,
    end_ms: int | None,
    from_id: int | None,
    limit: int,
) -> list[_T]:
    """Binance-style paging over items sorted by ``key``: fromId, else startTime, else latest.

    ``start_ms``/``end_ms`` filter on ``time_of``; then ``from_id`` gives the first ``limit``
    items with key >= it, ``start_ms`` the first ``limit``, and otherwise the last ``limit``.
    """
    if start_ms is not None or end_ms is not None:
        items = [
            x
            for x in items
            if (start_ms is None or time_of(x) >= start_ms)
            and (end_ms is None or time_of(x) <= end_ms)
        ]
    if limit <= 0:
        return []
    if from_id is not None:
        i = bisect_left([key(x) for x in items], from_id)
        return items[i : i + limit]
    if start_ms is not None:
        return items[:limit]
    return items[-limit:]


@dataclass(slots=True)
class _Ledger:
    """A user's orders and fills on one symbol (live Order objects; snapshots go out)."""

    orders: dict[int, Order] = field(default_factory=dict)
    by_client: dict[str, Order] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)


class OrderHistory:
    """Every user order and fill, by (account id, symbol), with Binance's query semantics.

    It holds no lock: the exchange core calls it under its own.
    """

    def __init__(self) -> None:
        """Create an empty history."""
        self._ledgers: dict[tuple[int, str], _Ledger] = {}

    def _ledger(self, account_id: int, symbol: str) -> _Ledger:
        key = (account_id, symbol)
        ledger = self._ledgers.get(key)
        if ledger is None:
            ledger = self._ledgers[key] = _Ledger()
        return ledger

    def add_order(self, order: Order) -> None:
        """Record an accepted user order (the live object: later changes show in queries)."""
        ledger = self._ledger(order.account_id, order.symbol)
        ledger.orders[order.order_id] = order
        ledger.by_client[order.client_order_id] = order

    def add_fill(self, account_id: int, fill: Fill) -> None:
        """Record a fill of a user order."""
        self._ledger(account_id, fill.symbol).fills.append(fill)

    def get(
        self,
        account_id: int,
        symbol: str,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> Order:
        """A snapshot of an order by id or client order id; ``UnknownOrder`` if none."""
        ledger = self._ledgers.get((account_id, symbol))
        order = None
        if ledger is not None:
            order = (
                ledger.orders.get(order_id)
                if order_id is not None
                else ledger.by_client.get(client_order_id or "")
            )
            if (
                order is not None
                and client_order_id is not None
                and order.client_order_id != client_order_id
            ):
                order = None
        if order is None:
            raise UnknownOrder()
        return order.snapshot()

    def orders(
        self,
        account_id: int,
        symbol: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
    ) -> list[Order]:
        """Snapshots of the account's orders on ``symbol``, paged like ``allOrders``."""
        ledger = self._ledgers.get((account_id, symbol))
        orders = list(ledger.orders.values()) if ledger is not None else []
        chosen = page(
            orders, lambda o: o.order_id, lambda o: o.time_ms, start_ms, end_ms, from_id, limit
        )
        return [o.snapshot() for o in chosen]

    def fills(
        self,
        account_id: int,
        symbol: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
        order_id: int | None = None,
    ) -> list[Fill]:
        """The account's fills on ``symbol`` (of one order when ``order_id``), paged."""
        ledger = self._ledgers.get((account_id, symbol))
        fills = ledger.fills if ledger is not None else []
        if order_id is not None:
            fills = [f for f in fills if f.order_id == order_id]
        return page(
            fills, lambda f: f.trade_id, lambda f: f.time_ms, start_ms, end_ms, from_id, limit
        )
