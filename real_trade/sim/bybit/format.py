"""Bybit v5's JSON for the core's objects: orders, executions, klines, balances, tickers.

REST and the private stream share these shapes (the stream adds ``category``, which ccxt uses
with ``tpslMode`` to tell spot orders from contract ones on a shared symbol id). Numbers are
strings, times are millisecond strings in orders, as Bybit sends them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from real_trade.sim.bybit.vocab import SIDE_OUT, STATUS_OUT, TIF_OUT, TYPE_OUT
from real_trade.sim.derivatives.types import FundingEvent, LiquidationEvent, PositionView
from real_trade.sim.klines import Kline
from real_trade.sim.plumbing.numbers import plain_decimal
from real_trade.sim.rules import STOP_TYPES
from real_trade.sim.types import Fill, Order, OrderType, PositionSide, Ticker24h

__all__ = [
    "coin_row",
    "execution_row",
    "funding_row",
    "kline_row",
    "liquidation_rows",
    "num",
    "order_row",
    "position_row",
    "ticker_row",
]

_ZERO = Decimal(0)


num = plain_decimal
"""A decimal as Bybit writes it (plain notation, no exponent; ``""`` for None)."""


def order_row(o: Order, category: str) -> dict[str, Any]:
    """One order as ``/v5/order/realtime``, ``/v5/order/history`` and the ``order`` topic
    show it."""
    fee = sum((f.commission for f in o.fills), _ZERO)
    fee_coin = o.fills[0].commission_asset if o.fills else ""
    avg = o.cummulative_quote_qty / o.executed_qty if o.executed_qty else None
    tif = "PostOnly" if o.type is OrderType.LIMIT_MAKER else TIF_OUT.get(o.tif, "GTC")
    if o.type is OrderType.MARKET:
        tif = "IOC"
    status = STATUS_OUT[o.status]
    if o.type in STOP_TYPES and not o.is_working and status == "New":
        status = "Untriggered"
    qty = o.orig_qty if o.orig_qty else o.orig_quote_order_qty
    market_unit = "quoteCoin" if not o.orig_qty and o.orig_quote_order_qty else "baseCoin"
    leaves = max(o.orig_qty - o.executed_qty, _ZERO) if o.orig_qty else _ZERO
    done = status not in ("New", "PartiallyFilled", "Untriggered")
    if done:
        leaves = _ZERO
    row: dict[str, Any] = {
        "orderId": str(o.order_id),
        "orderLinkId": o.client_order_id,
        "blockTradeId": "",
        "symbol": o.symbol,
        "price": num(o.price) if o.price is not None else "0",
        "qty": num(qty),
        "side": SIDE_OUT[o.side],
        "isLeverage": "0",
        "positionIdx": 0,
        "orderStatus": status,
        "cancelType": "CancelByUser" if status == "Cancelled" else "UNKNOWN",
        "rejectReason": "EC_NoError",
        "avgPrice": num(avg) if avg is not None else "",
        "leavesQty": num(leaves),
        "leavesValue": num(leaves * o.price) if o.price is not None else "0",
        "cumExecQty": num(o.executed_qty),
        "cumExecValue": num(o.cummulative_quote_qty),
        "cumExecFee": num(fee),
        "timeInForce": tif,
        "orderType": TYPE_OUT[o.type],
        "stopOrderType": "StopOrder" if o.type in STOP_TYPES else "",
        "triggerPrice": num(o.stop_price) if o.stop_price is not None else "",
        "triggerDirection": 0,
        "reduceOnly": o.reduce_only,
        "closeOnTrigger": o.close_position,
        "marketUnit": market_unit if o.type is OrderType.MARKET else "",
        "createdTime": str(o.time_ms),
        "updatedTime": str(o.update_time_ms),
        "category": category,
    }
    if fee_coin:
        row["cumFeeDetail"] = {fee_coin: num(fee)}
    if category != "spot":
        row["tpslMode"] = "UNKNOWN"
    return row


def execution_row(f: Fill, o: Order | None, category: str, fee_rate: Decimal) -> dict[str, Any]:
    """One fill as ``/v5/execution/list`` and the ``execution`` topic show it."""
    side = "Buy" if f.is_buyer else "Sell"
    return {
        "symbol": f.symbol,
        "orderId": str(f.order_id),
        "orderLinkId": o.client_order_id if o is not None else "",
        "side": side,
        "orderPrice": num(o.price) if o is not None and o.price is not None else "0",
        "orderQty": num(o.orig_qty) if o is not None else "0",
        "leavesQty": num(max(o.orig_qty - o.executed_qty, _ZERO)) if o is not None else "0",
        "orderType": TYPE_OUT[o.type] if o is not None else "UNKNOWN",
        "stopOrderType": "",
        "execFee": num(f.commission),
        "feeCurrency": f.commission_asset,
        "execId": str(f.trade_id),
        "execPrice": num(f.price),
        "execQty": num(f.qty),
        "execType": "Trade",
        "execValue": num(f.quote_qty),
        "execTime": str(f.time_ms),
        "isMaker": f.is_maker,
        "feeRate": num(fee_rate),
        "markPrice": "",
        "closedSize": "",
        "seq": f.trade_id,
        "category": category,
    }


def kline_row(k: Kline) -> list[str]:
    """One ``/v5/market/kline`` row: ``[start, open, high, low, close, volume, turnover]``."""
    return [
        str(k.open_ms),
        num(k.open),
        num(k.high),
        num(k.low),
        num(k.close),
        num(k.volume),
        num(k.quote_volume),
    ]


def coin_row(asset: str, free: Decimal, locked: Decimal) -> dict[str, Any]:
    """One coin of a unified account's wallet (REST ``wallet-balance`` and the ``wallet`` topic)."""
    total = free + locked
    return {
        "coin": asset,
        "equity": num(total),
        "usdValue": "",
        "walletBalance": num(total),
        "free": "",
        "locked": num(locked),
        "spotHedgingQty": "0",
        "borrowAmount": "0",
        "availableToWithdraw": num(free),
        "availableToBorrow": "",
        "accruedInterest": "0",
        "totalOrderIM": "0",
        "totalPositionIM": "0",
        "totalPositionMM": "0",
        "unrealisedPnl": "0",
        "cumRealisedPnl": "0",
        "bonus": "0",
        "collateralSwitch": True,
        "marginCollateral": True,
    }


def ticker_row(t: Ticker24h) -> dict[str, Any]:
    """One spot ticker as ``/v5/market/tickers`` shows it (no ``openInterestValue``: spot)."""
    pct = (t.last_price - t.open_price) / t.open_price if t.open_price else _ZERO
    return {
        "symbol": t.symbol,
        "bid1Price": num(t.bid_price) if t.bid_price is not None else "",
        "bid1Size": num(t.bid_qty),
        "ask1Price": num(t.ask_price) if t.ask_price is not None else "",
        "ask1Size": num(t.ask_qty),
        "lastPrice": num(t.last_price),
        "prevPrice24h": num(t.open_price),
        "price24hPcnt": num(pct.quantize(Decimal("0.0001"))),
        "highPrice24h": num(t.high_price),
        "lowPrice24h": num(t.low_price),
        "turnover24h": num(t.quote_volume),
        "volume24h": num(t.volume),
        "usdIndexPrice": num(t.last_price),
    }


def position_row(p: PositionView) -> dict[str, Any]:
    """One linear position as ``/v5/position/list`` and the ``position`` topic show it."""
    side = "" if not p.qty else ("Buy" if p.qty > 0 else "Sell")
    idx = {PositionSide.BOTH: 0, PositionSide.LONG: 1, PositionSide.SHORT: 2}[p.position_side]
    return {
        "positionIdx": idx,
        "symbol": p.symbol,
        "side": side,
        "size": num(abs(p.qty)),
        "avgPrice": num(p.entry_price),
        "positionValue": num(abs(p.notional)),
        "tradeMode": 0 if p.margin_mode.name == "CROSS" else 1,
        "leverage": str(p.leverage),
        "markPrice": num(p.mark_price),
        "liqPrice": num(p.liquidation_price) if p.liquidation_price else "",
        "bustPrice": "",
        "positionIM": num(p.initial_margin),
        "positionMM": num(p.maintenance_margin),
        "unrealisedPnl": num(p.unrealized_pnl),
        "curRealisedPnl": num(p.realized_pnl),
        "cumRealisedPnl": num(p.realized_pnl),
        "positionStatus": "Normal",
        "createdTime": str(p.time_ms),
        "updatedTime": str(p.time_ms),
        "category": "linear",
    }


def funding_row(e: FundingEvent) -> dict[str, Any]:
    """A funding settlement as the ``execution`` topic shows it (``execType: Funding``):
    ``execFee`` is what the position paid (< 0: received), ``execQty`` its size, at the mark."""
    side = "Buy" if e.qty > 0 else "Sell"
    stamp = str(e.time_ms)
    return {
        "symbol": e.symbol,
        "orderId": "",
        "orderLinkId": "",
        "side": side,
        "orderPrice": "0",
        "orderQty": "0",
        "leavesQty": "0",
        "orderType": "UNKNOWN",
        "stopOrderType": "",
        "execFee": num(-e.amount),
        "feeCurrency": e.asset,
        "execId": f"funding-{e.symbol}-{stamp}",
        "execPrice": num(e.mark_price),
        "execQty": num(abs(e.qty)),
        "execType": "Funding",
        "execValue": num(abs(e.qty) * e.mark_price),
        "execTime": stamp,
        "isMaker": False,
        "feeRate": num(e.rate),
        "markPrice": num(e.mark_price),
        "closedSize": "",
        "seq": e.time_ms,
        "category": "linear",
    }


def liquidation_rows(e: LiquidationEvent) -> tuple[dict[str, Any], dict[str, Any]]:
    """A liquidation as Bybit shows it: the ``order`` row of the exchange's closing order
    (``createType: CreateByLiq``) and its ``execution`` row (``execType: BustTrade``)."""
    side = "Sell" if e.qty > 0 else "Buy"
    qty, stamp = num(abs(e.qty)), str(e.time_ms)
    order_id = f"liq-{e.account_id}-{e.symbol}-{stamp}"
    order = {
        "symbol": e.symbol,
        "orderId": order_id,
        "orderLinkId": "",
        "side": side,
        "orderType": "Market",
        "price": num(e.price),
        "qty": qty,
        "cumExecQty": qty,
        "cumExecValue": num(abs(e.qty) * e.price),
        "cumExecFee": "0",
        "leavesQty": "0",
        "avgPrice": num(e.price),
        "orderStatus": "Filled",
        "timeInForce": "IOC",
        "reduceOnly": True,
        "createType": "CreateByLiq",
        "createdTime": stamp,
        "updatedTime": stamp,
        "category": "linear",
    }
    execution = {
        "symbol": e.symbol,
        "orderId": order_id,
        "orderLinkId": "",
        "side": side,
        "orderPrice": num(e.price),
        "orderQty": qty,
        "leavesQty": "0",
        "orderType": "Market",
        "stopOrderType": "",
        "execFee": "0",
        "feeCurrency": "USDT",
        "execId": f"{order_id}-bust",
        "execPrice": num(e.price),
        "execQty": qty,
        "execType": "BustTrade",
        "execValue": num(abs(e.qty) * e.price),
        "execTime": stamp,
        "isMaker": False,
        "feeRate": "0",
        "markPrice": num(e.mark_price),
        "closedSize": qty,
        "seq": e.time_ms,
        "category": "linear",
    }
    return order, execution
