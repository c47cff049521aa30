"""Binance USDⓈ-M REST (``/fapi``): market data, orders, algo orders, positions, account.

Every route goes through spot's dispatcher (:func:`~real_trade.sim.binance.app.rest_handler`:
faults, weights, ``X-MBX-APIKEY`` + HMAC signing, ``timestamp``/``recvWindow``) with this face's
error table (:mod:`~real_trade.sim.binance_futures.errors`). Market data handlers of the spot
face are reused where the answer is the same (klines, trades, aggTrades, ticker price and book
ticker); the rest is USDⓈ-M's own shape (:mod:`~real_trade.sim.binance_futures.format`).

Conditional orders (``STOP``, ``STOP_MARKET``, ``TAKE_PROFIT``, ``TAKE_PROFIT_MARKET``) are
refused on ``/fapi/v1/order`` with -4120 and served by ``/fapi/v1/algoOrder`` (``algoId`` is
the core's order id); they are ordinary stop orders of the core underneath.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from real_trade.sim.binance.errors import BinanceApiError, illegal_chars, unknown_order_cancel
from real_trade.sim.binance.format import dec
from real_trade.sim.binance.rest_public import (
    PUBLIC_ROUTES as SPOT_PUBLIC,
)
from real_trade.sim.binance.rest_public import (
    RestCall,
    Route,
    limit_param,
    opt_int,
    opt_str,
    req_int,
    req_str,
    symbol_param,
    ticker_24h_json,
)
from real_trade.sim.binance.vocab import parse_side, parse_tif
from real_trade.sim.binance_futures.errors import conditional_not_here, no_need_to_change
from real_trade.sim.binance_futures.format import (
    CONDITIONAL_TYPES,
    POSITION_SIDE_IN,
    TYPE_IN,
    WORKING_IN,
    account_json,
    algo_order_json,
    balance_rows,
    order_json,
    position_json,
    symbol_json,
    user_trade_json,
)
from real_trade.sim.derivatives.types import MarginMode, PositionMode
from real_trade.sim.errors import UnknownOrder
from real_trade.sim.plumbing.fault_dispatch import AmbiguousOutcome
from real_trade.sim.types import Order, OrderType, PositionSide

__all__ = ["FAPI_ROUTES", "ListenKeyBook", "fapi_routes", "position_json_flat"]

_SPOT = {r.path: r.handler for r in SPOT_PUBLIC}
_BOOL = {"true": True, "false": False, "TRUE": True, "FALSE": False}


# -- market data -----------------------------------------------------------------------------
def _ping(call: RestCall) -> Any:
    return {}


def _time(call: RestCall) -> Any:
    return {"serverTime": call.ctx.server_time_ms()}


def _exchange_info(call: RestCall) -> Any:
    core = call.ctx.core
    return {
        "timezone": "UTC",
        "serverTime": call.ctx.server_time_ms(),
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 2400,
            },
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
        ],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": [symbol_json(core.rules_for(s), core.start_ms) for s in core.symbols()],
    }


def _depth(call: RestCall) -> Any:
    symbol = symbol_param(call)
    limit = limit_param(call.params, 500, 1000)
    snap = call.ctx.core.depth(symbol, limit)
    now = call.ctx.server_time_ms()
    return {
        "lastUpdateId": snap.last_update_id,
        "E": now,
        "T": now,
        "bids": [[dec(p), dec(q)] for p, q in snap.bids],
        "asks": [[dec(p), dec(q)] for p, q in snap.asks],
    }


def _ticker_24h(call: RestCall) -> Any:
    core = call.ctx.core
    one = opt_str(call.params, "symbol")
    symbols = [symbol_param(call)] if one is not None else core.symbols()
    rows = []
    for s in symbols:
        row = ticker_24h_json(core.ticker_24h(s))
        for spot_only in ("bidPrice", "bidQty", "askPrice", "askQty", "prevClosePrice"):
            row.pop(spot_only, None)
        rows.append(row)
    return rows[0] if one is not None else rows


def _premium_json(call: RestCall, symbol: str) -> dict[str, Any]:
    m = call.ctx.core.mark_price(symbol)
    return {
        "symbol": symbol,
        "markPrice": dec(m.mark_price),
        "indexPrice": dec(m.index_price),
        "estimatedSettlePrice": dec(m.index_price),
        "lastFundingRate": dec(m.funding_rate),
        "interestRate": "0.00010000",
        "nextFundingTime": m.next_funding_ms,
        "time": m.time_ms,
    }


def _premium_index(call: RestCall) -> Any:
    if opt_str(call.params, "symbol") is not None:
        return _premium_json(call, symbol_param(call))
    return [_premium_json(call, s) for s in call.ctx.core.symbols()]


def _funding_rate(call: RestCall) -> Any:
    core = call.ctx.core
    p = call.params
    symbols = [symbol_param(call)] if opt_str(p, "symbol") is not None else core.symbols()
    start, end = opt_int(p, "startTime"), opt_int(p, "endTime")
    limit = limit_param(p, 100, 1000)
    rows: list[dict[str, Any]] = []
    for s in symbols:
        for t, rate, mark in core.funding_rates(s, 10_000):
            if (start is None or t >= start) and (end is None or t <= end):
                rows.append(
                    {
                        "symbol": s,
                        "fundingRate": dec(rate),
                        "fundingTime": t,
                        "markPrice": dec(mark),
                    }
                )
    rows.sort(key=lambda r: r["fundingTime"])
    return rows[:limit] if start is not None else rows[-limit:]


def _funding_info(call: RestCall) -> Any:
    return [
        {
            "symbol": s,
            "adjustedFundingRateCap": "0.02000000",
            "adjustedFundingRateFloor": "-0.02000000",
            "fundingIntervalHours": 8,
            "disclaimer": False,
        }
        for s in call.ctx.core.symbols()
    ]


# -- orders ------------------------------------------------------------------------------------
def _flag(call: RestCall, name: str) -> bool:
    raw = opt_str(call.params, name)
    if raw is None:
        return False
    value = _BOOL.get(raw)
    if value is None:
        raise illegal_chars(name, "true|false")
    return value


def _order_kwargs(call: RestCall, kind: str, algo: bool) -> dict[str, Any]:
    p = call.params
    tif_raw = opt_str(p, "timeInForce")
    order_type: OrderType = TYPE_IN[kind]
    tif = None
    if tif_raw == "GTX":
        if order_type is not OrderType.LIMIT:
            raise BinanceApiError(-1115, "Invalid timeInForce.")
        order_type = OrderType.LIMIT_MAKER
    elif tif_raw is not None and order_type not in (
        OrderType.MARKET,
        OrderType.STOP_LOSS,
        OrderType.TAKE_PROFIT,
    ):
        tif = parse_tif(tif_raw)
    ps_raw = opt_str(p, "positionSide") or "BOTH"
    ps = POSITION_SIDE_IN.get(ps_raw)
    if ps is None:
        raise BinanceApiError(-4006, "Invalid position side.")
    wt = WORKING_IN.get(opt_str(p, "workingType") or "CONTRACT_PRICE")
    if wt is None:
        raise BinanceApiError(-4032, "Invalid working type.")
    stop = opt_str(p, "triggerPrice" if algo else "stopPrice")
    close = _flag(call, "closePosition")
    return {
        "type": order_type,
        "quantity": opt_str(p, "quantity"),
        "price": opt_str(p, "price"),
        "stop_price": stop,
        "time_in_force": tif,
        "client_order_id": opt_str(p, "clientAlgoId" if algo else "newClientOrderId"),
        "reduce_only": _flag(call, "reduceOnly"),
        "close_position": close,
        "position_side": ps,
        "working_type": wt,
    }


def _count_order(call: RestCall, account_id: int) -> None:
    counts = call.limiter.count_order(account_id)
    call.headers["X-MBX-ORDER-COUNT-10S"] = str(counts.count_10s)
    rejection = call.ctx.faults.take_order_rejection()
    if rejection is not None:
        raise BinanceApiError(-2010, rejection)


def _ambiguous(call: RestCall) -> None:
    """After an accepted order, answer as if it failed when the fault plan says so."""
    kind = call.ctx.faults.take_ambiguous()
    if kind is not None:
        raise AmbiguousOutcome(kind)


def _place(call: RestCall) -> Any:
    account = call.require_account()
    symbol = symbol_param(call)
    side = parse_side(req_str(call.params, "side"))
    kind = req_str(call.params, "type")
    if kind in CONDITIONAL_TYPES:
        raise conditional_not_here()
    if kind not in TYPE_IN:
        raise BinanceApiError(-1116, "Invalid orderType.")
    kwargs = _order_kwargs(call, kind, algo=False)
    order_type = kwargs.pop("type")
    _count_order(call, account.account_id)
    order = call.ctx.core.place_order(account, symbol, side, order_type, **kwargs)
    _ambiguous(call)
    return order_json(order, call.ctx.core.rules_for(symbol))


def _place_algo(call: RestCall) -> Any:
    account = call.require_account()
    symbol = symbol_param(call)
    if req_str(call.params, "algoType") != "CONDITIONAL":
        raise BinanceApiError(-4500, "Invalid algoType.")
    side = parse_side(req_str(call.params, "side"))
    kind = req_str(call.params, "type")
    if kind not in CONDITIONAL_TYPES:
        raise BinanceApiError(-1116, "Invalid orderType.")
    kwargs = _order_kwargs(call, kind, algo=True)
    order_type = kwargs.pop("type")
    _count_order(call, account.account_id)
    order = call.ctx.core.place_order(account, symbol, side, order_type, **kwargs)
    _ambiguous(call)
    return algo_order_json(order, call.ctx.core.rules_for(symbol))


def _is_algo(order: Order) -> bool:
    return order.stop_price is not None


def _order_ref(call: RestCall, algo: bool) -> tuple[int | None, str | None]:
    id_name, cid_name = ("algoId", "clientAlgoId") if algo else ("orderId", "origClientOrderId")
    order_id = opt_int(call.params, id_name)
    client_id = opt_str(call.params, cid_name)
    if order_id is None and client_id is None:
        raise BinanceApiError(
            -1102, f"Param '{cid_name}' or '{id_name}' must be sent, but both were empty/null!"
        )
    return order_id, client_id


def _find_symbol(call: RestCall, order_id: int | None, client_id: str | None) -> str:
    """The symbol of an algo order (its endpoints take no symbol)."""
    account = call.require_account()
    core = call.ctx.core
    for s in core.symbols():
        try:
            core.get_order(account, s, order_id, client_id)
        except UnknownOrder:
            continue
        return s
    raise BinanceApiError(-2013, "Order does not exist.")


def _get_order(call: RestCall) -> Any:
    account = call.require_account()
    symbol = symbol_param(call)
    order_id, client_id = _order_ref(call, algo=False)
    order = call.ctx.core.get_order(account, symbol, order_id, client_id)
    return order_json(order, call.ctx.core.rules_for(symbol))


def _get_algo(call: RestCall) -> Any:
    account = call.require_account()
    order_id, client_id = _order_ref(call, algo=True)
    symbol = _find_symbol(call, order_id, client_id)
    order = call.ctx.core.get_order(account, symbol, order_id, client_id)
    return algo_order_json(order, call.ctx.core.rules_for(symbol))


def _cancel(call: RestCall) -> Any:
    account = call.require_account()
    symbol = symbol_param(call)
    order_id, client_id = _order_ref(call, algo=False)
    order = call.ctx.core.cancel_order(account, symbol, order_id, client_id)
    return order_json(order, call.ctx.core.rules_for(symbol))


def _modify(call: RestCall) -> Any:
    """``PUT /fapi/v1/order``: a resting limit order's new ``quantity`` and ``price``, amended
    in place (same ``orderId``; see the core's amend for the priority rules)."""
    account = call.require_account()
    symbol = symbol_param(call)
    order_id, client_id = _order_ref(call, algo=False)
    current = call.ctx.core.get_order(account, symbol, order_id, client_id)
    if parse_side(req_str(call.params, "side")) is not current.side:
        raise BinanceApiError(-1102, "Side does not match the order's side.")
    order = call.ctx.core.amend_order(
        account,
        symbol,
        current.order_id,
        quantity=req_str(call.params, "quantity"),
        price=req_str(call.params, "price"),
    )
    return order_json(order, call.ctx.core.rules_for(symbol))


def _cancel_algo(call: RestCall) -> Any:
    account = call.require_account()
    order_id, client_id = _order_ref(call, algo=True)
    try:
        symbol = _find_symbol(call, order_id, client_id)
    except BinanceApiError:
        raise unknown_order_cancel() from None
    order = call.ctx.core.cancel_order(account, symbol, order_id, client_id)
    return {
        "algoId": order.order_id,
        "clientAlgoId": order.client_order_id,
        "code": "200",
        "msg": "success",
    }


def _open_orders(call: RestCall, algo: bool) -> list[Order]:
    account = call.require_account()
    symbol = symbol_param(call) if opt_str(call.params, "symbol") is not None else None
    orders = call.ctx.core.open_orders(account, symbol)
    return [o for o in orders if _is_algo(o) == algo]


def _open_plain(call: RestCall) -> Any:
    core = call.ctx.core
    return [order_json(o, core.rules_for(o.symbol)) for o in _open_orders(call, algo=False)]


def _open_algo(call: RestCall) -> Any:
    core = call.ctx.core
    return [algo_order_json(o, core.rules_for(o.symbol)) for o in _open_orders(call, algo=True)]


def _open_one(call: RestCall) -> Any:
    return _get_order(call)


def _cancel_all(call: RestCall) -> Any:
    account = call.require_account()
    call.ctx.core.cancel_all(account, symbol_param(call))
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def _countdown_cancel_all(call: RestCall) -> Any:
    """The dead-man switch: cancel the symbol's open orders unless re-armed within
    ``countdownTime`` ms (0 disarms)."""
    account = call.require_account()
    symbol = symbol_param(call)
    countdown = req_int(call.params, "countdownTime")
    call.ctx.core.arm_cancel_countdown(account, symbol, countdown)
    return {"symbol": symbol, "countdownTime": str(countdown)}


def _all_orders(call: RestCall, algo: bool) -> list[Order]:
    account = call.require_account()
    symbol = symbol_param(call)
    p = call.params
    orders = call.ctx.core.all_orders(
        account,
        symbol,
        start_ms=opt_int(p, "startTime"),
        end_ms=opt_int(p, "endTime"),
        from_id=opt_int(p, "algoId" if algo else "orderId"),
        limit=limit_param(p, 500, 1000),
    )
    return [o for o in orders if _is_algo(o) == algo]


def _all_plain(call: RestCall) -> Any:
    rules = call.ctx.core.rules_for(symbol_param(call))
    return [order_json(o, rules) for o in _all_orders(call, algo=False)]


def _all_algo(call: RestCall) -> Any:
    rules = call.ctx.core.rules_for(symbol_param(call))
    return [algo_order_json(o, rules) for o in _all_orders(call, algo=True)]


def _user_trades(call: RestCall) -> Any:
    account = call.require_account()
    symbol = symbol_param(call)
    p = call.params
    fills = call.ctx.core.my_trades(
        account,
        symbol,
        start_ms=opt_int(p, "startTime"),
        end_ms=opt_int(p, "endTime"),
        from_id=opt_int(p, "fromId"),
        limit=limit_param(p, 500, 1000),
        order_id=opt_int(p, "orderId"),
    )
    return [user_trade_json(f, None) for f in fills]


# -- positions, account, settings ----------------------------------------------------------
def _positions(call: RestCall, version: int) -> Any:
    account = call.require_account()
    core = call.ctx.core
    symbol = symbol_param(call) if opt_str(call.params, "symbol") is not None else None
    views = core.positions(account, symbol)
    out = [position_json(v, core.rules_for(v.symbol), version=version) for v in views]
    if version == 2:  # v2 lists every symbol, flat ones with zeros
        held = {v.symbol for v in views}
        for s in [symbol] if symbol is not None else core.symbols():
            if s not in held:
                settings = core.contract_settings(account, s)
                out.append(position_json_flat(s, settings.leverage, settings.margin_mode))
    return out


def position_json_flat(symbol: str, leverage: int, mode: MarginMode) -> dict[str, Any]:
    """A flat one-way position row (positionRisk v2 lists them)."""
    return {
        "symbol": symbol,
        "positionAmt": "0.000",
        "entryPrice": "0.0",
        "breakEvenPrice": "0.0",
        "markPrice": "0.00000000",
        "unRealizedProfit": "0.00000000",
        "liquidationPrice": "0",
        "leverage": str(leverage),
        "maxNotionalValue": "0",
        "marginType": "isolated" if mode is MarginMode.ISOLATED else "cross",
        "isolatedMargin": "0.00000000",
        "isAutoAddMargin": "false",
        "positionSide": "BOTH",
        "notional": "0",
        "isolatedWallet": "0",
        "updateTime": 0,
    }


def _summaries(call: RestCall) -> list[Any]:
    account = call.require_account()
    core = call.ctx.core
    assets = sorted({core.ledger.settle_asset(s) for s in core.symbols()} or {"USDT"})
    return [core.margin_summary(account, a) for a in assets]


def _account(call: RestCall) -> Any:
    account = call.require_account()
    return account_json(
        _summaries(call), call.ctx.core.positions(account), call.ctx.server_time_ms()
    )


def _balance(call: RestCall) -> Any:
    now = call.ctx.server_time_ms()
    rows = []
    for s in _summaries(call):
        row = balance_rows(s, now)
        rows.append(
            {
                "accountAlias": "SgsR",
                "asset": s.asset,
                "balance": row["walletBalance"],
                "crossWalletBalance": row["crossWalletBalance"],
                "crossUnPnl": row["crossUnPnl"],
                "availableBalance": row["availableBalance"],
                "maxWithdrawAmount": row["maxWithdrawAmount"],
                "marginAvailable": True,
                "updateTime": now,
            }
        )
    return rows


def _leverage(call: RestCall) -> Any:
    account = call.require_account()
    symbol = symbol_param(call)
    leverage = opt_int(call.params, "leverage")
    if leverage is None:
        raise BinanceApiError(
            -1102, "Mandatory parameter 'leverage' was not sent, was empty/null, or malformed."
        )
    core = call.ctx.core
    settings = core.set_leverage(account, symbol, leverage)
    cap = core.ledger.brackets(symbol).max_notional(settings.leverage)
    return {"leverage": settings.leverage, "maxNotionalValue": dec(cap, 0), "symbol": symbol}


def _margin_type(call: RestCall) -> Any:
    account = call.require_account()
    symbol = symbol_param(call)
    raw = req_str(call.params, "marginType").upper()
    modes = {
        "ISOLATED": MarginMode.ISOLATED,
        "CROSSED": MarginMode.CROSS,
        "CROSS": MarginMode.CROSS,
    }
    mode = modes.get(raw)
    if mode is None:
        raise BinanceApiError(-4044, "The margin type is not valid.")
    core = call.ctx.core
    if core.contract_settings(account, symbol).margin_mode is mode:
        raise no_need_to_change("margin")
    core.set_margin_mode(account, symbol, mode)
    return {"code": 200, "msg": "success"}


def _dual_get(call: RestCall) -> Any:
    account = call.require_account()
    core = call.ctx.core
    symbols = core.symbols()
    hedge = bool(symbols) and (
        core.contract_settings(account, symbols[0]).position_mode is PositionMode.HEDGE
    )
    return {"dualSidePosition": hedge}


def _dual_set(call: RestCall) -> Any:
    account = call.require_account()
    raw = req_str(call.params, "dualSidePosition")
    if raw not in _BOOL:
        raise illegal_chars("dualSidePosition", "true|false")
    mode = PositionMode.HEDGE if _BOOL[raw] else PositionMode.ONE_WAY
    core = call.ctx.core
    if _dual_get(call)["dualSidePosition"] == _BOOL[raw]:
        raise no_need_to_change("position")
    for s in core.symbols():
        core.set_position_mode(account, s, mode)
    return {"code": 200, "msg": "success"}


def _position_margin(call: RestCall) -> Any:
    account = call.require_account()
    symbol = symbol_param(call)
    amount = Decimal(req_str(call.params, "amount"))
    kind = req_str(call.params, "type")
    if kind not in ("1", "2"):
        raise illegal_chars("type", "1|2")
    ps = POSITION_SIDE_IN.get(opt_str(call.params, "positionSide") or "BOTH", PositionSide.BOTH)
    call.ctx.core.adjust_isolated_margin(account, symbol, amount if kind == "1" else -amount, ps)
    return {
        "amount": float(amount),
        "code": 200,
        "msg": "Successfully modify position margin.",
        "type": int(kind),
    }


def _leverage_bracket(call: RestCall) -> Any:
    core = call.ctx.core
    symbols = [symbol_param(call)] if opt_str(call.params, "symbol") is not None else core.symbols()
    out = []
    for s in symbols:
        floor = Decimal(0)
        rows = []
        for i, b in enumerate(core.ledger.brackets(s).brackets, start=1):
            rows.append(
                {
                    "bracket": i,
                    "initialLeverage": b.max_leverage,
                    "notionalCap": int(b.cap),
                    "notionalFloor": int(floor),
                    "maintMarginRatio": float(b.mmr),
                    "cum": float(b.cum),
                }
            )
            floor = b.cap
        out.append({"symbol": s, "brackets": rows})
    return out


def _commission_rate(call: RestCall) -> Any:
    account = call.require_account()
    return {
        "symbol": symbol_param(call),
        "makerCommissionRate": dec(account.maker_fee, 6),
        "takerCommissionRate": dec(account.taker_fee, 6),
    }


def _multi_assets(call: RestCall) -> Any:
    call.require_account()
    return {"multiAssetsMargin": False}


# -- listen key ---------------------------------------------------------------------------------
class ListenKeyBook:
    """The face's listen keys: one per account (a second POST returns the same key, as on
    Binance), looked up by the user-data websocket."""

    def __init__(self) -> None:
        """Start with no key."""
        self._by_account: dict[int, str] = {}
        self._by_key: dict[str, int] = {}

    def key_for(self, account_id: int) -> str:
        """The account's key, made on first use."""
        key = self._by_account.get(account_id)
        if key is None:
            key = secrets.token_urlsafe(48)[:64]
            self._by_account[account_id] = key
            self._by_key[key] = account_id
        return key

    def account_of(self, key: str) -> int | None:
        """The account id a key belongs to (None: unknown or closed)."""
        return self._by_key.get(key)

    def close(self, account_id: int) -> None:
        """Close the account's key."""
        key = self._by_account.pop(account_id, None)
        if key is not None:
            self._by_key.pop(key, None)


def _listen_key_routes(book: ListenKeyBook) -> tuple[Route, ...]:
    def create(call: RestCall) -> Any:
        return {"listenKey": book.key_for(call.require_account().account_id)}

    def keepalive(call: RestCall) -> Any:
        aid = call.require_account().account_id
        if book.account_of(book.key_for(aid)) is None:  # pragma: no cover - key_for makes one
            raise BinanceApiError(-1125, "This listenKey does not exist.")
        return {"listenKey": book.key_for(aid)}

    def close(call: RestCall) -> Any:
        book.close(call.require_account().account_id)
        return {}

    return (
        _route("POST", "/fapi/v1/listenKey", create, "API_KEY"),
        _route("PUT", "/fapi/v1/listenKey", keepalive, "API_KEY"),
        _route("DELETE", "/fapi/v1/listenKey", close, "API_KEY"),
    )


def _route(
    method: str, path: str, handler: Any, security: str = "NONE", query: bool = False
) -> Route:
    return Route(method, path, handler, security, query)  # type: ignore[arg-type]


FAPI_ROUTES: tuple[Route, ...] = (
    _route("GET", "/fapi/v1/ping", _ping),
    _route("GET", "/fapi/v1/time", _time),
    _route("GET", "/fapi/v1/exchangeInfo", _exchange_info),
    _route("GET", "/fapi/v1/depth", _depth),
    _route("GET", "/fapi/v1/trades", _SPOT["/api/v3/trades"]),
    _route("GET", "/fapi/v1/aggTrades", _SPOT["/api/v3/aggTrades"]),
    _route("GET", "/fapi/v1/klines", _SPOT["/api/v3/klines"]),
    _route("GET", "/fapi/v1/markPriceKlines", _SPOT["/api/v3/klines"]),
    _route("GET", "/fapi/v1/indexPriceKlines", _SPOT["/api/v3/klines"]),
    _route("GET", "/fapi/v1/ticker/24hr", _ticker_24h),
    _route("GET", "/fapi/v1/ticker/price", _SPOT["/api/v3/ticker/price"]),
    _route("GET", "/fapi/v2/ticker/price", _SPOT["/api/v3/ticker/price"]),
    _route("GET", "/fapi/v1/ticker/bookTicker", _SPOT["/api/v3/ticker/bookTicker"]),
    _route("GET", "/fapi/v1/premiumIndex", _premium_index),
    _route("GET", "/fapi/v1/fundingRate", _funding_rate),
    _route("GET", "/fapi/v1/fundingInfo", _funding_info),
    _route("POST", "/fapi/v1/order", _place, "SIGNED"),
    _route("GET", "/fapi/v1/order", _get_order, "SIGNED", query=True),
    _route("PUT", "/fapi/v1/order", _modify, "SIGNED"),
    _route("DELETE", "/fapi/v1/order", _cancel, "SIGNED"),
    _route("GET", "/fapi/v1/openOrder", _open_one, "SIGNED", query=True),
    _route("GET", "/fapi/v1/openOrders", _open_plain, "SIGNED"),
    _route("DELETE", "/fapi/v1/allOpenOrders", _cancel_all, "SIGNED"),
    _route("POST", "/fapi/v1/countdownCancelAll", _countdown_cancel_all, "SIGNED"),
    _route("GET", "/fapi/v1/allOrders", _all_plain, "SIGNED"),
    _route("POST", "/fapi/v1/algoOrder", _place_algo, "SIGNED"),
    _route("GET", "/fapi/v1/algoOrder", _get_algo, "SIGNED", query=True),
    _route("DELETE", "/fapi/v1/algoOrder", _cancel_algo, "SIGNED"),
    _route("GET", "/fapi/v1/openAlgoOrders", _open_algo, "SIGNED"),
    _route("GET", "/fapi/v1/allAlgoOrders", _all_algo, "SIGNED"),
    _route("GET", "/fapi/v1/userTrades", _user_trades, "SIGNED"),
    _route("GET", "/fapi/v2/positionRisk", lambda c: _positions(c, 2), "SIGNED"),
    _route("GET", "/fapi/v3/positionRisk", lambda c: _positions(c, 3), "SIGNED"),
    _route("GET", "/fapi/v2/account", _account, "SIGNED"),
    _route("GET", "/fapi/v3/account", _account, "SIGNED"),
    _route("GET", "/fapi/v2/balance", _balance, "SIGNED"),
    _route("GET", "/fapi/v3/balance", _balance, "SIGNED"),
    _route("POST", "/fapi/v1/leverage", _leverage, "SIGNED"),
    _route("POST", "/fapi/v1/marginType", _margin_type, "SIGNED"),
    _route("GET", "/fapi/v1/positionSide/dual", _dual_get, "SIGNED"),
    _route("POST", "/fapi/v1/positionSide/dual", _dual_set, "SIGNED"),
    _route("POST", "/fapi/v1/positionMargin", _position_margin, "SIGNED"),
    _route("GET", "/fapi/v1/leverageBracket", _leverage_bracket, "SIGNED"),
    _route("GET", "/fapi/v1/commissionRate", _commission_rate, "SIGNED"),
    _route("GET", "/fapi/v1/multiAssetsMargin", _multi_assets, "SIGNED"),
)
"""The ``/fapi`` routes of every face (listen keys are per face: :func:`fapi_routes`)."""


def fapi_routes(book: ListenKeyBook) -> tuple[Route, ...]:
    """Every ``/fapi`` route a face serves, with its listen keys in ``book``."""
    return FAPI_ROUTES + _listen_key_routes(book)
