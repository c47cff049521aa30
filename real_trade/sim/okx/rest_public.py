"""OKX v5's public REST routes: time, instruments, ticker(s), candles, books, trades.

``instType`` SPOT and SWAP are served (FUTURES and OPTION list nothing); a SWAP instrument is
the linear core's symbol (:mod:`real_trade.sim.okx.markets`).
"""

from __future__ import annotations

from typing import Any

from real_trade.sim.okx.errors import OkxApiError
from real_trade.sim.okx.format import BARS, candle_row, instrument_row, num, trade_row
from real_trade.sim.okx.markets import Instrument
from real_trade.sim.okx.rest import Call, Route

__all__ = ["PUBLIC_ROUTES", "ticker_row"]


def _time(call: Call) -> list[dict[str, Any]]:
    return [{"ts": str(call.markets.spot.server_time_ms())}]


def _instruments(call: Call) -> list[dict[str, Any]]:
    kind = call.need("instType")
    rows = [instrument_row(i) for i in call.markets.of_type(kind)]
    inst_id = call.str_param("instId")
    return [r for r in rows if inst_id is None or r["instId"] == inst_id]


def ticker_row(inst: Instrument) -> dict[str, Any]:
    """One ticker as ``/market/ticker`` and the ``tickers`` channel show it."""
    t = inst.core.ticker_24h(inst.symbol)
    return {
        "instType": inst.inst_type,
        "instId": inst.inst_id,
        "last": num(t.last_price),
        "lastSz": num(inst.sz(t.last_qty)),
        "askPx": num(t.ask_price) if t.ask_price is not None else "",
        "askSz": num(inst.sz(t.ask_qty)),
        "bidPx": num(t.bid_price) if t.bid_price is not None else "",
        "bidSz": num(inst.sz(t.bid_qty)),
        "open24h": num(t.open_price),
        "high24h": num(t.high_price),
        "low24h": num(t.low_price),
        "vol24h": num(inst.sz(t.volume)),
        "volCcy24h": num(t.volume if inst.swap else t.quote_volume),
        "sodUtc0": num(t.open_price),
        "sodUtc8": num(t.open_price),
        "ts": str(t.close_time_ms),
    }


def _ticker(call: Call) -> list[dict[str, Any]]:
    return [ticker_row(call.markets.get(call.need("instId")))]


def _tickers(call: Call) -> list[dict[str, Any]]:
    return [ticker_row(i) for i in call.markets.of_type(call.need("instType"))]


def _candles(call: Call) -> list[list[str]]:
    inst = call.markets.get(call.need("instId"))
    bar = call.str_param("bar", "1m") or "1m"
    interval = BARS.get(bar)
    if interval is None:
        raise OkxApiError(51000, "Parameter bar error")
    limit = call.clamped_int("limit", 100, 300)
    after, before = call.str_param("after"), call.str_param("before")
    end = int(after) - 1 if after is not None else None
    if before is None:
        bars = inst.core.klines(inst.symbol, interval, end_ms=end, limit=limit)
    else:
        bars = inst.core.klines(
            inst.symbol, interval, start_ms=int(before) + 1, end_ms=end, limit=1000
        )[-limit:]
    return [candle_row(k, inst) for k in reversed(bars)]  # newest first, as OKX sends them


def _books(call: Call) -> list[dict[str, Any]]:
    inst = call.markets.get(call.need("instId"))
    depth = call.clamped_int("sz", 1, 400)
    snap = inst.core.depth(inst.symbol, depth)

    def side(levels: list[Any]) -> list[list[str]]:
        return [[num(p), num(inst.sz(q)), "0", "1"] for p, q in levels]

    return [
        {
            "asks": side(snap.asks),
            "bids": side(snap.bids),
            "ts": str(call.markets.spot.server_time_ms()),
        }
    ]


def _trades(call: Call) -> list[dict[str, Any]]:
    inst = call.markets.get(call.need("instId"))
    limit = call.clamped_int("limit", 100, 500)
    trades = inst.core.recent_trades(inst.symbol, limit)
    return [trade_row(t, inst) for t in reversed(trades)]


def _currencies(call: Call) -> list[dict[str, Any]]:
    return []


PUBLIC_ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/v5/public/time", _time),
    Route("GET", "/api/v5/public/instruments", _instruments),
    Route("GET", "/api/v5/market/ticker", _ticker),
    Route("GET", "/api/v5/market/tickers", _tickers),
    Route("GET", "/api/v5/market/candles", _candles),
    Route("GET", "/api/v5/market/history-candles", _candles),
    Route("GET", "/api/v5/market/books", _books),
    Route("GET", "/api/v5/market/trades", _trades),
    Route("GET", "/api/v5/asset/currencies", _currencies, private=True),
)
"""The public routes (and the currency list ccxt loads with keys set)."""
