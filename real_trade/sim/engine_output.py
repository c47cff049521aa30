"""What a matching engine did since its caller last drained it, recorded for publishing.

The engine records user-visible changes only (the simulator's own accounts are internal and
publish nothing): order events in the order they happened, public trades, fills per account
and the assets whose balance changed per account. The caller (the exchange core or the paper
broker) drains the record after each operation and publishes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from real_trade.sim.accounts import Account
from real_trade.sim.types import ExecutionType, Fill, Order, OrderEvent, Trade

__all__ = ["EngineOutput"]


@dataclass(slots=True)
class EngineOutput:
    """What happened since the caller last drained the engine (user accounts only).

    ``order_events`` and ``trades`` are in the order they happened; ``touched`` maps each user
    account id to the assets whose balance changed; ``fills`` lists ``(account_id, Fill)``.
    """

    order_events: list[OrderEvent] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    touched: dict[int, set[str]] = field(default_factory=dict)
    fills: list[tuple[int, Fill]] = field(default_factory=list)

    def order_event(self, order: Order, kind: ExecutionType, now_ms: int) -> None:
        """Record a non-trade change of a user order (NEW, CANCELED, EXPIRED) as a snapshot."""
        self.order_events.append(OrderEvent(order.snapshot(), kind, now_ms))

    def touch(self, account: Account, asset: str) -> None:
        """Record that ``asset``'s balance of ``account`` changed (internal accounts ignored)."""
        if not account.internal:
            self.touched.setdefault(account.account_id, set()).add(asset)

    def fill(self, account: Account, order: Order, fill: Fill, base: str, quote: str) -> None:
        """Record a user's fill: the fill, its TRADE order event and both touched balances."""
        if account.internal:
            return
        touched = self.touched.setdefault(account.account_id, set())
        touched.add(base)
        touched.add(quote)
        self.fills.append((account.account_id, fill))
        self.order_events.append(
            OrderEvent(
                order.snapshot(),
                ExecutionType.TRADE,
                fill.time_ms,
                fill.price,
                fill.qty,
                fill.quote_qty,
                fill.commission,
                fill.commission_asset,
                fill.trade_id,
                fill.is_maker,
            )
        )
