"""Parsing of order-request values into the core's types, with neutral error reasons.

The core hands the values it is given (enums or their neutral spellings, numbers as strings or
Decimals) to these parsers, which raise a :class:`~real_trade.sim.errors.BadParameter` with a
:class:`~real_trade.sim.errors.Reason` for a bad value: ``BAD_NUMBER`` for an unparsable or
negative number, ``BAD_CLIENT_ID`` for an illegal client order id, ``INVALID_*`` for an unknown
side, order type or time in force. A face parses its venue's spellings itself (for Binance:
:mod:`real_trade.sim.binance.vocab`). They are re-exported by :mod:`real_trade.sim.rules`.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from real_trade.sim.errors import BadParameter, Reason
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
    """A request value as a Decimal; ``BAD_NUMBER`` naming ``name`` unless finite and >= 0."""
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
    """Return the :class:`Side` for ``value``; ``INVALID_SIDE`` otherwise."""
    try:
        return value if isinstance(value, Side) else Side(value)
    except ValueError:
        raise BadParameter(Reason.INVALID_SIDE) from None


def parse_order_type(value: OrderType | str) -> OrderType:
    """Return the :class:`OrderType` for ``value``; ``INVALID_ORDER_TYPE`` otherwise."""
    try:
        return value if isinstance(value, OrderType) else OrderType(value)
    except ValueError:
        raise BadParameter(Reason.INVALID_ORDER_TYPE) from None


def parse_tif(value: TimeInForce | str | None) -> TimeInForce | None:
    """The :class:`TimeInForce` for ``value`` (None stays None); else ``INVALID_TIME_IN_FORCE``."""
    if value is None or isinstance(value, TimeInForce):
        return value
    try:
        return TimeInForce(value)
    except ValueError:
        raise BadParameter(Reason.INVALID_TIME_IN_FORCE) from None


def parse_client_order_id(value: str | None) -> str | None:
    """Return a client order id (None stays None); ``BAD_CLIENT_ID`` for an illegal one."""
    if value is not None and not _CLIENT_ID_RE.match(value):
        raise BadParameter(Reason.BAD_CLIENT_ID, "client_order_id")
    return value
