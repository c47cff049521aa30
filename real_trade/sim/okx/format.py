"""OKX v5's JSON for the core's objects: instruments, orders, fills, candles, balances, books.

REST and the private websocket share these shapes. Numbers are strings, times millisecond
strings, as OKX sends them; SWAP sizes are contracts
(:class:`~real_trade.sim.okx.markets.Instrument`).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from real_trade.sim.derivatives.types import LiquidationEvent, PositionView
from real_trade.sim.klines import Kline
from real_trade.sim.okx.markets import Instrument
from real_trade.sim.plumbing.numbers import plain_decimal
from real_trade.sim.types import Fill, Order, OrderStatus, OrderType, Side, TimeInForce, Trade

__all__ = [
    "BARS",
    "book_checksum",
    "candle_row",
    "detail_row",
    "fill_row",
    "instrument_row",
    "liquidation_order_row",
    "num",
    "order_row",
    "position_row",
    "trade_row",
]

_ZERO = Decimal(0)

BARS: dict[str, str] = {
    "1m": "1m",
    "3m": "3m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "1H": "1h",
    "2H": "2h",
    "4H": "4h",
    "6H": "6h",
    "12H": "12h",
    "1D": "1d",
    "1W": "1w",
    "1M": "1M",
    "6Hutc": "6h",
    "12Hutc": "12h",
    "1Dutc": "1d",
    "1Wutc": "1w",
    "1Mutc": "1M",
}
"""OKX's bar codes (REST ``bar``, websocket ``candle<bar>``) and the core's interval of each
(the core's days are UTC-aligned, so ``1D`` is served as ``1Dutc``)."""

_STATE = {
    OrderStatus.NEW: "live",
    OrderStatus.PARTIALLY_FILLED: "partially_filled",
    OrderStatus.FILLED: "filled",
    OrderStatus.CANCELED: "canceled",
    OrderStatus.REJECTED: "canceled",
    OrderStatus.EXPIRED: "canceled",
    OrderStatus.EXPIRED_IN_MATCH: "canceled",
}


num = plain_decimal
"""A decimal as OKX writes it (plain notation; ``""`` for None)."""


def trade_row(t: Trade, inst: Instrument) -> dict[str, Any]:
    """One public trade as ``/market/trades`` lists it (the ``trades`` channel adds ``count``)."""
    return {
        "instId": inst.inst_id,
        "tradeId": str(t.trade_id),
        "px": num(t.price),
        "sz": num(inst.sz(t.qty)),
        "side": "sell" if t.is_buyer_maker else "buy",
        "ts": str(t.time_ms),
    }


def instrument_row(inst: Instrument) -> dict[str, Any]:
    """One ``/api/v5/public/instruments`` row."""
    r = inst.core.rules_for(inst.symbol)
    row: dict[str, Any] = {
        "instId": inst.inst_id,
        "instType": inst.inst_type,
        "instFamily": "",
        "uly": "",
        "baseCcy": r.base,
        "quoteCcy": r.quote,
        "settleCcy": "",
        "ctVal": "",
        "ctMult": "",
        "ctValCcy": "",
        "ctType": "",
        "tickSz": num(r.tick_size),
        "lotSz": num(r.step_size),
        "minSz": num(r.min_qty),
        "maxLmtSz": num(r.max_qty),
        "maxMktSz": num(r.market_max_qty or r.max_qty),
        "lever": "",
        "state": "live" if r.trading else "suspend",
        "listTime": "0",
        "expTime": "",
        "alias": "",
        "category": "1",
    }
    if inst.swap:
        row.update(
            instFamily=f"{r.base}-{r.quote}",
            uly=f"{r.base}-{r.quote}",
            baseCcy="",
            quoteCcy="",
            settleCcy=r.instrument.settle_asset or r.quote,
            ctVal=num(inst.ct_val),
            ctMult="1",
            ctValCcy=r.base,
            ctType="linear",
            lotSz=num(inst.sz(r.step_size)),
            minSz=num(inst.sz(r.min_qty)),
            maxLmtSz=num(inst.sz(r.max_qty)),
            maxMktSz=num(inst.sz(r.market_max_qty or r.max_qty)),
            lever="125",
        )
    return row


def candle_row(k: Kline, inst: Instrument, *, confirm: bool | None = None) -> list[str]:
    """One candle: ``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]`` (``vol`` counts
    contracts on a SWAP, base units on SPOT; ``volCcy`` base on SWAP, quote on SPOT)."""
    closed = k.is_closed if confirm is None else confirm
    vol = num(inst.sz(k.volume)) if inst.swap else num(k.volume)
    vol_ccy = num(k.volume) if inst.swap else num(k.quote_volume)
    return [
        str(k.open_ms),
        num(k.open),
        num(k.high),
        num(k.low),
        num(k.close),
        vol,
        vol_ccy,
        num(k.quote_volume),
        "1" if closed else "0",
    ]


def _ord_type(o: Order) -> str:
    if o.type is OrderType.MARKET:
        return "market"
    if o.type is OrderType.LIMIT_MAKER:
        return "post_only"
    if o.tif is TimeInForce.IOC:
        return "ioc"
    if o.tif is TimeInForce.FOK:
        return "fok"
    return "limit"


def order_row(o: Order, inst: Instrument, tag: str = "") -> dict[str, Any]:
    """One order as ``/trade/order``, ``/trade/orders-pending``, ``/trade/orders-history`` and
    the ``orders`` channel show it (fees negative, as OKX charges them)."""
    fee = sum((f.commission for f in o.fills), _ZERO)
    fee_ccy = o.fills[0].commission_asset if o.fills else ""
    avg = o.cummulative_quote_qty / o.executed_qty if o.executed_qty else None
    quote_sized = not o.orig_qty and bool(o.orig_quote_order_qty)
    sz = o.orig_quote_order_qty if quote_sized else inst.sz(o.orig_qty)
    last = o.fills[-1] if o.fills else None
    return {
        "instType": inst.inst_type,
        "instId": inst.inst_id,
        "ordId": str(o.order_id),
        "clOrdId": o.client_order_id or "",
        "tag": tag,
        "px": num(o.price) if o.price is not None else "",
        "sz": num(sz),
        "ordType": _ord_type(o),
        "side": "buy" if o.side is Side.BUY else "sell",
        "posSide": "net",
        "tdMode": "cross" if inst.swap else "cash",
        "tgtCcy": ("quote_ccy" if quote_sized else "base_ccy") if not inst.swap else "",
        "accFillSz": num(inst.sz(o.executed_qty)),
        "fillPx": num(last.price) if last is not None else "",
        "fillSz": num(inst.sz(last.qty)) if last is not None else "0",
        "fillTime": str(last.time_ms) if last is not None else "",
        "tradeId": str(last.trade_id) if last is not None else "",
        "avgPx": num(avg) if avg is not None else "",
        "state": _STATE[o.status],
        "lever": "",
        "fee": num(-fee),
        "feeCcy": fee_ccy,
        "rebate": "0",
        "rebateCcy": "",
        "pnl": "0",
        "category": "normal",
        "reduceOnly": "true" if o.reduce_only else "false",
        "cTime": str(o.time_ms),
        "uTime": str(o.update_time_ms),
    }


def fill_row(f: Fill, inst: Instrument, cl_ord_id: str) -> dict[str, Any]:
    """One ``/trade/fills-history`` row."""
    return {
        "instType": inst.inst_type,
        "instId": inst.inst_id,
        "tradeId": str(f.trade_id),
        "ordId": str(f.order_id),
        "clOrdId": cl_ord_id,
        "billId": str(f.trade_id),
        "tag": "",
        "fillPx": num(f.price),
        "fillSz": num(inst.sz(f.qty)),
        "side": "buy" if f.is_buyer else "sell",
        "posSide": "net",
        "execType": "M" if f.is_maker else "T",
        "feeCcy": f.commission_asset,
        "fee": num(-f.commission),
        "ts": str(f.time_ms),
        "fillTime": str(f.time_ms),
    }


def detail_row(ccy: str, free: Decimal, locked: Decimal, now_ms: int) -> dict[str, Any]:
    """One currency of ``/account/balance``'s ``details`` (and the ``account`` channel)."""
    total = free + locked
    return {
        "ccy": ccy,
        "eq": num(total),
        "cashBal": num(total),
        "availBal": num(free),
        "availEq": num(free),
        "frozenBal": num(locked),
        "ordFrozen": num(locked),
        "upl": "0",
        "uTime": str(now_ms),
    }


def position_row(p: PositionView, inst: Instrument) -> dict[str, Any]:
    """One SWAP position (net mode: ``pos`` signed contracts)."""
    return {
        "instType": "SWAP",
        "instId": inst.inst_id,
        "posId": f"{p.account_id}-{p.symbol}",
        "posSide": "net",
        "pos": num(inst.sz(p.qty)),
        "availPos": num(inst.sz(abs(p.qty))),
        "posCcy": "",
        "ccy": p.settle_asset,
        "avgPx": num(p.entry_price),
        "markPx": num(p.mark_price),
        "last": num(p.mark_price),
        "upl": num(p.unrealized_pnl),
        "uplRatio": "0",
        "realizedPnl": num(p.realized_pnl),
        "lever": str(p.leverage),
        "mgnMode": "cross" if p.margin_mode.name == "CROSS" else "isolated",
        "margin": num(p.isolated_margin),
        "imr": num(p.initial_margin),
        "mmr": num(p.maintenance_margin),
        "liqPx": num(p.liquidation_price) if p.liquidation_price else "",
        "notionalUsd": num(abs(p.notional)),
        "cTime": str(p.time_ms),
        "uTime": str(p.time_ms),
    }


def book_checksum(
    bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]], depth: int = 25
) -> int:
    """OKX's book checksum: the signed CRC-32 of ``bid:size:ask:size:...`` over the top
    ``depth`` levels of each side, interleaved (the longer side's rest appended)."""
    parts: list[str] = []
    for i in range(depth):
        if i < len(bids):
            parts.extend(bids[i])
        if i < len(asks):
            parts.extend(asks[i])
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def liquidation_order_row(e: LiquidationEvent, inst: Instrument) -> dict[str, Any]:
    """The exchange's closing order of a liquidated SWAP position as the ``orders`` channel shows
    it: ``category`` ``full_liquidation``, filled at the liquidation price (``sz`` in
    contracts)."""
    sz, stamp = num(inst.sz(abs(e.qty))), str(e.time_ms)
    order_id = f"{e.account_id}{e.time_ms}"
    return {
        "instType": inst.inst_type,
        "instId": inst.inst_id,
        "ordId": order_id,
        "clOrdId": "",
        "tag": "",
        "px": "",
        "sz": sz,
        "ordType": "market",
        "side": "sell" if e.qty > 0 else "buy",
        "posSide": "net",
        "tdMode": "",
        "tgtCcy": "",
        "accFillSz": sz,
        "fillPx": num(e.price),
        "fillSz": sz,
        "fillTime": stamp,
        "tradeId": "",
        "avgPx": num(e.price),
        "state": "filled",
        "lever": "",
        "fee": "0",
        "feeCcy": "USDT",
        "rebate": "0",
        "rebateCcy": "",
        "pnl": "0",
        "category": "full_liquidation",
        "reduceOnly": "true",
        "cTime": stamp,
        "uTime": stamp,
    }
