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
_TRADE_AMOUNTS = ("amount",)
_MARK = "_rt_base_units"


def _converted(item: Mapping[str, Any], keys: tuple[str, ...]) -> bool:
    """Whether ``item``'s amounts are the very objects this module wrote there.

    A dict handed out again unchanged is not converted twice; one that ccxt updated in place
    since (ccxt.pro's order cache ``update``s the cached order with each push, keeping the
    keys the push lacks, this mark among them) holds the push's new amounts in contracts and
    is converted again.
    """
    mark = item.get(_MARK)
    return (
        isinstance(mark, tuple)
        and len(mark) == len(keys)
        and all(item.get(k) is m for k, m in zip(keys, mark, strict=True))
    )


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
    if size == 1.0:
        return order
    if not _converted(order, _ORDER_AMOUNTS):
        for key in _ORDER_AMOUNTS:
            if order.get(key) is not None:
                order[key] = float(order[key]) * size
        order[_MARK] = tuple(order.get(k) for k in _ORDER_AMOUNTS)
    for trade in order.get("trades") or []:
        trade_in_base(market, trade)
    return order


def trade_in_base(market: Mapping[str, Any] | None, trade: dict[str, Any]) -> dict[str, Any]:
    """A ccxt trade with its amount in base units; the same dict."""
    size = contract_size(market)
    if size == 1.0 or _converted(trade, _TRADE_AMOUNTS):
        return trade
    if trade.get("amount") is not None:
        trade["amount"] = float(trade["amount"]) * size
    trade[_MARK] = (trade.get("amount"),)
    return trade
