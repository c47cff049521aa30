"""The liquidation price a position would have after an order, estimated from real figures.

The venue liquidates when the margin backing a position falls to its maintenance margin at the
mark. For a position of ``size`` (signed) backed by ``margin`` (cross: the account's margin
balance; isolated: the position's own margin), at ``mark``, with maintenance rate ``mmr``::

    margin + size * (L - mark) = mmr * |size| * L
    L = (size * mark - margin) / (size - mmr * |size|)

This is the one-way formula Binance uses for a single position (other positions' PnL in the
cross margin is taken as constant at the mark); the exchange's own figure replaces it once the
position exists (``AccountContext.liquidation_price``).
"""

from __future__ import annotations

__all__ = ["DEFAULT_MAINTENANCE_RATE", "estimated_liquidation_price", "liquidation_distance"]

DEFAULT_MAINTENANCE_RATE = 0.004
"""Binance USDⓈ-M's first-bracket maintenance margin rate of BTCUSDT (0.4%)."""


def estimated_liquidation_price(
    size: float, mark: float, margin: float, mmr: float = DEFAULT_MAINTENANCE_RATE
) -> float | None:
    """The price at which ``size`` backed by ``margin`` is liquidated (None: flat, or never:
    a long whose margin covers the whole notional)."""
    if not size:
        return None
    price = (size * mark - margin) / (size - mmr * abs(size))
    return price if price > 0 else None


def liquidation_distance(liquidation: float | None, mark: float) -> float | None:
    """``|mark - liquidation| / mark`` (None when there is no liquidation price)."""
    if liquidation is None or mark <= 0:
        return None
    return abs(mark - liquidation) / mark
