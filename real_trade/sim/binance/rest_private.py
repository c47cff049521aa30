"""Binance spot REST: the signed trading and account endpoints.

POST/GET/DELETE ``order``, POST ``order/test``, GET/DELETE ``openOrders``, GET ``allOrders``,
GET ``account``, GET ``myTrades``, GET ``rateLimit/order`` and the wallet's
``sapi/v1/capital/config/getall`` (which ccxt's ``load_markets`` asks for when keys are set),
each answering in Binance's shapes (see :mod:`real_trade.sim.binance.format`).

Order placement consults the fault plan: an armed rejection refuses the order before it reaches
the core; an armed ambiguous outcome lets the order be placed and then raises
:class:`~real_trade.sim.binance.rest_public.AmbiguousOutcome`, so the client gets a 5xx, a
-1007 or a dropped connection for an order that does exist. New orders count against the
account's order-rate limits (``X-MBX-ORDER-COUNT-10S`` / ``-1D``).
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from real_trade.sim.binance.errors import (
    BinanceApiError,
    illegal_chars,
    not_all_read,
    unknown_order_cancel,
)
from real_trade.sim.binance.format import (
    account_json,
    cancel_order_json,
    dec,
    my_trade_json,
    order_json,
    query_order_json,
)
from real_trade.sim.binance.rest_public import (
    RestCall,
    Route,
    limit_param,
    opt_int,
    opt_str,
    req_str,
    symbol_param,
)
from real_trade.sim.binance.vocab import parse_order_type, parse_side, parse_tif
from real_trade.sim.errors import UnknownOrder
from real_trade.sim.plumbing.fault_dispatch import AmbiguousOutcome
from real_trade.sim.types import OrderStatus, OrderType, Side

__all__ = ["ORDER_PARAMS", "PRIVATE_ROUTES"]

ORDER_PARAMS = frozenset(
    {
        "symbol",
        "side",
        "type",
        "timeInForce",
        "quantity",
        "quoteOrderQty",
        "price",
        "newClientOrderId",
        "stopPrice",
        "newOrderRespType",
        "selfTradePreventionMode",
        "strategyId",
        "strategyType",
        "trailingDelta",
        "icebergQty",
        "pegPriceType",
        "pegOffsetValue",
        "pegOffsetType",
        "computeCommissionRates",
        "timestamp",
        "recvWindow",
        "signature",
    }
)
"""The parameters POST order and order/test read; anything else is -1104."""

_RESP_TYPES = frozenset({"ACK", "RESULT", "FULL"})
_STP_MODES = frozenset({"NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "DECREMENT"})


def _new_cancel_id() -> str:
    """A 22-character client id for a cancel request that sent no ``newClientOrderId``."""
    return secrets.token_urlsafe(17)[:22]


def _order_args(call: RestCall, *, test: bool) -> dict[str, Any]:
    p = call.params
    unread = [k for k in p if k not in ORDER_PARAMS]
    if unread:
        raise not_all_read(len(p) - len(unread), len(p))
    for unsupported in ("icebergQty", "trailingDelta", "pegPriceType"):
        if opt_str(p, unsupported) is not None:
            raise BinanceApiError(-1106, f"Parameter '{unsupported}' sent when not required.")
    stp = opt_str(p, "selfTradePreventionMode")
    if stp is not None and stp not in _STP_MODES:
        raise illegal_chars("selfTradePreventionMode", "|".join(sorted(_STP_MODES)))
    return {
        "symbol": symbol_param(call),
        "side": req_str(p, "side"),
        "type": req_str(p, "type"),
        "quantity": opt_str(p, "quantity"),
        "quote_order_qty": opt_str(p, "quoteOrderQty"),
        "price": opt_str(p, "price"),
        "stop_price": opt_str(p, "stopPrice"),
        "time_in_force": opt_str(p, "timeInForce"),
        "client_order_id": opt_str(p, "newClientOrderId"),
        "test": test,
    }


def _order_enums(args: dict[str, Any]) -> tuple[Side, OrderType]:
    """Pop Binance's ``side`` and ``type`` and read them and ``time_in_force`` as core enums."""
    side = parse_side(args.pop("side"))
    order_type = parse_order_type(args.pop("type"))
    args["time_in_force"] = parse_tif(args["time_in_force"])
    return side, order_type


def _resp_type(call: RestCall, order_type: str) -> str:
    resp = opt_str(call.params, "newOrderRespType")
    if resp is None:
        return "FULL" if order_type in ("MARKET", "LIMIT") else "ACK"
    if resp not in _RESP_TYPES:
        raise illegal_chars("newOrderRespType", "ACK|RESULT|FULL")
    return resp


def _place(call: RestCall) -> Any:
    account = call.require_account()
    args = _order_args(call, test=False)
    resp_type = _resp_type(call, args["type"])
    counts = call.limiter.count_order(account.account_id)
    call.headers["X-MBX-ORDER-COUNT-10S"] = str(counts.count_10s)
    call.headers["X-MBX-ORDER-COUNT-1D"] = str(counts.count_1d)
    faults = call.ctx.faults
    rejection = faults.take_order_rejection()
    if rejection is not None:
        raise BinanceApiError(-2010, rejection)
    symbol = args.pop("symbol")
    side, order_type = _order_enums(args)
    order = call.ctx.core.place_order(account, symbol, side, order_type, **args)
    ambiguous = faults.take_ambiguous()
    if ambiguous is not None:
        raise AmbiguousOutcome(ambiguous)
    return order_json(order, resp_type)


def _place_test(call: RestCall) -> Any:
    account = call.require_account()
    args = _order_args(call, test=True)
    symbol = args.pop("symbol")
    side, order_type = _order_enums(args)
    call.ctx.core.place_order(account, symbol, side, order_type, **args)
    if call.params.get("computeCommissionRates") != "true":
        return {}
    zero = dec(Decimal(0))
    return {
        "standardCommissionForOrder": {
            "maker": dec(account.maker_fee),
            "taker": dec(account.taker_fee),
        },
        "specialCommissionForOrder": {"maker": zero, "taker": zero},
        "taxCommissionForOrder": {"maker": zero, "taker": zero},
        "discount": {
            "enabledForAccount": False,
            "enabledForSymbol": False,
            "discountAsset": "BNB",
            "discount": zero,
        },
    }


def _order_ref(call: RestCall) -> tuple[int | None, str | None]:
    order_id = opt_int(call.params, "orderId")
    client_id = opt_str(call.params, "origClientOrderId")
    if order_id is None and client_id is None:
        raise BinanceApiError(
            -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
        )
    return order_id, client_id


def _get_order(call: RestCall) -> Any:
    account = call.require_account()
    symbol = symbol_param(call)
    order_id, client_id = _order_ref(call)
    return query_order_json(call.ctx.core.get_order(account, symbol, order_id, client_id))


def _cancel(call: RestCall) -> Any:
    account = call.require_account()
    symbol = symbol_param(call)
    order_id, client_id = _order_ref(call)
    core = call.ctx.core
    restriction = opt_str(call.params, "cancelRestrictions")
    if restriction is not None:
        if restriction not in ("ONLY_NEW", "ONLY_PARTIALLY_FILLED"):
            raise illegal_chars("cancelRestrictions", "ONLY_NEW|ONLY_PARTIALLY_FILLED")
        try:
            current = core.get_order(account, symbol, order_id, client_id)
        except UnknownOrder:
            raise unknown_order_cancel() from None
        wanted = OrderStatus.NEW if restriction == "ONLY_NEW" else OrderStatus.PARTIALLY_FILLED
        if current.is_open and current.status is not wanted:
            raise BinanceApiError(-2011, "Order was not canceled due to cancel restrictions.")
    cancel_id = opt_str(call.params, "newClientOrderId") or _new_cancel_id()
    order = core.cancel_order(account, symbol, order_id, client_id)
    return cancel_order_json(order, cancel_id, order.update_time_ms)


_CANCEL_REPLACE_PARAMS = frozenset(
    {
        "cancelReplaceMode",
        "cancelOrderId",
        "cancelOrigClientOrderId",
        "cancelNewClientOrderId",
        "cancelRestrictions",
        "orderRateLimitExceededMode",
    }
)


def _cancel_replace(call: RestCall) -> Any:
    """``order/cancelReplace`` in ``STOP_ON_FAILURE`` mode: cancel, then place the new order
    (a failed cancel is answered with its own error and nothing is placed)."""
    p = call.params
    mode = req_str(p, "cancelReplaceMode")
    if mode != "STOP_ON_FAILURE":
        raise illegal_chars("cancelReplaceMode", "STOP_ON_FAILURE")
    account = call.require_account()
    symbol = symbol_param(call)
    order_id = opt_int(p, "cancelOrderId")
    client_id = opt_str(p, "cancelOrigClientOrderId")
    if order_id is None and client_id is None:
        raise BinanceApiError(
            -1102,
            "Param 'cancelOrigClientOrderId' or 'cancelOrderId' must be sent, but both were "
            "empty/null!",
        )
    cancel_id = opt_str(p, "cancelNewClientOrderId") or _new_cancel_id()
    order_call = RestCall(
        call.ctx,
        call.limiter,
        call.method,
        call.path,
        {k: v for k, v in p.items() if k not in _CANCEL_REPLACE_PARAMS},
        call.account,
        call.headers,
    )
    _order_args(order_call, test=True)  # refuse a malformed new order before cancelling
    canceled = call.ctx.core.cancel_order(account, symbol, order_id, client_id)
    placed = _place(order_call)
    return {
        "cancelResult": "SUCCESS",
        "newOrderResult": "SUCCESS",
        "cancelResponse": cancel_order_json(canceled, cancel_id, canceled.update_time_ms),
        "newOrderResponse": placed,
    }


def _open_orders(call: RestCall) -> Any:
    account = call.require_account()
    symbol = symbol_param(call) if opt_str(call.params, "symbol") is not None else None
    return [query_order_json(o) for o in call.ctx.core.open_orders(account, symbol)]


def _cancel_all(call: RestCall) -> Any:
    account = call.require_account()
    symbol = symbol_param(call)
    orders = call.ctx.core.cancel_all(account, symbol)
    if not orders:
        raise unknown_order_cancel()
    return [cancel_order_json(o, _new_cancel_id(), o.update_time_ms) for o in orders]


def _all_orders(call: RestCall) -> Any:
    account = call.require_account()
    symbol = symbol_param(call)
    p = call.params
    orders = call.ctx.core.all_orders(
        account,
        symbol,
        start_ms=opt_int(p, "startTime"),
        end_ms=opt_int(p, "endTime"),
        from_id=opt_int(p, "orderId"),
        limit=limit_param(p, 500, 1000),
    )
    return [query_order_json(o) for o in orders]


def _my_trades(call: RestCall) -> Any:
    account = call.require_account()
    symbol = symbol_param(call)
    p = call.params
    from_id = opt_int(p, "fromId")
    start, end = opt_int(p, "startTime"), opt_int(p, "endTime")
    if from_id is not None and (start is not None or end is not None):
        raise BinanceApiError(-1128, "Combination of optional parameters invalid.")
    fills = call.ctx.core.my_trades(
        account,
        symbol,
        start_ms=start,
        end_ms=end,
        from_id=from_id,
        limit=limit_param(p, 500, 1000),
        order_id=opt_int(p, "orderId"),
    )
    return [my_trade_json(f, symbol) for f in fills]


def _account(call: RestCall) -> Any:
    account = call.require_account()
    omit = call.params.get("omitZeroBalances") == "true"
    balances = call.ctx.core.balances(account)
    return account_json(account, call.ctx.server_time_ms(), balances=balances, omit_zero=omit)


def _rate_limit_order(call: RestCall) -> Any:
    account = call.require_account()
    lim = call.limiter.limits
    counts = call.limiter.order_counts(account.account_id)
    return [
        {
            "rateLimitType": "ORDERS",
            "interval": "SECOND",
            "intervalNum": 10,
            "limit": lim.orders_per_10s,
            "count": counts.count_10s,
        },
        {
            "rateLimitType": "ORDERS",
            "interval": "DAY",
            "intervalNum": 1,
            "limit": lim.orders_per_day,
            "count": counts.count_1d,
        },
    ]


def _capital_config(call: RestCall) -> Any:
    """Every asset traded here, as Binance's wallet lists coins (no deposit/withdraw networks)."""
    account = call.require_account()
    core = call.ctx.core
    balances = core.balances(account)
    assets: set[str] = set(balances)
    for symbol in core.symbols():
        rules = core.rules_for(symbol)
        assets.update((rules.base, rules.quote))
    zero = dec(Decimal(0))
    rows = []
    for asset in sorted(assets):
        free, locked = balances.get(asset, (Decimal(0), Decimal(0)))
        rows.append(
            {
                "coin": asset,
                "name": asset,
                "depositAllEnable": False,
                "withdrawAllEnable": False,
                "free": dec(free),
                "locked": dec(locked),
                "freeze": zero,
                "withdrawing": zero,
                "ipoing": zero,
                "ipoable": zero,
                "storage": zero,
                "isLegalMoney": False,
                "trading": True,
                "networkList": [],
            }
        )
    return rows


PRIVATE_ROUTES: tuple[Route, ...] = (
    Route("POST", "/api/v3/order", _place, "SIGNED"),
    Route("POST", "/api/v3/order/test", _place_test, "SIGNED"),
    Route("POST", "/api/v3/order/cancelReplace", _cancel_replace, "SIGNED"),
    Route("GET", "/api/v3/order", _get_order, "SIGNED", query=True),
    Route("DELETE", "/api/v3/order", _cancel, "SIGNED"),
    Route("GET", "/api/v3/openOrders", _open_orders, "SIGNED"),
    Route("DELETE", "/api/v3/openOrders", _cancel_all, "SIGNED"),
    Route("GET", "/api/v3/allOrders", _all_orders, "SIGNED"),
    Route("GET", "/api/v3/account", _account, "SIGNED"),
    Route("GET", "/api/v3/myTrades", _my_trades, "SIGNED"),
    Route("GET", "/api/v3/rateLimit/order", _rate_limit_order, "SIGNED"),
    Route("GET", "/sapi/v1/capital/config/getall", _capital_config, "SIGNED"),
)
"""The signed endpoints of the REST face."""
