"""What a websocket face's market topics share: depth faults on the wire, kline catch-up.

:class:`DepthFaultGate` applies the fault plan's depth action to the frames one book update
makes: the action is drawn before the frames are built (so a face numbering its updates, such as
Bybit's ``u`` or OKX's ``seqId``, numbers a dropped one too and the gap shows), then the frames
are dropped, sent twice, held back until the next update of the same book (reordered) or sent.

:class:`KlineCatchUp` gives, for one kline event of a symbol, each interval's current bar and
the bars that ended since a subscription's last push (pushed closed before the current one), so
no closing bar is skipped when several end between two pushes. :func:`last_bar_open` is where a
new subscription starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from real_trade.sim.faults import FaultPlan
from real_trade.sim.plumbing.ws_conn import WsConnection

if TYPE_CHECKING:
    from real_trade.sim.core import ExchangeCore
    from real_trade.sim.klines import Kline

__all__ = ["DepthFaultGate", "Frames", "KlineCatchUp", "last_bar_open"]

Frames = list[tuple[WsConnection, str]]
"""Text frames and the connection each goes to."""


class DepthFaultGate:
    """The fault plan's depth actions over a face's book-update frames (module docstring)."""

    def __init__(self, faults: FaultPlan) -> None:
        """Draw actions from ``faults``."""
        self._faults = faults
        self._reordered: dict[str, Frames] = {}

    def send(self, book: str, build: Callable[[], Frames]) -> None:
        """Send the frames ``build`` makes for one update of ``book`` as the fault plan says
        (``book`` names what a reordered update waits for: the next update of that book)."""
        action = self._faults.depth_action()
        frames = build()
        if action == "drop":
            return
        if action == "reorder":
            self._reordered.setdefault(book, []).extend(frames)
            return
        if action == "duplicate":
            frames = frames + frames
        frames += self._reordered.pop(book, [])
        for conn, text in frames:
            conn.send(text)


def last_bar_open(core: ExchangeCore, symbol: str, interval: str) -> int | None:
    """The open time of ``symbol``'s latest ``interval`` bar (None before the first)."""
    bars = core.klines(symbol, interval, limit=1)
    return bars[-1].open_ms if bars else None


class KlineCatchUp:
    """The bars one kline event of ``symbol`` pushes, per interval (module docstring)."""

    def __init__(self, core: ExchangeCore, symbol: str) -> None:
        """Read ``symbol``'s bars from ``core`` (each interval's latest bar read once)."""
        self.core = core
        self.symbol = symbol
        self._latest: dict[str, Kline | None] = {}

    def bars(self, interval: str, last_open: int | None) -> tuple[list[Kline], Kline] | None:
        """``(ended, current)`` for a subscription whose last push was of the bar opened at
        ``last_open``: the bars ended since then (oldest first) and the current bar; None when
        the symbol has no bar yet."""
        if interval not in self._latest:
            bars = self.core.klines(self.symbol, interval, limit=1)
            self._latest[interval] = bars[-1] if bars else None
        current = self._latest[interval]
        if current is None:
            return None
        ended: list[Kline] = []
        if last_open is not None and current.open_ms > last_open:
            ended = self.core.klines(
                self.symbol, interval, start_ms=last_open, end_ms=current.open_ms - 1
            )
        return ended, current
