"""Binance's diff-depth rule (spot ``U``/``u``, USDⓈ-M ``pu``), after a REST snapshot.

Spot (``web-socket-streams.md``, "How to manage a local order book correctly"): drop diffs with
``u <= lastUpdateId`` of the snapshot; the first applied diff must span it
(``U <= lastUpdateId + 1 <= u``); then every diff starts where the last ended
(``U == previous u + 1``). USDⓈ-M: the first diff spans the snapshot likewise, then each diff's
``pu`` must equal the previous diff's ``u``. A diff with ``u`` at or below the book's id is a
duplicate or a late one: skipped. Anything else is a gap.
"""

from __future__ import annotations

from real_trade.orderbook.rules import Verdict

__all__ = ["BinanceRule"]


class BinanceRule:
    """Judge Binance depth diffs against the book's last update id (see the module docstring).

    ``futures=True`` checks USDⓈ-M's ``pu`` instead of spot's ``U`` continuity.
    """

    __slots__ = ("first", "futures", "last")

    def __init__(self, futures: bool = False) -> None:
        """A rule that has seen no snapshot yet."""
        self.futures = futures
        self.last: int | None = None
        self.first = True

    def reset(self, snapshot_id: int) -> None:
        """A snapshot at ``lastUpdateId == snapshot_id`` was loaded."""
        self.last = snapshot_id
        self.first = True

    def check(self, first_id: int, last_id: int, prev_id: int | None) -> Verdict:
        """The verdict on a diff covering ``first_id``..``last_id`` (``U``/``u``) that follows
        ``prev_id`` (``pu``, futures only); on APPLY the rule moves to ``last_id``."""
        last = self.last
        if last is None:
            return Verdict.GAP
        if last_id <= last:
            return Verdict.SKIP
        if self.first:
            ok = first_id <= last + 1
        elif self.futures and prev_id is not None:
            ok = prev_id == last
        else:
            ok = first_id == last + 1
        if not ok:
            return Verdict.GAP
        self.first = False
        self.last = last_id
        return Verdict.APPLY
