"""``BinanceWebSocket``: Binance market streams (spot, USDⓈ-M, COIN-M) as typed events.

Endpoints (Binance's ``web-socket-streams.md``): raw streams on ``<base>/ws`` with a
``SUBSCRIBE`` request (the default, so resubscribing after a reconnect is one message), or
combined streams on ``<base>/stream?streams=a/b`` whose payloads come wrapped as
``{"stream": name, "data": payload}`` (``combined=True``). The base is the live or testnet host
of the market type, or a simulator (``sim_url="http://127.0.0.1:PORT"``; ``base_url`` takes any
ws(s) base). The server pings every 20 s (answered automatically) and closes a connection after
24 h, so the client reconnects proactively ten minutes earlier; a ``serverShutdown`` event
triggers an immediate reconnect too.

Payloads become ``kline`` (:class:`KlineUpdate`, ``closed`` is the ``x`` flag), ``trade`` and
``agg_trade`` (:class:`TradeUpdate`), ``depth`` (:class:`DepthUpdate`: diff depth with ``U``/``u``,
or a partial book snapshot), ``book_ticker`` and ``ticker`` events; replies to control requests
become ``subscribed`` (the request id) or ``error`` (an ExchangeError with Binance's code).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from typing import Any

from real_trade.errors import ConfigError, ExchangeError
from real_trade.feeds.basewebsocket import (
    BaseWebSocket,
    BookTickerUpdate,
    DepthUpdate,
    KlineUpdate,
    TickerUpdate,
    TradeUpdate,
    finite_number,
    level_rows,
)
from real_trade.venues.spec import BINANCE
from real_trade.vocabulary import OrderSide, joined_symbol_id

__all__ = [
    "BINANCE_WS_BASES",
    "BinanceWS",
    "BinanceWebSocket",
    "parse_binance_payload",
    "stream_symbol",
    "ws_base_from_http",
]

BINANCE_WS_BASES: Mapping[tuple[str, str], str] = {
    ("live", "spot"): "wss://stream.binance.com:9443",
    ("live", "future"): "wss://fstream.binance.com",
    ("live", "delivery"): "wss://dstream.binance.com",
    ("testnet", "spot"): "wss://stream.testnet.binance.vision",
    ("testnet", "future"): "wss://fstream.binancefuture.com",
    ("testnet", "delivery"): "wss://dstream.binancefuture.com",
}
"""Market-stream hosts per ``(mode, market_type)``; ``/ws`` or ``/stream`` is appended."""

_LIFETIME_MARGIN_S = 600.0
_VENUE = "binance"


def ws_base_from_http(url: str) -> str:
    """``http://host:port`` -> ``ws://host:port`` (``https`` -> ``wss``; ws URLs pass through)."""
    base = url.strip().rstrip("/")
    for http, ws in (("https://", "wss://"), ("http://", "ws://")):
        if base.startswith(http):
            return ws + base[len(http) :]
    if not base.startswith(("ws://", "wss://")):
        fix = "use the simulator's base URL, e.g. http://127.0.0.1:8080"
        raise ConfigError(f"not an http(s) or ws(s) URL: {url!r}", field="sim_url", fix=fix)
    return base


def stream_symbol(symbol: str) -> str:
    """A unified (``BTC/USDT``) or exchange (``BTCUSDT``) symbol as a stream prefix: ``btcusdt``."""
    return joined_symbol_id(symbol).lower()


class BinanceWebSocket(BaseWebSocket):
    """Binance market streams (see the module docstring).

    ``market_type`` is ``spot``, ``future`` (USDⓈ-M) or ``delivery`` (COIN-M); ``testnet``
    picks the testnet hosts; ``sim_url``/``base_url`` override the host. Channels are stream
    names (``btcusdt@kline_1m``): build them with :meth:`kline_stream` and friends. Other
    keyword arguments are :class:`BaseWebSocket` settings.

    ``forming_kline_every_s`` (an attribute; 0, the default, parses every frame) makes kline
    frames that do not close a bar cost almost nothing: they are recognised in the raw text
    (``"e":"kline"`` and ``"x":false``, as Binance writes them, without spaces) and only one in
    that many wall seconds is parsed and emitted (a sign of life); the others are counted
    (``stats["messages"]``, ``stats["skipped"]``) and dropped unparsed. A frame spelt any other
    way takes the full path. For a connection whose listeners want closed bars (the feeds'
    kline source); the interval is per connection, not per stream. The raw ``message`` event is
    built only while someone listens to it.
    """

    forming_kline_every_s: float = 0.0

    def __init__(
        self,
        *,
        testnet: bool = False,
        market_type: str = "spot",
        sim_url: str | None = None,
        base_url: str | None = None,
        combined: bool = False,
        **options: Any,
    ) -> None:
        """Choose the endpoint; see :class:`BaseWebSocket` for the connection ``options``."""
        options.setdefault(
            "max_connection_age", BINANCE.quirks["ws_max_connection_seconds"] - _LIFETIME_MARGIN_S
        )
        super().__init__(**options)
        override = base_url or sim_url
        if override:
            self.base_url = ws_base_from_http(override)
        else:
            key = ("testnet" if testnet else "live", market_type)
            if key not in BINANCE_WS_BASES:
                fix = "use spot, future or delivery"
                msg = f"Binance has no market type {market_type!r}"
                raise ConfigError(msg, field="market_type", fix=fix)
            self.base_url = BINANCE_WS_BASES[key]
        self.combined = combined
        self._ids = itertools.count(1)
        self.stats["skipped"] = 0
        self._forming_due = 0.0
        self._raw_topic = self.topic("message")

    # -- stream names ---------------------------------------------------------------------
    @staticmethod
    def kline_stream(symbol: str, interval: str = "1m") -> str:
        """``<symbol>@kline_<interval>``: candle updates every 2 s, ``x=true`` at the close."""
        return f"{stream_symbol(symbol)}@kline_{interval}"

    @staticmethod
    def trade_stream(symbol: str) -> str:
        """``<symbol>@trade``: every trade."""
        return f"{stream_symbol(symbol)}@trade"

    @staticmethod
    def agg_trade_stream(symbol: str) -> str:
        """``<symbol>@aggTrade``: trades aggregated per taker order."""
        return f"{stream_symbol(symbol)}@aggTrade"

    @staticmethod
    def depth_stream(symbol: str, levels: int | None = None, fast: bool = False) -> str:
        """Diff depth (``levels=None``) or a partial book of 5/10/20 levels; ``fast``: 100 ms."""
        name = f"{stream_symbol(symbol)}@depth{levels or ''}"
        return name + "@100ms" if fast else name

    @staticmethod
    def book_ticker_stream(symbol: str) -> str:
        """``<symbol>@bookTicker``: best bid and ask."""
        return f"{stream_symbol(symbol)}@bookTicker"

    @staticmethod
    def ticker_stream(symbol: str) -> str:
        """``<symbol>@ticker``: 24 h rolling statistics."""
        return f"{stream_symbol(symbol)}@ticker"

    def subscribe(self, streams: Sequence[str]) -> bool:
        """Add ``streams`` (kept for every reconnection) and subscribe now when connected."""
        new = [s for s in streams if s not in self.channels]
        self.channels.extend(new)
        if not new or not self.is_connected or self.combined:
            return False
        msg = self._build_subscribe_msg(new)
        return msg is not None and self.send(msg)

    # -- hooks ----------------------------------------------------------------------------
    def _get_ws_url(self) -> str:
        if self.combined:
            return f"{self.base_url}/stream?streams={'/'.join(self.channels)}"
        return f"{self.base_url}/ws"

    def _build_subscribe_msg(self, channels: Sequence[Any]) -> dict[str, Any] | None:
        if self.combined:
            return None  # the URL names the streams
        return {"method": "SUBSCRIBE", "params": list(channels), "id": next(self._ids)}

    def _handle_text(self, text: str) -> None:
        every = self.forming_kline_every_s
        if every > 0 and '"x":false' in text and '"e":"kline"' in text:
            now = time.monotonic()
            if now < self._forming_due:
                stats = self.stats
                stats["messages"] += 1
                stats["skipped"] += 1
                return
            self._forming_due = now + every
        BaseWebSocket._handle_text(self, text)  # not super(): a frame each, 3.11 builds one

    def _on_message(self, msg: Any) -> None:
        stream: str | None = None
        if type(msg) is dict:
            if "id" in msg and ("result" in msg or "error" in msg):
                self._on_reply(msg)
                return
            if "stream" in msg and "data" in msg:
                stream, msg = msg["stream"], msg["data"]
        if self.bus.has_subscribers(self._raw_topic):
            self.emit("message", msg)
        parsed = parse_binance_payload(msg, stream)
        if parsed is None:
            return
        event, update = parsed
        if event == "server_shutdown":
            self.request_reconnect()
        else:
            self.emit(event, update)

    def _on_reply(self, msg: dict[str, Any]) -> None:
        error = msg.get("error")
        if error is None:
            self.emit("subscribed", msg["id"])
            return
        code = str(error.get("code")) if isinstance(error, dict) else None
        text = error.get("msg", error) if isinstance(error, dict) else error
        self.emit(
            "error",
            ExchangeError(f"Binance refused request {msg['id']}: {text}", exchange_code=code),
        )


BinanceWS = BinanceWebSocket
"""Seed 000's name for :class:`BinanceWebSocket` (the same class)."""


def parse_binance_payload(data: Any, stream: str | None = None) -> tuple[str, Any] | None:
    """Turn one Binance stream payload into ``(event, update)``; None for other events.

    ``stream`` (the combined-stream name) supplies the symbol of partial-depth payloads, which
    carry none. Raises ValueError/KeyError/TypeError on a malformed payload.
    """
    if isinstance(data, list):  # !miniTicker@arr and friends: not typed here
        return None
    if not isinstance(data, dict):
        raise TypeError(f"expected a JSON object, got {type(data).__name__}")
    kind = data.get("e")
    if kind == "kline":
        return "kline", _kline(data)
    if kind in ("trade", "aggTrade"):
        return ("trade" if kind == "trade" else "agg_trade"), _trade(data)
    if kind == "depthUpdate":
        return "depth", _depth_diff(data)
    if kind == "24hrTicker":
        return "ticker", _ticker(data)
    if kind == "serverShutdown":
        return "server_shutdown", int(data["E"])
    if kind == "bookTicker" or (kind is None and {"u", "b", "B", "a", "A"} <= data.keys()):
        return "book_ticker", _book_ticker(data)
    if kind is None and "lastUpdateId" in data:
        symbol = stream.split("@")[0].upper() if stream else ""
        return "depth", DepthUpdate(
            _VENUE,
            symbol,
            level_rows(data["bids"], "bids"),
            level_rows(data["asks"], "asks"),
            True,
            None,
            int(data["lastUpdateId"]),
            None,
            None,
        )
    return None


def _kline(data: dict[str, Any]) -> KlineUpdate:
    k = data["k"]
    closed = k["x"]
    if not isinstance(closed, bool):
        raise TypeError(f"kline x must be true or false, not {closed!r}")
    return KlineUpdate(
        _VENUE,
        str(k["s"]),
        str(k["i"]),
        int(k["t"]),
        int(k["T"]),
        finite_number(k["o"], "open"),
        finite_number(k["h"], "high"),
        finite_number(k["l"], "low"),
        finite_number(k["c"], "close"),
        finite_number(k["v"], "volume"),
        closed,
        int(data["E"]),
    )


def _trade(data: dict[str, Any]) -> TradeUpdate:
    trade_id = data["t"] if data["e"] == "trade" else data["a"]
    return TradeUpdate(
        _VENUE,
        str(data["s"]),
        str(trade_id),
        finite_number(data["p"], "price"),
        finite_number(data["q"], "quantity"),
        OrderSide.SELL if data["m"] else OrderSide.BUY,
        int(data["T"]),
    )


def _depth_diff(data: dict[str, Any]) -> DepthUpdate:
    prev = data.get("pu")  # futures: the previous event's final id
    bids, asks = data["b"], data["a"]
    if type(bids) is not list or type(asks) is not list:  # level_rows' check, inline (hot)
        level_rows(bids, "b")
        level_rows(asks, "a")
    return DepthUpdate(
        _VENUE,
        str(data["s"]),
        bids,
        asks,
        False,
        int(data["U"]),
        int(data["u"]),
        None if prev is None else int(prev),
        int(data["E"]),
    )


def _book_ticker(data: dict[str, Any]) -> BookTickerUpdate:
    return BookTickerUpdate(
        _VENUE,
        str(data["s"]),
        finite_number(data["b"], "bid price"),
        finite_number(data["B"], "bid quantity"),
        finite_number(data["a"], "ask price"),
        finite_number(data["A"], "ask quantity"),
        int(data["u"]),
    )


def _ticker(data: dict[str, Any]) -> TickerUpdate:
    return TickerUpdate(
        _VENUE,
        str(data["s"]),
        finite_number(data["c"], "last"),
        finite_number(data["o"], "open"),
        finite_number(data["h"], "high"),
        finite_number(data["l"], "low"),
        finite_number(data["v"], "volume"),
        finite_number(data["q"], "quote volume"),
        int(data["E"]),
    )
