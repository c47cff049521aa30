"""OKX v5 books: the ``books`` channel (400 levels), ``seqId``/``prevSeqId`` and the checksum.

The snapshot and the updates come on the public websocket. Messages are read raw (the
websocket's ``message`` event) rather than as :class:`~real_trade.feeds.ws_updates.DepthUpdate`,
because the checksum is computed over the venue's own price and size strings, which floats do
not keep: the book stores floats and, beside it, the strings of each level. Updates are judged
by :class:`~real_trade.orderbook.okx_rule.OKXRule` and the top 25 levels checked against the
message's ``checksum``; on a gap or a mismatch the synchronizer unsubscribes and subscribes the
channel again, which brings a fresh snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from real_trade.bus import EventBus
from real_trade.feeds.basewebsocket import BaseWebSocket
from real_trade.feeds.okxws import OKXWebSocket
from real_trade.orderbook.okx_rule import OKXRule, okx_checksum
from real_trade.orderbook.rules import Verdict
from real_trade.orderbook.synchronizer import BookTrack, OrderBookSynchronizer
from real_trade.vocabulary import okx_inst_id

__all__ = ["OKXOrderBookSynchronizer"]

Text = dict[float, tuple[str, str]]


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
        return OKXWebSocket(**self._ws_args)

    def _channels(self) -> list[Any]:
        return [OKXWebSocket.books_channel(s) for s in self.tracks]

    def _wire(self, ws: BaseWebSocket) -> None:
        ws.on("message", self.on_message)

    # -- messages (on the loop) -----------------------------------------------------------
    def on_message(self, msg: Any) -> None:
        """Handle one push of the ``books`` channel (other channels are ignored)."""
        arg = msg.get("arg") if isinstance(msg, dict) else None
        if not isinstance(arg, dict) or arg.get("channel") != "books":
            return
        track = self.tracks.get(str(arg.get("instId")))
        if track is None:
            return
        snapshot = msg.get("action") == "snapshot"
        for row in msg["data"]:
            self._on_row(track, row, snapshot)

    def _on_row(self, track: BookTrack, row: dict[str, Any], snapshot: bool) -> None:
        rule: OKXRule = track.rule
        seq_id = int(row["seqId"])
        time_ms = int(row["ts"])
        book = track.book
        if snapshot:
            bid_text, ask_text = _texts(row["bids"]), _texts(row["asks"])
            track.text = (bid_text, ask_text)
            book.load(_floats(bid_text), _floats(ask_text), seq_id, time_ms)
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
            bid_text, ask_text = track.text
            book.apply(
                _merge(bid_text, row["bids"]), _merge(ask_text, row["asks"]), seq_id, time_ms
            )
            if not self._checksum_ok(track, row):
                self._resync(track, f"checksum mismatch after seqId={seq_id}")
        elif verdict is Verdict.GAP:
            self._resync(track, f"gap: prevSeqId={row['prevSeqId']}, book at {rule.last}")

    def _checksum_ok(self, track: BookTrack, row: dict[str, Any]) -> bool:
        expected = row.get("checksum")
        if not self.verify_checksum or expected is None:
            return True
        top = track.book.depth(25)
        bid_text, ask_text = track.text
        bids = [bid_text[p] for p, _ in top.bids]
        asks = [ask_text[p] for p, _ in top.asks]
        if okx_checksum(bids, asks) == int(expected):
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


def _texts(rows: list[list[str]]) -> Text:
    return {float(r[0]): (r[0], r[1]) for r in rows if float(r[1])}


def _floats(text: Text) -> list[tuple[float, float]]:
    return [(p, float(t[1])) for p, t in text.items()]


def _merge(text: Text, rows: list[list[str]]) -> list[tuple[float, float]]:
    """Record the strings of ``rows`` in ``text`` and return them as float levels."""
    out = []
    for r in rows:
        price, qty = float(r[0]), float(r[1])
        if qty:
            text[price] = (r[0], r[1])
        else:
            text.pop(price, None)
        out.append((price, qty))
    return out
