"""Binance's words for the core's neutral enums, both ways.

Binance spells sides, order types, times in force, order statuses and execution types as the
upper-case member names (``BUY``, ``STOP_LOSS_LIMIT``, ``GTC``, ``PARTIALLY_FILLED``,
``TRADE``). The ``*_OUT`` tables render a core value for the wire; the ``parse_*`` functions read
a request's value and raise Binance's error for an unknown one (-1117 side, -1116 type, -1115
time in force).
"""

from __future__ import annotations

from real_trade.sim.binance.errors import BinanceApiError
from real_trade.sim.types import ExecutionType, OrderStatus, OrderType, Side, TimeInForce

__all__ = [
    "EXECUTION_OUT",
    "ORDER_TYPE_OUT",
    "SIDE_OUT",
    "STATUS_OUT",
    "TIF_OUT",
    "parse_order_type",
    "parse_side",
    "parse_tif",
]

SIDE_OUT: dict[Side, str] = {s: s.name for s in Side}
"""Binance's word for each side."""
ORDER_TYPE_OUT: dict[OrderType, str] = {t: t.name for t in OrderType}
"""Binance's word for each order type."""
TIF_OUT: dict[TimeInForce, str] = {t: t.name for t in TimeInForce}
"""Binance's word for each time in force."""
STATUS_OUT: dict[OrderStatus, str] = {s: s.name for s in OrderStatus}
"""Binance's word for each order status."""
EXECUTION_OUT: dict[ExecutionType, str] = {
    **{e: e.name for e in ExecutionType},
    ExecutionType.AMENDED: "REPLACED",
}
"""Binance's word for each execution type (an ``executionReport``'s ``x``; an amend that keeps
the order is ``REPLACED``)."""

_SIDE_IN = {v: k for k, v in SIDE_OUT.items()}
_TYPE_IN = {v: k for k, v in ORDER_TYPE_OUT.items()}
_TIF_IN = {v: k for k, v in TIF_OUT.items()}


def parse_side(value: str) -> Side:
    """The side Binance's ``side`` names; -1117 "Invalid side." otherwise."""
    side = _SIDE_IN.get(value)
    if side is None:
        raise BinanceApiError(-1117, "Invalid side.")
    return side


def parse_order_type(value: str) -> OrderType:
    """The order type Binance's ``type`` names; -1116 "Invalid orderType." otherwise."""
    order_type = _TYPE_IN.get(value)
    if order_type is None:
        raise BinanceApiError(-1116, "Invalid orderType.")
    return order_type


def parse_tif(value: str | None) -> TimeInForce | None:
    """The time in force Binance's ``timeInForce`` names (None stays None); -1115 otherwise."""
    if value is None:
        return None
    tif = _TIF_IN.get(value)
    if tif is None:
        raise BinanceApiError(-1115, "Invalid timeInForce.")
    return tif
