"""``BinanceKlineSource``: live bars straight from Binance kline streams (the fast path).

A :class:`~real_trade.feeds.bars.LiveBarSource` over a :class:`BinanceWebSocket`
``<symbol>@kline_<interval>`` stream. Binance finalises a bar with one last update flagged
``x: true``; this source passes that update on as ``Bar(closed=True)`` the moment it arrives, so
a closed bar reaches the strategy without waiting for the next bar or a REST check. Every other
update of the forming bar goes out with ``closed=False``; with ``forming_every_s`` > 0 only one
in that many wall seconds does, the others being dropped unparsed by the websocket
(``forming_kline_every_s``). The feeds' source (:func:`binance_kline_source`) hands on one a
second: :class:`~real_trade.feeds.bars.BarStream` uses forming updates for nothing but a sign
of life (its watchdog judges staleness by closed bars).

Each closed bar is emitted once and in order of ``open_ms``: an update for a bar at or before the
last closed one (a duplicate after a reconnect, a late frame) is dropped. Bars that closed while
the connection was down are not invented here: the consumer
(:class:`~real_trade.feeds.bars.BarStream`) backfills them by REST when the source reports
``"connected"`` again, which it does only once Binance has acknowledged the subscription (on a
raw ``/ws`` connection; a combined ``/stream`` URL subscribes on connect): a bar that closes after
that point arrives live, one that closed before is in the backfill, and none falls between.
States: ``"connected"``, ``"disconnected"`` (reconnecting), ``"failed"`` (reconnect attempts
exhausted). Callbacks run on the websocket's I/O thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from real_trade.feeds.bars import Bar
from real_trade.feeds.basewebsocket import DisconnectInfo, KlineUpdate
from real_trade.feeds.binancews import BinanceWebSocket, stream_symbol
from real_trade.feeds.timeframes import timeframe_to_bt

__all__ = ["BinanceKlineSource", "binance_kline_source"]


def _ignore(_value: Any) -> None:
    return None


class BinanceKlineSource:
    """Live bars of ``symbol`` at ``timeframe`` from a Binance kline stream.

    ``symbol`` is unified (``BTC/USDT``) or an exchange id; ``timeframe`` a ccxt string
    (``1m``, ``1h``...), which Binance streams under the same name. The websocket is built from
    ``testnet``, ``market_type``, ``sim_url`` and the other ``ws_options``
    (:class:`BinanceWebSocket` settings), or passed in as ``websocket``. ``loop`` runs it on a
    store's I/O loop instead of an :class:`~real_trade.venues.ioloop.IoLoop` of its own.
    ``forming_every_s`` > 0 hands on at most one forming update per that many seconds (see the
    module docstring; it applies to a websocket this source builds). ``emitted_closed`` counts
    closed bars; ``last_error`` is the websocket's last reported error (why it ``"failed"``).
    """

    def __init__(
        self,
        symbol: str,
        timeframe: str = "1m",
        *,
        testnet: bool = False,
        market_type: str = "spot",
        sim_url: str | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        websocket: BinanceWebSocket | None = None,
        forming_every_s: float = 0.0,
        **ws_options: Any,
    ) -> None:
        """Configure the source; nothing connects until :meth:`start`."""
        timeframe_to_bt(timeframe)
        self.symbol, self.timeframe, self.loop = symbol, timeframe, loop
        self.stream = BinanceWebSocket.kline_stream(symbol, timeframe)
        if websocket is None:
            websocket = BinanceWebSocket(
                testnet=testnet, market_type=market_type, sim_url=sim_url, **ws_options
            )
            websocket.forming_kline_every_s = forming_every_s
        self.websocket = websocket
        self.emitted_closed = 0
        self.last_error: BaseException | None = None
        self._started_websocket = False
        self._exchange_id = stream_symbol(symbol).upper()
        self._on_bar: Callable[[Bar], None] = _ignore
        self._on_state: Callable[[str], None] = _ignore
        self._awaiting_ack = False
        self._last_closed_ms: int | None = None
        self._running = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """Stream name and the open time of the last closed bar emitted."""
        return f"BinanceKlineSource({self.stream}, last_closed={self._last_closed_ms})"

    @property
    def last_closed_ms(self) -> int | None:
        """Open time (ms) of the last closed bar emitted, None before the first."""
        return self._last_closed_ms

    # -- LiveBarSource ----------------------------------------------------------------------
    def start(self, on_bar: Callable[[Bar], None], on_state: Callable[[str], None]) -> None:
        """Connect and stream bars to ``on_bar`` and states to ``on_state`` (idempotent)."""
        with self._lock:
            if self._running:
                return
            self._running = True
            self._on_bar, self._on_state = on_bar, on_state
        ws = self.websocket
        ws.on("kline", self._on_kline)
        ws.on("connected", self._on_connected)
        ws.on("subscribed", self._on_subscribed)
        ws.on("disconnected", self._on_disconnected)
        ws.on("max_reconnect", self._on_failed)
        ws.on("error", self._on_error)
        self._started_websocket = not ws.is_running
        if self._started_websocket:
            ws.start([self.stream], loop=self.loop)
        else:  # a shared websocket already running: add our stream to it
            ws.subscribe([self.stream])

    def stop(self) -> None:
        """Stop streaming, and close the websocket if this source started it (idempotent)."""
        with self._lock:
            if not self._running:
                return
            self._running = False
        ws = self.websocket
        for event, handler in (
            ("kline", self._on_kline),
            ("connected", self._on_connected),
            ("subscribed", self._on_subscribed),
            ("disconnected", self._on_disconnected),
            ("max_reconnect", self._on_failed),
            ("error", self._on_error),
        ):
            ws.off(event, handler)
        if self._started_websocket:
            ws.stop()

    # -- on the I/O thread ------------------------------------------------------------------
    def _on_kline(self, update: KlineUpdate) -> None:
        if not self._running or update.symbol.upper() != self._exchange_id:
            return
        if update.interval != self.timeframe:
            return
        last = self._last_closed_ms
        if last is not None and update.open_ms <= last:
            return  # a duplicate or a late update of a bar already final
        bar = Bar(
            update.open_ms,
            update.open,
            update.high,
            update.low,
            update.close,
            update.volume,
            closed=update.closed,
        )
        if update.closed:
            self._last_closed_ms = update.open_ms
            self.emitted_closed += 1
        self._on_bar(bar)

    def _on_connected(self, _url: str) -> None:
        # Combined streams are subscribed by the URL itself; a raw connection is live only once
        # Binance acknowledges the SUBSCRIBE (see _on_subscribed).
        self._awaiting_ack = not self.websocket.combined
        if self._running and not self._awaiting_ack:
            self._on_state("connected")

    def _on_subscribed(self, _request_id: Any) -> None:
        if self._running and self._awaiting_ack:
            self._awaiting_ack = False
            self._on_state("connected")

    def _on_disconnected(self, info: DisconnectInfo) -> None:
        if self._running and info.will_reconnect:
            self._on_state("disconnected")

    def _on_error(self, error: BaseException) -> None:
        self.last_error = error

    def _on_failed(self, _attempts: int) -> None:
        if self._running:
            self._on_state("failed")


def binance_kline_source(client: Any, symbol: str, timeframe: str) -> BinanceKlineSource | None:
    """Binance's raw kline stream on the client's I/O loop, or None where it cannot serve.

    It serves live, testnet and the simulator, reconnecting forever with the client's backoff;
    demo trading, proxied connections and a user's own URLs are left to ccxt.pro, which knows
    their endpoints.
    """
    custom = getattr(getattr(client, "endpoints", None), "custom_urls", False)
    if client.mode == "demo" or getattr(client, "proxy", None) or custom:
        return None
    return BinanceKlineSource(
        symbol,
        timeframe,
        testnet=client.mode == "testnet",
        market_type=client.market_type,
        sim_url=client.sim_url,
        loop=client.loop,
        forming_every_s=1.0,
        reconnect_delay=client.reconnect_base_delay,
        max_reconnect_delay=max(client.reconnect_base_delay, client.reconnect_max_delay),
        max_reconnect_attempts=0,
    )
