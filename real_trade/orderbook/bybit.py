"""Bybit v5 books: ``orderbook.<depth>.<symbol>`` on the public websocket, snapshot and deltas.

The snapshot comes on the websocket (after each subscription, and whenever the venue decides to
send one: it always replaces the book). Deltas are judged by
:class:`~real_trade.orderbook.bybit_rule.BybitRule` (``u``, ``seq``); on a gap the synchronizer
unsubscribes and subscribes the topic again on the same connection, which brings a fresh
snapshot, and ignores deltas until it arrives. Book pushes are read raw (the book parses the
venue's strings lazily, see :mod:`real_trade.orderbook.book`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from real_trade.bus import EventBus
from real_trade.feeds.basewebsocket import BaseWebSocket
from real_trade.feeds.bybitws import BybitWebSocket
from real_trade.orderbook.bybit_rule import BybitRule
from real_trade.orderbook.rules import Verdict
from real_trade.orderbook.synchronizer import MALFORMED, BookTrack, OrderBookSynchronizer
from real_trade.vocabulary import joined_symbol_id

__all__ = ["BybitOrderBookSynchronizer"]


class BybitOrderBookSynchronizer(OrderBookSynchronizer):
    """Books of Bybit ``category`` (``spot`` or ``linear``) symbols at ``depth`` levels (1, 50,
    200 or 1000). ``sim_url`` points the websocket at the simulator; other keyword arguments go
    to :class:`~real_trade.feeds.bybitws.BybitWebSocket`."""

    venue = "bybit"

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        category: str = "spot",
        depth: int = 200,
        sim_url: str | None = None,
        testnet: bool = False,
        bus: EventBus | None = None,
        **ws_options: Any,
    ) -> None:
        """Configure; nothing connects until :meth:`start_sync`."""
        super().__init__(symbols, bus=bus)
        self.category = category
        self.levels = depth
        self._ws_args: dict[str, Any] = {
            "category": category,
            "testnet": testnet,
            "sim_url": sim_url,
            **ws_options,
        }

    def venue_symbol(self, symbol: str) -> str:
        """``BTC/USDT`` -> ``BTCUSDT``."""
        return joined_symbol_id(symbol)

    def _new_rule(self) -> BybitRule:
        return BybitRule()

    def _make_socket(self) -> BaseWebSocket:
        return _BookSocket(self.on_push, **self._ws_args)

    def _topic(self, symbol: str) -> str:
        return BybitWebSocket.orderbook_topic(symbol, self.levels)

    def _channels(self) -> list[Any]:
        return [self._topic(s) for s in self.tracks]

    def _wire(self, ws: BaseWebSocket) -> None:
        """Nothing to subscribe: the socket hands book pushes to :meth:`on_push`."""

    # -- messages (on the loop) -----------------------------------------------------------
    def on_push(self, msg: dict[str, Any]) -> None:
        """Handle one book push: a snapshot replaces the book; a delta is judged, then
        applied. A malformed one rebuilds the book, then raises for the socket to count."""
        data = msg["data"]
        track = self.tracks.get(data["s"])
        if track is None:
            return
        rule: BybitRule = track.rule
        u, seq = data["u"], data.get("seq")
        book = track.book
        try:
            if msg["type"] == "snapshot":
                book.load_rows(data["b"], data["a"], u, msg.get("ts"))
                rule.reset(u, seq)
                if track.awaiting:
                    self._synced(track, f"snapshot u={u}")
                return
            if track.awaiting:
                return
            verdict = rule.check(u, seq)
            if verdict is Verdict.APPLY:
                book.apply_rows(data["b"], data["a"], u, msg.get("ts"))
            elif verdict is Verdict.GAP:
                self._resync(track, f"gap before u={u} (book at {rule.last})")
        except MALFORMED:
            self._resync(track, "malformed push")
            raise

    def _request_snapshot(self, track: BookTrack) -> None:
        ws = self._ws
        if ws is None or not ws.is_connected:
            return  # the next connection subscribes again, which brings a snapshot
        topic = self._topic(track.book.symbol)
        ws.send({"op": "unsubscribe", "args": [topic], "req_id": f"resync-{track.resyncs}"})
        ws.send({"op": "subscribe", "args": [topic], "req_id": f"resub-{track.resyncs}"})


class _BookSocket(BybitWebSocket):
    """The feed's websocket with ``orderbook.*`` pushes handed raw to the synchronizer."""

    def __init__(self, on_push: Callable[[dict[str, Any]], None], **options: Any) -> None:
        super().__init__(**options)
        self._on_push = on_push

    def _on_message(self, msg: Any) -> None:
        if isinstance(msg, dict) and str(msg.get("topic", "")).startswith("orderbook."):
            self._on_push(msg)
            return
        super()._on_message(msg)
