"""Funding of linear perpetuals: every 8 hours (00, 08, 16 UTC), paid between longs and shorts.

The rate follows Binance's formula on the premium at the funding time:
``rate = premium + clamp(interest - premium, -0.05%, +0.05%)``, capped at ``+-cap`` and
rounded to 8 decimals (interest 0.01% per 8 hours). A position pays
``qty * contract_size * mark * rate`` (longs pay shorts when the rate is positive); with the
mark and the rate on finite grids the payments are exact, so they sum to zero over all the
positions of a symbol (whose sizes sum to zero).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

__all__ = [
    "FUNDING_INTERVAL_MS",
    "funding_payment",
    "funding_rate",
    "funding_times",
    "next_funding_ms",
]

FUNDING_INTERVAL_MS = 8 * 3_600_000
"""Funding happens at every multiple of 8 hours since the epoch: 00:00, 08:00, 16:00 UTC."""
_Q8 = Decimal("0.00000001")
_INTEREST = Decimal("0.0001")
_CLAMP = Decimal("0.0005")
_CAP = Decimal("0.0075")


def next_funding_ms(now_ms: int) -> int:
    """The first funding time strictly after ``now_ms``."""
    return (now_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS


def funding_times(after_ms: int, until_ms: int) -> list[int]:
    """The funding times in ``(after_ms, until_ms]``, ascending."""
    t = next_funding_ms(after_ms)
    out = []
    while t <= until_ms:
        out.append(t)
        t += FUNDING_INTERVAL_MS
    return out


def funding_rate(
    premium: Decimal, interest: Decimal = _INTEREST, clamp: Decimal = _CLAMP, cap: Decimal = _CAP
) -> Decimal:
    """The funding rate for ``premium`` (see the module docstring)."""
    rate = premium + min(max(interest - premium, -clamp), clamp)
    return min(max(rate, -cap), cap).quantize(_Q8, ROUND_HALF_EVEN)


def funding_payment(qty: Decimal, contract_size: Decimal, mark: Decimal, rate: Decimal) -> Decimal:
    """What a position of signed ``qty`` contracts receives (< 0: pays) at ``mark`` and ``rate``."""
    return -qty * contract_size * mark * rate
