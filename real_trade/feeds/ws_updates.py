"""Typed updates the exchange websockets emit: klines, trades, depth, book tickers, tickers.

Venue parsers (:mod:`real_trade.feeds.binancews`, ``bybitws``, ``okxws``) turn each venue's
payloads into these frozen dataclasses, so consumers never see a venue's field names. The two
helpers validate numbers on the way in: a non-finite or unparsable value is a malformed frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain
from typing import Any

from real_trade.vocabulary import OrderSide

__all__ = [
    "BookTickerUpdate",
    "DepthUpdate",
    "KlineUpdate",
    "PriceLevels",
    "TickerUpdate",
    "TradeUpdate",
    "finite_number",
    "price_levels",
]

PriceLevels = tuple[tuple[float, float], ...]
"""Order book levels as ``((price, quantity), ...)``; quantity 0 removes a level in a diff."""


# -- typed updates ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class KlineUpdate:
    """A candle update: venue symbol id and interval as the venue names them, open/close time
    (ms; ``close_ms`` None when the venue does not say), OHLCV, and ``closed`` once it is final."""

    venue: str
    symbol: str
    interval: str
    open_ms: int
    close_ms: int | None
    open: float
    high: float
    low: float
    close: float
    volume: float
    closed: bool
    event_ms: int | None = None


@dataclass(frozen=True, slots=True)
class TradeUpdate:
    """A public trade: id, price, quantity, the taker's ``side`` and the trade time (ms)."""

    venue: str
    symbol: str
    trade_id: str
    price: float
    quantity: float
    side: OrderSide
    time_ms: int


@dataclass(frozen=True, slots=True)
class DepthUpdate:
    """Order book levels: a full ``snapshot`` or a diff. ``first_id``/``last_id`` are the update
    ids it covers (Binance ``U``/``u``, Bybit ``u``, OKX ``seqId``) and ``prev_id`` the one it
    follows (OKX ``prevSeqId``), for the order book synchronizer's continuity checks."""

    venue: str
    symbol: str
    bids: PriceLevels
    asks: PriceLevels
    snapshot: bool
    first_id: int | None
    last_id: int | None
    prev_id: int | None
    time_ms: int | None


@dataclass(frozen=True, slots=True)
class BookTickerUpdate:
    """The best bid and ask with their quantities (``update_id`` when the venue gives one)."""

    venue: str
    symbol: str
    bid_price: float
    bid_qty: float
    ask_price: float
    ask_qty: float
    update_id: int | None


@dataclass(frozen=True, slots=True)
class TickerUpdate:
    """24-hour rolling statistics: last price, open/high/low, base and quote volume."""

    venue: str
    symbol: str
    last: float
    open: float
    high: float
    low: float
    volume: float
    quote_volume: float
    time_ms: int | None


def finite_number(value: Any, field: str) -> float:
    """``value`` (a number or numeric string) as a finite float; else ValueError naming ``field``
    (a NaN or infinite price is a malformed message, never a number to trade on)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{field} is not a number: {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{field} is not a finite number: {value!r}")
    return number


def price_levels(rows: Any, field: str) -> PriceLevels:
    """``[[price, qty, ...], ...]`` as :data:`PriceLevels` (extra columns ignored).

    Venues send the numbers as strings: when every cell is a string or a number (one C-level
    pass over the cells' types; a bool would pass ``float()``, so types are checked), both
    columns are converted in one comprehension and checked finite at once (any NaN or infinity
    makes the sum non-finite). Anything else takes the per-value path, whose error names the
    field.
    """
    if not isinstance(rows, list):
        raise TypeError(f"{field} must be a list of [price, quantity] rows, not {rows!r}")
    try:
        if set(map(type, chain.from_iterable(rows))) <= _NUMBER_TYPES:
            levels = tuple([(float(row[0]), float(row[1])) for row in rows])
            if math.isfinite(sum(map(sum, levels))):
                return levels
    except (TypeError, ValueError, IndexError, KeyError):
        pass
    return tuple(
        (finite_number(row[0], f"{field} price"), finite_number(row[1], f"{field} quantity"))
        for row in rows
    )


_NUMBER_TYPES = frozenset((str, int, float))
