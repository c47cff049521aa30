"""Bybit v5's order book rule (``orderbook.<depth>.<symbol>``): snapshot then deltas.

The websocket sends a ``snapshot`` (which replaces the book whenever it comes) and then
``delta`` messages whose ``u`` counts up by one per message; ``seq`` is the matching engine's
cross sequence and never goes back. A delta with ``u`` at or below the book's is a duplicate or
a late one: skipped; ``u`` beyond the next one, or a ``seq`` lower than the book's, is a gap.
"""

from __future__ import annotations

from real_trade.orderbook.rules import Verdict

__all__ = ["BybitRule"]


class BybitRule:
    """Judge Bybit deltas against the book's ``u`` and ``seq`` (see the module docstring)."""

    __slots__ = ("last", "seq")

    def __init__(self) -> None:
        """A rule that has seen no snapshot yet."""
        self.last: int | None = None
        self.seq: int | None = None

    def reset(self, u: int, seq: int | None) -> None:
        """A snapshot with update id ``u`` and cross sequence ``seq`` was loaded."""
        self.last, self.seq = u, seq

    def check(self, u: int, seq: int | None) -> Verdict:
        """The verdict on a delta with update id ``u`` and cross sequence ``seq``; on APPLY the
        rule moves to them."""
        last = self.last
        if last is None:
            return Verdict.GAP
        if u <= last:
            return Verdict.SKIP
        if u != last + 1 or (seq is not None and self.seq is not None and seq < self.seq):
            return Verdict.GAP
        self.last = u
        if seq is not None:
            self.seq = seq
        return Verdict.APPLY
