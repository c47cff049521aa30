"""``VenueKillTarget``: the kill switch's target for a testnet or live account on a venue.

It reads open orders, balances or positions through a
:class:`~real_trade.venues.client.VenueClient` (sync face, so any thread but the client's own
I/O thread, and any process: ``real-trade kill`` builds its own client) and cancels and closes
with ordinary venue calls. See :class:`real_trade.risk.killswitch.KillSwitch`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from real_trade.errors import RealTradeError
from real_trade.risk.killswitch_types import KillOrder, KillPosition

__all__ = ["VenueKillTarget"]


class VenueKillTarget:
    """The :class:`~real_trade.risk.killswitch.KillTarget` of an account behind a client.

    ``symbols`` are the symbols to clean up (open orders are read per symbol). On spot a
    position is the total balance of a symbol's base asset (one symbol per base asset), closed
    with a market sell; on derivatives it is the venue's position, closed with a ``reduceOnly``
    market order. Amounts go through the market's precision; minimums come from its limits.
    """

    def __init__(self, client: Any, symbols: Sequence[str]) -> None:
        """Act on ``symbols`` of the account behind ``client`` (a ``VenueClient``)."""
        if not symbols:
            raise ValueError("VenueKillTarget needs at least one symbol, e.g. ['BTC/USDT']")
        self.client = client
        self.symbols = list(dict.fromkeys(client.symbol_of(s) for s in symbols))
        self.spot = client.market_type == "spot"

    def __repr__(self) -> str:
        """The client (masked key) and the symbols."""
        return f"VenueKillTarget({self.client!r}, symbols={self.symbols!r})"

    def open_orders(self) -> list[KillOrder]:
        """Every open order of the symbols, read from the venue."""
        found = []
        for symbol in self.symbols:
            for o in self.client.fetch_open_orders(symbol):
                left = o.get("remaining") if o.get("remaining") is not None else o.get("amount")
                price = None if o.get("price") is None else float(o["price"])
                side, cid = str(o.get("side") or ""), o.get("clientOrderId")
                found.append(
                    KillOrder(str(o["id"]), str(o["symbol"]), side, float(left or 0), price, cid)
                )
        return found

    def cancel(self, order: KillOrder) -> None:
        """Cancel ``order`` at the venue (``OrderNotFoundError`` when it is gone)."""
        self.client.cancel_order(order.id, order.symbol)

    def positions(self) -> list[KillPosition]:
        """The base balances (spot) or the venue's positions (derivatives), non-zero only."""
        held: list[tuple[str, float]] = []
        if self.spot:
            totals = self.client.fetch_balance().get("total") or {}
            bases: set[str] = set()
            for symbol in self.symbols:
                base = str(self.client.market(symbol)["base"])
                if base not in bases:
                    bases.add(base)
                    held.append((symbol, float(totals.get(base) or 0.0)))
        else:
            for row in self.client.fetch_positions(self.symbols):
                sign = -1.0 if row.get("side") == "short" else 1.0
                held.append((str(row["symbol"]), sign * float(row.get("contracts") or 0.0)))
        return [self._position(symbol, amount) for symbol, amount in held if amount]

    def _position(self, symbol: str, amount: float) -> KillPosition:
        limits = self.client.market(symbol).get("limits") or {}
        try:
            closable = float(self.client.amount_to_precision(symbol, abs(amount)))
        except RealTradeError:  # ccxt refuses an amount that rounds to zero
            closable = 0.0
        last = self.client.fetch_ticker(symbol).get("last")
        min_amount = float((limits.get("amount") or {}).get("min") or 0.0)
        min_notional = float((limits.get("cost") or {}).get("min") or 0.0)
        price = None if last is None else float(last)
        return KillPosition(symbol, amount, closable, min_amount, min_notional, price)

    def close_position(self, position: KillPosition, amount: float) -> str:
        """Place the closing market order (``reduceOnly`` on derivatives); return its id."""
        params = {} if self.spot else {"reduceOnly": True}
        side = position.close_side
        order = self.client.create_order(position.symbol, "market", side, amount, params=params)
        return str(order.get("id"))
