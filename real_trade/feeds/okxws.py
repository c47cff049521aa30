"""``OKXWebSocket``: OKX v5 public and business streams (and private-stream login).

Endpoints (OKX API v5 overview): ``wss://ws.okx.com:8443/ws/v5/public`` (trades, books,
tickers), ``/ws/v5/business`` (candles, algo orders) and ``/ws/v5/private`` (orders, fills,
positions, account); demo trading (OKX has no
testnet: ``testnet=True`` means demo) on ``wss://wspap.okx.com:8443``; ``sim_url``/``base_url``
point elsewhere. A connection is dropped after 30 s without traffic, so the client sends the
text frame ``ping`` every ``ping_interval`` (20 s) and expects ``pong``. Requests are
``{"op": "subscribe", "args": [{"channel": ..., "instId": ...}]}``; with credentials the client
logs in first (``op: login``, signed ``timestamp + GET + /users/self/verify``) and subscribes
once OKX confirms. A ``notice`` event (service upgrade in 60 s) triggers a reconnect now.

Pushes become events: ``candle*`` -> ``kline`` (:class:`KlineUpdate`, ``closed`` is
``confirm == "1"``), ``trades`` -> ``trade``, ``books``/``books5``/``bbo-tbt``/``*-l2-tbt`` ->
``depth`` (``snapshot`` or ``update``, ``seqId``/``prevSeqId``), ``tickers`` -> ``ticker``.
Daily and longer candles default to their UTC variants (``1Dutc``): real_trade stamps bars in
UTC, and OKX's plain ``1D`` opens at UTC+8.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
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
from real_trade.vocabulary import OrderSide, okx_inst_id

__all__ = ["OKX_BARS", "OKXWebSocket", "okx_login_message", "parse_okx_push"]

OKX_BARS: dict[str, str] = {
    "1m": "1m",
    "3m": "3m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "1h": "1H",
    "2h": "2H",
    "4h": "4H",
    "6h": "6Hutc",
    "12h": "12Hutc",
    "1d": "1Dutc",
    "3d": "3Dutc",
    "1w": "1Wutc",
    "1M": "1Mutc",
}
"""ccxt timeframe -> OKX candle bar (UTC-aligned variants for 6 h and longer)."""

_BOOK_CHANNELS = ("books", "books5", "bbo-tbt", "books-l2-tbt", "books50-l2-tbt", "books-elp")
_BUSINESS_PREFIXES = ("candle", "trades-all", "mark-price-candle", "index-candle", "orders-algo")
_PRIVATE_CHANNELS = frozenset(
    {"account", "positions", "balance_and_position", "orders", "fills", "liquidation-warning"}
)
_UNIT_MS = {"s": 1_000, "m": 60_000, "H": 3_600_000, "D": 86_400_000, "W": 604_800_000}
_VENUE = "okx"


def okx_login_message(
    api_key: str, secret: str, passphrase: str, timestamp_s: int | None = None
) -> dict[str, Any]:
    """The ``login`` request: base64 HMAC-SHA256 of ``<ts>GET/users/self/verify``."""
    ts = str(int(time.time()) if timestamp_s is None else timestamp_s)
    digest = hmac.new(secret.encode(), f"{ts}GET/users/self/verify".encode(), hashlib.sha256)
    sign = base64.b64encode(digest.digest()).decode()
    args = {"apiKey": api_key, "passphrase": passphrase, "timestamp": ts, "sign": sign}
    return {"op": "login", "args": [args]}


class OKXWebSocket(BaseWebSocket):
    """OKX v5 streams on one endpoint (see the module docstring).

    Channels are ``{"channel": ..., "instId": ...}`` dicts: build them with
    :meth:`candle_channel` and friends. ``endpoint`` is ``public``, ``business`` or
    ``private``; by default it follows the channels (candles and algo orders: business; orders,
    fills, positions and the account: private; the rest: public). Credentials
    (``api_key``, ``api_secret``, ``passphrase``) make the client log in before subscribing.
    Other keyword arguments are :class:`BaseWebSocket` settings.
    """

    use_protocol_ping = False

    def __init__(
        self,
        *,
        testnet: bool = False,
        demo: bool = False,
        sim_url: str | None = None,
        base_url: str | None = None,
        endpoint: str | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
        passphrase: str | None = None,
        **options: Any,
    ) -> None:
        """Choose the endpoint and credentials; see :class:`BaseWebSocket` for ``options``."""
        super().__init__(**options)
        if endpoint not in (None, "public", "business", "private"):
            raise ConfigError(
                f"unknown OKX endpoint {endpoint!r}",
                field="endpoint",
                fix="use public, business or private",
            )
        credentials = (api_key, api_secret, passphrase)
        if any(credentials) and not all(credentials):
            raise ConfigError(
                "OKX login needs api_key, api_secret and passphrase",
                field="passphrase",
                fix="pass all three, or none",
            )
        override = base_url or sim_url
        host = "wss://wspap.okx.com:8443" if testnet or demo else "wss://ws.okx.com:8443"
        self.base_url = ws_base_from_http(override) if override else host
        self.endpoint = endpoint
        self._credentials: tuple[str, str, str] | None = None
        if api_key and api_secret and passphrase:
            self._credentials = (api_key, api_secret, passphrase)

    # -- channels -------------------------------------------------------------------------
    @staticmethod
    def candle_channel(inst_id: str, timeframe: str = "1m") -> dict[str, str]:
        """Candles of ``inst_id`` (``BTC-USDT``, or unified ``BTC/USDT``) from a ccxt timeframe."""
        bar = OKX_BARS.get(timeframe, timeframe)
        return {"channel": f"candle{bar}", "instId": okx_inst_id(inst_id)}

    @staticmethod
    def trades_channel(inst_id: str) -> dict[str, str]:
        """Trades of ``inst_id`` (aggregated per taker order)."""
        return {"channel": "trades", "instId": okx_inst_id(inst_id)}

    @staticmethod
    def books_channel(inst_id: str, channel: str = "books") -> dict[str, str]:
        """Order book of ``inst_id``: ``books`` (400 levels, diffs), ``books5``, ``bbo-tbt``."""
        return {"channel": channel, "instId": okx_inst_id(inst_id)}

    @staticmethod
    def tickers_channel(inst_id: str) -> dict[str, str]:
        """24 h ticker of ``inst_id``."""
        return {"channel": "tickers", "instId": okx_inst_id(inst_id)}

    # -- hooks ----------------------------------------------------------------------------
    def _get_ws_url(self) -> str:
        return f"{self.base_url}/ws/v5/{self.endpoint or self._endpoint_for(self.channels)}"

    @staticmethod
    def _endpoint_for(channels: Sequence[Any]) -> str:
        names = [str(c.get("channel", "")) for c in channels]
        kinds = {
            "private"
            if name in _PRIVATE_CHANNELS
            else "business"
            if name.startswith(_BUSINESS_PREFIXES)
            else "public"
            for name in names
        }
        if len(kinds) > 1:
            msg = (
                "OKX serves candles and algo orders on /ws/v5/business, orders, positions and "
                "the account on /ws/v5/private, trades and books on /ws/v5/public: one "
                f"connection cannot carry channels of {sorted(kinds)}"
            )
            raise ConfigError(msg, field="channels", fix="use one OKXWebSocket per endpoint")
        return kinds.pop() if kinds else "public"

    def _build_subscribe_msg(self, channels: Sequence[Any]) -> dict[str, Any]:
        return {"op": "subscribe", "args": [dict(c) for c in channels]}

    def _handshake_messages(self, channels: Sequence[Any]) -> list[Any]:
        if self._credentials is not None:
            return [okx_login_message(*self._credentials)]  # subscribe once logged in
        return super()._handshake_messages(channels)

    def _heartbeat_message(self) -> str:
        return "ping"

    def _is_heartbeat_reply(self, text: str) -> bool:
        return text == "pong"

    def _on_message(self, msg: Any) -> None:
        if not isinstance(msg, dict):
            raise TypeError(f"expected a JSON object, got {type(msg).__name__}")
        event = msg.get("event")
        if event is not None:
            self._on_event(str(event), msg)
            return
        self.emit("message", msg)
        parsed = parse_okx_push(msg)
        if parsed is not None:
            kind, updates = parsed
            for update in updates:
                self.emit(kind, update)

    def _on_event(self, event: str, msg: dict[str, Any]) -> None:
        if event == "error" or (event == "login" and str(msg.get("code", "0")) != "0"):
            code = str(msg.get("code")) if msg.get("code") is not None else None
            text = f"OKX refused a request ({event}): {msg.get('msg', '')}"
            self.emit("error", ExchangeError(text, exchange_code=code))
        elif event == "login":
            self.emit("login", msg)
            for request in super()._handshake_messages(self.channels):
                self.send(request)
        elif event == "subscribe":
            self.emit("subscribed", msg.get("arg"))
        elif event == "notice":
            self.request_reconnect()  # the service restarts soon: move to a fresh connection


def parse_okx_push(msg: dict[str, Any]) -> tuple[str, list[Any]] | None:
    """Turn one push (``{"arg": ..., "data": [...]}``) into ``(event, [updates])``.

    None for channels not typed here. Raises ValueError/KeyError/TypeError when malformed.
    """
    arg, data = msg["arg"], msg["data"]
    channel, inst_id = str(arg["channel"]), str(arg.get("instId", ""))
    rows = data if isinstance(data, list) else [data]
    if channel.startswith("candle"):
        bar = channel[len("candle") :]
        return "kline", [_candle(row, inst_id, bar) for row in rows]
    if channel == "trades":
        return "trade", [_trade(row) for row in rows]
    if channel in _BOOK_CHANNELS:
        snapshot = msg.get("action", "snapshot") == "snapshot"
        return "depth", [_book(row, inst_id, snapshot) for row in rows]
    if channel == "tickers":
        return "ticker", [_ticker(row) for row in rows]
    return None


def _bar_ms(bar: str) -> int | None:
    """The length of an OKX bar (``1m``, ``4H``, ``1Dutc``) in ms; None for months."""
    core = bar.removesuffix("utc")
    unit = _UNIT_MS.get(core[-1:]) if core[:-1].isdigit() else None
    return None if unit is None else int(core[:-1]) * unit


def _candle(row: Any, inst_id: str, bar: str) -> KlineUpdate:
    if not isinstance(row, list) or len(row) < 6:
        raise TypeError(f"a candle must be an array [ts, o, h, l, c, vol, ...], not {row!r}")
    open_ms = int(row[0])
    length = _bar_ms(bar)
    confirm = str(row[8]) if len(row) > 8 else "0"
    if confirm not in ("0", "1"):
        raise ValueError(f"candle confirm must be '0' or '1', not {confirm!r}")
    return KlineUpdate(
        _VENUE,
        inst_id,
        bar,
        open_ms,
        None if length is None else open_ms + length - 1,
        finite_number(row[1], "open"),
        finite_number(row[2], "high"),
        finite_number(row[3], "low"),
        finite_number(row[4], "close"),
        finite_number(row[5], "vol"),
        confirm == "1",
    )


def _trade(row: dict[str, Any]) -> TradeUpdate:
    return TradeUpdate(
        _VENUE,
        str(row["instId"]),
        str(row["tradeId"]),
        finite_number(row["px"], "px"),
        finite_number(row["sz"], "sz"),
        OrderSide(row["side"]),
        int(row["ts"]),
    )


def _book(row: dict[str, Any], inst_id: str, snapshot: bool) -> DepthUpdate:
    seq, prev = row.get("seqId"), row.get("prevSeqId")
    return DepthUpdate(
        _VENUE,
        inst_id,
        level_rows(row["bids"], "bids"),
        level_rows(row["asks"], "asks"),
        snapshot,
        None if seq is None else int(seq),
        None if seq is None else int(seq),
        None if prev is None else int(prev),
        int(row["ts"]),
    )


def _ticker(row: dict[str, Any]) -> TickerUpdate:
    return TickerUpdate(
        _VENUE,
        str(row["instId"]),
        finite_number(row["last"], "last"),
        finite_number(row["open24h"], "open24h"),
        finite_number(row["high24h"], "high24h"),
        finite_number(row["low24h"], "low24h"),
        finite_number(row["vol24h"], "vol24h"),
        finite_number(row["volCcy24h"], "volCcy24h"),
        int(row["ts"]),
    )
