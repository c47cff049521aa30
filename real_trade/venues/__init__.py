"""Venues as data: one capability table per exchange, and a derived one for any ccxt id.

See :mod:`real_trade.venues.spec`. Brokers, feeds and stores look their venue up here instead of
carrying per-exchange code.
"""

from real_trade.venues.spec import (
    BINANCE,
    BYBIT,
    KNOWN_VENUES,
    OKX,
    ORDER_TYPES,
    VenueSpec,
    get_venue,
)

__all__ = ["BINANCE", "BYBIT", "KNOWN_VENUES", "OKX", "ORDER_TYPES", "VenueSpec", "get_venue"]
