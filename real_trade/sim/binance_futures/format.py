"""USDⓈ-M's JSON shapes: exchange info, orders (plain and algo), positions, account, balance.

Types map onto the core's neutral ones: ``STOP_MARKET`` is a stop-loss (market) order,
``STOP`` a stop-loss limit, ``TAKE_PROFIT_MARKET``/``TAKE_PROFIT`` the take-profit pair, and a
``LIMIT`` with ``timeInForce=GTX`` is the core's post-only ``LIMIT_MAKER``. Numbers are printed
with the symbol's precision where Binance does (prices, quantities) and eight decimals for
balances.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from real_trade.sim.binance.format import dec
from real_trade.sim.binance.vocab import SIDE_OUT, STATUS_OUT, TIF_OUT
from real_trade.sim.derivatives.types import MarginMode, MarginSummary, PositionView
from real_trade.sim.rules import SymbolRules
from real_trade.sim.types import Fill, Order, OrderType, PositionSide, WorkingType

__all__ = [
    "CONDITIONAL_TYPES",
    "POSITION_SIDE_IN",
    "POSITION_SIDE_OUT",
    "TYPE_IN",
    "TYPE_OUT",
    "WORKING_IN",
    "WORKING_OUT",
    "account_json",
    "algo_order_json",
    "balance_rows",
    "order_json",
    "position_json",
    "symbol_json",
    "tif_word",
    "user_trade_json",
]

TYPE_IN: dict[str, OrderType] = {
    "LIMIT": OrderType.LIMIT,
    "MARKET": OrderType.MARKET,
    "STOP": OrderType.STOP_LOSS_LIMIT,
    "STOP_MARKET": OrderType.STOP_LOSS,
    "TAKE_PROFIT": OrderType.TAKE_PROFIT_LIMIT,
    "TAKE_PROFIT_MARKET": OrderType.TAKE_PROFIT,
}
"""USDⓈ-M's order type -> the core's."""
TYPE_OUT: dict[OrderType, str] = {v: k for k, v in TYPE_IN.items()} | {
    OrderType.LIMIT_MAKER: "LIMIT"
}
"""The core's order type -> USDⓈ-M's word."""
CONDITIONAL_TYPES = frozenset({"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"})
"""Types served by the algo order endpoints (``algoType=CONDITIONAL``)."""
POSITION_SIDE_IN: dict[str, PositionSide] = {s.name: s for s in PositionSide}
"""``positionSide`` -> the core's."""
POSITION_SIDE_OUT: dict[PositionSide, str] = {v: k for k, v in POSITION_SIDE_IN.items()}
"""The core's position side -> ``positionSide``."""
WORKING_IN: dict[str, WorkingType] = {
    "CONTRACT_PRICE": WorkingType.LAST,
    "MARK_PRICE": WorkingType.MARK,
}
"""``workingType`` -> the core's."""
WORKING_OUT: dict[WorkingType, str] = {v: k for k, v in WORKING_IN.items()}
"""The core's working type -> ``workingType``."""

_ZERO = Decimal(0)
_FAR_FUTURE_MS = 4133404800000  # what Binance prints as a perpetual's deliveryDate


def _places(step: Decimal) -> int:
    return max(0, -step.normalize().as_tuple().exponent)  # type: ignore[operator]


def _px(rules: SymbolRules | None, x: Decimal | None) -> str:
    if x is None:
        x = _ZERO
    return dec(x, _places(rules.tick_size)) if rules is not None else dec(x)


def _qty(rules: SymbolRules | None, x: Decimal | None) -> str:
    if x is None:
        x = _ZERO
    return dec(x, _places(rules.step_size)) if rules is not None else dec(x)


def symbol_json(rules: SymbolRules, onboard_ms: int) -> dict[str, Any]:
    """One ``symbols`` entry of GET ``/fapi/v1/exchangeInfo`` (a PERPETUAL contract)."""
    f = dec
    return {
        "symbol": rules.symbol,
        "pair": rules.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": _FAR_FUTURE_MS,
        "onboardDate": onboard_ms,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": rules.base,
        "quoteAsset": rules.quote,
        "marginAsset": rules.instrument.settle_asset or rules.quote,
        "pricePrecision": _places(rules.tick_size),
        "quantityPrecision": _places(rules.step_size),
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": f(rules.min_price),
                "maxPrice": f(rules.max_price),
                "tickSize": f(rules.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": f(rules.min_qty),
                "maxQty": f(rules.max_qty),
                "stepSize": f(rules.step_size),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": f(rules.market_min_qty),
                "maxQty": f(rules.market_max_qty),
                "stepSize": f(rules.market_step_size),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": rules.max_num_orders},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": f(rules.min_notional)},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": sorted(TYPE_IN),
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
        "contractSize": f(rules.instrument.contract_size),
    }


def tif_word(order: Order) -> str:
    """The order's ``timeInForce`` (``GTX`` for post-only)."""
    if order.type is OrderType.LIMIT_MAKER:
        return "GTX"
    return TIF_OUT[order.tif]


def _avg(order: Order) -> Decimal:
    if not order.executed_qty:
        return _ZERO
    return order.cummulative_quote_qty / order.executed_qty


def order_json(order: Order, rules: SymbolRules | None) -> dict[str, Any]:
    """An order as POST/GET/DELETE ``/fapi/v1/order`` and ``openOrders`` print it."""
    kind = TYPE_OUT[order.type]
    return {
        "orderId": order.order_id,
        "symbol": order.symbol,
        "status": STATUS_OUT[order.status],
        "clientOrderId": order.client_order_id,
        "price": _px(rules, order.price),
        "avgPrice": _px(rules, _avg(order)) if order.executed_qty else "0",
        "origQty": _qty(rules, order.orig_qty),
        "executedQty": _qty(rules, order.executed_qty),
        "cumQty": _qty(rules, order.executed_qty),
        "cumQuote": dec(order.cummulative_quote_qty),
        "timeInForce": tif_word(order),
        "type": kind,
        "reduceOnly": order.reduce_only,
        "closePosition": order.close_position,
        "side": SIDE_OUT[order.side],
        "positionSide": POSITION_SIDE_OUT[order.position_side],
        "stopPrice": _px(rules, order.stop_price),
        "workingType": WORKING_OUT[order.working_type],
        "priceProtect": False,
        "origType": kind,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
        "time": order.time_ms,
        "updateTime": order.update_time_ms,
    }


_ALGO_STATUS = {
    "NEW": "NEW",
    "PARTIALLY_FILLED": "TRIGGERED",
    "FILLED": "FINISHED",
    "CANCELED": "CANCELED",
    "EXPIRED": "EXPIRED",
    "REJECTED": "REJECTED",
}


def algo_order_json(order: Order, rules: SymbolRules | None) -> dict[str, Any]:
    """A conditional order as the ``/fapi/v1/algoOrder`` endpoints print it."""
    status = STATUS_OUT[order.status]
    if order.working_time_ms >= 0 and status == "NEW":
        status = "TRIGGERED"
    return {
        "algoId": order.order_id,
        "clientAlgoId": order.client_order_id,
        "algoType": "CONDITIONAL",
        "orderType": TYPE_OUT[order.type],
        "symbol": order.symbol,
        "side": SIDE_OUT[order.side],
        "positionSide": POSITION_SIDE_OUT[order.position_side],
        "timeInForce": tif_word(order),
        "quantity": _qty(rules, order.orig_qty),
        "algoStatus": _ALGO_STATUS.get(status, status),
        "triggerPrice": _px(rules, order.stop_price),
        "price": _px(rules, order.price),
        "icebergQuantity": None,
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "workingType": WORKING_OUT[order.working_type],
        "priceMatch": "NONE",
        "closePosition": order.close_position,
        "priceProtect": False,
        "reduceOnly": order.reduce_only,
        "createTime": order.time_ms,
        "updateTime": order.update_time_ms,
        "triggerTime": max(order.working_time_ms, 0),
        "goodTillDate": 0,
    }


def user_trade_json(fill: Fill, order: Order | None) -> dict[str, Any]:
    """One row of GET ``/fapi/v1/userTrades``."""
    return {
        "buyer": fill.is_buyer,
        "commission": dec(fill.commission),
        "commissionAsset": fill.commission_asset,
        "id": fill.trade_id,
        "maker": fill.is_maker,
        "orderId": fill.order_id,
        "price": dec(fill.price),
        "qty": dec(fill.qty),
        "quoteQty": dec(fill.quote_qty),
        "realizedPnl": dec(fill.realized_pnl),
        "side": "BUY" if fill.is_buyer else "SELL",
        "positionSide": POSITION_SIDE_OUT[fill.position_side],
        "symbol": fill.symbol,
        "time": fill.time_ms,
    }


def position_json(
    p: PositionView, rules: SymbolRules | None = None, *, version: int = 3
) -> dict[str, Any]:
    """One entry of GET ``/fapi/v2|v3/positionRisk`` (v2 adds leverage and margin type; both are
    printed, as ccxt reads leverage when it is there). ``notional`` has the position's sign,
    which ccxt reads as the side in one-way mode."""
    isolated = p.margin_mode is MarginMode.ISOLATED
    notional = -abs(p.notional) if p.qty < 0 else abs(p.notional)
    out: dict[str, Any] = {
        "symbol": p.symbol,
        "positionSide": POSITION_SIDE_OUT[p.position_side],
        "positionAmt": _qty(rules, p.qty),
        "entryPrice": dec(p.entry_price),
        "breakEvenPrice": dec(p.entry_price),
        "markPrice": dec(p.mark_price),
        "unRealizedProfit": dec(p.unrealized_pnl),
        "liquidationPrice": dec(p.liquidation_price),
        "isolatedMargin": dec(p.isolated_margin if isolated else _ZERO),
        "notional": dec(notional),
        "marginAsset": p.settle_asset,
        "isolatedWallet": dec(p.isolated_margin if isolated else _ZERO),
        "initialMargin": dec(p.initial_margin),
        "maintMargin": dec(p.maintenance_margin),
        "positionInitialMargin": dec(p.initial_margin),
        "openOrderInitialMargin": "0",
        "adl": 1,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": p.time_ms,
        "leverage": str(p.leverage),
        "marginType": "isolated" if isolated else "cross",
        "isAutoAddMargin": "false",
    }
    if version == 2:
        out["maxNotionalValue"] = "0"
    return out


def balance_rows(summary: MarginSummary, update_ms: int) -> dict[str, Any]:
    """One ``assets`` entry of GET ``/fapi/v2|v3/account`` for the settle asset."""
    s = summary
    return {
        "asset": s.asset,
        "walletBalance": dec(s.wallet_balance),
        "unrealizedProfit": dec(s.unrealized_pnl),
        "marginBalance": dec(s.margin_balance),
        "maintMargin": dec(s.maintenance_margin),
        "initialMargin": dec(s.position_initial_margin + s.order_initial_margin),
        "positionInitialMargin": dec(s.position_initial_margin),
        "openOrderInitialMargin": dec(s.order_initial_margin),
        "crossWalletBalance": dec(s.wallet_balance),
        "crossUnPnl": dec(s.unrealized_pnl),
        "availableBalance": dec(s.available_balance),
        "maxWithdrawAmount": dec(s.available_balance),
        "marginAvailable": True,
        "updateTime": update_ms,
    }


def account_json(
    summaries: list[MarginSummary], positions: list[PositionView], update_ms: int
) -> dict[str, Any]:
    """GET ``/fapi/v2|v3/account``: totals, one asset row per settle asset, open positions."""
    usdt = [s for s in summaries if s.asset == "USDT"] or summaries[:1]

    def total(attr: str) -> str:
        return dec(sum((getattr(s, attr) for s in usdt), _ZERO))

    init = sum((s.position_initial_margin + s.order_initial_margin for s in usdt), _ZERO)
    return {
        "totalInitialMargin": dec(init),
        "totalMaintMargin": total("maintenance_margin"),
        "totalWalletBalance": total("wallet_balance"),
        "totalUnrealizedProfit": total("unrealized_pnl"),
        "totalMarginBalance": total("margin_balance"),
        "totalPositionInitialMargin": total("position_initial_margin"),
        "totalOpenOrderInitialMargin": total("order_initial_margin"),
        "totalCrossWalletBalance": total("wallet_balance"),
        "totalCrossUnPnl": total("unrealized_pnl"),
        "availableBalance": total("available_balance"),
        "maxWithdrawAmount": total("available_balance"),
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "feeTier": 0,
        "multiAssetsMargin": False,
        "updateTime": 0,
        "assets": [balance_rows(s, update_ms) for s in summaries],
        "positions": [
            {
                "symbol": p.symbol,
                "positionSide": POSITION_SIDE_OUT[p.position_side],
                "positionAmt": dec(p.qty),
                "unrealizedProfit": dec(p.unrealized_pnl),
                "isolatedMargin": dec(p.isolated_margin),
                "notional": dec(-abs(p.notional) if p.qty < 0 else abs(p.notional)),
                "isolatedWallet": dec(p.isolated_margin),
                "initialMargin": dec(p.initial_margin),
                "maintMargin": dec(p.maintenance_margin),
                "entryPrice": dec(p.entry_price),
                "leverage": str(p.leverage),
                "isolated": p.margin_mode is MarginMode.ISOLATED,
                "updateTime": p.time_ms,
            }
            for p in positions
        ],
    }
