"""``OrderBookSynchronizer``: local order books kept in step with a venue (seed 003's names).

One synchronizer serves one venue connection and several symbols. It owns an
:class:`~real_trade.venues.ioloop.IoLoop` and one of the house's raw venue websockets
(:mod:`real_trade.feeds`), which reconnects with
:class:`~real_trade.venues.reconnect.ReconnectBackoff`; every message is handled on that loop.
Each symbol has an :class:`~real_trade.orderbook.book.OrderBook`, a venue sequence rule and a
:class:`~real_trade.orderbook.state.BookState`, published on the bus
(``orderbook.state.<venue>.<symbol>``) at every change: ``SYNCING`` until the first snapshot,
``SYNCED`` while every diff follows the last, ``RESYNCING`` after a gap, a failed checksum or a
reconnect, until a new snapshot is in. Subclasses (one per venue) say how to connect, how to get
a snapshot and how to read their messages.

Readers on any thread: :meth:`get_order_book` (the live book: ``best_bid``/``best_ask`` in O(1),
``depth(n)``), :meth:`depth` (a copy of the best ``n`` levels, None unless the book is SYNCED:
the accessor for strategies and for the paper broker, so a fill never walks a stale book).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Sequence
from typing import Any

from real_trade.bus import EventBus, get_bus
from real_trade.feeds.basewebsocket import BaseWebSocket
from real_trade.orderbook.book import BookDepth, OrderBook
from real_trade.orderbook.state import BookState, BookStateChange, book_state_topic
from real_trade.venues.ioloop import IoLoop

__all__ = ["MALFORMED", "BookTrack", "OrderBookSynchronizer"]

MALFORMED = (ValueError, KeyError, TypeError, IndexError, AttributeError)
"""What a malformed venue message raises while it is read."""

_log = logging.getLogger("real_trade.orderbook")


class BookTrack:
    """One symbol's book with its sync bookkeeping (owned by the synchronizer's loop)."""

    __slots__ = ("awaiting", "book", "buffer", "fetching", "prices", "resyncs", "rule", "state")

    def __init__(self, book: OrderBook, rule: Any) -> None:
        """A track waiting for its first snapshot."""
        self.book = book
        self.rule = rule
        self.state: BookState | None = None
        self.awaiting = True
        self.resyncs = 0
        self.fetching = False
        self.buffer: list[Any] = []
        self.prices: tuple[dict[float, str], dict[float, str]] = ({}, {})


class OrderBookSynchronizer:
    """Keep local books of ``symbols`` in step with one venue (see the module docstring).

    ``bus`` receives the :class:`BookStateChange` events (default: the process bus).
    Subclasses implement :meth:`_make_socket`, :meth:`_channels`, :meth:`_wire` and
    :meth:`_request_snapshot`, and may override :meth:`venue_symbol`.
    """

    venue: str = ""
    """The venue's name in topics and books (``binance``, ``binance_futures``, ``bybit``...)."""

    def __init__(self, symbols: Sequence[str], *, bus: EventBus | None = None) -> None:
        """Books for ``symbols`` (unified ``BTC/USDT`` or venue ids); nothing runs until
        :meth:`start_sync`."""
        if not symbols:
            raise ValueError("an order book synchronizer needs at least one symbol")
        self.bus = bus if bus is not None else get_bus()
        self.tracks: dict[str, BookTrack] = {}
        for symbol in symbols:
            sid = self.venue_symbol(symbol)
            self.tracks[sid] = BookTrack(OrderBook(self.venue, sid), self._new_rule())
        self._io: IoLoop | None = None
        self._ws: BaseWebSocket | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """Venue, symbols and whether it runs."""
        return f"{type(self).__name__}({list(self.tracks)}, syncing={self.is_syncing()})"

    # -- seed 003's interface -------------------------------------------------------------
    def start_sync(self) -> bool:
        """Connect and start building the books; False if already syncing."""
        with self._lock:
            if self._ws is not None:
                return False
            io = IoLoop(f"orderbook-{self.venue}")
            loop = io.start()
            ws = self._make_socket()
            ws.on("connected", self._on_connected)
            self._wire(ws)
            self._io, self._ws = io, ws
            for track in self.tracks.values():
                track.awaiting = True
                self._set_state(track, BookState.SYNCING, "started")
            ws.start(self._channels(), loop=loop)
            return True

    def stop_sync(self, timeout: float = 10.0) -> bool:
        """Disconnect and stop the loop; False if it was not syncing. Books keep their last
        levels, but :meth:`state` and :meth:`depth` answer None until the next start syncs."""
        with self._lock:
            ws, io = self._ws, self._io
            self._ws = self._io = None
        if ws is None or io is None:
            return False
        ws.stop(timeout)
        loop = io.loop
        if loop is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._aclose(), loop).result(timeout)
        io.stop(timeout)
        for track in self.tracks.values():
            track.awaiting = True
            track.state = None  # no event: stopping is the owner's act, not the venue's
        return True

    def is_syncing(self) -> bool:
        """Whether the synchronizer runs (connected or reconnecting)."""
        ws = self._ws
        return ws is not None and ws.is_running

    def get_order_book(self, symbol: str) -> OrderBook | None:
        """The live book of ``symbol`` (unified or venue id), None for a symbol not synced
        here. Check :meth:`state` (or use :meth:`depth`) before trusting its levels."""
        track = self.tracks.get(self.venue_symbol(symbol))
        return None if track is None else track.book

    # -- more readers ---------------------------------------------------------------------
    def state(self, symbol: str) -> BookState | None:
        """The book's current state; None when not syncing or for an unknown symbol."""
        track = self.tracks.get(self.venue_symbol(symbol))
        return None if track is None else track.state

    def depth(self, symbol: str, levels: int | None = 10) -> BookDepth | None:
        """A copy of the best ``levels`` of each side (None: all), or None unless the book is
        SYNCED: what strategies and the paper broker read."""
        track = self.tracks.get(self.venue_symbol(symbol))
        if track is None or track.state is not BookState.SYNCED or track.awaiting:
            return None
        return track.book.depth(levels)

    def resyncs(self, symbol: str) -> int:
        """How many times the book of ``symbol`` had to be rebuilt after a gap or reconnect."""
        track = self.tracks.get(self.venue_symbol(symbol))
        return 0 if track is None else track.resyncs

    @property
    def socket(self) -> BaseWebSocket | None:
        """The venue websocket while syncing (its ``stats`` count messages and reconnects)."""
        return self._ws

    def venue_symbol(self, symbol: str) -> str:
        """``symbol`` as the venue names it in its messages."""
        return symbol

    # -- for subclasses (on the loop) -----------------------------------------------------
    def _new_rule(self) -> Any:
        raise NotImplementedError

    def _make_socket(self) -> BaseWebSocket:
        raise NotImplementedError

    def _channels(self) -> list[Any]:
        raise NotImplementedError

    def _wire(self, ws: BaseWebSocket) -> None:
        """Subscribe the venue's message handlers to ``ws``'s events."""
        raise NotImplementedError

    def _request_snapshot(self, track: BookTrack) -> None:
        """Get a new snapshot for ``track`` (REST fetch or resubscription)."""
        raise NotImplementedError

    async def _aclose(self) -> None:
        """Release what the subclass holds on the loop (an HTTP session)."""

    def _on_connected(self, _url: Any) -> None:
        for track in self.tracks.values():
            track.awaiting = True
            track.fetching = False
            track.buffer.clear()
            if track.state is BookState.SYNCED:
                self._resync(track, "reconnected", request=False)

    def _resync(self, track: BookTrack, reason: str, *, request: bool = True) -> None:
        """The book can no longer be trusted: RESYNCING, then ask for a new snapshot."""
        track.resyncs += 1
        track.awaiting = True
        track.buffer.clear()
        _log.info("%s %s: resync (%s)", self.venue, track.book.symbol, reason)
        self._set_state(track, BookState.RESYNCING, reason)
        if request:
            self._request_snapshot(track)

    def _synced(self, track: BookTrack, reason: str) -> None:
        track.awaiting = False
        self._set_state(track, BookState.SYNCED, reason)

    def _set_state(self, track: BookTrack, state: BookState, reason: str) -> None:
        previous = track.state
        if state is previous:
            return
        track.state = state
        book = track.book
        event = BookStateChange(
            self.venue, book.symbol, state, previous, reason, book.update_id, track.resyncs
        )
        with contextlib.suppress(RuntimeError):  # a closed bus: its owner is shutting down
            self.bus.publish(book_state_topic(self.venue, book.symbol), event)
