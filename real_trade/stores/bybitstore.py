"""``BybitStore``: the Bybit venue (v5 API: spot, linear ``future``/``swap``, inverse).

Everything Bybit-specific lives in the venue table (:data:`real_trade.venues.BYBIT`); this class
only names it.
"""

from __future__ import annotations

from typing import ClassVar

from real_trade.stores.basestore import BaseStore
from real_trade.venues.spec import BYBIT, VenueSpec

__all__ = ["BybitStore"]


class BybitStore(BaseStore):
    """A store on Bybit: ``BybitStore.get_instance(apikey, secret, testnet, market_type)``."""

    venue: ClassVar[VenueSpec | None] = BYBIT
