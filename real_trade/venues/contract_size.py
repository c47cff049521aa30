"""Contract sizes: backtrader's sizes are base units, some venues count contracts.

An OKX SWAP's ``sz`` counts contracts of ``ctVal`` base units each (``BTC-USDT-SWAP``: 0.01
BTC), and ccxt keeps that unit in its amounts for such markets (``amount``, ``filled``,
``remaining`` of an order, ``amount`` of a trade, the market's amount precision and minimum),
announcing it as the market's ``contractSize``. This module is the one place that converts: the
:class:`~real_trade.venues.client.VenueClient` sends ``amount / contractSize`` contracts and
turns every order and trade it hands out back into base units, and the live port's limits are
scaled the same way, so the strategy, the broker and the journal only ever see base units.
Spot markets and contracts of size 1 (Binance USDⓈ-M, Bybit linear) pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["contract_size", "order_in_base", "to_base", "to_contracts", "trade_in_base"]

_ORDER_AMOUNTS = ("amount", "filled", "remaining")


def contract_size(market: Mapping[str, Any] | None) -> float:
    """Base units per unit of ccxt's amount on ``market`` (1 unless it counts contracts)."""
    if not market or not market.get("contract"):
        return 1.0
    try:
        size = float(market.get("contractSize") or 1.0)
    except (TypeError, ValueError):
        return 1.0
    return size if size > 0 else 1.0


def to_contracts(market: Mapping[str, Any] | None, amount: float) -> float:
    """``amount`` in base units as ccxt's amount on ``market`` (contracts where it counts
    them)."""
    size = contract_size(market)
    return amount if size == 1.0 else amount / size


def to_base(market: Mapping[str, Any] | None, amount: float | None) -> float | None:
    """ccxt's ``amount`` on ``market`` in base units (None stays None)."""
    size = contract_size(market)
    return amount if amount is None or size == 1.0 else float(amount) * size


def order_in_base(market: Mapping[str, Any] | None, order: dict[str, Any]) -> dict[str, Any]:
    """A ccxt order with its amounts (and its trades') in base units; the same dict."""
    size = contract_size(market)
    if size == 1.0 or order.get("_rt_base_units"):
        return order
    for key in _ORDER_AMOUNTS:
        if order.get(key) is not None:
            order[key] = float(order[key]) * size
    for trade in order.get("trades") or []:
        trade_in_base(market, trade)
    order["_rt_base_units"] = True
    return order


def trade_in_base(market: Mapping[str, Any] | None, trade: dict[str, Any]) -> dict[str, Any]:
    """A ccxt trade with its amount in base units; the same dict."""
    size = contract_size(market)
    if size == 1.0 or trade.get("_rt_base_units"):
        return trade
    if trade.get("amount") is not None:
        trade["amount"] = float(trade["amount"]) * size
    trade["_rt_base_units"] = True
    return trade
