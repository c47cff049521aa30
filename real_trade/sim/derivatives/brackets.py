"""Leverage and maintenance-margin brackets of a linear perpetual (Binance USD-M's shape).

A position's notional falls in one :class:`Bracket`; the bracket gives the most leverage allowed
for that notional and the maintenance margin ``notional * mmr - cum`` (``cum`` makes the
maintenance margin continuous across brackets). :data:`DEFAULT_BRACKETS` copies Binance's
BTCUSDT table; every symbol uses it unless the core is given its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["DEFAULT_BRACKETS", "Bracket", "BracketTable", "make_brackets"]


@dataclass(frozen=True, slots=True)
class Bracket:
    """Notional ``[floor, cap)`` with its ``max_leverage``, ``mmr`` and ``cum`` amount."""

    floor: Decimal
    cap: Decimal
    max_leverage: int
    mmr: Decimal
    cum: Decimal


class BracketTable:
    """A symbol's brackets, lowest notional first."""

    def __init__(self, brackets: tuple[Bracket, ...]) -> None:
        """Keep ``brackets`` (contiguous, ascending)."""
        if not brackets:
            raise ValueError("a bracket table needs at least one bracket")
        self.brackets = brackets

    @property
    def max_leverage(self) -> int:
        """The most leverage any position may use (the first bracket's)."""
        return self.brackets[0].max_leverage

    def for_notional(self, notional: Decimal) -> Bracket:
        """The bracket holding ``notional`` (the last one beyond the table)."""
        for b in self.brackets:
            if notional < b.cap:
                return b
        return self.brackets[-1]

    def maintenance_margin(self, notional: Decimal) -> Decimal:
        """``notional * mmr - cum`` of the notional's bracket (never below zero)."""
        b = self.for_notional(notional)
        return max(Decimal(0), notional * b.mmr - b.cum)

    def max_notional(self, leverage: int) -> Decimal:
        """The largest position notional ``leverage`` allows (the cap of the last bracket whose
        maximum leverage is at least ``leverage``; 0 when none is)."""
        best = Decimal(0)
        for b in self.brackets:
            if b.max_leverage >= leverage:
                best = b.cap
        return best


def make_brackets(rows: list[tuple[str, int, str]]) -> BracketTable:
    """Build a table from ``(cap, max_leverage, mmr)`` rows; floors and ``cum`` are derived."""
    out: list[Bracket] = []
    floor, cum, prev_mmr = Decimal(0), Decimal(0), Decimal(0)
    for cap, lev, mmr in rows:
        rate = Decimal(mmr)
        cum += floor * (rate - prev_mmr)
        out.append(Bracket(floor, Decimal(cap), lev, rate, cum))
        floor, prev_mmr = Decimal(cap), rate
    return BracketTable(tuple(out))


DEFAULT_BRACKETS = make_brackets(
    [
        ("50000", 125, "0.004"),
        ("600000", 100, "0.005"),
        ("3000000", 75, "0.0065"),
        ("12000000", 50, "0.01"),
        ("70000000", 25, "0.02"),
        ("100000000", 20, "0.025"),
        ("230000000", 10, "0.05"),
        ("480000000", 5, "0.1"),
        ("600000000", 4, "0.125"),
        ("800000000", 3, "0.15"),
        ("1200000000", 2, "0.25"),
        ("1800000000", 1, "0.5"),
    ]
)
"""Binance's BTCUSDT brackets (cum 0, 50, 950, 11450, ... as Binance publishes them)."""
