"""Payload parsing and request building of the raw exchange websockets.

The payloads are the venues' own documented examples: Binance ``web-socket-streams.md``
(binance-spot-api-docs), Bybit v5 "WebSocket Stream" pages (bybit-exchange/docs:
``websocket/public/kline|trade|orderbook|ticker.mdx`` and ``wss-authentication.mdx``), OKX API v5
("WS / Candlesticks channel", "WS / Trades channel", "WS / Order book channel", "Login").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from real_trade.errors import ConfigError, ExchangeError, ExchangeProtocolError
from real_trade.feeds.basewebsocket import (
    BookTickerUpdate,
    DepthUpdate,
    KlineUpdate,
    TickerUpdate,
    TradeUpdate,
    decode_json,
    finite_number,
    price_levels,
)
from real_trade.feeds.binancews import BinanceWebSocket, parse_binance_payload
from real_trade.feeds.bybitws import BybitWebSocket, bybit_auth_message
from real_trade.feeds.okxws import OKXWebSocket, okx_login_message


def record(ws: Any, *events: str) -> list[tuple[str, Any]]:
    """Collect ``(event, data)`` for ``events`` emitted by ``ws``."""
    seen: list[tuple[str, Any]] = []
    for event in events:
        ws.on(event, lambda data, event=event: seen.append((event, data)))
    return seen


# -- Binance ----------------------------------------------------------------------------------
BINANCE_KLINE = {
    "e": "kline",
    "E": 1672515782136,
    "s": "BNBBTC",
    "k": {
        "t": 1672515780000,
        "T": 1672515839999,
        "s": "BNBBTC",
        "i": "1m",
        "f": 100,
        "L": 200,
        "o": "0.0010",
        "c": "0.0020",
        "h": "0.0025",
        "l": "0.0015",
        "v": "1000",
        "n": 100,
        "x": False,
        "q": "1.0000",
        "V": "500",
        "Q": "0.500",
        "B": "123456",
    },
}
BINANCE_TRADE = {
    "e": "trade",
    "E": 1672515782136,
    "s": "BNBBTC",
    "t": 12345,
    "p": "0.001",
    "q": "100",
    "T": 1672515782136,
    "m": True,
    "M": True,
}
BINANCE_AGG_TRADE = {
    "e": "aggTrade",
    "E": 1672515782136,
    "s": "BNBBTC",
    "a": 12345,
    "p": "0.001",
    "q": "100",
    "f": 100,
    "l": 105,
    "T": 1672515782136,
    "m": False,
    "M": True,
}
BINANCE_DEPTH = {
    "e": "depthUpdate",
    "E": 1672515782136,
    "s": "BNBBTC",
    "U": 157,
    "u": 160,
    "b": [["0.0024", "10"]],
    "a": [["0.0026", "100"]],
}
BINANCE_BOOK_TICKER = {
    "u": 400900217,
    "s": "BNBUSDT",
    "b": "25.35190000",
    "B": "31.21000000",
    "a": "25.36520000",
    "A": "40.66000000",
}
BINANCE_PARTIAL_DEPTH = {
    "lastUpdateId": 160,
    "bids": [["0.0024", "10"]],
    "asks": [["0.0026", "100"]],
}
BINANCE_TICKER = {
    "e": "24hrTicker",
    "E": 1672515782136,
    "s": "BNBBTC",
    "p": "0.0015",
    "P": "250.00",
    "w": "0.0018",
    "x": "0.0009",
    "c": "0.0025",
    "Q": "10",
    "b": "0.0024",
    "B": "10",
    "a": "0.0026",
    "A": "100",
    "o": "0.0010",
    "h": "0.0025",
    "l": "0.0010",
    "v": "10000",
    "q": "18",
    "O": 0,
    "C": 86400000,
    "F": 0,
    "L": 18150,
    "n": 18151,
}


def test_binance_kline_payload_becomes_a_kline_update() -> None:
    event, update = parse_binance_payload(BINANCE_KLINE) or ("", None)
    assert event == "kline"
    assert update == KlineUpdate(
        "binance",
        "BNBBTC",
        "1m",
        1672515780000,
        1672515839999,
        0.0010,
        0.0025,
        0.0015,
        0.0020,
        1000.0,
        False,
        1672515782136,
    )


def test_binance_trade_side_is_the_takers() -> None:
    # "m": true means the buyer was the maker, so the taker sold.
    assert parse_binance_payload(BINANCE_TRADE) == (
        "trade",
        TradeUpdate("binance", "BNBBTC", "12345", 0.001, 100.0, "sell", 1672515782136),
    )
    event, agg = parse_binance_payload(BINANCE_AGG_TRADE) or ("", None)
    assert event == "agg_trade" and agg.trade_id == "12345" and agg.side == "buy"


def test_binance_depth_book_ticker_partial_depth_and_ticker() -> None:
    assert parse_binance_payload(BINANCE_DEPTH) == (
        "depth",
        DepthUpdate(
            "binance",
            "BNBBTC",
            ((0.0024, 10.0),),
            ((0.0026, 100.0),),
            False,
            157,
            160,
            None,
            1672515782136,
        ),
    )
    assert parse_binance_payload(BINANCE_BOOK_TICKER) == (
        "book_ticker",
        BookTickerUpdate("binance", "BNBUSDT", 25.3519, 31.21, 25.3652, 40.66, 400900217),
    )
    event, snap = parse_binance_payload(BINANCE_PARTIAL_DEPTH, "bnbbtc@depth5") or ("", None)
    assert event == "depth" and snap.snapshot and snap.symbol == "BNBBTC" and snap.last_id == 160
    assert parse_binance_payload(BINANCE_TICKER) == (
        "ticker",
        TickerUpdate(
            "binance", "BNBBTC", 0.0025, 0.0010, 0.0025, 0.0010, 10000.0, 18.0, 1672515782136
        ),
    )


def test_binance_combined_wrapper_and_control_replies_dispatch_to_events() -> None:
    ws = BinanceWebSocket(sim_url="http://127.0.0.1:1")
    seen = record(ws, "kline", "message", "subscribed", "error")
    ws._on_message({"stream": "bnbbtc@kline_1m", "data": BINANCE_KLINE})
    ws._on_message({"result": None, "id": 1})
    ws._on_message({"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": 2})
    kinds = [event for event, _ in seen]
    assert kinds == ["message", "kline", "subscribed", "error"]
    assert seen[1][1].closed is False and seen[2][1] == 1
    error = seen[3][1]
    assert isinstance(error, ExchangeError) and error.exchange_code == "2"


def test_binance_subscribe_message_urls_and_stream_names() -> None:
    ws = BinanceWebSocket(sim_url="http://127.0.0.1:9000")
    streams = [ws.kline_stream("BTC/USDT", "1m"), ws.depth_stream("ETHUSDT", fast=True)]
    assert streams == ["btcusdt@kline_1m", "ethusdt@depth@100ms"]
    assert ws._get_ws_url() == "ws://127.0.0.1:9000/ws"
    assert ws._handshake_messages(streams) == [{"method": "SUBSCRIBE", "params": streams, "id": 1}]
    live = BinanceWebSocket()
    assert live._get_ws_url() == "wss://stream.binance.com:9443/ws"
    assert BinanceWebSocket(testnet=True)._get_ws_url() == "wss://stream.testnet.binance.vision/ws"
    combined = BinanceWebSocket(market_type="future", combined=True)
    combined.channels = streams
    assert combined._get_ws_url() == (
        "wss://fstream.binance.com/stream?streams=btcusdt@kline_1m/ethusdt@depth@100ms"
    )
    assert combined._handshake_messages(streams) == []  # the URL names the streams
    with pytest.raises(ConfigError, match="market_type"):
        BinanceWebSocket(market_type="options")


@pytest.mark.parametrize(
    ("field", "value"), [("c", "NaN"), ("h", "inf"), ("o", None), ("x", "yes")]
)
def test_binance_bad_kline_values_are_malformed_frames_not_numbers(field: str, value: Any) -> None:
    ws = BinanceWebSocket(sim_url="http://127.0.0.1:1")
    seen = record(ws, "kline", "error")
    bad = json.loads(json.dumps(BINANCE_KLINE))
    bad["k"][field] = value
    ws._handle_text(json.dumps(bad))
    ws._handle_text("{not json")
    ws._handle_text(json.dumps(["unexpected", "array", 1]))  # list payloads: no typed event
    ws._handle_text("42")
    assert ws.stats["malformed"] == 3 and ws.stats["messages"] == 4
    assert [event for event, _ in seen] == ["error", "error", "error"]
    assert all(isinstance(data, ExchangeProtocolError) for _, data in seen)


def test_finite_number_names_the_field() -> None:
    assert finite_number("1.5", "price") == 1.5
    with pytest.raises(ValueError, match="price"):
        finite_number("nan", "price")
    with pytest.raises(ValueError, match="qty"):
        finite_number(True, "qty")


# -- Bybit ------------------------------------------------------------------------------------
BYBIT_KLINE = {
    "topic": "kline.5.BTCUSDT",
    "data": [
        {
            "start": 1672324800000,
            "end": 1672325099999,
            "interval": "5",
            "open": "16649.5",
            "close": "16677",
            "high": "16677",
            "low": "16608",
            "volume": "2.081",
            "turnover": "34666.4005",
            "confirm": False,
            "timestamp": 1672324988882,
        }
    ],
    "ts": 1672324988882,
    "type": "snapshot",
}
BYBIT_TRADE = {
    "topic": "publicTrade.BTCUSDT",
    "type": "snapshot",
    "ts": 1672304486868,
    "data": [
        {
            "T": 1672304486865,
            "s": "BTCUSDT",
            "S": "Buy",
            "v": "0.001",
            "p": "16578.50",
            "L": "PlusTick",
            "i": "20f43950-d8dd-5b31-9112-a178eb6023af",
            "BT": False,
            "seq": 1783284617,
        }
    ],
}
BYBIT_BOOK_SNAPSHOT = {
    "topic": "orderbook.50.BTCUSDT",
    "type": "snapshot",
    "ts": 1672304484978,
    "data": {
        "s": "BTCUSDT",
        "b": [["16493.50", "0.006"], ["16493.00", "0.100"]],
        "a": [["16611.00", "0.029"], ["16612.00", "0.213"]],
        "u": 18521288,
        "seq": 7961638724,
    },
    "cts": 1672304484976,
}
BYBIT_BOOK_DELTA = {
    "topic": "orderbook.50.BTCUSDT",
    "type": "delta",
    "ts": 1687940967466,
    "data": {
        "s": "BTCUSDT",
        "b": [["30247.20", "30.028"], ["30240.00", "0"]],
        "a": [["30248.70", "0"], ["30249.30", "0.892"]],
        "u": 177400507,
        "seq": 66544703342,
    },
    "cts": 1687940967464,
}
BYBIT_SPOT_TICKER = {
    "topic": "tickers.BTCUSDT",
    "ts": 1673853746003,
    "type": "snapshot",
    "cs": 2588407389,
    "data": {
        "symbol": "BTCUSDT",
        "lastPrice": "21109.77",
        "highPrice24h": "21426.99",
        "lowPrice24h": "20575",
        "prevPrice24h": "20704.93",
        "volume24h": "6780.866843",
        "turnover24h": "141946527.22907118",
        "price24hPcnt": "0.0196",
        "usdIndexPrice": "21120.2400136",
    },
}


def test_bybit_topics_become_typed_events() -> None:
    ws = BybitWebSocket()
    seen = record(ws, "kline", "trade", "depth", "ticker")
    for msg in (BYBIT_KLINE, BYBIT_TRADE, BYBIT_BOOK_SNAPSHOT, BYBIT_BOOK_DELTA, BYBIT_SPOT_TICKER):
        ws._on_message(msg)
    assert seen[0] == (
        "kline",
        KlineUpdate(
            "bybit",
            "BTCUSDT",
            "5",
            1672324800000,
            1672325099999,
            16649.5,
            16677.0,
            16608.0,
            16677.0,
            2.081,
            False,
            1672324988882,
        ),
    )
    assert seen[1] == (
        "trade",
        TradeUpdate(
            "bybit",
            "BTCUSDT",
            "20f43950-d8dd-5b31-9112-a178eb6023af",
            16578.5,
            0.001,
            "buy",
            1672304486865,
        ),
    )
    snapshot, delta = seen[2][1], seen[3][1]
    assert snapshot.snapshot and snapshot.last_id == 18521288
    assert snapshot.bids == ((16493.5, 0.006), (16493.0, 0.1))
    assert not delta.snapshot and delta.asks[0] == (30248.7, 0.0) and delta.time_ms == 1687940967466
    assert seen[4] == (
        "ticker",
        TickerUpdate(
            "bybit",
            "BTCUSDT",
            21109.77,
            20704.93,
            21426.99,
            20575.0,
            6780.866843,
            141946527.22907118,
            1673853746003,
        ),
    )
    assert ws.stats["malformed"] == 0


def test_bybit_replies_pongs_and_refusals() -> None:
    ws = BybitWebSocket()
    seen = record(ws, "subscribed", "error", "message")
    spot_pong = {
        "success": True,
        "ret_msg": "pong",
        "conn_id": "0970e817-426e-429a-a679-ff7f55e0b16a",
        "op": "ping",
    }
    option_pong = {"args": ["1672916271846"], "op": "pong"}
    subscribed = {
        "success": True,
        "ret_msg": "subscribe",
        "conn_id": "2324d924-aa4d-45b0-a858-7b8be29ab52b",
        "req_id": "10001",
        "op": "subscribe",
    }
    refused = {"success": False, "ret_msg": "error:handler not found", "op": "subscribe"}
    for msg in (spot_pong, option_pong, subscribed, refused):
        ws._on_message(msg)
    assert [event for event, _ in seen] == ["subscribed", "error"]
    assert seen[0][1] == "10001" and "handler not found" in str(seen[1][1])


def test_bybit_requests_heartbeat_urls_and_auth() -> None:
    ws = BybitWebSocket(category="linear", testnet=True)
    assert ws._get_ws_url() == "wss://stream-testnet.bybit.com/v5/public/linear"
    assert json.loads(ws._heartbeat_message()) == {"op": "ping"}
    topics = [ws.kline_topic("BTC/USDT", "1h")] + [ws.trade_topic(f"C{i}USDT") for i in range(11)]
    assert topics[0] == "kline.60.BTCUSDT"
    requests = ws._handshake_messages(topics)
    assert [r["args"] for r in requests] == [topics[:10], topics[10:]]  # 10 args per request
    assert all(r["op"] == "subscribe" for r in requests)
    assert BybitWebSocket(sim_url="http://127.0.0.1:5")._get_ws_url() == (
        "ws://127.0.0.1:5/v5/public/spot"
    )
    auth = bybit_auth_message("key", "secret", 1662350400000)
    expected = hmac.new(b"secret", b"GET/realtime1662350400000", hashlib.sha256).hexdigest()
    assert auth == {"op": "auth", "args": ["key", 1662350400000, expected]}
    private = BybitWebSocket(private=True, api_key="key", api_secret="secret")
    assert private._get_ws_url() == "wss://stream.bybit.com/v5/private"
    assert private._handshake_messages(topics)[0]["op"] == "auth"  # subscribe after auth
    with pytest.raises(ConfigError, match="category"):
        BybitWebSocket(category="margin")


# -- OKX --------------------------------------------------------------------------------------
OKX_CANDLE = {
    "arg": {"channel": "candle1D", "instId": "BTC-USDT"},
    "data": [
        [
            "1597026383085",
            "8533.02",
            "8553.74",
            "8527.17",
            "8548.26",
            "45247",
            "529.5858061",
            "5529.5858061",
            "0",
        ]
    ],
}
OKX_TRADES = {
    "arg": {"channel": "trades", "instId": "BTC-USDT"},
    "data": [
        {
            "instId": "BTC-USDT",
            "tradeId": "130639474",
            "px": "42219.9",
            "sz": "0.12060306",
            "side": "buy",
            "ts": "1630048897897",
            "count": "3",
            "source": "0",
            "seqId": 1234,
        }
    ],
}
OKX_BOOK_SNAPSHOT = {
    "arg": {"channel": "books", "instId": "BTC-USDT"},
    "action": "snapshot",
    "data": [
        {
            "asks": [["8476.98", "415", "0", "13"], ["8477", "7", "0", "2"]],
            "bids": [["8476.97", "256", "0", "12"], ["8475.55", "101", "0", "1"]],
            "ts": "1597026383085",
            "checksum": -855196043,
            "prevSeqId": -1,
            "seqId": 123456,
        }
    ],
}
OKX_BOOK_UPDATE = {
    "arg": {"channel": "books", "instId": "BTC-USDT"},
    "action": "update",
    "data": [
        {
            "asks": [["8476.98", "415", "0", "13"]],
            "bids": [["8476.97", "256", "0", "12"]],
            "ts": "1597026383085",
            "checksum": -855196043,
            "prevSeqId": 123456,
            "seqId": 123457,
        }
    ],
}


def test_okx_pushes_become_typed_events() -> None:
    ws = OKXWebSocket()
    seen = record(ws, "kline", "trade", "depth")
    for msg in (OKX_CANDLE, OKX_TRADES, OKX_BOOK_SNAPSHOT, OKX_BOOK_UPDATE):
        ws._on_message(msg)
    assert seen[0] == (
        "kline",
        KlineUpdate(
            "okx",
            "BTC-USDT",
            "1D",
            1597026383085,
            1597026383085 + 86_400_000 - 1,
            8533.02,
            8553.74,
            8527.17,
            8548.26,
            45247.0,
            False,
        ),
    )
    assert seen[1] == (
        "trade",
        TradeUpdate("okx", "BTC-USDT", "130639474", 42219.9, 0.12060306, "buy", 1630048897897),
    )
    snapshot, update = seen[2][1], seen[3][1]
    assert snapshot.snapshot and snapshot.prev_id == -1 and snapshot.last_id == 123456
    assert snapshot.asks == ((8476.98, 415.0), (8477.0, 7.0))
    assert not update.snapshot and update.prev_id == snapshot.last_id
    closed = dict(OKX_CANDLE, data=[[*OKX_CANDLE["data"][0][:8], "1"]])
    ws._on_message(closed)
    assert seen[-1][1].closed is True


def test_okx_events_login_and_heartbeat_frames() -> None:
    ws = OKXWebSocket()
    seen = record(ws, "subscribed", "error", "login")
    ws._on_message(
        {
            "id": "1512",
            "event": "subscribe",
            "arg": {"channel": "trades", "instId": "BTC-USDT"},
            "connId": "a4d3ae55",
        }
    )
    ws._on_message(
        {
            "id": "1512",
            "event": "error",
            "code": "60012",
            "msg": 'Invalid request: {"op": "subscribe", "argss":[{ "channel" : '
            '"trades", "instId" : "BTC-USD-191227"}]}',
            "connId": "a4d3ae55",
        }
    )
    ws._on_message({"event": "login", "code": "0", "msg": "", "connId": "a4d3ae55"})
    assert [event for event, _ in seen] == ["subscribed", "error", "login"]
    assert seen[0][1] == {"channel": "trades", "instId": "BTC-USDT"}
    assert seen[1][1].exchange_code == "60012"
    assert ws._heartbeat_message() == "ping" and ws._is_heartbeat_reply("pong")
    assert not ws._is_heartbeat_reply('{"event":"pong"}')
    ws._handle_text("pong")
    assert ws.stats["messages"] == 1 and ws.stats["malformed"] == 0


def test_okx_login_signature_endpoints_and_subscribe() -> None:
    login = okx_login_message("key", "secret", "phrase", 1704876947)
    digest = hmac.new(b"secret", b"1704876947GET/users/self/verify", hashlib.sha256).digest()
    assert login == {
        "op": "login",
        "args": [
            {
                "apiKey": "key",
                "passphrase": "phrase",
                "timestamp": "1704876947",
                "sign": base64.b64encode(digest).decode(),
            }
        ],
    }
    ws = OKXWebSocket()
    ws.channels = [ws.candle_channel("BTC-USDT", "1d")]
    assert ws.channels == [{"channel": "candle1Dutc", "instId": "BTC-USDT"}]
    assert ws._get_ws_url() == "wss://ws.okx.com:8443/ws/v5/business"
    assert ws._handshake_messages(ws.channels) == [{"op": "subscribe", "args": ws.channels}]
    ws.channels = [ws.trades_channel("BTC-USDT"), ws.books_channel("BTC-USDT")]
    assert ws._get_ws_url() == "wss://ws.okx.com:8443/ws/v5/public"
    assert OKXWebSocket(demo=True)._get_ws_url().startswith("wss://wspap.okx.com:8443/ws/v5/")
    mixed = [*ws.channels, ws.candle_channel("BTC-USDT")]
    with pytest.raises(ConfigError, match="channels"):
        ws.start(mixed)  # refused in the caller, before any thread or connection
    assert not ws.is_running
    with pytest.raises(ConfigError, match="passphrase"):
        OKXWebSocket(api_key="key", api_secret="secret")
    logged = OKXWebSocket(api_key="key", api_secret="secret", passphrase="phrase")
    assert logged._handshake_messages(ws.channels)[0]["op"] == "login"


# -- the cheap paths ---------------------------------------------------------------------------
def _kline_text(closed: bool) -> str:
    payload = {**BINANCE_KLINE, "k": {**BINANCE_KLINE["k"], "x": closed}}  # type: ignore[dict-item]
    return json.dumps(payload, separators=(",", ":"))


def test_forming_klines_are_dropped_unparsed_only_when_asked() -> None:
    ws = BinanceWebSocket()
    seen = record(ws, "kline")
    ws._handle_text(_kline_text(False))
    ws._handle_text(_kline_text(False))
    assert [u.closed for _, u in seen] == [False, False]  # by default every update is parsed
    ws.forming_kline_every_s = 3600.0  # one forming update an hour: the next one, then none
    for _ in range(3):
        ws._handle_text(_kline_text(False))
    ws._handle_text(_kline_text(True))  # a closing frame always goes through
    spaced = json.dumps({**BINANCE_KLINE})  # "x": false with a space: the full path decides
    ws._handle_text(spaced)
    assert [u.closed for _, u in seen] == [False, False, False, True, False]
    assert ws.stats["messages"] == 7 and ws.stats["skipped"] == 2


def test_the_raw_message_event_is_built_only_for_listeners() -> None:
    ws = BinanceWebSocket()
    kline = record(ws, "kline")
    assert not ws.bus.has_subscribers(ws.topic("message"))
    ws._handle_text(_kline_text(True))
    raw = record(ws, "message")
    ws._handle_text(_kline_text(True))
    assert len(kline) == 2 and len(raw) == 1 and raw[0][1]["k"]["x"] is True


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        ([["1.5", True]], "quantity is not a number"),
        ([["nan", "1"]], "price is not a finite number"),
        ([["1", "inf"]], "quantity is not a finite number"),
        ([[None, "1"]], "price is not a number"),
        ([["x", "1"]], "could not convert"),
    ],
)
def test_price_levels_refuse_what_is_not_a_finite_number(rows: Any, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        price_levels(rows, "b")


def test_price_levels_take_strings_and_numbers_and_ignore_extra_columns() -> None:
    assert price_levels([["1.5", "2", "x"], [3, 4.25]], "b") == ((1.5, 2.0), (3.0, 4.25))
    assert price_levels([], "a") == ()


@pytest.mark.parametrize(
    "text",
    ['{"a":[["1.0","2"]],"b":null}', ' {"a":1}', '{"a":1}\n', "[1,2]", '"x"', "NaN", '{"a":1e400}'],
)
def test_frames_decode_as_json_loads_reads_them(text: str) -> None:
    assert json.dumps(decode_json(text)) == json.dumps(json.loads(text))


@pytest.mark.parametrize("text", ['{"a":1} x', '{"a":}', "", "\ufeff{}", '{"a":1}{"b":2}'])
def test_frames_json_loads_refuses_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        decode_json(text)
