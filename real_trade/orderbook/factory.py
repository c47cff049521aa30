"""``order_book_synchronizer``: the synchronizer of a venue, by name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from real_trade.orderbook.binance import BinanceOrderBookSynchronizer
from real_trade.orderbook.bybit import BybitOrderBookSynchronizer
from real_trade.orderbook.okx import OKXOrderBookSynchronizer
from real_trade.orderbook.synchronizer import OrderBookSynchronizer

__all__ = ["order_book_synchronizer"]


def order_book_synchronizer(
    venue: str, symbols: Sequence[str], **options: Any
) -> OrderBookSynchronizer:
    """The synchronizer of ``venue``: ``binance`` (spot), ``binance_futures`` (USDⓈ-M),
    ``bybit`` or ``okx``; ``options`` go to its constructor (``sim_url``, ``bus``...)."""
    if venue == "binance":
        return BinanceOrderBookSynchronizer(symbols, **options)
    if venue == "binance_futures":
        return BinanceOrderBookSynchronizer(symbols, market_type="future", **options)
    if venue == "bybit":
        return BybitOrderBookSynchronizer(symbols, **options)
    if venue == "okx":
        return OKXOrderBookSynchronizer(symbols, **options)
    raise ValueError(f"no order book synchronizer for venue {venue!r}")
