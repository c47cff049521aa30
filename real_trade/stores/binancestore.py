"""``BinanceStore``: the Binance venue (spot, USDⓈ-M ``future``, COIN-M ``delivery``).

Everything Binance-specific lives in the venue table (:data:`real_trade.venues.BINANCE`); this
class only names it.
"""

from __future__ import annotations

from typing import ClassVar

from real_trade.stores.basestore import BaseStore
from real_trade.venues.spec import BINANCE, VenueSpec

__all__ = ["BinanceStore"]


class BinanceStore(BaseStore):
    """A store on Binance: ``BinanceStore.get_instance(apikey, secret, testnet, market_type)``."""

    venue: ClassVar[VenueSpec | None] = BINANCE
