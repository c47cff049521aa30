"""Account queries several faces answer alike, before each words the rows its own way.

:func:`fills_with_orders` is an execution list (Bybit's ``/v5/execution/list``, OKX's
``/trade/fills``): the account's fills of a symbol in a time range, optionally of one order,
each with the order it belongs to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from real_trade.sim.accounts import Account
    from real_trade.sim.core import ExchangeCore
    from real_trade.sim.types import Fill, Order

__all__ = ["FILLS_LIMIT", "fills_with_orders"]

FILLS_LIMIT = 1000
"""How many of a symbol's fills one execution list reads (the face pages them)."""


def fills_with_orders(
    core: ExchangeCore,
    account: Account,
    symbol: str,
    start_ms: str | None,
    end_ms: str | None,
    order_id: str | None,
) -> list[tuple[Fill, Order]]:
    """``account``'s fills of ``symbol`` from ``start_ms`` to ``end_ms`` (the raw parameters;
    None: open-ended), only those of ``order_id`` when it is a number, each with its order
    (read once per order)."""
    fills = core.my_trades(
        account,
        symbol,
        start_ms=int(start_ms) if start_ms is not None else None,
        end_ms=int(end_ms) if end_ms is not None else None,
        limit=FILLS_LIMIT,
        order_id=int(order_id) if order_id is not None and order_id.isdigit() else None,
    )
    orders: dict[int, Order] = {}
    out = []
    for fill in fills:
        if fill.order_id not in orders:
            orders[fill.order_id] = core.get_order(account, symbol, fill.order_id)
        out.append((fill, orders[fill.order_id]))
    return out
