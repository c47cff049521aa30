"""Margin formulas: initial margin, liquidation price (Binance's one-way formula).

For a position of ``size`` base units (``abs(qty) * contract_size``), entry ``entry``, on
``side`` (+1 long, -1 short), the liquidation price is where the margin balance meets the
maintenance margin::

    LP = (WB - TMM + UPNL + cum - side * size * entry) / (size * mmr - side * size)

``WB`` is the wallet that backs the position (its isolated margin, or the cross wallet) and
``TMM``/``UPNL`` the maintenance margin and unrealized PnL of the account's *other* cross
positions (0 for isolated). ``mmr``/``cum`` come from the position's bracket.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_UP, Decimal

from real_trade.sim.derivatives.positions import PNL_QUANTUM

__all__ = ["initial_margin", "liquidation_price"]


def initial_margin(notional: Decimal, leverage: int) -> Decimal:
    """``notional / leverage`` rounded up to the settlement precision."""
    return (notional / leverage).quantize(PNL_QUANTUM, ROUND_UP)


def liquidation_price(
    *,
    wallet: Decimal,
    side: int,
    size: Decimal,
    entry: Decimal,
    mmr: Decimal,
    cum: Decimal,
    other_mm: Decimal = Decimal(0),
    other_upnl: Decimal = Decimal(0),
) -> Decimal:
    """The mark price at which the position is liquidated (0 when it never is)."""
    if not size:
        return Decimal(0)
    den = size * mmr - side * size
    if not den:
        return Decimal(0)
    lp = (wallet - other_mm + other_upnl + cum - side * size * entry) / den
    return max(Decimal(0), lp.quantize(PNL_QUANTUM, ROUND_HALF_EVEN))
