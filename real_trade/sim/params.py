"""Parsing of order-request parameters into the core's types, with Binance's error codes.

Every face hands raw request values (strings, numbers, enum names) to these parsers, which
raise the :class:`~real_trade.sim.errors.BadParameter` Binance sends for a bad value: -1100 for
an unparsable or negative number or an illegal client order id, -1115/-1116/-1117 for an
unknown time in force, order type or side. They are re-exported by :mod:`real_trade.sim.rules`.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from real_trade.sim.errors import BadParameter
from real_trade.sim.types import OrderType, Side, TimeInForce

__all__ = [
    "parse_client_order_id",
    "parse_order_type",
    "parse_side",
    "parse_tif",
    "to_decimal",
]

_CLIENT_ID_RE = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")


def to_decimal(value: Decimal | str | float | int, name: str) -> Decimal:
    """Convert a request value to Decimal; -1100 (naming ``name``) when not a finite number >= 0."""
    try:
        if isinstance(value, Decimal):
            dec = value
        elif isinstance(value, float):
            dec = Decimal(repr(value))
        else:
            dec = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise BadParameter.illegal_chars(name) from None
    if not dec.is_finite() or dec < 0:
        raise BadParameter.illegal_chars(name)
    return dec


def parse_side(value: Side | str) -> Side:
    """Return the :class:`Side` for ``value``; -1117 "Invalid side." otherwise."""
    try:
        return value if isinstance(value, Side) else Side(value)
    except ValueError:
        raise BadParameter.invalid_side() from None


def parse_order_type(value: OrderType | str) -> OrderType:
    """Return the :class:`OrderType` for ``value``; -1116 "Invalid orderType." otherwise."""
    try:
        return value if isinstance(value, OrderType) else OrderType(value)
    except ValueError:
        raise BadParameter.invalid_order_type() from None


def parse_tif(value: TimeInForce | str | None) -> TimeInForce | None:
    """Return the :class:`TimeInForce` for ``value`` (None stays None); -1115 otherwise."""
    if value is None or isinstance(value, TimeInForce):
        return value
    try:
        return TimeInForce(value)
    except ValueError:
        raise BadParameter.invalid_tif() from None


def parse_client_order_id(value: str | None) -> str | None:
    """Return a client order id (None stays None); -1100 unless it matches Binance's pattern."""
    if value is not None and not _CLIENT_ID_RE.match(value):
        raise BadParameter(
            "Illegal characters found in parameter 'newClientOrderId'; legal range is "
            "'^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
            -1100,
        )
    return value
