"""Binance spot's JSON shapes, built from the simulator core's value types.

Every function returns plain ``dict``/``list`` objects ready for ``json.dumps``, with numbers as
strings carrying exactly eight decimals (``"0.10000000"``), times as integer milliseconds and
enum values as Binance's own strings, field for field as the spot REST API answers (the
WebSocket API reuses the same shapes inside its ``result``). Order shapes:

* :func:`order_json` -- the answer to POST order, by ``newOrderRespType``: ``ACK`` (ids and
  ``transactTime``), ``RESULT`` (the order's state) or ``FULL`` (``RESULT`` plus ``fills``).
* :func:`query_order_json` -- one row of GET order / openOrders / allOrders.
* :func:`cancel_order_json` -- the answer to DELETE order (and each row of DELETE openOrders).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from real_trade.sim.binance.vocab import ORDER_TYPE_OUT, SIDE_OUT, STATUS_OUT, TIF_OUT
from real_trade.sim.klines import Kline
from real_trade.sim.rules import STOP_TYPES
from real_trade.sim.types import Fill, Order

if TYPE_CHECKING:
    from real_trade.sim.accounts import Account
    from real_trade.sim.rules import SymbolRules

__all__ = [
    "EXCHANGE_RATE_LIMITS",
    "account_json",
    "cancel_order_json",
    "dec",
    "exchange_info_json",
    "fill_json",
    "kline_row",
    "my_trade_json",
    "order_json",
    "query_order_json",
    "symbol_filters",
    "symbol_json",
]

_ZERO8 = "0.00000000"

EXCHANGE_RATE_LIMITS: list[dict[str, Any]] = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]
"""The ``rateLimits`` array of ``exchangeInfo`` (Binance spot's published limits)."""


def dec(x: Decimal | None, places: int = 8) -> str:
    """Format ``x`` with exactly ``places`` decimals as Binance prints numbers (None -> zero)."""
    if x is None:
        return _ZERO8 if places == 8 else f"{Decimal(0):.{places}f}"
    return f"{x:.{places}f}"


def _tif(order: Order) -> str:
    return TIF_OUT[order.tif] if order.tif is not None else "GTC"


def fill_json(fill: Fill) -> dict[str, Any]:
    """Return one entry of a FULL order answer's ``fills`` array."""
    return {
        "price": dec(fill.price),
        "qty": dec(fill.qty),
        "commission": dec(fill.commission),
        "commissionAsset": fill.commission_asset,
        "tradeId": fill.trade_id,
    }


def order_json(
    order: Order, resp_type: str = "FULL", *, rules: SymbolRules | None = None
) -> dict[str, Any]:
    """Return the POST order answer for ``order`` in ``resp_type`` (ACK, RESULT or FULL).

    ``rules`` is accepted for symmetry with the faces that have them at hand; Binance spot prints
    every quantity with eight decimals whatever the symbol's precision, so it changes nothing.
    """
    del rules
    out: dict[str, Any] = {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "transactTime": order.time_ms,
    }
    if resp_type == "ACK":
        return out
    out["price"] = dec(order.price)
    out["origQty"] = dec(order.orig_qty)
    out["executedQty"] = dec(order.executed_qty)
    out["origQuoteOrderQty"] = dec(order.orig_quote_order_qty)
    out["cummulativeQuoteQty"] = dec(order.cummulative_quote_qty)
    out["status"] = STATUS_OUT[order.status]
    out["timeInForce"] = _tif(order)
    out["type"] = ORDER_TYPE_OUT[order.type]
    out["side"] = SIDE_OUT[order.side]
    if order.type in STOP_TYPES:
        out["stopPrice"] = dec(order.stop_price)
    out["workingTime"] = order.working_time_ms
    out["selfTradePreventionMode"] = "NONE"
    if resp_type == "FULL":
        out["fills"] = [fill_json(f) for f in order.fills]
    return out


def query_order_json(order: Order) -> dict[str, Any]:
    """Return ``order`` as GET order, openOrders and allOrders list it."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": dec(order.price),
        "origQty": dec(order.orig_qty),
        "executedQty": dec(order.executed_qty),
        "cummulativeQuoteQty": dec(order.cummulative_quote_qty),
        "status": STATUS_OUT[order.status],
        "timeInForce": _tif(order),
        "type": ORDER_TYPE_OUT[order.type],
        "side": SIDE_OUT[order.side],
        "stopPrice": dec(order.stop_price),
        "icebergQty": _ZERO8,
        "time": order.time_ms,
        "updateTime": order.update_time_ms,
        "isWorking": order.is_working,
        "workingTime": order.working_time_ms,
        "origQuoteOrderQty": dec(order.orig_quote_order_qty),
        "selfTradePreventionMode": "NONE",
    }


def cancel_order_json(
    order: Order, cancel_client_order_id: str, transact_time: int
) -> dict[str, Any]:
    """Return the DELETE order answer: the cancelled ``order`` and the cancel's own client id.

    As on Binance, ``origClientOrderId`` is the order's client id and ``clientOrderId`` the id
    of the cancel request (``newClientOrderId``, or a generated one).
    """
    out: dict[str, Any] = {
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": cancel_client_order_id,
        "transactTime": transact_time,
        "price": dec(order.price),
        "origQty": dec(order.orig_qty),
        "executedQty": dec(order.executed_qty),
        "origQuoteOrderQty": dec(order.orig_quote_order_qty),
        "cummulativeQuoteQty": dec(order.cummulative_quote_qty),
        "status": STATUS_OUT[order.status],
        "timeInForce": _tif(order),
        "type": ORDER_TYPE_OUT[order.type],
        "side": SIDE_OUT[order.side],
    }
    if order.type in STOP_TYPES:
        out["stopPrice"] = dec(order.stop_price)
    out["selfTradePreventionMode"] = "NONE"
    return out


def my_trade_json(fill: Fill, symbol: str | None = None) -> dict[str, Any]:
    """Return one row of GET myTrades for ``fill`` (``symbol`` defaults to the fill's)."""
    return {
        "symbol": symbol if symbol is not None else fill.symbol,
        "id": fill.trade_id,
        "orderId": fill.order_id,
        "orderListId": -1,
        "price": dec(fill.price),
        "qty": dec(fill.qty),
        "quoteQty": dec(fill.quote_qty),
        "commission": dec(fill.commission),
        "commissionAsset": fill.commission_asset,
        "time": fill.time_ms,
        "isBuyer": fill.is_buyer,
        "isMaker": fill.is_maker,
        "isBestMatch": True,
    }


def kline_row(k: Kline) -> list[Any]:
    """Return one row of GET klines: open time, OHLCV strings, close time, quote volume, ..."""
    return [
        k.open_ms,
        dec(k.open),
        dec(k.high),
        dec(k.low),
        dec(k.close),
        dec(k.volume),
        k.close_ms,
        dec(k.quote_volume),
        k.trades,
        dec(k.taker_buy_volume),
        dec(k.taker_buy_quote_volume),
        "0",
    ]


def account_json(
    account: Account,
    server_time: int,
    *,
    balances: Mapping[str, tuple[Decimal, Decimal]] | None = None,
    omit_zero: bool = False,
) -> dict[str, Any]:
    """Return GET account for ``account``: commissions, permissions and balances.

    ``balances`` is a consistent ``{asset: (free, locked)}`` snapshot (taken under the core's
    lock by the caller; default: the account's own); ``omit_zero`` drops empty assets, as
    ``omitZeroBalances=true`` asks.
    """
    maker_bp = int(account.maker_fee * 10_000)
    taker_bp = int(account.taker_fee * 10_000)
    snap = balances if balances is not None else account.snapshot()
    rows = [
        {"asset": asset, "free": dec(free), "locked": dec(locked)}
        for asset, (free, locked) in sorted(snap.items())
        if not (omit_zero and not free and not locked)
    ]
    return {
        "makerCommission": maker_bp,
        "takerCommission": taker_bp,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": dec(account.maker_fee),
            "taker": dec(account.taker_fee),
            "buyer": _ZERO8,
            "seller": _ZERO8,
        },
        "canTrade": account.can_trade,
        "canWithdraw": account.can_withdraw,
        "canDeposit": account.can_deposit,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": server_time,
        "accountType": "SPOT",
        "balances": rows,
        "permissions": list(account.permissions),
        "uid": account.account_id,
    }


def symbol_filters(rules: SymbolRules) -> list[dict[str, object]]:
    """Return the ``filters`` array of Binance's ``exchangeInfo`` for one symbol's rules."""
    f = dec
    return [
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
        {
            "filterType": "NOTIONAL",
            "minNotional": f(rules.min_notional),
            "applyMinToMarket": rules.apply_min_to_market,
            "maxNotional": f(rules.max_notional),
            "applyMaxToMarket": rules.apply_max_to_market,
            "avgPriceMins": rules.avg_price_mins,
        },
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": rules.max_num_orders},
    ]


def symbol_json(rules: SymbolRules) -> dict[str, Any]:
    """Return one entry of ``exchangeInfo``'s ``symbols`` array for ``rules``."""
    filters = symbol_filters(rules)
    # Older clients read MIN_NOTIONAL; Binance replaced it with NOTIONAL. Serve both, consistent.
    filters.append(
        {
            "filterType": "MIN_NOTIONAL",
            "minNotional": dec(rules.min_notional),
            "applyToMarket": rules.apply_min_to_market,
            "avgPriceMins": rules.avg_price_mins,
        }
    )
    return {
        "symbol": rules.symbol,
        "status": "TRADING" if rules.trading else "BREAK",
        "baseAsset": rules.base,
        "baseAssetPrecision": rules.base_asset_precision,
        "quoteAsset": rules.quote,
        "quotePrecision": rules.quote_asset_precision,
        "quoteAssetPrecision": rules.quote_asset_precision,
        "baseCommissionPrecision": rules.base_commission_precision,
        "quoteCommissionPrecision": rules.quote_commission_precision,
        "orderTypes": [ORDER_TYPE_OUT[t] for t in rules.order_types],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": rules.quote_order_qty_market_allowed,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": True,
        "amendAllowed": False,
        "pegInstructionsAllowed": False,
        "isSpotTradingAllowed": rules.instrument.is_spot,
        "isMarginTradingAllowed": False,
        "filters": filters,
        "permissions": [],
        "permissionSets": [["SPOT"] if rules.instrument.is_spot else []],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }


class _CoreInfo(Protocol):
    def symbols(self) -> list[str]: ...

    def rules_for(self, symbol: str) -> SymbolRules: ...


def exchange_info_json(
    core: _CoreInfo, server_time: int = 0, symbols: list[str] | None = None
) -> dict[str, Any]:
    """Return GET exchangeInfo: timezone, server time, rate limits and every (or the chosen)
    symbol's rules and filters."""
    names = symbols if symbols is not None else list(core.symbols())
    return {
        "timezone": "UTC",
        "serverTime": server_time,
        "rateLimits": EXCHANGE_RATE_LIMITS,
        "exchangeFilters": [],
        "symbols": [symbol_json(core.rules_for(s)) for s in names],
    }
