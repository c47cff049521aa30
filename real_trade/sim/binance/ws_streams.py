"""Binance spot market-stream names and payloads, built from the simulator core's value types.

:func:`parse_stream` understands the stream names the simulator serves (``<symbol>@trade``,
``@aggTrade``, ``@kline_<interval>``, ``@depth`` / ``@depth@100ms``, ``@depth<N>[@100ms]``,
``@bookTicker``, ``@ticker``, ``@miniTicker``, ``@avgPrice`` and ``!miniTicker@arr``). The
``*_payload`` functions return the event's JSON text, field for field as
``web-socket-streams.md`` documents it (prices and quantities as strings, times in ms), so one
encoding is shared by every subscriber; :func:`combined` wraps a payload for a combined stream.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from real_trade.sim.klines import Kline
from real_trade.sim.plumbing.ws_conn import json_frame
from real_trade.sim.types import AggTrade, BookTicker, DepthSnapshot, Ticker24h, Trade

__all__ = [
    "StreamSpec",
    "agg_trade_payload",
    "all_mini_tickers_payload",
    "avg_price_payload",
    "book_ticker_payload",
    "combined",
    "depth_diff_payload",
    "kline_payload",
    "mini_ticker_dict",
    "mini_ticker_payload",
    "parse_stream",
    "partial_depth_payload",
    "ticker_payload",
    "trade_payload",
]


_PARTIAL_LEVELS = frozenset({5, 10, 20})
_STREAM_RE = re.compile(
    r"^(?P<sym>[a-z0-9]{2,30})@(?P<kind>trade|aggTrade|bookTicker|ticker|miniTicker|avgPrice"
    r"|kline_(?P<interval>1s|1m|3m|5m|15m|30m|1h|2h|4h|6h|8h|12h|1d|3d|1w|1M)"
    r"|depth(?P<levels>\d+)?(?:@(?P<speed>100ms|1000ms))?)$"
)


def _d(x: Decimal | None) -> str:
    return "0.00000000" if x is None else f"{x:.8f}"


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """A parsed stream name: ``kind`` is trade / aggTrade / kline / depth / partialDepth /
    bookTicker / ticker / miniTicker / avgPrice / allMiniTickers; ``symbol`` is upper case
    (empty for ``!miniTicker@arr``); ``interval`` (klines), ``levels`` (partial depth) and
    ``speed_ms`` (depth streams: 1000 or 100) are set where they apply."""

    name: str
    kind: str
    symbol: str = ""
    interval: str = ""
    levels: int = 0
    speed_ms: int = 1000


_MARK_RE = re.compile(r"^(?P<sym>[a-z0-9]{2,30})@markPrice(?P<fast>@1s)?$")


def parse_stream(name: str, *, usdm: bool = False) -> StreamSpec | None:
    """Parse a stream name as Binance spells it (lower-case symbol); ``None`` if it is not one.

    ``usdm=True`` also knows USDⓈ-M's ``<symbol>@markPrice[@1s]`` (every 3 s, or every second).
    """
    if usdm:
        mark = _MARK_RE.match(name)
        if mark is not None:
            speed = 1000 if mark.group("fast") else 3000
            return StreamSpec(name, "markPrice", mark.group("sym").upper(), speed_ms=speed)
    if name == "!miniTicker@arr":
        return StreamSpec(name, "allMiniTickers")
    m = _STREAM_RE.match(name)
    if m is None:
        return None
    sym = m.group("sym").upper()
    kind = m.group("kind")
    if kind.startswith("kline_"):
        return StreamSpec(name, "kline", sym, interval=m.group("interval"))
    if kind.startswith("depth"):
        speed = 100 if m.group("speed") == "100ms" else 1000
        levels = m.group("levels")
        if levels is None:
            return StreamSpec(name, "depth", sym, speed_ms=speed)
        if int(levels) not in _PARTIAL_LEVELS:
            return None
        return StreamSpec(name, "partialDepth", sym, levels=int(levels), speed_ms=speed)
    return StreamSpec(name, kind, sym)


def mark_price_payload(
    symbol: str,
    mark: Decimal,
    index: Decimal,
    funding_rate: Decimal,
    next_funding_ms: int,
    event_ms: int,
) -> str:
    """USDⓈ-M's ``<symbol>@markPrice`` event (``markPriceUpdate``)."""
    return json_frame(
        {
            "e": "markPriceUpdate",
            "E": event_ms,
            "s": symbol,
            "p": _d(mark),
            "i": _d(index),
            "P": _d(index),
            "r": _d(funding_rate),
            "T": next_funding_ms,
        }
    )


def combined(stream: str, payload: str) -> str:
    """Wrap a raw payload for a combined-stream connection: ``{"stream":..,"data":..}``."""
    return f'{{"stream":{json.dumps(stream)},"data":{payload}}}'


def trade_payload(trade: Trade, event_ms: int) -> str:
    """The ``<symbol>@trade`` event of one trade of the tape."""
    return json_frame(
        {
            "e": "trade",
            "E": event_ms,
            "s": trade.symbol,
            "t": trade.trade_id,
            "p": _d(trade.price),
            "q": _d(trade.qty),
            "T": trade.time_ms,
            "m": trade.is_buyer_maker,
            "M": True,
        }
    )


def agg_trade_payload(agg: AggTrade, event_ms: int) -> str:
    """The ``<symbol>@aggTrade`` event of one aggregate trade (the core's tape aggregates)."""
    return json_frame(
        {
            "e": "aggTrade",
            "E": event_ms,
            "s": agg.symbol,
            "a": agg.agg_id,
            "p": _d(agg.price),
            "q": _d(agg.qty),
            "f": agg.first_trade_id,
            "l": agg.last_trade_id,
            "T": agg.time_ms,
            "m": agg.is_buyer_maker,
            "M": True,
        }
    )


def _levels(levels: Sequence[tuple[Decimal, Decimal]]) -> list[list[str]]:
    return [[_d(p), _d(q)] for p, q in levels]


def depth_diff_payload(
    symbol: str,
    first_id: int,
    final_id: int,
    bids: Sequence[tuple[Decimal, Decimal]],
    asks: Sequence[tuple[Decimal, Decimal]],
    event_ms: int,
    *,
    usdm: bool = False,
) -> str:
    """The ``<symbol>@depth`` diff event covering update ids ``first_id``..``final_id``.

    ``usdm=True`` adds USDⓈ-M's transaction time ``T`` and ``pu`` (the previous event's ``u``,
    which futures clients check for continuity instead of ``U``).
    """
    event: dict[str, Any] = {"e": "depthUpdate", "E": event_ms}
    if usdm:
        event["T"] = event_ms
    event.update({"s": symbol, "U": first_id, "u": final_id})
    if usdm:
        event["pu"] = first_id - 1
    event.update({"b": _levels(bids), "a": _levels(asks)})
    return json_frame(event)


def partial_depth_payload(snapshot: DepthSnapshot) -> str:
    """The ``<symbol>@depth<N>`` event: the top of the book at ``lastUpdateId``."""
    return json_frame(
        {
            "lastUpdateId": snapshot.last_update_id,
            "bids": _levels(snapshot.bids),
            "asks": _levels(snapshot.asks),
        }
    )


def book_ticker_payload(bt: BookTicker) -> str:
    """The ``<symbol>@bookTicker`` event (no event type, as on Binance)."""
    return json_frame(
        {
            "u": bt.update_id,
            "s": bt.symbol,
            "b": _d(bt.bid_price),
            "B": _d(bt.bid_qty),
            "a": _d(bt.ask_price),
            "A": _d(bt.ask_qty),
        }
    )


def ticker_payload(t: Ticker24h, event_ms: int) -> str:
    """The ``<symbol>@ticker`` event: rolling 24-hour statistics."""
    return json_frame(
        {
            "e": "24hrTicker",
            "E": event_ms,
            "s": t.symbol,
            "p": _d(t.price_change),
            "P": f"{t.price_change_percent:.3f}",
            "w": _d(t.weighted_avg_price),
            "x": _d(t.prev_close_price),
            "c": _d(t.last_price),
            "Q": _d(t.last_qty),
            "b": _d(t.bid_price),
            "B": _d(t.bid_qty),
            "a": _d(t.ask_price),
            "A": _d(t.ask_qty),
            "o": _d(t.open_price),
            "h": _d(t.high_price),
            "l": _d(t.low_price),
            "v": _d(t.volume),
            "q": _d(t.quote_volume),
            "O": t.open_time_ms,
            "C": t.close_time_ms,
            "F": t.first_trade_id,
            "L": t.last_trade_id,
            "n": t.count,
        }
    )


def mini_ticker_dict(t: Ticker24h, event_ms: int) -> dict[str, Any]:
    """The ``<symbol>@miniTicker`` event as a dict (``!miniTicker@arr`` lists several)."""
    return {
        "e": "24hrMiniTicker",
        "E": event_ms,
        "s": t.symbol,
        "c": _d(t.last_price),
        "o": _d(t.open_price),
        "h": _d(t.high_price),
        "l": _d(t.low_price),
        "v": _d(t.volume),
        "q": _d(t.quote_volume),
    }


def mini_ticker_payload(t: Ticker24h, event_ms: int) -> str:
    """The ``<symbol>@miniTicker`` event."""
    return json_frame(mini_ticker_dict(t, event_ms))


def all_mini_tickers_payload(tickers: Sequence[Ticker24h], event_ms: int) -> str:
    """The ``!miniTicker@arr`` event: the mini tickers of the symbols that changed."""
    return json_frame([mini_ticker_dict(t, event_ms) for t in tickers])


def avg_price_payload(
    symbol: str, mins: int, price: Decimal, last_trade_ms: int, event_ms: int
) -> str:
    """The ``<symbol>@avgPrice`` event."""
    return json_frame(
        {
            "e": "avgPrice",
            "E": event_ms,
            "s": symbol,
            "i": f"{mins}m",
            "w": _d(price),
            "T": last_trade_ms,
        }
    )


def kline_payload(k: Kline, event_ms: int, *, is_closed: bool | None = None) -> str:
    """The ``<symbol>@kline_<interval>`` event for bar ``k`` (``x`` tells whether it closed)."""
    return json_frame(
        {
            "e": "kline",
            "E": event_ms,
            "s": k.symbol,
            "k": {
                "t": k.open_ms,
                "T": k.close_ms,
                "s": k.symbol,
                "i": k.interval,
                "f": k.first_trade_id,
                "L": k.last_trade_id,
                "o": _d(k.open),
                "c": _d(k.close),
                "h": _d(k.high),
                "l": _d(k.low),
                "v": _d(k.volume),
                "n": k.trades,
                "x": k.is_closed if is_closed is None else is_closed,
                "q": _d(k.quote_volume),
                "V": _d(k.taker_buy_volume),
                "Q": _d(k.taker_buy_quote_volume),
                "B": "0",
            },
        }
    )
