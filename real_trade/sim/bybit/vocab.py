"""Bybit v5's words for the core's neutral enums, and its kline intervals."""

from __future__ import annotations

from real_trade.sim.types import OrderStatus, OrderType, Side, TimeInForce

__all__ = [
    "INTERVALS",
    "SIDE_IN",
    "SIDE_OUT",
    "STATUS_OUT",
    "TIF_OUT",
    "TYPE_OUT",
]

SIDE_OUT: dict[Side, str] = {Side.BUY: "Buy", Side.SELL: "Sell"}
"""Bybit's word for each side."""
SIDE_IN: dict[str, Side] = {v: k for k, v in SIDE_OUT.items()}
"""The side each of Bybit's words names."""

TYPE_OUT: dict[OrderType, str] = {
    OrderType.LIMIT: "Limit",
    OrderType.LIMIT_MAKER: "Limit",
    OrderType.MARKET: "Market",
    OrderType.STOP_LOSS: "Market",
    OrderType.TAKE_PROFIT: "Market",
    OrderType.STOP_LOSS_LIMIT: "Limit",
    OrderType.TAKE_PROFIT_LIMIT: "Limit",
}
"""Bybit's ``orderType`` of each core type (stops are flagged apart, by ``triggerPrice``)."""

TIF_OUT: dict[TimeInForce, str] = {
    TimeInForce.GTC: "GTC",
    TimeInForce.IOC: "IOC",
    TimeInForce.FOK: "FOK",
}
"""Bybit's ``timeInForce`` of each core time in force (post-only is ``PostOnly``)."""

STATUS_OUT: dict[OrderStatus, str] = {
    OrderStatus.NEW: "New",
    OrderStatus.PARTIALLY_FILLED: "PartiallyFilled",
    OrderStatus.FILLED: "Filled",
    OrderStatus.CANCELED: "Cancelled",
    OrderStatus.REJECTED: "Rejected",
    OrderStatus.EXPIRED: "Cancelled",
    OrderStatus.EXPIRED_IN_MATCH: "Cancelled",
}
"""Bybit's ``orderStatus`` of each core status (an expired IOC is ``Cancelled`` on Bybit)."""

INTERVALS: dict[str, str] = {
    "1": "1m",
    "3": "3m",
    "5": "5m",
    "15": "15m",
    "30": "30m",
    "60": "1h",
    "120": "2h",
    "240": "4h",
    "360": "6h",
    "720": "12h",
    "D": "1d",
    "W": "1w",
    "M": "1M",
}
"""Bybit's kline interval codes and the core's interval for each."""
