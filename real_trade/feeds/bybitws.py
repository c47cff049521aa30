"""``BybitWebSocket``: Bybit v5 public streams (and private-stream authentication).

Endpoints (Bybit's v5 "Connect" page): ``wss://stream.bybit.com/v5/public/<category>`` with
category ``spot``, ``linear``, ``inverse`` or ``option``, the testnet on
``stream-testnet.bybit.com``, private streams on ``/v5/private``; ``sim_url``/``base_url``
point elsewhere (a simulator). Requests are JSON ``{"op": "subscribe", "args": [topics]}``
(spot takes at most 10 topics per request, so subscriptions go in chunks of 10); the heartbeat is
``{"op": "ping"}`` every 20 s, answered ``{"op": "ping", "ret_msg": "pong"}`` (or ``op: pong``).
With ``api_key``/``api_secret`` the client sends ``{"op": "auth"}`` first and subscribes once
Bybit confirms it.

Topics become events: ``kline.<interval>.<symbol>`` -> ``kline`` (:class:`KlineUpdate`,
``closed`` is ``confirm``), ``publicTrade.<symbol>`` -> ``trade``, ``orderbook.<depth>.<symbol>``
-> ``depth`` (``snapshot`` or ``delta``, update id ``u``), ``tickers.<symbol>`` -> ``ticker``
(:class:`TickerUpdate`). Acknowledgements become ``subscribed``/``login`` or an ``error``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from collections.abc import Sequence
from typing import Any

from real_trade.errors import ConfigError, ExchangeError
from real_trade.feeds.basewebsocket import (
    BaseWebSocket,
    DepthUpdate,
    KlineUpdate,
    TickerUpdate,
    TradeUpdate,
    finite_number,
    level_rows,
)
from real_trade.feeds.binancews import ws_base_from_http
from real_trade.vocabulary import OrderSide, joined_symbol_id

__all__ = [
    "BYBIT_INTERVALS",
    "BybitWebSocket",
    "bybit_auth_message",
    "parse_bybit_topic_message",
]

BYBIT_INTERVALS: dict[str, str] = {
    "1m": "1",
    "3m": "3",
    "5m": "5",
    "15m": "15",
    "30m": "30",
    "1h": "60",
    "2h": "120",
    "4h": "240",
    "6h": "360",
    "12h": "720",
    "1d": "D",
    "1w": "W",
    "1M": "M",
}
"""ccxt timeframe -> Bybit kline interval."""

_CATEGORIES = ("spot", "linear", "inverse", "option")
_PRIVATE_TOPICS = frozenset({"order", "execution", "position", "wallet", "greeks", "dcp"})
_MAX_ARGS = 10
_VENUE = "bybit"


def bybit_auth_message(api_key: str, api_secret: str, expires_ms: int) -> dict[str, Any]:
    """The ``auth`` request: HMAC-SHA256 (hex) of ``GET/realtime<expires>`` with the secret."""
    payload = f"GET/realtime{expires_ms}".encode()
    signature = hmac.new(api_secret.encode(), payload, hashlib.sha256).hexdigest()
    return {"op": "auth", "args": [api_key, expires_ms, signature]}


class BybitWebSocket(BaseWebSocket):
    """Bybit v5 streams of one ``category`` (see the module docstring).

    Channels are topics (``kline.1.BTCUSDT``): build them with :meth:`kline_topic` and friends.
    ``private=True`` connects to the private endpoint (credentials required); with credentials,
    private topics alone (``order``, ``execution``, ``position``, ``wallet``) choose it too.
    Public streams never authenticate (Bybit's public endpoints refuse ``auth``). Other keyword
    arguments are :class:`BaseWebSocket` settings.
    """

    use_protocol_ping = False

    def __init__(
        self,
        *,
        category: str = "spot",
        testnet: bool = False,
        sim_url: str | None = None,
        base_url: str | None = None,
        private: bool = False,
        api_key: str | None = None,
        api_secret: str | None = None,
        **options: Any,
    ) -> None:
        """Choose the endpoint and credentials; see :class:`BaseWebSocket` for ``options``."""
        super().__init__(**options)
        if category not in _CATEGORIES:
            raise ConfigError(
                f"Bybit has no category {category!r}",
                field="category",
                fix="use spot, linear, inverse or option",
            )
        if private and not (api_key and api_secret):
            raise ConfigError(
                "Bybit private streams need api_key and api_secret",
                field="api_key",
                fix="pass both, or use public topics",
            )
        override = base_url or sim_url
        host = "wss://stream-testnet.bybit.com" if testnet else "wss://stream.bybit.com"
        self.base_url = ws_base_from_http(override) if override else host
        self.category, self.private = category, private
        self._api_key, self._api_secret = api_key, api_secret
        self._ids = itertools.count(1)

    # -- topics ---------------------------------------------------------------------------
    @staticmethod
    def kline_topic(symbol: str, timeframe: str = "1m") -> str:
        """``kline.<interval>.<SYMBOL>`` from a ccxt timeframe (or a Bybit interval)."""
        interval = BYBIT_INTERVALS.get(timeframe, timeframe)
        return f"kline.{interval}.{joined_symbol_id(symbol)}"

    @staticmethod
    def trade_topic(symbol: str) -> str:
        """``publicTrade.<SYMBOL>``."""
        return f"publicTrade.{joined_symbol_id(symbol)}"

    @staticmethod
    def orderbook_topic(symbol: str, depth: int = 50) -> str:
        """``orderbook.<depth>.<SYMBOL>`` (spot depths: 1, 50, 200, 1000)."""
        return f"orderbook.{depth}.{joined_symbol_id(symbol)}"

    @staticmethod
    def ticker_topic(symbol: str) -> str:
        """``tickers.<SYMBOL>``."""
        return f"tickers.{joined_symbol_id(symbol)}"

    # -- hooks ----------------------------------------------------------------------------
    def _is_private(self) -> bool:
        """``private=True``, or credentials and only private topics (``order``, ``wallet``...)."""
        topics = [str(c).split(".", 1)[0] for c in self.channels]
        inferred = bool(topics) and all(t in _PRIVATE_TOPICS for t in topics)
        return self.private or (inferred and self._api_key is not None)

    def _get_ws_url(self) -> str:
        path = "/v5/private" if self._is_private() else f"/v5/public/{self.category}"
        return self.base_url + path

    def _build_subscribe_msg(self, channels: Sequence[Any]) -> dict[str, Any]:
        return {"op": "subscribe", "args": list(channels), "req_id": str(next(self._ids))}

    def _handshake_messages(self, channels: Sequence[Any]) -> list[Any]:
        if self._api_key and self._api_secret and self._is_private():
            expires = int(time.time() * 1000) + 10_000
            return [bybit_auth_message(self._api_key, self._api_secret, expires)]
        return self._subscriptions(channels)

    def _subscriptions(self, channels: Sequence[Any]) -> list[Any]:
        chunks = [channels[i : i + _MAX_ARGS] for i in range(0, len(channels), _MAX_ARGS)]
        return [self._build_subscribe_msg(chunk) for chunk in chunks]

    def _heartbeat_message(self) -> str:
        return '{"op":"ping"}'

    def _on_message(self, msg: Any) -> None:
        if not isinstance(msg, dict):
            raise TypeError(f"expected a JSON object, got {type(msg).__name__}")
        if "op" in msg or ("success" in msg and "topic" not in msg):
            self._on_reply(msg)
            return
        self.emit("message", msg)
        parsed = parse_bybit_topic_message(msg)
        if parsed is not None:
            event, updates = parsed
            for update in updates:
                self.emit(event, update)

    def _on_reply(self, msg: dict[str, Any]) -> None:
        op = msg.get("op")
        if op in ("ping", "pong"):
            return  # the pong only proves the link is alive
        if msg.get("success") is False:
            text = msg.get("ret_msg", "request refused")
            self.emit("error", ExchangeError(f"Bybit refused {op or 'a request'}: {text}"))
            return
        if op == "auth":
            self.emit("login", msg)
            for request in self._subscriptions(self.channels):
                self.send(request)
        elif op == "subscribe" or msg.get("type") == "COMMAND_RESP":
            self.emit("subscribed", msg.get("req_id"))


def parse_bybit_topic_message(msg: dict[str, Any]) -> tuple[str, list[Any]] | None:
    """Turn one topic push into ``(event, [updates])``; None for topics not typed here.

    Raises ValueError/KeyError/TypeError on a malformed message.
    """
    topic = msg["topic"]
    if not isinstance(topic, str):
        raise TypeError(f"topic must be a string, not {topic!r}")
    kind, _, rest = topic.partition(".")
    data = msg["data"]
    if kind == "kline":
        interval, _, symbol = rest.partition(".")
        return "kline", [_kline(row, symbol, interval) for row in _rows(data)]
    if kind == "publicTrade":
        return "trade", [_trade(row) for row in _rows(data)]
    if kind == "orderbook":
        _depth, _, symbol = rest.partition(".")
        if not isinstance(data, dict):
            raise TypeError("orderbook data must be an object")
        update_id = int(data["u"])
        return "depth", [
            DepthUpdate(
                _VENUE,
                str(data.get("s", symbol)),
                level_rows(data["b"], "b"),
                level_rows(data["a"], "a"),
                msg["type"] == "snapshot",
                update_id,
                update_id,
                None,
                int(msg["ts"]),
            )
        ]
    if kind == "tickers":
        if msg.get("type") == "delta":
            return None  # derivatives send changed fields only: not a full ticker
        if not isinstance(data, dict):
            raise TypeError("tickers data must be an object")
        return "ticker", [_ticker(data, int(msg["ts"]))]
    return None


def _rows(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise TypeError(f"data must be a list, not {type(data).__name__}")
    return data


def _kline(row: dict[str, Any], symbol: str, interval: str) -> KlineUpdate:
    confirm = row["confirm"]
    if not isinstance(confirm, bool):
        raise TypeError(f"kline confirm must be true or false, not {confirm!r}")
    return KlineUpdate(
        _VENUE,
        symbol,
        str(row.get("interval", interval)),
        int(row["start"]),
        int(row["end"]),
        finite_number(row["open"], "open"),
        finite_number(row["high"], "high"),
        finite_number(row["low"], "low"),
        finite_number(row["close"], "close"),
        finite_number(row["volume"], "volume"),
        confirm,
        int(row["timestamp"]),
    )


def _trade(row: dict[str, Any]) -> TradeUpdate:
    return TradeUpdate(
        _VENUE,
        str(row["s"]),
        str(row["i"]),
        finite_number(row["p"], "price"),
        finite_number(row["v"], "size"),
        OrderSide(str(row["S"]).lower()),
        int(row["T"]),
    )


def _ticker(data: dict[str, Any], ts: int) -> TickerUpdate:
    last = finite_number(data["lastPrice"], "lastPrice")
    prev = data.get("prevPrice24h")
    return TickerUpdate(
        _VENUE,
        str(data["symbol"]),
        last,
        last if prev is None else finite_number(prev, "prev"),
        finite_number(data["highPrice24h"], "highPrice24h"),
        finite_number(data["lowPrice24h"], "lowPrice24h"),
        finite_number(data["volume24h"], "volume24h"),
        finite_number(data["turnover24h"], "turnover24h"),
        ts,
    )
