"""Local order books kept in step with the venues: seed 003's ``OrderBookSynchronizer``.

:class:`OrderBook` holds one symbol's levels (a dict per side plus sorted prices: top of book
in O(1), ``depth(n)`` copies); :class:`OrderBookSynchronizer` keeps books in step with one venue
connection and publishes each book's :class:`BookState` (``SYNCING``/``SYNCED``/``RESYNCING``)
on the bus as :class:`BookStateChange` (topic ``orderbook.state.<venue>.<symbol>``). One
subclass per venue, one module per venue's sequence rule:

* Binance spot and USDⓈ-M: :class:`BinanceOrderBookSynchronizer` (REST snapshot + diff stream,
  :class:`BinanceRule`: ``U``/``u``, ``pu``);
* Bybit v5: :class:`BybitOrderBookSynchronizer` (websocket snapshot + deltas,
  :class:`BybitRule`: ``u``/``seq``);
* OKX v5: :class:`OKXOrderBookSynchronizer` (websocket snapshot + updates, :class:`OKXRule`:
  ``seqId``/``prevSeqId``, and :func:`okx_checksum`).

:func:`order_book_synchronizer` builds the right one from a venue name.
"""

from __future__ import annotations

from real_trade.orderbook.binance import BinanceOrderBookSynchronizer
from real_trade.orderbook.binance_rule import BinanceRule
from real_trade.orderbook.book import BookDepth, Level, OrderBook
from real_trade.orderbook.bybit import BybitOrderBookSynchronizer
from real_trade.orderbook.bybit_rule import BybitRule
from real_trade.orderbook.factory import order_book_synchronizer
from real_trade.orderbook.okx import OKXOrderBookSynchronizer
from real_trade.orderbook.okx_rule import OKXRule, okx_checksum
from real_trade.orderbook.rules import Verdict
from real_trade.orderbook.state import (
    BOOK_STATE_TOPIC,
    BookState,
    BookStateChange,
    book_state_topic,
)
from real_trade.orderbook.synchronizer import OrderBookSynchronizer

__all__ = [
    "BOOK_STATE_TOPIC",
    "BinanceOrderBookSynchronizer",
    "BinanceRule",
    "BookDepth",
    "BookState",
    "BookStateChange",
    "BybitOrderBookSynchronizer",
    "BybitRule",
    "Level",
    "OKXOrderBookSynchronizer",
    "OKXRule",
    "OrderBook",
    "OrderBookSynchronizer",
    "Verdict",
    "book_state_topic",
    "okx_checksum",
    "order_book_synchronizer",
]
