"""``AccountView``: the account queries of a store (balance, total value, positions).

A plain view over a :class:`~real_trade.venues.client.VenueClient`: no state of its own, every
answer comes from the venue (the simulator when the client points at it).
"""

from __future__ import annotations

import math
from typing import Any

from real_trade.vocabulary import base_asset

__all__ = ["AccountView"]


class AccountView:
    """The account of ``client``, valued in ``quote_currency`` unless a call names another.

    ``market_type`` (default: the client's) tells spot holdings from derivative positions.
    """

    def __init__(
        self, client: Any, quote_currency: str = "USDT", market_type: str | None = None
    ) -> None:
        """A view of ``client``'s account (no network here)."""
        self.client = client
        self.quote_currency = quote_currency
        self.market_type = market_type or client.market_type

    def balance(self, currency: str | None = None) -> float:
        """The free (available) balance of ``currency`` (default: the quote currency)."""
        code = (currency or self.quote_currency).upper()
        free = self.client.fetch_balance().get("free") or {}
        return float(free.get(code) or 0.0)

    def total_value(self, currency: str | None = None) -> float:
        """The account's total value in ``currency``, assets priced by their last trade
        (assets without a ``ASSET/currency`` market count nothing)."""
        code = (currency or self.quote_currency).upper()
        totals = self.client.fetch_balance().get("total") or {}
        value = 0.0
        for asset, amount in totals.items():
            amount = float(amount or 0.0)
            if amount == 0.0:
                continue
            if asset == code:
                value += amount
                continue
            price = self.last_price(f"{asset}/{code}")
            if price is not None:
                value += amount * price
        return value

    def last_price(self, symbol: str) -> float | None:
        """The last trade price of ``symbol``; None if the venue has no such market or price."""
        exchange = self.client.exchange
        if not exchange.markets:
            self.client.load_markets()
        if symbol not in exchange.markets:
            return None
        last = self.client.fetch_ticker(symbol).get("last")
        return float(last) if last is not None and math.isfinite(float(last)) else None

    def positions(self, symbols: list[str] | None = None) -> list[dict[str, Any]]:
        """Open positions as ``{"symbol", "size", "price"}`` (size signed; price may be None).

        Derivatives: the venue's positions (entry price). Spot: the base-asset holdings of
        ``symbols`` (default: every asset held, against the quote currency).
        """
        if self.market_type != "spot":
            return self._derivative_positions(symbols)
        totals = self.client.fetch_balance().get("total") or {}
        wanted = [self.client.symbol_of(s) for s in symbols] if symbols else None
        if wanted is None:
            quote = self.quote_currency.upper()
            wanted = [f"{a}/{quote}" for a, v in totals.items() if v and a != quote]
        positions = []
        for symbol in wanted:
            size = float(totals.get(base_asset(symbol)) or 0.0)
            if size:
                positions.append({"symbol": symbol, "size": size, "price": None})
        return positions

    def _derivative_positions(self, symbols: list[str] | None) -> list[dict[str, Any]]:
        result = []
        for row in self.client.fetch_positions(symbols):
            size = float(row.get("contracts") or 0.0) * float(row.get("contractSize") or 1.0)
            if row.get("side") == "short":
                size = -size
            if size:
                price = row.get("entryPrice")
                result.append(
                    {"symbol": row.get("symbol"), "size": size, "price": price and float(price)}
                )
        return result
