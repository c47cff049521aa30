"""Binance spot REST: the request model shared by all endpoints, and the public endpoints.

A :class:`RestCall` is one parsed request: its parameters (query string and form body merged,
duplicates refused with -1101), the authenticated account for signed endpoints, and the
response headers being built. A :class:`Route` ties a method and path to a handler and to its
security (``NONE``, ``API_KEY`` for endpoints that only need ``X-MBX-APIKEY``, ``SIGNED``);
``app.py`` wraps every route with faults, rate limits, authentication and error answers.

The parameter helpers (:func:`req_str`, :func:`opt_int`, :func:`opt_decimal_str`,
:func:`symbol_param`, :func:`limit_param`) raise Binance's own -1100/-1102/-1121 errors. The
public endpoints (:data:`PUBLIC_ROUTES`) answer exactly as Binance's market-data endpoints:
ping, time, exchangeInfo, depth, trades, historicalTrades, aggTrades, klines, uiKlines,
ticker/24hr, ticker/price, ticker/bookTicker and avgPrice, plus the empty futures
``exchangeInfo`` answers and margin pair lists that ccxt's ``load_markets`` asks for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from real_trade.sim.binance.errors import (
    BinanceApiError,
    illegal_chars,
    invalid_symbol,
    mandatory_missing,
)
from real_trade.sim.binance.format import dec, exchange_info_json, kline_row
from real_trade.sim.types import AggTrade, BookTicker, Ticker24h, Trade

if TYPE_CHECKING:
    from real_trade.sim.accounts import Account
    from real_trade.sim.plumbing.context import FaceContext
    from real_trade.sim.plumbing.ratelimit import RateLimiter

__all__ = [
    "PUBLIC_ROUTES",
    "Handler",
    "RestCall",
    "Route",
    "Security",
    "book_ticker_json",
    "limit_param",
    "opt_int",
    "opt_str",
    "req_int",
    "req_str",
    "symbol_param",
    "symbols_param",
    "ticker_24h_json",
]

Security = Literal["NONE", "API_KEY", "SIGNED"]


@dataclass(slots=True)
class RestCall:
    """One REST request being served: parameters, caller and the response headers so far."""

    ctx: FaceContext
    limiter: RateLimiter
    method: str
    path: str
    params: dict[str, str]
    account: Account | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def require_account(self) -> Account:
        """Return the authenticated account (signed endpoints always have one)."""
        if self.account is None:  # pragma: no cover - the dispatcher authenticates first
            raise BinanceApiError(-2015, "Invalid API-key, IP, or permissions for action.")
        return self.account


Handler = Callable[[RestCall], Any]
"""An endpoint: takes the call, returns the JSON-serialisable answer or raises."""


@dataclass(frozen=True, slots=True)
class Route:
    """One REST endpoint: method, path, handler and security; ``query`` marks order lookups
    (whose unknown-order error is -2013 rather than -2011)."""

    method: str
    path: str
    handler: Handler
    security: Security = "NONE"
    query: bool = False


# -- parameter helpers -----------------------------------------------------------------------
_INT_RE = re.compile(r"^-?[0-9]{1,19}$")
_SYMBOLS_RE = re.compile(r'^\[("[A-Z0-9\-_.]{1,20}"(,"[A-Z0-9\-_.]{1,20}")*)?\]$')
_SYMBOLS_LEGAL = '^\\[("[A-Z0-9\\-_.]{1,20}"(,"[A-Z0-9\\-_.]{1,20}"){0,}){0,1}\\]$'


def opt_str(params: dict[str, str], name: str) -> str | None:
    """Return parameter ``name`` or None when absent or empty."""
    value = params.get(name)
    return value if value else None


def req_str(params: dict[str, str], name: str) -> str:
    """Return parameter ``name``; -1102 when absent or empty."""
    value = params.get(name)
    if not value:
        raise mandatory_missing(name)
    return value


def opt_int(params: dict[str, str], name: str) -> int | None:
    """Return parameter ``name`` as an int (None when absent); -1100 when not an integer."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if not _INT_RE.match(value):
        raise illegal_chars(name, "^[0-9]{1,20}$")
    return int(value)


def req_int(params: dict[str, str], name: str) -> int:
    """Return parameter ``name`` as an int; -1102 when absent, -1100 when malformed."""
    value = opt_int(params, name)
    if value is None:
        raise mandatory_missing(name)
    return value


def limit_param(params: dict[str, str], default: int, maximum: int) -> int:
    """Return ``limit`` (``default`` when absent), capped at ``maximum``; -1100 when < 1."""
    value = opt_int(params, "limit")
    if value is None:
        return default
    if value < 1:
        raise illegal_chars("limit", f"1-{maximum}")
    return min(value, maximum)


def symbol_param(call: RestCall, name: str = "symbol") -> str:
    """Return the mandatory traded symbol; -1102 when absent, -1121 when not traded here."""
    symbol = req_str(call.params, name)
    call.ctx.core.rules_for(symbol)  # BadSymbol (-1121) when not traded here
    return symbol


def _symbol_set(call: RestCall) -> set[str]:
    return set(call.ctx.core.symbols())


def symbols_param(call: RestCall) -> list[str] | None:
    """Return the symbols named by ``symbol`` or ``symbols`` (a JSON array); None for all.

    Sending both is -1106 (Binance: "Parameter 'symbols' sent when not required."); a badly
    formed array is -1100; an unknown symbol is -1121.
    """
    one = opt_str(call.params, "symbol")
    many = opt_str(call.params, "symbols")
    if one is not None and many is not None:
        raise BinanceApiError(-1106, "Parameter 'symbols' sent when not required.")
    known = _symbol_set(call)
    if one is not None:
        if one not in known:
            raise invalid_symbol()
        return [one]
    if many is None:
        return None
    compact = many.replace(" ", "")
    if not _SYMBOLS_RE.match(compact):
        raise illegal_chars("symbols", _SYMBOLS_LEGAL)
    names = list(dict.fromkeys(json.loads(compact)))
    if not names:
        raise illegal_chars("symbols", _SYMBOLS_LEGAL)
    for s in names:
        if s not in known:
            raise invalid_symbol()
    return names


# -- JSON shapes of market data --------------------------------------------------------------
def _trade_json(t: Trade) -> dict[str, Any]:
    return {
        "id": t.trade_id,
        "price": dec(t.price),
        "qty": dec(t.qty),
        "quoteQty": dec(t.quote_qty),
        "time": t.time_ms,
        "isBuyerMaker": t.is_buyer_maker,
        "isBestMatch": True,
    }


def _agg_json(a: AggTrade) -> dict[str, Any]:
    return {
        "a": a.agg_id,
        "p": dec(a.price),
        "q": dec(a.qty),
        "f": a.first_trade_id,
        "l": a.last_trade_id,
        "T": a.time_ms,
        "m": a.is_buyer_maker,
        "M": True,
    }


def ticker_24h_json(t: Ticker24h, mini: bool = False) -> dict[str, Any]:
    """Return one ticker/24hr entry (``type=FULL``, or ``MINI`` when ``mini``)."""
    if mini:
        return {
            "symbol": t.symbol,
            "openPrice": dec(t.open_price),
            "highPrice": dec(t.high_price),
            "lowPrice": dec(t.low_price),
            "lastPrice": dec(t.last_price),
            "volume": dec(t.volume),
            "quoteVolume": dec(t.quote_volume),
            "openTime": t.open_time_ms,
            "closeTime": t.close_time_ms,
            "firstId": t.first_trade_id,
            "lastId": t.last_trade_id,
            "count": t.count,
        }
    return {
        "symbol": t.symbol,
        "priceChange": dec(t.price_change),
        "priceChangePercent": dec(t.price_change_percent, 3),
        "weightedAvgPrice": dec(t.weighted_avg_price),
        "prevClosePrice": dec(t.prev_close_price),
        "lastPrice": dec(t.last_price),
        "lastQty": dec(t.last_qty),
        "bidPrice": dec(t.bid_price),
        "bidQty": dec(t.bid_qty),
        "askPrice": dec(t.ask_price),
        "askQty": dec(t.ask_qty),
        "openPrice": dec(t.open_price),
        "highPrice": dec(t.high_price),
        "lowPrice": dec(t.low_price),
        "volume": dec(t.volume),
        "quoteVolume": dec(t.quote_volume),
        "openTime": t.open_time_ms,
        "closeTime": t.close_time_ms,
        "firstId": t.first_trade_id,
        "lastId": t.last_trade_id,
        "count": t.count,
    }


def book_ticker_json(b: BookTicker) -> dict[str, Any]:
    """Return one ticker/bookTicker entry."""
    return {
        "symbol": b.symbol,
        "bidPrice": dec(b.bid_price),
        "bidQty": dec(b.bid_qty),
        "askPrice": dec(b.ask_price),
        "askQty": dec(b.ask_qty),
    }


def _one_or_many(symbols: list[str] | None, one: bool, rows: list[Any]) -> Any:
    return rows[0] if one and symbols is not None and len(symbols) == 1 else rows


# -- endpoints --------------------------------------------------------------------------------
def _ping(call: RestCall) -> Any:
    return {}


def _time(call: RestCall) -> Any:
    return {"serverTime": call.ctx.server_time_ms()}


def _exchange_info(call: RestCall) -> Any:
    symbols = symbols_param(call)
    return exchange_info_json(call.ctx.core, call.ctx.server_time_ms(), symbols)


def _empty_exchange_info(call: RestCall) -> Any:
    # Futures/options are not simulated: an exchangeInfo with no symbols lets clients that
    # load every market type (ccxt's default) finish loading the spot markets.
    return {
        "timezone": "UTC",
        "serverTime": call.ctx.server_time_ms(),
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": [],
    }


def _empty_list(call: RestCall) -> Any:
    return []


def _depth(call: RestCall) -> Any:
    symbol = symbol_param(call)
    limit = limit_param(call.params, 100, 5000)
    snap = call.ctx.core.depth(symbol, limit)
    return {
        "lastUpdateId": snap.last_update_id,
        "bids": [[dec(p), dec(q)] for p, q in snap.bids],
        "asks": [[dec(p), dec(q)] for p, q in snap.asks],
    }


def _trades(call: RestCall) -> Any:
    symbol = symbol_param(call)
    limit = limit_param(call.params, 500, 1000)
    return [_trade_json(t) for t in call.ctx.core.recent_trades(symbol, limit)]


def _historical_trades(call: RestCall) -> Any:
    symbol = symbol_param(call)
    limit = limit_param(call.params, 500, 1000)
    from_id = opt_int(call.params, "fromId")
    return [_trade_json(t) for t in call.ctx.core.historical_trades(symbol, from_id, limit)]


def _agg_trades(call: RestCall) -> Any:
    symbol = symbol_param(call)
    p = call.params
    limit = limit_param(p, 500, 1000)
    rows = call.ctx.core.agg_trades(
        symbol, opt_int(p, "fromId"), opt_int(p, "startTime"), opt_int(p, "endTime"), limit
    )
    return [_agg_json(a) for a in rows]


def _klines(call: RestCall) -> Any:
    symbol = symbol_param(call)
    p = call.params
    interval = req_str(p, "interval")
    limit = limit_param(p, 500, 1000)
    start, end = opt_int(p, "startTime"), opt_int(p, "endTime")
    if start is not None and end is not None and start > end:
        raise BinanceApiError(-1128, "Combination of optional parameters invalid.")
    rows = call.ctx.core.klines(symbol, interval, start, end, limit)
    return [kline_row(k) for k in rows]


def _ticker_24h(call: RestCall) -> Any:
    symbols = symbols_param(call)
    kind = call.params.get("type", "FULL")
    if kind not in ("FULL", "MINI"):
        raise illegal_chars("type", "FULL|MINI")
    core = call.ctx.core
    names = symbols if symbols is not None else core.symbols()
    rows = [ticker_24h_json(core.ticker_24h(s), kind == "MINI") for s in names]
    return _one_or_many(symbols, "symbol" in call.params, rows)


def _ticker_price(call: RestCall) -> Any:
    symbols = symbols_param(call)
    core = call.ctx.core
    names = symbols if symbols is not None else core.symbols()
    rows = [{"symbol": s, "price": dec(core.last_price(s))} for s in names]
    return _one_or_many(symbols, "symbol" in call.params, rows)


def _book_ticker(call: RestCall) -> Any:
    symbols = symbols_param(call)
    core = call.ctx.core
    names = symbols if symbols is not None else core.symbols()
    rows = [book_ticker_json(core.book_ticker(s)) for s in names]
    return _one_or_many(symbols, "symbol" in call.params, rows)


def _avg_price(call: RestCall) -> Any:
    symbol = symbol_param(call)
    avg = call.ctx.core.avg_price(symbol)
    return {"mins": avg.mins, "price": dec(avg.price), "closeTime": avg.close_time_ms}


PUBLIC_ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/v3/ping", _ping),
    Route("GET", "/api/v3/time", _time),
    Route("GET", "/api/v3/exchangeInfo", _exchange_info),
    Route("GET", "/api/v3/depth", _depth),
    Route("GET", "/api/v3/trades", _trades),
    Route("GET", "/api/v3/historicalTrades", _historical_trades, "API_KEY"),
    Route("GET", "/api/v3/aggTrades", _agg_trades),
    Route("GET", "/api/v3/klines", _klines),
    Route("GET", "/api/v3/uiKlines", _klines),
    Route("GET", "/api/v3/ticker/24hr", _ticker_24h),
    Route("GET", "/api/v3/ticker/price", _ticker_price),
    Route("GET", "/api/v3/ticker/bookTicker", _book_ticker),
    Route("GET", "/api/v3/avgPrice", _avg_price),
    Route("GET", "/fapi/v1/exchangeInfo", _empty_exchange_info),
    Route("GET", "/dapi/v1/exchangeInfo", _empty_exchange_info),
    Route("GET", "/eapi/v1/exchangeInfo", _empty_exchange_info),
    Route("GET", "/sapi/v1/margin/allPairs", _empty_list, "API_KEY"),
    Route("GET", "/sapi/v1/margin/isolated/allPairs", _empty_list, "SIGNED"),
)
"""The public (and key-only) endpoints of the REST face."""
