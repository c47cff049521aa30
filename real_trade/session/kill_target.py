"""``SessionKillTarget``: the kill switch's target for a trading session.

Open orders are the order manager's alive orders plus, on a live account, the orders open at
the exchange on the traded symbols that the manager does not follow (read once per kill);
cancels go through the manager (confirmed by the venue's answer on a later cycle) or straight
to the exchange for the untracked ones. Positions are the strategy's (dust is no position, so
it is never flattened); a close is a market order through the session, which only reduces the
position. Every call runs on the trading thread (the switch is stepped on the session's cycle).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from real_trade.execution import OrderSide
from real_trade.risk.killswitch_types import KillOrder, KillPosition

if TYPE_CHECKING:
    from real_trade.session.session import TradingSession

__all__ = ["SessionKillTarget"]


class SessionKillTarget:
    """The :class:`~real_trade.risk.killswitch_types.KillTarget` of one session."""

    def __init__(self, session: TradingSession) -> None:
        """Act on ``session``'s orders and positions."""
        self.session = session
        self._untracked: list[KillOrder] | None = None
        self._managed: dict[str, int] = {}  # KillOrder.id -> local id

    def refresh(self) -> None:
        """Read the exchange's untracked orders again at the next :meth:`open_orders`."""
        self._untracked = None

    def open_orders(self) -> list[KillOrder]:
        """The alive orders of the manager, then the exchange's untracked ones."""
        manager = self.session.manager
        if manager is None:
            return []
        found = []
        for mo in manager.alive_orders():
            req = mo.tracked.request
            oid = mo.client_order_id or f"local {mo.local_id}"
            self._managed[oid] = mo.local_id
            left = max(req.amount - mo.tracked.filled, 0.0)
            found.append(
                KillOrder(oid, req.symbol, req.side.value, left, req.price, mo.client_order_id)
            )
        if self._untracked is None:
            self._untracked = self._read_untracked()
        return found + self._untracked

    def _read_untracked(self) -> list[KillOrder]:
        session, manager = self.session, self.session.manager
        client = session.config.client
        if session.live is None or client is None or manager is None:
            return []
        found = []
        for symbol in session.symbols:
            for order in client.fetch_open_orders(symbol):
                cid = order.get("clientOrderId") or ""
                if manager.find(cid) is None:
                    left = order.get("remaining") or order.get("amount") or 0.0
                    side = str(order.get("side") or "")
                    found.append(KillOrder(str(order["id"]), symbol, side, float(left), None, cid))
        return found

    def cancel(self, order: KillOrder) -> None:
        """Cancel through the manager, or at the exchange for an untracked order."""
        local_id = self._managed.get(order.id)
        if local_id is not None and self.session.manager is not None:
            self.session.manager.cancel(local_id)
            return
        self.session.config.client.cancel_order(order.id, order.symbol)
        if self._untracked is not None:
            self._untracked = [o for o in self._untracked if o.id != order.id]

    def positions(self) -> list[KillPosition]:
        """The strategy's non-zero positions with the market's minimums and last price."""
        session, manager = self.session, self.session.manager
        if manager is None:
            return []
        out = []
        for symbol in session.symbols:
            size = session.positions.size(symbol)
            if abs(size) <= 1e-12:
                continue
            limits = manager.port.limits(symbol)
            closable = limits.round_amount(abs(size))
            if abs(closable - abs(size)) <= 1e-9 * abs(size):
                closable = abs(size)
            out.append(
                KillPosition(
                    symbol,
                    size,
                    closable,
                    limits.min_amount or 0.0,
                    limits.min_cost or 0.0,
                    session.last_price(symbol),
                )
            )
        return out

    def close_position(self, position: KillPosition, amount: float) -> str:
        """Send the closing market order; its local id, as ``local <id>``."""
        side = OrderSide.SELL if position.amount > 0 else OrderSide.BUY
        return f"local {self.session.close(position.symbol, side, amount)}"
