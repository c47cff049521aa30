"""``OrderBook``: one symbol's price levels, updated in place, top of book in O(1).

Each side is a plain ``dict`` price -> quantity plus a list of its prices kept sorted ascending
with :mod:`bisect` (best bid = last bid price, best ask = first ask price). A level that changes
size is one dict store; a new level is one ``insort`` into a list of a few hundred floats (a
``memmove``); a removed level is one ``bisect`` and one ``del``. No third-party container is
needed at the depths venues publish (Binance 5000, Bybit 1000, OKX 400 levels).

Venue messages carry prices and sizes as decimal strings. :meth:`OrderBook.apply_rows` reads
them as sent: a price is parsed once per distinct string (a process-wide cache: the same prices
come back again and again), a size is checked to be a plain decimal and stored as its string,
parsed to a float only when someone reads that level (most levels are overwritten before
anyone reads them). Readers always get floats.

Writers (the synchronizer, on its I/O thread) and readers (strategies, the paper broker, on
theirs) share the book through one lock held per message and per read, so a reader never sees
half a message. Quantities are in the venue's units (OKX swaps: contracts).
"""

from __future__ import annotations

import threading
from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from real_trade.feeds.ws_updates import finite_number

__all__ = ["BookDepth", "Level", "OrderBook", "Qty", "Row", "price_of"]

Level = tuple[float, float]
"""One price level: ``(price, quantity)``."""

Qty = float | str
"""A stored quantity: a float, or the venue's plain decimal string (parsed when read)."""

Row = Sequence[Any]
"""A venue's level row: ``[price, size, ...]`` (strings, or numbers), extra columns ignored."""

_ZEROS = frozenset(["0", "0.0", *("0." + "0" * k for k in range(2, 19))])
_PRICES: dict[Any, float] = {}
_PRICE_CACHE_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class BookDepth:
    """A copy of the top of a book: ``bids`` best (highest) first, ``asks`` best (lowest)
    first, the venue's ``update_id`` it reflects and the venue time (ms) of the last change."""

    venue: str
    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    update_id: int | None
    time_ms: int | None

    @property
    def best_bid(self) -> Level | None:
        """The highest bid, or None on an empty side."""
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> Level | None:
        """The lowest ask, or None on an empty side."""
        return self.asks[0] if self.asks else None

    @property
    def spread(self) -> float | None:
        """Best ask minus best bid, or None unless both sides have a level."""
        return self.asks[0][0] - self.bids[0][0] if self.bids and self.asks else None

    @property
    def mid(self) -> float | None:
        """The mid price, or None unless both sides have a level."""
        return (self.asks[0][0] + self.bids[0][0]) / 2.0 if self.bids and self.asks else None


class OrderBook:
    """One symbol's book (see the module docstring): load a snapshot, apply diffs, read it."""

    __slots__ = (
        "_ask_keys",
        "_bid_keys",
        "_lock",
        "asks",
        "bids",
        "symbol",
        "time_ms",
        "update_id",
        "updates",
        "venue",
    )

    def __init__(self, venue: str, symbol: str) -> None:
        """An empty book of ``symbol`` (the venue's id) on ``venue``."""
        self.venue = venue
        self.symbol = symbol
        self.bids: dict[float, Qty] = {}
        self.asks: dict[float, Qty] = {}
        self._bid_keys: list[float] = []
        self._ask_keys: list[float] = []
        self.update_id: int | None = None
        self.time_ms: int | None = None
        self.updates = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """Venue, symbol, level counts and update id (never the levels)."""
        return (
            f"OrderBook({self.venue}:{self.symbol}, bids={len(self.bids)}, "
            f"asks={len(self.asks)}, update_id={self.update_id})"
        )

    def __len__(self) -> int:
        """Number of price levels on both sides."""
        return len(self.bids) + len(self.asks)

    # -- writing (the synchronizer) -------------------------------------------------------
    def load(
        self,
        bids: Iterable[Level],
        asks: Iterable[Level],
        update_id: int | None,
        time_ms: int | None = None,
    ) -> None:
        """Replace the whole book with a snapshot (levels of quantity 0 are skipped)."""
        new_bids: dict[float, Qty] = {p: q for p, q in bids if q}
        new_asks: dict[float, Qty] = {p: q for p, q in asks if q}
        with self._lock:
            self.bids, self.asks = new_bids, new_asks
            self._bid_keys = sorted(new_bids)
            self._ask_keys = sorted(new_asks)
            self.update_id, self.time_ms = update_id, time_ms

    def load_rows(
        self, bids: Sequence[Row], asks: Sequence[Row], update_id: int | None, time_ms: int | None
    ) -> None:
        """Replace the whole book with a snapshot of venue rows (see :meth:`apply_rows`)."""
        new_bids: dict[float, Qty] = {}
        new_asks: dict[float, Qty] = {}
        bid_keys: list[float] = []
        ask_keys: list[float] = []
        _apply_rows(new_bids, bid_keys, bids[::-1])  # highest first: appended in order
        _apply_rows(new_asks, ask_keys, asks)
        with self._lock:
            self.bids, self.asks = new_bids, new_asks
            self._bid_keys, self._ask_keys = bid_keys, ask_keys
            self.update_id, self.time_ms = update_id, time_ms

    def apply_rows(
        self, bids: Sequence[Row], asks: Sequence[Row], update_id: int | None, time_ms: int | None
    ) -> None:
        """Apply one diff of venue rows ``[price, size, ...]`` (size 0 removes the level).

        Raises ValueError/TypeError/IndexError on a malformed row, possibly after applying the
        rows before it: the caller must then rebuild the book.
        """
        with self._lock:
            self.updates += _apply_rows(self.bids, self._bid_keys, bids)
            self.updates += _apply_rows(self.asks, self._ask_keys, asks)
            self.update_id = update_id
            if time_ms is not None:
                self.time_ms = time_ms

    def clear(self) -> None:
        """Empty both sides and forget the update id."""
        self.load((), (), None)

    def apply(
        self,
        bids: Iterable[Level],
        asks: Iterable[Level],
        update_id: int | None,
        time_ms: int | None = None,
    ) -> None:
        """Apply one diff: each ``(price, quantity)`` sets a level's absolute quantity, 0 removes
        it; ``update_id`` becomes the book's."""
        with self._lock:
            self.updates += _apply_side(self.bids, self._bid_keys, bids)
            self.updates += _apply_side(self.asks, self._ask_keys, asks)
            self.update_id = update_id
            if time_ms is not None:
                self.time_ms = time_ms

    def truncate(self, levels: int) -> None:
        """Keep only the best ``levels`` of each side (a venue that sends a fixed depth)."""
        with self._lock:
            for price in self._bid_keys[:-levels]:
                del self.bids[price]
            del self._bid_keys[:-levels]
            for price in self._ask_keys[levels:]:
                del self.asks[price]
            del self._ask_keys[levels:]

    # -- reading (any thread) -------------------------------------------------------------
    def best_bid(self) -> Level | None:
        """The highest bid ``(price, quantity)``, or None: O(1)."""
        with self._lock:
            keys = self._bid_keys
            return (keys[-1], float(self.bids[keys[-1]])) if keys else None

    def best_ask(self) -> Level | None:
        """The lowest ask ``(price, quantity)``, or None: O(1)."""
        with self._lock:
            keys = self._ask_keys
            return (keys[0], float(self.asks[keys[0]])) if keys else None

    def top(self) -> tuple[Level | None, Level | None]:
        """Best bid and best ask read together (one lock), each None on an empty side."""
        with self._lock:
            bk, ak = self._bid_keys, self._ask_keys
            return (
                (bk[-1], float(self.bids[bk[-1]])) if bk else None,
                (ak[0], float(self.asks[ak[0]])) if ak else None,
            )

    def mid(self) -> float | None:
        """The mid price, or None unless both sides have a level."""
        bid, ask = self.top()
        return None if bid is None or ask is None else (bid[0] + ask[0]) / 2.0

    def stored_top(self, levels: int) -> tuple[list[tuple[float, Qty]], list[tuple[float, Qty]]]:
        """The best ``levels`` of each side with quantities as stored (the venue's strings
        where it sent plain decimals): for checksums over the venue's own text."""
        with self._lock:
            bids, asks = self.bids, self.asks
            return (
                [(p, bids[p]) for p in self._bid_keys[: -levels - 1 : -1]],
                [(p, asks[p]) for p in self._ask_keys[:levels]],
            )

    def depth(self, levels: int | None = 10) -> BookDepth:
        """A copy of the best ``levels`` of each side (None: the whole book), O(levels)."""
        with self._lock:
            bk, ak = self._bid_keys, self._ask_keys
            bid_prices = bk[::-1] if levels is None else bk[: -levels - 1 : -1]
            ask_prices = ak[:] if levels is None else ak[:levels]
            bids, asks = self.bids, self.asks
            return BookDepth(
                self.venue,
                self.symbol,
                tuple((p, float(bids[p])) for p in bid_prices),
                tuple((p, float(asks[p])) for p in ask_prices),
                self.update_id,
                self.time_ms,
            )


def _apply_side(side: dict[float, Qty], keys: list[float], levels: Iterable[Level]) -> int:
    n = 0
    for price, qty in levels:
        n += 1
        if qty:
            if side.get(price) is None:
                insort(keys, price)
            side[price] = qty
        elif side.pop(price, None) is not None:
            del keys[bisect_left(keys, price)]
    return n


def _apply_rows(side: dict[float, Qty], keys: list[float], rows: Sequence[Row]) -> int:
    prices = _PRICES
    for row in rows:
        text, qty = row[0], row[1]
        try:
            price = prices[text]
        except KeyError:
            price = _parse_price(text)
        if qty in _ZEROS:
            if side.pop(price, None) is not None:
                del keys[bisect_left(keys, price)]
            continue
        try:
            plain = qty.replace(".", "", 1).isdecimal()  # digits, at most one dot: kept as sent
        except AttributeError:  # a JSON number
            plain = False
        if not plain:
            qty = _parse_size(qty, text)
            if not qty:
                if side.pop(price, None) is not None:
                    del keys[bisect_left(keys, price)]
                continue
        if price not in side:
            insort(keys, price)
        side[price] = qty
    return len(rows)


def _parse_size(qty: Any, price_text: Any) -> float:
    size = finite_number(qty, "size")
    if size < 0:
        raise ValueError(f"negative size {qty!r} at price {price_text!r}")
    return size


def price_of(text: Any) -> float:
    """A venue's price string as a float, parsed once per distinct string (cached)."""
    price = _PRICES.get(text)
    return _parse_price(text) if price is None else price


def _parse_price(text: Any) -> float:
    price = finite_number(text, "price")
    if price <= 0:
        raise ValueError(f"price must be positive, not {text!r}")
    if len(_PRICES) >= _PRICE_CACHE_LIMIT:
        _PRICES.clear()
    _PRICES[text] = price
    return price
