"""Order sides and kinds: :class:`OrderSide` and :class:`OrderKind`, the one definition of each.

The broker, the order manager, risk, the journal and the feeds all speak these; a venue's or the
simulator's own spellings (Binance's ``BUY``/``STOP_LOSS_LIMIT``) are translated at that edge.
"""

from __future__ import annotations

import enum

__all__ = ["OrderKind", "OrderSide"]


class _Spelled(str, enum.Enum):
    """A string enum that prints as its value (``f"{OrderSide.BUY}"`` is ``buy``), on 3.10 too."""

    def __str__(self) -> str:
        """The value, so messages and f-strings read as the venue table spells it."""
        return str(self.value)


class OrderSide(_Spelled):
    """Buy or sell, valued as ccxt spells them: ``OrderSide.BUY == "buy" == f"{OrderSide.BUY}"``."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell: the sign of the side's effect on a position."""
        return 1 if self is OrderSide.BUY else -1


class OrderKind(_Spelled):
    """backtrader's execution types, valued as the venue table names them."""

    MARKET = "Market"
    LIMIT = "Limit"
    STOP = "Stop"
    STOP_LIMIT = "StopLimit"
    STOP_TRAIL = "StopTrail"
    STOP_TRAIL_LIMIT = "StopTrailLimit"

    @property
    def has_trigger(self) -> bool:
        """Whether the order waits for a stop price to be crossed."""
        return self not in (OrderKind.MARKET, OrderKind.LIMIT)

    @property
    def has_limit(self) -> bool:
        """Whether the order (once triggered) is a limit order."""
        return self in (OrderKind.LIMIT, OrderKind.STOP_LIMIT, OrderKind.STOP_TRAIL_LIMIT)
