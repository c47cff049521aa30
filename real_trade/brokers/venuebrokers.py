"""The venue brokers: ``BinanceBroker``, ``BybitBroker``, ``OKXBroker`` and ``CCXTBroker``.

They carry no code of their own: everything venue-specific (native order types, client order id
limits, credentials) comes from the store's venue table (:mod:`real_trade.venues.spec`). They
exist so that ``store.getbroker()`` and the seed's ``BinanceBroker(store, paper_trading=True)``
find a class named after the venue.
"""

from __future__ import annotations

from real_trade.brokers.basebroker import BaseBroker

__all__ = ["BinanceBroker", "BybitBroker", "CCXTBroker", "OKXBroker"]


class BinanceBroker(BaseBroker):
    """The broker for Binance (spot, USDⓈ-M and COIN-M through the store's market type)."""


class BybitBroker(BaseBroker):
    """The broker for Bybit."""


class OKXBroker(BaseBroker):
    """The broker for OKX (its store needs a passphrase for live trading)."""


class CCXTBroker(BaseBroker):
    """The broker for any other ccxt exchange (a ``CCXTStore``)."""
