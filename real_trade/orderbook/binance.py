"""Binance spot and USDⓈ-M books: the ``@depth@100ms`` diff stream plus a REST snapshot.

The diff stream is subscribed first and buffered (payloads are read raw: the book parses the
venue's strings lazily, see :mod:`real_trade.orderbook.book`). Then ``GET /api/v3/depth``
(spot, 5000 levels) or ``/fapi/v1/depth`` (USDⓈ-M, 1000 levels) is fetched, the diffs the
snapshot covers are dropped and the rest replayed through
:class:`~real_trade.orderbook.binance_rule.BinanceRule`. A gap clears the book's standing and
fetches a new snapshot while diffs buffer again; a snapshot older than the buffered diffs is
fetched again after a :class:`~real_trade.venues.reconnect.ReconnectBackoff` delay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import aiohttp

from real_trade.bus import EventBus
from real_trade.feeds.basewebsocket import BaseWebSocket
from real_trade.feeds.binancews import BinanceWebSocket, ws_base_from_http
from real_trade.orderbook.binance_rule import BinanceRule
from real_trade.orderbook.rules import Verdict
from real_trade.orderbook.synchronizer import MALFORMED, BookTrack, OrderBookSynchronizer
from real_trade.venues.reconnect import ReconnectBackoff
from real_trade.vocabulary import joined_symbol_id

__all__ = ["BINANCE_REST_BASES", "BinanceOrderBookSynchronizer"]

BINANCE_REST_BASES: dict[tuple[bool, str], str] = {
    (False, "spot"): "https://api.binance.com",
    (True, "spot"): "https://testnet.binance.vision",
    (False, "future"): "https://fapi.binance.com",
    (True, "future"): "https://testnet.binancefuture.com",
}
"""REST hosts for the snapshot per ``(testnet, market_type)``."""

_SNAPSHOT = {"spot": ("/api/v3/depth", 5000), "future": ("/fapi/v1/depth", 1000)}
_MAX_BUFFER = 10_000
_log = logging.getLogger("real_trade.orderbook")


class BinanceOrderBookSynchronizer(OrderBookSynchronizer):
    """Books of Binance spot (``market_type="spot"``) or USDⓈ-M (``"future"``) symbols.

    ``sim_url`` points both the websocket and the REST snapshot at the simulator (its USDⓈ-M
    streams live under ``/fapi-ws/public``); ``testnet`` picks the testnet hosts. Other keyword
    arguments go to :class:`~real_trade.feeds.binancews.BinanceWebSocket`.
    """

    venue = "binance"

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        market_type: str = "spot",
        sim_url: str | None = None,
        testnet: bool = False,
        bus: EventBus | None = None,
        **ws_options: Any,
    ) -> None:
        """Configure; nothing connects until :meth:`start_sync`."""
        if market_type not in _SNAPSHOT:
            raise ValueError(f"market_type must be spot or future, not {market_type!r}")
        self.market_type = market_type
        self.futures = market_type == "future"
        if self.futures:
            self.venue = "binance_futures"
        super().__init__(symbols, bus=bus)
        base = sim_url.rstrip("/") if sim_url else BINANCE_REST_BASES[(testnet, market_type)]
        path, self.snapshot_limit = _SNAPSHOT[market_type]
        self.snapshot_url = base + path
        ws_base = None
        if sim_url:
            ws_base = ws_base_from_http(sim_url) + ("/fapi-ws/public" if self.futures else "")
        self._ws_args: dict[str, Any] = {
            "market_type": market_type,
            "testnet": testnet,
            "base_url": ws_base,
            **ws_options,
        }
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._backoff = ReconnectBackoff(base_delay=0.05, max_delay=5.0)

    def venue_symbol(self, symbol: str) -> str:
        """``BTC/USDT`` -> ``BTCUSDT``."""
        return joined_symbol_id(symbol)

    def _new_rule(self) -> BinanceRule:
        return BinanceRule(futures=self.futures)

    def _make_socket(self) -> BaseWebSocket:
        return _DepthSocket(self.on_diff, **self._ws_args)

    def _channels(self) -> list[Any]:
        return [BinanceWebSocket.depth_stream(s, fast=True) for s in self.tracks]

    def _wire(self, ws: BaseWebSocket) -> None:
        ws.on("subscribed", self._on_subscribed)

    # -- messages (on the loop) -----------------------------------------------------------
    def on_diff(self, msg: dict[str, Any]) -> None:
        """Handle one ``depthUpdate``: buffer it while a snapshot is awaited, else judge it
        and apply it. A malformed one rebuilds the book, then raises for the socket to count."""
        track = self.tracks.get(msg["s"])
        if track is None:
            return
        if track.awaiting:
            if len(track.buffer) < _MAX_BUFFER:
                track.buffer.append(msg)
            return
        rule: BinanceRule = track.rule
        verdict = rule.check(msg["U"], msg["u"], msg.get("pu"))
        if verdict is Verdict.APPLY:
            self._apply(track, msg)
        elif verdict is Verdict.GAP:
            self._resync(track, f"gap before U={msg['U']} (book at {rule.last})")
            track.buffer.append(msg)

    def _apply(self, track: BookTrack, msg: dict[str, Any]) -> None:
        try:
            track.book.apply_rows(msg["b"], msg["a"], msg["u"], msg.get("E"))
        except MALFORMED:
            self._resync(track, "malformed diff")
            raise

    def _on_subscribed(self, _request_id: Any) -> None:
        for track in self.tracks.values():
            if track.awaiting and not track.fetching:
                self._request_snapshot(track)

    def _request_snapshot(self, track: BookTrack) -> None:
        if self._ws is None or not self._ws.is_connected or track.fetching:
            return  # the next connection's subscription fetches it
        track.fetching = True
        self._spawn(self._fetch(track))

    async def _fetch(self, track: BookTrack) -> None:
        try:
            snapshot = await self._get_snapshot(track.book.symbol)
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
            track.fetching = False
            _log.warning("binance %s: snapshot failed: %s", track.book.symbol, exc)
            await self._retry_later(track)
            return
        track.fetching = False
        if not track.awaiting:
            return
        self._backoff.succeeded()
        try:
            self._load(track, snapshot)
        except MALFORMED as exc:  # a bad snapshot, or a bad buffered diff (already resyncing)
            _log.warning("binance %s: cannot load the snapshot: %s", track.book.symbol, exc)
            if track.awaiting and not track.fetching:
                await self._retry_later(track)

    async def _get_snapshot(self, symbol: str) -> dict[str, Any]:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        params = {"symbol": symbol, "limit": str(self.snapshot_limit)}
        async with self._session.get(self.snapshot_url, params=params) as resp:
            resp.raise_for_status()
            data: dict[str, Any] = await resp.json()
            return data

    def _load(self, track: BookTrack, snapshot: dict[str, Any]) -> None:
        last_id = int(snapshot["lastUpdateId"])
        track.book.load_rows(snapshot["bids"], snapshot["asks"], last_id, snapshot.get("E"))
        rule: BinanceRule = track.rule
        rule.reset(last_id)
        buffered, track.buffer = track.buffer, []
        for msg in buffered:
            verdict = rule.check(msg["U"], msg["u"], msg.get("pu"))
            if verdict is Verdict.APPLY:
                self._apply(track, msg)
            elif verdict is Verdict.GAP:  # the snapshot is older than the buffered diffs
                track.buffer = buffered
                self._spawn(self._retry_later(track))
                return
        self._synced(track, f"snapshot {last_id}")

    async def _retry_later(self, track: BookTrack) -> None:
        """Fetch again after the backoff's delay (a stop or reconnect makes it moot)."""
        self._backoff.failed()
        track.fetching = True
        try:
            await self._backoff.wait()
        finally:
            track.fetching = False
        if track.awaiting:
            self._request_snapshot(track)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None


class _DepthSocket(BinanceWebSocket):
    """The feed's websocket with ``depthUpdate`` payloads handed raw to the synchronizer (its
    book parses the venue's strings lazily); every other payload goes the usual typed way."""

    def __init__(self, on_diff: Callable[[dict[str, Any]], None], **options: Any) -> None:
        super().__init__(**options)
        self._on_diff = on_diff

    def _on_message(self, msg: Any) -> None:
        if isinstance(msg, dict):
            data = msg.get("data", msg)  # combined streams wrap the payload
            if isinstance(data, dict) and data.get("e") == "depthUpdate":
                self._on_diff(data)
                return
        super()._on_message(msg)
