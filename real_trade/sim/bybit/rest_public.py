"""Bybit v5's public REST routes: server time, instruments, tickers, klines, book, trades.

Categories: each core symbol is served under the category of its instrument (``spot`` for spot
symbols, ``linear`` for linear perpetuals); ``inverse`` and ``option`` are empty. A symbol asked
for under another category is unknown there (10001), as on Bybit.
"""

from __future__ import annotations

from typing import Any

from real_trade.sim.bybit.errors import BybitApiError
from real_trade.sim.bybit.format import kline_row, num, ticker_row
from real_trade.sim.bybit.rest import Call, Route, cursor_page
from real_trade.sim.bybit.vocab import INTERVALS
from real_trade.sim.core import ExchangeCore

__all__ = [
    "CATEGORIES",
    "PUBLIC_ROUTES",
    "category_of",
    "check_symbol",
    "symbols_in",
    "ticker_for",
]

CATEGORIES = ("spot", "linear", "inverse", "option")
"""The v5 categories the face answers (inverse and option are always empty)."""


def category_of(core: ExchangeCore, symbol: str) -> str:
    """The v5 category a core symbol is served under."""
    return "spot" if core.rules_for(symbol).instrument.is_spot else "linear"


def symbols_in(core: ExchangeCore, category: str) -> list[str]:
    """The core symbols served under ``category``."""
    return [s for s in core.symbols() if category_of(core, s) == category]


def _category(call: Call) -> str:
    category = call.need("category")
    if category not in CATEGORIES:
        raise BybitApiError(10001, "params error: category invalid")
    return category


def check_symbol(call: Call, category: str | None = None) -> tuple[str, str]:
    """``(symbol, category)`` of the request; 10001 when the symbol is not in the category."""
    cat = category if category is not None else _category(call)
    symbol = call.need("symbol").upper()
    if symbol not in call.ctx.core.symbols() or category_of(call.ctx.core, symbol) != cat:
        raise BybitApiError(10001, "params error: symbol invalid")
    return symbol, cat


def _time(call: Call) -> dict[str, Any]:
    now = call.ctx.server_time_ms()
    return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}


def _instrument(core: ExchangeCore, symbol: str, category: str) -> dict[str, Any]:
    r = core.rules_for(symbol)
    price_filter = {"tickSize": num(r.tick_size), "minPrice": num(r.min_price)}
    if r.max_price:
        price_filter["maxPrice"] = num(r.max_price)
    row: dict[str, Any] = {
        "symbol": symbol,
        "baseCoin": r.base,
        "quoteCoin": r.quote,
        "status": "Trading" if r.trading else "Closed",
        "priceFilter": price_filter,
    }
    if category == "spot":
        row.update(
            innovation="0",
            marginTrading="none",
            lotSizeFilter={
                "basePrecision": num(r.step_size),
                "quotePrecision": num(r.tick_size),
                "minOrderQty": num(r.min_qty),
                "maxOrderQty": num(r.max_qty),
                "minOrderAmt": num(r.min_notional),
                "maxOrderAmt": num(r.max_notional) if r.max_notional else "9999999999",
            },
        )
    else:
        row.update(
            contractType="LinearPerpetual",
            settleCoin=r.instrument.settle_asset or r.quote,
            launchTime="0",
            deliveryTime="0",
            priceScale=str(max(0, -r.tick_size.normalize().as_tuple().exponent)),  # type: ignore[operator]
            leverageFilter={"minLeverage": "1", "maxLeverage": "125", "leverageStep": "0.01"},
            lotSizeFilter={
                "qtyStep": num(r.step_size),
                "minOrderQty": num(r.min_qty),
                "maxOrderQty": num(r.max_qty),
                "maxMktOrderQty": num(r.max_qty),
                "minNotionalValue": num(r.min_notional),
            },
            fundingInterval=480,
            unifiedMarginTrade=True,
        )
    return row


def _instruments(call: Call) -> dict[str, Any]:
    category = _category(call)
    core = call.ctx.core
    names = symbols_in(core, category)
    if call.str_param("symbol"):
        names = [s for s in names if s == call.need("symbol").upper()]
    if call.str_param("status") == "PreLaunch":
        names = []
    page, cursor = cursor_page(names, call, 500, 1000)
    rows = [_instrument(core, s, category) for s in page]
    return {"category": category, "list": rows, "nextPageCursor": cursor}


def _tickers(call: Call) -> dict[str, Any]:
    category = _category(call)
    core = call.ctx.core
    if call.str_param("symbol"):
        names = [check_symbol(call, category)[0]]
    else:
        names = symbols_in(core, category)
    rows = [ticker_for(core, s, category) for s in names]
    return {"category": category, "list": rows}


def ticker_for(core: ExchangeCore, symbol: str, category: str) -> dict[str, Any]:
    """One ticker row: spot carries ``usdIndexPrice``, linear the mark, index, funding and
    ``openInterestValue`` instead (how ccxt tells the two apart on a shared id)."""
    row = ticker_row(core.ticker_24h(symbol))
    if category == "linear":
        mark = core.mark_price(symbol)
        del row["usdIndexPrice"]
        row.update(
            markPrice=num(mark.mark_price),
            indexPrice=num(mark.index_price),
            openInterest="0",
            openInterestValue="0",
            fundingRate=num(mark.funding_rate),
            nextFundingTime=str(mark.next_funding_ms),
        )
    return row


def _kline(call: Call) -> dict[str, Any]:
    symbol, category = check_symbol(call)
    code = call.need("interval")
    interval = INTERVALS.get(code)
    if interval is None:
        raise BybitApiError(10001, "params error: interval invalid")
    limit = call.clamped_int("limit", 200, 1000)
    start = call.str_param("start")
    end = call.str_param("end")
    bars = call.ctx.core.klines(
        symbol,
        interval,
        start_ms=int(start) if start is not None else None,
        end_ms=int(end) if end is not None else None,
        limit=limit,
    )
    rows = [kline_row(k) for k in reversed(bars)]  # newest first, as Bybit sends them
    return {"category": category, "symbol": symbol, "list": rows}


def _orderbook(call: Call) -> dict[str, Any]:
    symbol, category = check_symbol(call)
    default = 1 if category == "spot" else 25
    limit = call.clamped_int("limit", default, 200 if category == "spot" else 500)
    snap = call.ctx.core.depth(symbol, limit)
    now = call.ctx.server_time_ms()
    return {
        "s": symbol,
        "b": [[num(p), num(q)] for p, q in snap.bids],
        "a": [[num(p), num(q)] for p, q in snap.asks],
        "ts": now,
        "u": snap.last_update_id,
        "seq": snap.last_update_id,
        "cts": now,
    }


def _recent_trades(call: Call) -> dict[str, Any]:
    symbol, category = check_symbol(call)
    limit = call.clamped_int("limit", 60, 1000)
    trades = call.ctx.core.recent_trades(symbol, limit)
    rows = [
        {
            "execId": str(t.trade_id),
            "symbol": symbol,
            "price": num(t.price),
            "size": num(t.qty),
            "side": "Sell" if t.is_buyer_maker else "Buy",
            "time": str(t.time_ms),
            "isBlockTrade": False,
        }
        for t in reversed(trades)
    ]
    return {"category": category, "list": rows}


def _coins(call: Call) -> dict[str, Any]:
    return {"rows": []}


PUBLIC_ROUTES: tuple[Route, ...] = (
    Route("GET", "/v5/market/time", _time),
    Route("GET", "/v5/market/instruments-info", _instruments),
    Route("GET", "/v5/market/tickers", _tickers),
    Route("GET", "/v5/market/kline", _kline),
    Route("GET", "/v5/market/orderbook", _orderbook),
    Route("GET", "/v5/market/recent-trade", _recent_trades),
    Route("GET", "/v5/asset/coin/query-info", _coins, private=True),
)
"""The public routes (and the currency list ccxt loads with keys set)."""
