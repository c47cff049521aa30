"""The open orders of one symbol, indexed by order id, by (account, client order id) and by account.

The matching engine registers an order when it is accepted and unregisters it when it ends
(filled, cancelled, expired); pending stop orders count as open. Client order ids are unique
among an account's open orders, which is what Binance's "Duplicate order sent." checks.
"""

from __future__ import annotations

from real_trade.sim.types import Order

__all__ = ["OpenOrders"]


class OpenOrders:
    """Live open orders of one symbol with O(1) lookup by id, client order id and account."""

    __slots__ = ("_by_account", "_by_client", "_by_id")

    def __init__(self) -> None:
        """Create an empty index."""
        self._by_id: dict[int, Order] = {}
        self._by_client: dict[tuple[int, str], Order] = {}
        self._by_account: dict[int, dict[int, Order]] = {}

    def __len__(self) -> int:
        """Number of open orders."""
        return len(self._by_id)

    def add(self, order: Order) -> None:
        """Register an accepted order."""
        self._by_id[order.order_id] = order
        self._by_client[(order.account_id, order.client_order_id)] = order
        self._by_account.setdefault(order.account_id, {})[order.order_id] = order

    def remove(self, order: Order) -> None:
        """Unregister an order that ended."""
        del self._by_id[order.order_id]
        self._by_client.pop((order.account_id, order.client_order_id), None)
        mine = self._by_account.get(order.account_id)
        if mine is not None:
            mine.pop(order.order_id, None)
            if not mine:
                del self._by_account[order.account_id]

    def get(self, order_id: int) -> Order | None:
        """Return the open order with this id, or None."""
        return self._by_id.get(order_id)

    def has_client_id(self, account_id: int, client_order_id: str) -> bool:
        """Whether the account has an open order with this client order id."""
        return (account_id, client_order_id) in self._by_client

    def count_of(self, account_id: int) -> int:
        """Number of open orders of an account (for MAX_NUM_ORDERS)."""
        return len(self._by_account.get(account_id, ()))

    def of(self, account_id: int) -> list[Order]:
        """The open orders of an account, oldest (lowest id) first."""
        return sorted(self._by_account.get(account_id, {}).values(), key=lambda o: o.order_id)

    def find(
        self, account_id: int, order_id: int | None = None, client_order_id: str | None = None
    ) -> Order | None:
        """Find an account's open order by id (checking the client id when both are given)."""
        if order_id is not None:
            order = self._by_id.get(order_id)
            if order is None or order.account_id != account_id:
                return None
            if client_order_id is not None and order.client_order_id != client_order_id:
                return None
            return order
        if client_order_id is not None:
            return self._by_client.get((account_id, client_order_id))
        return None
