"""The per-venue feeds: ``BinanceData``, ``BybitData``, ``OKXData`` and ``CCXTData``.

They carry no code of their own: the venue table and the store do the work. Each names the venue
it belongs to (a feed on another venue's store is refused) and the store class that
``BinanceData(symbol=...)`` without a store falls back to.
"""

from __future__ import annotations

from typing import ClassVar

from real_trade.feeds.basedata import BaseData

__all__ = ["BinanceData", "BybitData", "CCXTData", "OKXData"]


class BinanceData(BaseData):
    """Binance candles (spot, USDⓈ-M, COIN-M): ``BinanceData(store, symbol="BTC/USDT")``."""

    venue_name: ClassVar[str | None] = "binance"
    store_class_name: ClassVar[str | None] = "BinanceStore"


class BybitData(BaseData):
    """Bybit candles: ``BybitData(store, symbol="BTC/USDT")``."""

    venue_name: ClassVar[str | None] = "bybit"
    store_class_name: ClassVar[str | None] = "BybitStore"


class OKXData(BaseData):
    """OKX candles: ``OKXData(store, symbol="BTC/USDT")``."""

    venue_name: ClassVar[str | None] = "okx"
    store_class_name: ClassVar[str | None] = "OKXStore"


class CCXTData(BaseData):
    """Candles of any ccxt exchange, through a ``CCXTStore(exchange="kraken")``."""
