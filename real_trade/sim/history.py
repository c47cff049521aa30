"""Users' order and trade history: every order a user placed and every fill, per symbol.

The exchange core records each accepted user order (the live :class:`Order`, which the matching
engine keeps updating) and each user fill, and answers Binance's ``order``, ``allOrders`` and
``myTrades`` queries from here with Binance's paging (:func:`page`); snapshots go out, never the
live objects.

A real exchange keeps its history server-side for good; this in-process one keeps a window per
account and symbol, so a weeks-long paper session does not grow without bound: every open order,
the last :data:`MAX_ENDED_ORDERS` ended orders (the oldest ended are forgotten first) and the last
:data:`MAX_FILLS` fills. Queries inside the window answer as before; a forgotten order is
``UnknownOrder``, as an exchange answers for an order past its retention.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from real_trade.sim.errors import UnknownOrder
from real_trade.sim.types import Fill, Order

__all__ = ["MAX_ENDED_ORDERS", "MAX_FILLS", "OrderHistory", "page"]

MAX_ENDED_ORDERS = 5_000
"""Ended orders kept per account and symbol (open orders are always kept)."""
MAX_FILLS = 10_000
"""Fills kept per account and symbol."""

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
    trim_at: int = 0  # the number of orders past which ended ones are forgotten next


class OrderHistory:
    """User orders and fills, by (account id, symbol), with Binance's query semantics: every
    open order, the last ``max_ended_orders`` ended ones and the last ``max_fills`` fills
    (see the module docstring; trimmed once past 1.25 times the bound, so the cost is spread).

    It holds no lock: the exchange core calls it under its own.
    """

    def __init__(self, max_ended_orders: int | None = None, max_fills: int | None = None) -> None:
        """Create an empty history (None: :data:`MAX_ENDED_ORDERS`, :data:`MAX_FILLS`)."""
        self._ledgers: dict[tuple[int, str], _Ledger] = {}
        self.max_ended_orders = MAX_ENDED_ORDERS if max_ended_orders is None else max_ended_orders
        self.max_fills = MAX_FILLS if max_fills is None else max_fills

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
        if len(ledger.orders) > ledger.trim_at:
            self._forget_ended(ledger)

    def add_fill(self, account_id: int, fill: Fill) -> None:
        """Record a fill of a user order."""
        fills = self._ledger(account_id, fill.symbol).fills
        fills.append(fill)
        if len(fills) > self.max_fills + self.max_fills // 4:
            del fills[: len(fills) - self.max_fills]

    def _forget_ended(self, ledger: _Ledger) -> None:
        """Forget the ended orders beyond the last ``max_ended_orders``, the oldest ended (last
        updated) first; open orders stay."""
        keep = self.max_ended_orders
        ended = [o for o in ledger.orders.values() if not o.is_open]
        if len(ended) > keep:
            ended.sort(key=lambda o: (o.update_time_ms, o.order_id))
            for order in ended[: len(ended) - keep]:
                del ledger.orders[order.order_id]
                if ledger.by_client.get(order.client_order_id) is order:
                    del ledger.by_client[order.client_order_id]
        ledger.trim_at = len(ledger.orders) + max(1, keep // 4)

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
