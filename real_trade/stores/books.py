"""``StoreBooks``: a store's live order books, one synchronizer per symbol, started lazily.

The first call for a symbol builds the venue's :class:`~real_trade.orderbook.
OrderBookSynchronizer` (:func:`~real_trade.orderbook.order_book_synchronizer`) with the store's
connection settings (simulator URL, testnet, market type) and starts it; :meth:`StoreBooks.stop`
(called by the store's ``stop``) stops them all. Readers get a :class:`~real_trade.orderbook.
BookDepth` copy, or None until the book is SYNCED (and whenever it resyncs): what strategies
(``store.get_order_book``, ``data.order_book``) and the paper broker (``paper_fill_from_book``)
read.
"""

from __future__ import annotations

import threading
from typing import Any

from real_trade.errors import ConfigError
from real_trade.orderbook import (
    BookDepth,
    OrderBook,
    OrderBookSynchronizer,
    order_book_synchronizer,
)
from real_trade.vocabulary import is_contract

__all__ = ["StoreBooks", "book_venue"]


def book_venue(venue: str, market_type: str, symbol: str) -> tuple[str, dict[str, Any]]:
    """The synchronizer's venue name and options for a store's ``venue`` and ``market_type``
    (a contract ``symbol`` such as ``BTC/USDT:USDT`` on Bybit syncs the linear book)."""
    contract = is_contract(symbol) or market_type != "spot"
    if venue == "binance":
        return ("binance_futures" if contract else "binance"), {}
    if venue == "bybit":
        return "bybit", {"category": "linear" if contract else "spot"}
    if venue == "okx":
        return "okx", {}
    raise ConfigError(
        f"no order book synchronizer for venue {venue!r}",
        field="venue",
        fix="order books are kept for Binance (spot, USDⓈ-M), Bybit and OKX",
    )


class StoreBooks:
    """The live books of one store (see the module docstring); thread-safe."""

    def __init__(self, store: Any) -> None:
        """Nothing runs until the first :meth:`book` or :meth:`depth` of a symbol."""
        self._store = store
        self._syncs: dict[str, OrderBookSynchronizer] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """The symbols whose books are kept."""
        return f"StoreBooks({sorted(self._syncs)})"

    def __contains__(self, symbol: object) -> bool:
        """Whether a book of ``symbol`` was asked for (its synchronizer built) since the start."""
        with self._lock:
            return symbol in self._syncs

    def synchronizer(self, symbol: str) -> OrderBookSynchronizer:
        """The running synchronizer of ``symbol`` (unified or venue id), built and started on
        first use."""
        with self._lock:
            sync = self._syncs.get(symbol)
            if sync is None:
                store = self._store
                venue, options = book_venue(store.venue_spec.name, store.market_type, symbol)
                sync = order_book_synchronizer(
                    venue, [symbol], sim_url=store.sim_url, testnet=store.testnet, **options
                )
                self._syncs[symbol] = sync
            if not sync.is_syncing():
                sync.start_sync()
            return sync

    def book(self, symbol: str) -> OrderBook | None:
        """The live book of ``symbol`` (check ``depth`` or the synchronizer's state before
        trusting its levels)."""
        return self.synchronizer(symbol).get_order_book(symbol)

    def depth(self, symbol: str, levels: int | None = 10) -> BookDepth | None:
        """A copy of the best ``levels`` of each side (None: all), None unless SYNCED."""
        return self.synchronizer(symbol).depth(symbol, levels)

    def stop(self) -> None:
        """Stop every synchronizer (idempotent); a later read starts it again."""
        with self._lock:
            syncs = list(self._syncs.values())
        for sync in syncs:
            sync.stop_sync()
