"""Typed updates the exchange websockets emit: klines, trades, depth, book tickers, tickers.

Venue parsers (:mod:`real_trade.feeds.binancews`, ``bybitws``, ``okxws``) turn each venue's
payloads into these immutable updates (frozen dataclasses; :class:`DepthUpdate` a class of its
own whose levels are converted on first read), so consumers never see a venue's field names.
:func:`finite_number` and :func:`price_levels` validate numbers: a non-finite or unparsable value
is a malformed frame, except in a depth update's levels, which raise where they are first read
(:func:`level_rows` only checks that the venue sent a list).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
    "level_rows",
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


class DepthUpdate:
    """Order book levels: a full ``snapshot`` or a diff. ``first_id``/``last_id`` are the update
    ids it covers (Binance ``U``/``u``, Bybit ``u``, OKX ``seqId``) and ``prev_id`` the one it
    follows (OKX ``prevSeqId``), for the order book synchronizer's continuity checks.

    ``bids`` and ``asks`` are built from the venue's rows only when first read: a parser hands
    over the rows as decoded (``[["40000.01", "0.5"], ...]``, the numbers as the venue's
    strings) and :attr:`bids`/:attr:`asks` convert them with :func:`price_levels` on first
    access, then keep the result. Converting the 40 levels of a Binance diff cost 3-4x the
    ``json.loads`` of its frame, and most consumers read few levels or none (order books apply
    the rows themselves, see :attr:`bid_rows`). So a non-finite or unparsable level raises
    ValueError at that first read, not while the frame is parsed. Equality, hashing and the
    repr use the converted levels; the fields cannot be set (an update is immutable).
    """

    __slots__ = (
        "_ask_rows",
        "_asks",
        "_bid_rows",
        "_bids",
        "_first_id",
        "_last_id",
        "_prev_id",
        "_snapshot",
        "_symbol",
        "_time_ms",
        "_venue",
    )
    __match_args__ = (
        "venue",
        "symbol",
        "bids",
        "asks",
        "snapshot",
        "first_id",
        "last_id",
        "prev_id",
        "time_ms",
    )

    def __init__(
        self,
        venue: str,
        symbol: str,
        bids: Sequence[Sequence[Any]],
        asks: Sequence[Sequence[Any]],
        snapshot: bool,
        first_id: int | None,
        last_id: int | None,
        prev_id: int | None,
        time_ms: int | None,
    ) -> None:
        """An update of ``venue``'s ``symbol``; ``bids``/``asks`` are the venue's rows
        ``[price, quantity, ...]`` (strings or numbers) or ready :data:`PriceLevels`."""
        self._venue = venue
        self._symbol = symbol
        self._bid_rows = bids
        self._ask_rows = asks
        self._snapshot = snapshot
        self._first_id = first_id
        self._last_id = last_id
        self._prev_id = prev_id
        self._time_ms = time_ms
        self._bids: PriceLevels | None = None
        self._asks: PriceLevels | None = None

    @property
    def venue(self) -> str:
        """The venue's name (``binance``, ``bybit``, ``okx``)."""
        return self._venue

    @property
    def symbol(self) -> str:
        """The symbol as the venue names it (``BTCUSDT``, ``BTC-USDT``)."""
        return self._symbol

    @property
    def bids(self) -> PriceLevels:
        """The bid levels as floats, in the venue's order (converted on first read)."""
        levels = self._bids
        if levels is None:
            levels = self._bids = price_levels(self._bid_rows, "bids")
        return levels

    @property
    def asks(self) -> PriceLevels:
        """The ask levels as floats, in the venue's order (converted on first read)."""
        levels = self._asks
        if levels is None:
            levels = self._asks = price_levels(self._ask_rows, "asks")
        return levels

    @property
    def bid_rows(self) -> Sequence[Sequence[Any]]:
        """The bids as the venue sent them, unconverted: what
        :meth:`~real_trade.orderbook.book.OrderBook.apply_rows` reads (checked there)."""
        return self._bid_rows

    @property
    def ask_rows(self) -> Sequence[Sequence[Any]]:
        """The asks as the venue sent them, unconverted (see :attr:`bid_rows`)."""
        return self._ask_rows

    @property
    def snapshot(self) -> bool:
        """True for a full book, False for a diff."""
        return self._snapshot

    @property
    def first_id(self) -> int | None:
        """The first update id covered (Binance ``U``)."""
        return self._first_id

    @property
    def last_id(self) -> int | None:
        """The last update id covered (Binance ``u``, Bybit ``u``, OKX ``seqId``)."""
        return self._last_id

    @property
    def prev_id(self) -> int | None:
        """The update id this one follows (OKX ``prevSeqId``, Binance futures ``pu``)."""
        return self._prev_id

    @property
    def time_ms(self) -> int | None:
        """The venue's event time (ms)."""
        return self._time_ms

    def _key(self) -> tuple[Any, ...]:
        return (
            self._venue,
            self._symbol,
            self.bids,
            self.asks,
            self._snapshot,
            self._first_id,
            self._last_id,
            self._prev_id,
            self._time_ms,
        )

    def __eq__(self, other: object) -> bool:
        """Equal to another update with the same fields and the same levels as floats."""
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, DepthUpdate)
        return self._key() == other._key()

    def __hash__(self) -> int:
        """The hash of the fields with the levels as floats."""
        return hash(self._key())

    def __repr__(self) -> str:
        """The fields as a dataclass shows them (the levels converted, or the rows when they
        do not convert)."""
        try:
            bids: Any = self.bids
            asks: Any = self.asks
        except (TypeError, ValueError):
            bids, asks = self._bid_rows, self._ask_rows
        return (
            f"DepthUpdate(venue={self._venue!r}, symbol={self._symbol!r}, bids={bids!r}, "
            f"asks={asks!r}, snapshot={self._snapshot!r}, first_id={self._first_id!r}, "
            f"last_id={self._last_id!r}, prev_id={self._prev_id!r}, time_ms={self._time_ms!r})"
        )


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


def level_rows(rows: Any, field: str) -> list[Any]:
    """``rows`` as a :class:`DepthUpdate` keeps them: the decoded list itself, unconverted;
    TypeError naming ``field`` unless it is a list (its cells are checked when read)."""
    if type(rows) is not list:
        raise TypeError(f"{field} must be a list of [price, quantity] rows, not {rows!r}")
    checked: list[Any] = rows
    return checked


def price_levels(rows: Any, field: str) -> PriceLevels:
    """``[[price, qty, ...], ...]`` as :data:`PriceLevels` (extra columns ignored).

    Venues send the numbers as strings: when every cell is a string or a number (one C-level
    pass over the cells' types; a bool would pass ``float()``, so types are checked), both
    columns are converted in one comprehension and checked finite at once (any NaN or infinity
    makes the sum non-finite). Anything else takes the per-value path, whose error names the
    field.
    """
    if not isinstance(rows, (list, tuple)):
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
