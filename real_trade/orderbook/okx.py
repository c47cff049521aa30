"""OKX v5 books: the ``books`` channel (400 levels), ``seqId``/``prevSeqId`` and the checksum.

The snapshot and the updates come on the public websocket. Pushes are read raw rather than as
:class:`~real_trade.feeds.ws_updates.DepthUpdate`: the checksum is computed over the venue's
own price and size strings, which floats do not keep. The book stores sizes as sent (see
:mod:`real_trade.orderbook.book`) and the synchronizer each level's price string. Updates are
judged by :class:`~real_trade.orderbook.okx_rule.OKXRule` and the top 25 levels checked
against the message's ``checksum``; on a gap or a mismatch the synchronizer unsubscribes and
subscribes the channel again, which brings a fresh snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from real_trade.bus import EventBus
from real_trade.feeds.basewebsocket import BaseWebSocket
from real_trade.feeds.okxws import OKXWebSocket
from real_trade.orderbook.book import Qty, price_of
from real_trade.orderbook.okx_rule import OKXRule, okx_checksum
from real_trade.orderbook.rules import Verdict
from real_trade.orderbook.synchronizer import MALFORMED, BookTrack, OrderBookSynchronizer
from real_trade.vocabulary import okx_inst_id

__all__ = ["OKXOrderBookSynchronizer"]


class OKXOrderBookSynchronizer(OrderBookSynchronizer):
    """Books of OKX instruments (``BTC-USDT``, ``BTC-USDT-SWAP`` or unified symbols; swap sizes
    in contracts). ``verify_checksum=False`` skips the CRC-32 check; ``sim_url`` points the
    websocket at the simulator; other keyword arguments go to
    :class:`~real_trade.feeds.okxws.OKXWebSocket`."""

    venue = "okx"

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        sim_url: str | None = None,
        testnet: bool = False,
        verify_checksum: bool = True,
        bus: EventBus | None = None,
        **ws_options: Any,
    ) -> None:
        """Configure; nothing connects until :meth:`start_sync`."""
        super().__init__(symbols, bus=bus)
        self.verify_checksum = verify_checksum
        self.checksum_failures = 0
        self._ws_args: dict[str, Any] = {
            "testnet": testnet,
            "sim_url": sim_url,
            "endpoint": "public",
            **ws_options,
        }

    def venue_symbol(self, symbol: str) -> str:
        """``BTC/USDT`` -> ``BTC-USDT``, ``BTC/USDT:USDT`` -> ``BTC-USDT-SWAP``."""
        return okx_inst_id(symbol)

    def _new_rule(self) -> OKXRule:
        return OKXRule()

    def _make_socket(self) -> BaseWebSocket:
        return _BookSocket(self.on_push, **self._ws_args)

    def _channels(self) -> list[Any]:
        return [OKXWebSocket.books_channel(s) for s in self.tracks]

    def _wire(self, ws: BaseWebSocket) -> None:
        """Nothing to subscribe: the socket hands ``books`` pushes to :meth:`on_push`."""

    # -- messages (on the loop) -----------------------------------------------------------
    def on_push(self, msg: dict[str, Any]) -> None:
        """Handle one push of the ``books`` channel. A malformed one rebuilds the book, then
        raises for the socket to count."""
        track = self.tracks.get(msg["arg"]["instId"])
        if track is None:
            return
        snapshot = msg.get("action") == "snapshot"
        try:
            for row in msg["data"]:
                self._on_row(track, row, snapshot)
        except MALFORMED:
            self._resync(track, "malformed push")
            raise

    def _on_row(self, track: BookTrack, row: dict[str, Any], snapshot: bool) -> None:
        rule: OKXRule = track.rule
        seq_id = int(row["seqId"])
        time_ms = int(row["ts"])
        book = track.book
        if snapshot:
            book.load_rows(row["bids"], row["asks"], seq_id, time_ms)
            track.prices = ({}, {})
            _note_prices(track.prices[0], row["bids"])
            _note_prices(track.prices[1], row["asks"])
            rule.reset(seq_id)
            if not self._checksum_ok(track, row):
                self._resync(track, f"checksum mismatch on the snapshot seqId={seq_id}")
            elif track.awaiting:
                self._synced(track, f"snapshot seqId={seq_id}")
            return
        if track.awaiting:
            return
        verdict = rule.check(seq_id, int(row["prevSeqId"]))
        if verdict is Verdict.APPLY:
            book.apply_rows(row["bids"], row["asks"], seq_id, time_ms)
            if self.verify_checksum:
                _note_prices(track.prices[0], row["bids"])
                _note_prices(track.prices[1], row["asks"])
                if not self._checksum_ok(track, row):
                    self._resync(track, f"checksum mismatch after seqId={seq_id}")
        elif verdict is Verdict.GAP:
            self._resync(track, f"gap: prevSeqId={row['prevSeqId']}, book at {rule.last}")

    def _checksum_ok(self, track: BookTrack, row: dict[str, Any]) -> bool:
        expected = row.get("checksum")
        if not self.verify_checksum or expected is None:
            return True
        bids, asks = track.book.stored_top(25)
        bid_text, ask_text = track.prices
        if okx_checksum(_texts(bids, bid_text), _texts(asks, ask_text)) == int(expected):
            return True
        self.checksum_failures += 1
        return False

    def _request_snapshot(self, track: BookTrack) -> None:
        ws = self._ws
        if ws is None or not ws.is_connected:
            return  # the next connection subscribes again, which brings a snapshot
        channel = OKXWebSocket.books_channel(track.book.symbol)
        ws.send({"op": "unsubscribe", "args": [channel]})
        ws.send({"op": "subscribe", "args": [channel]})


def _note_prices(text: dict[float, str], rows: list[list[str]]) -> None:
    """Remember each level's price string as sent (the checksum hashes the venue's text)."""
    for r in rows:
        text[price_of(r[0])] = r[0]


def _texts(levels: list[tuple[float, Qty]], prices: dict[float, str]) -> list[tuple[str, str]]:
    return [(prices.get(p) or repr(p), q if isinstance(q, str) else repr(q)) for p, q in levels]


class _BookSocket(OKXWebSocket):
    """The feed's websocket with ``books`` pushes handed raw to the synchronizer."""

    def __init__(self, on_push: Callable[[dict[str, Any]], None], **options: Any) -> None:
        super().__init__(**options)
        self._on_push = on_push

    def _on_message(self, msg: Any) -> None:
        arg = msg.get("arg") if isinstance(msg, dict) else None
        if isinstance(arg, dict) and arg.get("channel") == "books" and "event" not in msg:
            self._on_push(msg)
            return
        super()._on_message(msg)
