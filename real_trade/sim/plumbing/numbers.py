"""Numbers as the faces write them on the wire.

:func:`plain_decimal` is Bybit's and OKX's spelling: the shortest plain notation of a decimal
(no exponent, no trailing zeros, ``"0"`` for zero) and ``""`` for an absent value. Binance
writes fixed places instead (``binance.format.dec``).
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["plain_decimal"]


def plain_decimal(x: Decimal | None) -> str:
    """``x`` in plain notation without trailing zeros (``"0"`` for zero, ``""`` for None)."""
    if x is None:
        return ""
    return format(x.normalize(), "f") if x else "0"
