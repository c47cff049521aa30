"""``BookFills``: paper market orders that walk a real synchronized order book (opt-in).

With ``paper_fill_from_book`` the paper broker hands :class:`~real_trade.execution.paper.
PaperExecution` a depth source (the store's live books, :class:`~real_trade.stores.books.
StoreBooks`). When a MARKET order goes in, the liquidity ladder steps aside and the provider
quotes the synced book's levels on the side the order takes
(:meth:`~real_trade.sim.liquidity.SymbolLiquidity.stand_in`), so the matching engine fills it as
the venue would: level by level (the VWAP of the levels it takes), partially when the book is
thinner than the order (the rest EXPIRED, as a venue's market order), at the paper account's
taker fee; then the levels go and the ladder returns at the next tick. Limit and stop orders are
unchanged. While the book is not SYNCED the order meets the ladder as before, and the log says
so once per symbol.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING

from real_trade.errors import RealTradeError
from real_trade.sim.core import ExchangeCore
from real_trade.sim.market import Side

if TYPE_CHECKING:
    from real_trade.orderbook.book import BookDepth

__all__ = ["BookFills", "DepthSource"]

DepthSource = Callable[[str, int | None], "BookDepth | None"]
"""``(unified symbol, levels) -> BookDepth``, None while the book is not SYNCED."""

_log = logging.getLogger("real_trade.paper")


class BookFills:
    """Puts a real book under paper market orders (see the module docstring).

    ``source`` gives the depth; ``levels`` is how many levels per side are quoted (None: all).
    """

    def __init__(self, source: DepthSource, levels: int | None = 200) -> None:
        """Nothing is read until the first market order."""
        self.source = source
        self.levels = levels
        self.fallbacks = 0
        """How many market orders met the ladder because the book was not synced."""
        self.last: BookDepth | None = None
        """The depth the last market order met on the book (None before any)."""
        self._told: set[str] = set()

    def depth(self, symbol: str) -> BookDepth | None:
        """The book of ``symbol`` now, or None (not synced, or the source failed: logged)."""
        try:
            return self.source(symbol, self.levels)
        except (RealTradeError, OSError, ValueError, RuntimeError) as exc:
            self._tell(symbol, f"its order book is unavailable ({type(exc).__name__}: {exc})")
            return None

    @contextlib.contextmanager
    def standing_in(
        self, core: ExchangeCore, sid: str, symbol: str, side: Side, now_ms: int
    ) -> Iterator[BookDepth | None]:
        """Within the block, a ``side`` market order of ``symbol`` (``sid`` in ``core``) meets
        the synced book's levels; yields the depth quoted, or None (the ladder stays)."""
        liquidity = core.liquidity(sid)
        depth = self.depth(symbol) if liquidity is not None else None
        if liquidity is None or depth is None:
            self.fallbacks += 1
            self._tell(symbol, "its order book is not synced")
            yield None
            return
        self.last = depth
        levels = depth.asks if side is Side.BUY else depth.bids
        quotes = [(Decimal(repr(p)), Decimal(repr(q))) for p, q in levels]
        liquidity.stand_in(Side.SELL if side is Side.BUY else Side.BUY, quotes, now_ms)
        try:
            yield depth
        finally:
            liquidity.stand_down(now_ms)

    def _tell(self, symbol: str, why: str) -> None:
        if symbol not in self._told:
            self._told.add(symbol)
            _log.warning(
                "paper_fill_from_book: %s market orders fill on the simulated ladder while %s",
                symbol,
                why,
            )
