"""Index, premium and mark price of a linear perpetual, deterministic from the seed.

The index is the market's own price (the symbol's last trade, else its last close). The premium
is a smooth, bounded path: a value in ``[-max_premium, max_premium]`` drawn from the seed for
every knot (every ``knot_ms`` of market time) and interpolated linearly between knots, so it is a
pure function of (seed, symbol, time) whatever order it is asked in. The mark is
``index * (1 + premium)`` rounded to the symbol's tick.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

__all__ = ["MarkModel"]

_Q8 = Decimal("0.00000001")


@dataclass(slots=True)
class MarkModel:
    """Premium path and mark price (see the module docstring); ``max_premium=0``: mark = index."""

    seed: int = 0
    max_premium: Decimal = Decimal("0.0005")
    knot_ms: int = 15 * 60_000
    _knots: dict[tuple[str, int], Decimal] = field(default_factory=dict, repr=False)

    def _knot(self, symbol: str, k: int) -> Decimal:
        key = (symbol, k)
        value = self._knots.get(key)
        if value is None:
            if len(self._knots) > 4096:
                self._knots.clear()
            u = random.Random(f"{self.seed}:{symbol}:{k}").uniform(-1.0, 1.0)
            value = self._knots[key] = Decimal(f"{u:.6f}") * self.max_premium
        return value

    def premium(self, symbol: str, t_ms: int) -> Decimal:
        """The premium of ``symbol`` at market time ``t_ms`` (a fraction of the index)."""
        if not self.max_premium:
            return Decimal(0)
        k, offset = divmod(t_ms, self.knot_ms)
        a, b = self._knot(symbol, k), self._knot(symbol, k + 1)
        return (a + (b - a) * Decimal(offset) / Decimal(self.knot_ms)).quantize(
            _Q8, ROUND_HALF_EVEN
        )

    def mark(self, symbol: str, index: Decimal, t_ms: int, tick: Decimal) -> Decimal:
        """The mark price: ``index * (1 + premium)`` rounded to ``tick`` (the index when 0)."""
        raw = index * (1 + self.premium(symbol, t_ms))
        if tick <= 0:
            return raw.quantize(_Q8, ROUND_HALF_EVEN)
        return (raw / tick).quantize(Decimal(1), ROUND_HALF_EVEN) * tick
