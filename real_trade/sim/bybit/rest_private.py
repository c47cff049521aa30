"""Bybit v5's signed REST routes: orders, executions, wallet, positions, leverage, UTA probes.

The account is a unified trading account (``uta: 1``, ``unifiedMarginStatus: 6``), so ccxt's
probes take the UTA paths. Orders: ``orderLinkId`` is the core's client order id; a spot market
Buy counts ``qty`` in the quote coin unless ``marketUnit=baseCoin`` (Bybit's rule); a
``triggerPrice`` makes a stop or take-profit by its side of the last price. Amending changes the
order in place in the core (same ``orderId`` and ``orderLinkId``, as on Bybit; a smaller
``qty`` keeps the queue place, a new price loses it).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from real_trade.sim.accounts import Account, unified_balances, wallet_balances
from real_trade.sim.bybit.errors import BybitApiError
from real_trade.sim.bybit.format import coin_row, execution_row, num, order_row, position_row
from real_trade.sim.bybit.rest import Call, Route, cursor_page
from real_trade.sim.bybit.rest_public import check_symbol, symbols_in
from real_trade.sim.bybit.vocab import SIDE_IN
from real_trade.sim.errors import SimError
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.fault_dispatch import AmbiguousOutcome
from real_trade.sim.plumbing.queries import fills_with_orders
from real_trade.sim.types import Order, OrderStatus, OrderType, PositionSide, Side, TimeInForce

__all__ = ["PRIVATE_ROUTES", "unified_wallets", "wallet_list"]

_OPEN = (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)
_POSITION_IDX = {0: PositionSide.BOTH, 1: PositionSide.LONG, 2: PositionSide.SHORT}


def _bool(call: Call, name: str) -> bool:
    value = call.params.get(name)
    return value is True or str(value).lower() == "true"


def _order_type(call: Call, side: Side, symbol: str) -> tuple[OrderType, TimeInForce | None]:
    kind = call.need("orderType")
    tif_raw = call.str_param("timeInForce", "GTC")
    trigger = call.decimal_param("triggerPrice")
    if kind not in ("Limit", "Market"):
        raise BybitApiError(10001, "params error: orderType invalid")
    if tif_raw not in ("GTC", "IOC", "FOK", "PostOnly"):
        raise BybitApiError(10001, "params error: timeInForce invalid")
    if trigger is not None:
        last = call.ctx.core.last_price(symbol) or trigger
        rising = trigger > last
        stop = rising if side is Side.BUY else not rising
        if kind == "Market":
            return (OrderType.STOP_LOSS if stop else OrderType.TAKE_PROFIT), None
        limit_type = OrderType.STOP_LOSS_LIMIT if stop else OrderType.TAKE_PROFIT_LIMIT
        return limit_type, TimeInForce.GTC
    if kind == "Market":
        return OrderType.MARKET, None
    if tif_raw == "PostOnly":
        return OrderType.LIMIT_MAKER, None
    return OrderType.LIMIT, TimeInForce(str(tif_raw).lower())


def _place(call: Call, *, client_id: str | None = None) -> Order:
    symbol, category = check_symbol(call)
    side = SIDE_IN.get(call.need("side"))
    if side is None:
        raise BybitApiError(10001, "params error: side invalid")
    order_type, tif = _order_type(call, side, symbol)
    qty = call.decimal_param("qty")
    if qty is None:
        raise BybitApiError(10001, "params error: qty is required")
    quantity: Decimal | None = qty
    quote_qty: Decimal | None = None
    if category == "spot" and order_type is OrderType.MARKET:
        unit = call.str_param("marketUnit")
        if unit == "quoteCoin" or (unit is None and side is Side.BUY):
            quantity, quote_qty = None, qty
    price = call.decimal_param("price") if order_type is not OrderType.MARKET else None
    if order_type in (OrderType.STOP_LOSS, OrderType.TAKE_PROFIT):
        price = None
    link = client_id if client_id is not None else call.str_param("orderLinkId")
    rejection = call.ctx.faults.take_order_rejection()
    if rejection is not None:
        raise BybitApiError(170130 if category == "spot" else 110003, rejection)
    call.limiter.count_order(call.user.account_id)
    ambiguous = call.ctx.faults.take_ambiguous()
    linear = category == "linear"
    order = call.ctx.core.place_order(
        call.user,
        symbol,
        side,
        order_type,
        quantity=quantity,
        quote_order_qty=quote_qty,
        price=price,
        stop_price=call.decimal_param("triggerPrice"),
        time_in_force=tif,
        client_order_id=link,
        reduce_only=linear and _bool(call, "reduceOnly"),
        position_side=_POSITION_IDX.get(call.int_param("positionIdx", 0), PositionSide.BOTH)
        if linear
        else PositionSide.BOTH,
    )
    if ambiguous is not None:
        raise AmbiguousOutcome(ambiguous)
    return order


def _create(call: Call) -> dict[str, Any]:
    order = _place(call)
    return {"orderId": str(order.order_id), "orderLinkId": order.client_order_id}


def _ids(call: Call) -> tuple[int | None, str | None]:
    raw_id = call.str_param("orderId")
    link = call.str_param("orderLinkId")
    if raw_id is None and link is None:
        raise BybitApiError(10001, "params error: orderId or orderLinkId is required")
    order_id = None
    if raw_id is not None:
        try:
            order_id = int(raw_id)
        except ValueError:
            order_id = -1
    return order_id, link


def _cancel(call: Call) -> dict[str, Any]:
    symbol, _ = check_symbol(call)
    order_id, link = _ids(call)
    order = call.ctx.core.cancel_order(call.user, symbol, order_id, None if order_id else link)
    return {"orderId": str(order.order_id), "orderLinkId": order.client_order_id}


def _cancel_all(call: Call) -> dict[str, Any]:
    category = call.need("category")
    names = (
        [check_symbol(call)[0]] if call.str_param("symbol") else symbols_in(call.ctx.core, category)
    )
    rows = []
    for s in names:
        for o in call.ctx.core.cancel_all(call.user, s):
            rows.append({"orderId": str(o.order_id), "orderLinkId": o.client_order_id})
    return {"list": rows, "success": "1"}


def _amend(call: Call) -> dict[str, Any]:
    symbol, category = check_symbol(call)
    order_id, link = _ids(call)
    new_qty = call.decimal_param("qty")
    new_price = call.decimal_param("price")
    new_trigger = call.decimal_param("triggerPrice")
    if new_qty is None and new_price is None and new_trigger is None:
        raise BybitApiError(10001, "params error: nothing to amend")
    core = call.ctx.core
    old = core.get_order(call.user, symbol, order_id, None if order_id else link)
    if old.status not in _OPEN:
        raise BybitApiError(170213 if category == "spot" else 110001, "Order does not exist.")
    amended = core.amend_order(
        call.user, symbol, old.order_id, quantity=new_qty, price=new_price, stop_price=new_trigger
    )
    return {"orderId": str(amended.order_id), "orderLinkId": amended.client_order_id}


def _orders_in(call: Call, category: str) -> list[Order]:
    core = call.ctx.core
    names = (
        [check_symbol(call, category)[0]]
        if call.str_param("symbol")
        else symbols_in(core, category)
    )
    out: list[Order] = []
    for s in names:
        out.extend(core.all_orders(call.user, s, limit=1000))
    return out


def _by_id(call: Call, category: str) -> list[Order]:
    order_id, link = _ids(call)
    found = [
        o
        for o in _orders_in(call, category)
        if (order_id is not None and o.order_id == order_id)
        or (order_id is None and o.client_order_id == link)
    ]
    return found


def _realtime(call: Call) -> dict[str, Any]:
    category = call.need("category")
    if call.str_param("orderId") or call.str_param("orderLinkId"):
        orders = _by_id(call, category)
    else:
        orders = [o for o in _orders_in(call, category) if o.status in _OPEN]
    orders.sort(key=lambda o: (o.time_ms, o.order_id), reverse=True)
    rows, cursor = cursor_page([order_row(o, category) for o in orders], call, 20, 50)
    return {"category": category, "list": rows, "nextPageCursor": cursor}


def _history(call: Call) -> dict[str, Any]:
    category = call.need("category")
    if call.str_param("orderId") or call.str_param("orderLinkId"):
        orders = _by_id(call, category)
    else:
        orders = [o for o in _orders_in(call, category) if o.status not in _OPEN]
    start, end = call.str_param("startTime"), call.str_param("endTime")
    if start is not None:
        orders = [o for o in orders if o.time_ms >= int(start)]
    if end is not None:
        orders = [o for o in orders if o.time_ms <= int(end)]
    rows_all = [order_row(o, category) for o in orders]
    status = call.str_param("orderStatus")
    if status is not None:
        rows_all = [r for r in rows_all if r["orderStatus"] == status]
    rows_all.sort(key=lambda r: (int(r["createdTime"]), int(r["orderId"])), reverse=True)
    rows, cursor = cursor_page(rows_all, call, 20, 50)
    return {"category": category, "list": rows, "nextPageCursor": cursor}


def _executions(call: Call) -> dict[str, Any]:
    category = call.need("category")
    core = call.ctx.core
    names = (
        [check_symbol(call, category)[0]]
        if call.str_param("symbol")
        else symbols_in(core, category)
    )
    raw_id = call.str_param("orderId")
    start, end = call.str_param("startTime"), call.str_param("endTime")
    rows_all: list[dict[str, Any]] = []
    for s in names:
        for f, o in fills_with_orders(core, call.user, s, start, end, raw_id):
            rate = call.user.maker_fee if f.is_maker else call.user.taker_fee
            rows_all.append(execution_row(f, o, category, rate))
    rows_all.sort(key=lambda r: (int(r["execTime"]), int(r["execId"])), reverse=True)
    rows, cursor = cursor_page(rows_all, call, 50, 100)
    return {"category": category, "list": rows, "nextPageCursor": cursor}


def unified_wallets(
    contexts: Mapping[str, FaceContext], user: Account
) -> list[tuple[dict[str, tuple[Decimal, Decimal]], dict[str, Decimal]]]:
    """``(balances, opening)`` of ``user``'s wallet in each core (found by its key)."""
    wallets = []
    for ctx in contexts.values():
        acct = ctx.core.account_by_key(user.api_key)
        if acct is not None:
            wallets.append((wallet_balances(ctx.core, acct), acct.opening))
    return wallets


def wallet_list(call: Call, coins: set[str] | None = None) -> list[dict[str, Any]]:
    """The ``list`` of ``wallet-balance`` (one UNIFIED account: the spot and linear cores'
    wallets as one, :func:`~real_trade.sim.accounts.unified_balances`) for the caller."""
    balances = unified_balances(unified_wallets(call.contexts or {"spot": call.ctx}, call.user))
    rows = [
        coin_row(asset, free, locked)
        for asset, (free, locked) in sorted(balances.items())
        if coins is None or asset in coins
    ]
    total = sum((free + locked for free, locked in balances.values()), Decimal(0))
    return [
        {
            "accountType": "UNIFIED",
            "accountIMRate": "0",
            "accountMMRate": "0",
            "totalEquity": num(total),
            "totalWalletBalance": num(total),
            "totalMarginBalance": num(total),
            "totalAvailableBalance": num(total),
            "totalPerpUPL": "0",
            "totalInitialMargin": "0",
            "totalMaintenanceMargin": "0",
            "coin": rows,
        }
    ]


def _wallet(call: Call) -> dict[str, Any]:
    kind = call.need("accountType")
    if kind != "UNIFIED":
        raise BybitApiError(10001, "accountType only support UNIFIED.")
    raw = call.str_param("coin")
    coins = set(raw.split(",")) if raw else None
    return {"list": wallet_list(call, coins)}


def _query_api(call: Call) -> dict[str, Any]:
    user = call.user
    return {
        "id": str(user.account_id),
        "note": "simulator",
        "apiKey": user.api_key,
        "readOnly": 0,
        "secret": "",
        "permissions": {
            "ContractTrade": ["Order", "Position"],
            "Spot": ["SpotTrade"],
            "Wallet": ["AccountTransfer", "SubMemberTransferList"],
            "Options": [],
            "Derivatives": [],
            "CopyTrading": [],
            "BlockTrade": [],
            "Exchange": [],
            "NFT": [],
            "Affiliate": [],
        },
        "ips": ["*"],
        "type": 1,
        "deadlineDay": -1,
        "expiredAt": "",
        "createdAt": "",
        "unified": 0,
        "uta": 1,
        "userID": user.account_id,
        "inviterID": 0,
        "vipLevel": "No VIP",
        "mktMakerLevel": "0",
        "affiliateID": 0,
        "rsaPublicKey": "",
        "isMaster": True,
    }


def _account_info(call: Call) -> dict[str, Any]:
    return {
        "unifiedMarginStatus": 6,
        "marginMode": "REGULAR_MARGIN",
        "isMasterTrader": False,
        "spotHedgingStatus": "OFF",
        "updatedTime": str(call.ctx.server_time_ms()),
        "dcpStatus": "OFF",
        "timeWindow": 10,
        "smpGroup": 0,
    }


def _positions(call: Call) -> dict[str, Any]:
    category = call.need("category")
    core = call.ctx.core
    if category != "linear":
        return {"category": category, "list": [], "nextPageCursor": ""}
    symbol = check_symbol(call, category)[0] if call.str_param("symbol") else None
    rows = [position_row(p) for p in core.positions(call.user, symbol)]
    return {"category": category, "list": rows, "nextPageCursor": ""}


def _set_leverage(call: Call) -> dict[str, Any]:
    symbol, category = check_symbol(call)
    if category != "linear":
        raise BybitApiError(10001, "params error: category only support linear or inverse")
    buy, sell = call.need("buyLeverage"), call.need("sellLeverage")
    if buy != sell:
        raise BybitApiError(10001, "params error: buy leverage must equal sell leverage")
    try:
        lev = int(Decimal(buy))
    except InvalidOperation:
        raise BybitApiError(10001, "params error: leverage invalid") from None
    if call.ctx.core.contract_settings(call.user, symbol).leverage == lev:
        raise BybitApiError(110043, "leverage not modified")
    call.ctx.core.set_leverage(call.user, symbol, lev)
    return {}


_MARGIN_MODES = {"ISOLATED_MARGIN": "isolated", "REGULAR_MARGIN": "cross"}


def _set_margin_mode(call: Call) -> dict[str, Any]:
    """The unified account's margin mode (account-wide: every linear contract; refused while
    any has a position or an open order, as Bybit refuses the switch)."""
    mode = _MARGIN_MODES.get(call.need("setMarginMode"))
    if mode is None:
        raise BybitApiError(10001, "params error: setMarginMode invalid")
    linear = call.contexts.get("linear")
    if linear is None:
        return {"reasons": []}
    core = linear.core
    account = core.account_by_key(call.user.api_key)
    if account is None:
        return {"reasons": []}
    try:
        for symbol in core.symbols():
            core.set_margin_mode(account, symbol, mode)
    except SimError as err:
        raise BybitApiError(3400045, f"Set margin mode failed: {symbol}: {err}") from None
    return {"reasons": []}


_DCP_PRODUCTS = {"DERIVATIVES": "linear", "SPOT": "spot", "OPTIONS": None}


def _dcp(call: Call) -> dict[str, Any]:
    """Disconnect protection (DCP): ``timeWindow`` seconds (3..300) kept per ``product``; the
    private websocket arms it when a connection subscribed to ``dcp`` drops (see ``ws.py``)."""
    product = call.str_param("product") or "OPTIONS"
    if product not in _DCP_PRODUCTS:
        raise BybitApiError(10001, "params error: product invalid")
    raw = call.need("timeWindow")
    if not raw.isdigit() or not 3 <= int(raw) <= 300:
        raise BybitApiError(10001, "params error: timeWindow invalid")
    category = _DCP_PRODUCTS[product]
    if category is None:
        return {}
    # the product's core: linear perpetuals live in the futures core when the face has one
    ctx = call.contexts.get(category) or call.contexts.get("spot") or call.ctx
    core = ctx.core
    account = core.account_by_key(call.user.api_key)
    if account is None:
        return {}
    for symbol in symbols_in(core, category):
        core.countdowns.set_standby(account.account_id, symbol, int(raw) * 1000)
    return {}


PRIVATE_ROUTES: tuple[Route, ...] = (
    Route("POST", "/v5/order/create", _create, private=True),
    Route("POST", "/v5/order/cancel", _cancel, private=True),
    Route("POST", "/v5/order/cancel-all", _cancel_all, private=True),
    Route("POST", "/v5/order/amend", _amend, private=True),
    Route("GET", "/v5/order/realtime", _realtime, private=True),
    Route("GET", "/v5/order/history", _history, private=True),
    Route("GET", "/v5/execution/list", _executions, private=True),
    Route("GET", "/v5/account/wallet-balance", _wallet, private=True),
    Route("GET", "/v5/user/query-api", _query_api, private=True),
    Route("GET", "/v5/account/info", _account_info, private=True),
    Route("GET", "/v5/position/list", _positions, private=True),
    Route("POST", "/v5/position/set-leverage", _set_leverage, private=True),
    Route("POST", "/v5/account/set-margin-mode", _set_margin_mode, private=True),
    Route("POST", "/v5/order/disconnected-cancel-all", _dcp, private=True),
)
"""The signed routes."""
