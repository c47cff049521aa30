"""OKX v5's signed REST routes: orders (single and batch), fills, balance, positions, leverage,
and the dead-man switch (``cancel-all-after``).

Orders: ``sz`` is base units on SPOT (or quote units for a market order with
``tgtCcy=quote_ccy``, OKX's default for a spot market buy) and contracts on SWAP. ``ordType``
``limit``/``post_only``/``ioc``/``fok``/``market``/``optimal_limit_ioc`` map onto the core's
types. A refused order is answered with its ``sCode`` under envelope code ``"1"`` (all refused)
or ``"2"`` (some of a batch). ``amend-order`` changes an order in place in the core (same
``ordId``; ``newSz`` is the new total). The balance is one unified view: each currency's spot and
perpetual wallets summed, the funding both were opened with counted once.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from real_trade.sim.accounts import unified_balances, wallet_balances
from real_trade.sim.errors import Reason, SimError
from real_trade.sim.okx.errors import OkxApiError, OrderRefused, from_sim_error
from real_trade.sim.okx.format import detail_row, fill_row, order_row, position_row
from real_trade.sim.okx.markets import Instrument
from real_trade.sim.okx.rest import Call, Envelope, Route
from real_trade.sim.plumbing.fault_dispatch import AmbiguousOutcome
from real_trade.sim.plumbing.queries import fills_with_orders
from real_trade.sim.types import Order, OrderStatus, OrderType, Side, TimeInForce

__all__ = ["PRIVATE_ROUTES", "balance_details"]

_OPEN = (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)
_TYPES: dict[str, tuple[OrderType, TimeInForce | None]] = {
    "limit": (OrderType.LIMIT, TimeInForce.GTC),
    "post_only": (OrderType.LIMIT_MAKER, None),
    "ioc": (OrderType.LIMIT, TimeInForce.IOC),
    "fok": (OrderType.LIMIT, TimeInForce.FOK),
    "market": (OrderType.MARKET, None),
    "optimal_limit_ioc": (OrderType.MARKET, None),
}


def _place(call: Call) -> tuple[Order, Instrument]:
    inst = call.markets.get(call.need("instId"))
    side_raw = call.need("side")
    if side_raw not in ("buy", "sell"):
        raise OkxApiError(51000, "Parameter side error")
    side = Side.BUY if side_raw == "buy" else Side.SELL
    kind = _TYPES.get(call.need("ordType"))
    if kind is None:
        raise OkxApiError(51000, "Parameter ordType error")
    order_type, tif = kind
    sz = call.decimal_param("sz")
    if sz is None:
        raise OkxApiError(50014, "Parameter sz can not be empty")
    quantity: Decimal | None = inst.qty(sz)
    quote_qty: Decimal | None = None
    if not inst.swap and order_type is OrderType.MARKET:
        tgt = call.str_param("tgtCcy") or ("quote_ccy" if side is Side.BUY else "base_ccy")
        if tgt == "quote_ccy":
            quantity, quote_qty = None, sz
    price = call.decimal_param("px") if order_type is not OrderType.MARKET else None
    faults = inst.ctx.faults
    rejection = faults.take_order_rejection()
    if rejection is not None:
        raise OrderRefused("51000", rejection, call.str_param("clOrdId") or "")
    account = call.account(inst)
    call.limiter.count_order(account.account_id)
    ambiguous = faults.take_ambiguous()
    reduce_only = call.str_param("reduceOnly") == "true"
    order = inst.core.place_order(
        account,
        inst.symbol,
        side,
        order_type,
        quantity=quantity,
        quote_order_qty=quote_qty,
        price=price,
        time_in_force=tif,
        client_order_id=call.str_param("clOrdId"),
        reduce_only=inst.swap and reduce_only,
    )
    if ambiguous is not None:
        raise AmbiguousOutcome(ambiguous)
    return order, inst


def _placed_row(call: Call) -> dict[str, Any]:
    cl = call.str_param("clOrdId") or ""
    tag = call.str_param("tag") or ""
    try:
        order, _ = _place(call)
    except SimError as err:
        code, msg = from_sim_error(err)
        return {"ordId": "", "clOrdId": cl, "tag": tag, "ts": "", "sCode": code, "sMsg": msg}
    except OrderRefused as err:
        return {
            "ordId": "",
            "clOrdId": cl,
            "tag": tag,
            "ts": "",
            "sCode": err.s_code,
            "sMsg": err.s_msg,
        }
    except OkxApiError as err:
        return {
            "ordId": "",
            "clOrdId": cl,
            "tag": tag,
            "ts": "",
            "sCode": err.code,
            "sMsg": err.msg,
        }
    ts = str(order.time_ms)
    return {
        "ordId": str(order.order_id),
        "clOrdId": order.client_order_id or "",
        "tag": tag,
        "ts": ts,
        "sCode": "0",
        "sMsg": "Order placed",
    }


def _batch_outcome(rows: list[dict[str, Any]]) -> Envelope:
    failed = sum(1 for r in rows if r["sCode"] != "0")
    if failed == 0:
        return Envelope(rows)
    if failed == len(rows):
        return Envelope(rows, "1", "All operations failed")
    return Envelope(rows, "2", "Bulk operation partially succeeded")


def _order(call: Call) -> Envelope:
    return _batch_outcome([_placed_row(call)])


def _batch_orders(call: Call) -> Envelope:
    items = call.body_list if call.body_list is not None else [call.params]
    if not items or len(items) > 20:
        raise OkxApiError(51000, "Parameter batch size error")
    return _batch_outcome([_placed_row(call.with_params(dict(i))) for i in items])


def _ids(call: Call) -> tuple[int | None, str | None]:
    raw = call.str_param("ordId")
    cl = call.str_param("clOrdId")
    if raw is None and cl is None:
        raise OkxApiError(50014, "Parameter ordId can not be empty")
    if raw is None:
        return None, cl
    try:
        return int(raw), None
    except ValueError:
        return -1, None


def _cancel_row(call: Call) -> dict[str, Any]:
    cl = call.str_param("clOrdId") or ""
    try:
        inst = call.markets.get(call.need("instId"))
        order_id, client_id = _ids(call)
        order = inst.core.cancel_order(call.account(inst), inst.symbol, order_id, client_id)
    except (SimError, OkxApiError) as err:
        if isinstance(err, SimError) and err.reason is not Reason.UNKNOWN_ORDER:
            code, msg = from_sim_error(err)
        else:
            code = "51400"
            msg = (
                "Order cancellation failed as the order has been filled, canceled or does "
                "not exist."
            )
        return {"ordId": call.str_param("ordId") or "", "clOrdId": cl, "sCode": code, "sMsg": msg}
    return {
        "ordId": str(order.order_id),
        "clOrdId": order.client_order_id or "",
        "ts": str(order.update_time_ms),
        "sCode": "0",
        "sMsg": "",
    }


def _cancel(call: Call) -> Envelope:
    return _batch_outcome([_cancel_row(call)])


def _cancel_batch(call: Call) -> Envelope:
    items = call.body_list if call.body_list is not None else [call.params]
    return _batch_outcome([_cancel_row(call.with_params(dict(i))) for i in items])


def _amend_row(call: Call) -> dict[str, Any]:
    cl = call.str_param("clOrdId") or ""
    req = call.str_param("reqId") or ""
    try:
        inst = call.markets.get(call.need("instId"))
        order_id, client_id = _ids(call)
        new_sz, new_px = call.decimal_param("newSz"), call.decimal_param("newPx")
        if new_sz is None and new_px is None:
            raise OkxApiError(51000, "Parameter newSz error")
        order = inst.core.amend_order(
            call.account(inst),
            inst.symbol,
            order_id,
            client_id,
            quantity=None if new_sz is None else inst.qty(new_sz),
            price=new_px,
        )
    except (SimError, OkxApiError) as err:
        if isinstance(err, OkxApiError):
            code, msg = err.code, err.msg
        elif err.reason is Reason.UNKNOWN_ORDER:
            code, msg = "51503", "Order modification failed as the order does not exist."
        else:
            code, msg = from_sim_error(err)
        row = {"ordId": call.str_param("ordId") or "", "clOrdId": cl, "reqId": req}
        return {**row, "ts": "", "sCode": code, "sMsg": msg}
    return {
        "ordId": str(order.order_id),
        "clOrdId": order.client_order_id or "",
        "reqId": req,
        "ts": str(order.update_time_ms),
        "sCode": "0",
        "sMsg": "",
    }


def _amend(call: Call) -> Envelope:
    return _batch_outcome([_amend_row(call)])


def _amend_batch(call: Call) -> Envelope:
    items = call.body_list if call.body_list is not None else [call.params]
    return _batch_outcome([_amend_row(call.with_params(dict(i))) for i in items])


def _get_order(call: Call) -> list[dict[str, Any]]:
    inst = call.markets.get(call.need("instId"))
    order_id, client_id = _ids(call)
    try:
        order = inst.core.get_order(call.account(inst), inst.symbol, order_id, client_id)
    except SimError as err:
        if err.reason is Reason.UNKNOWN_ORDER:
            raise OkxApiError(51603, "Order does not exist") from None
        raise
    return [order_row(order, inst)]


def _instruments(call: Call) -> list[Instrument]:
    if call.str_param("instId"):
        return [call.markets.get(call.need("instId"))]
    return call.markets.of_type(call.str_param("instType"))


def _limited(rows: list[dict[str, Any]], call: Call, key: str) -> list[dict[str, Any]]:
    rows.sort(key=lambda r: int(r[key]), reverse=True)
    limit = call.clamped_int("limit", 100, 100)
    after, before = call.str_param("after"), call.str_param("before")
    if after is not None:  # ids older than ``after``
        rows = [r for r in rows if int(r[key]) < int(after)]
    if before is not None:
        rows = [r for r in rows if int(r[key]) > int(before)]
    return rows[:limit]


def _pending(call: Call) -> list[dict[str, Any]]:
    rows = []
    for inst in _instruments(call):
        for o in inst.core.open_orders(call.account(inst), inst.symbol):
            rows.append(order_row(o, inst))
    return _limited(rows, call, "ordId")


def _history(call: Call) -> list[dict[str, Any]]:
    rows = []
    state = call.str_param("state")
    for inst in _instruments(call):
        for o in inst.core.all_orders(call.account(inst), inst.symbol, limit=1000):
            if o.status in _OPEN:
                continue
            row = order_row(o, inst)
            if state is None or row["state"] == state:
                rows.append(row)
    return _limited(rows, call, "ordId")


def _fills(call: Call) -> list[dict[str, Any]]:
    rows = []
    raw_id = call.str_param("ordId")
    begin, end = call.str_param("begin"), call.str_param("end")
    for inst in _instruments(call):
        account = call.account(inst)
        for f, order in fills_with_orders(inst.core, account, inst.symbol, begin, end, raw_id):
            rows.append(fill_row(f, inst, order.client_order_id or ""))
    return _limited(rows, call, "tradeId")


def balance_details(call: Call, ccys: set[str] | None = None) -> list[dict[str, Any]]:
    """Each currency of the caller's unified account: the spot and perpetual wallets summed,
    money that :meth:`~real_trade.sim.server.SimExchange.create_account` funded into both (the
    smaller of the two openings) counted once
    (:func:`~real_trade.sim.accounts.unified_balances`)."""
    wallets = []
    for ctx in call.markets.contexts():
        acct = call.account_in(ctx)
        wallets.append((wallet_balances(ctx.core, acct), acct.opening))
    now = call.markets.spot.server_time_ms()
    return [
        detail_row(ccy, free, locked, now)
        for ccy, (free, locked) in sorted(unified_balances(wallets).items())
        if ccys is None or ccy in ccys
    ]


def _balance(call: Call) -> list[dict[str, Any]]:
    raw = call.str_param("ccy")
    details = balance_details(call, set(raw.split(",")) if raw else None)
    now = str(call.markets.spot.server_time_ms())
    return [{"uTime": now, "totalEq": "", "adjEq": "", "imr": "", "mmr": "", "details": details}]


def _positions(call: Call) -> list[dict[str, Any]]:
    ctx = call.markets.swap_ctx
    if ctx is None or call.str_param("instType") not in (None, "SWAP"):
        return []
    wanted = set((call.str_param("instId") or "").split(",")) - {""}
    rows = []
    for p in ctx.core.positions(call.account_in(ctx)):
        inst = call.markets.find(ctx, p.symbol)
        if inst is None or not p.qty or (wanted and inst.inst_id not in wanted):
            continue
        rows.append(position_row(p, inst))
    return rows


def _set_leverage(call: Call) -> list[dict[str, Any]]:
    inst = call.markets.get(call.need("instId"))
    if not inst.swap:
        raise OkxApiError(51000, "Parameter instId error")
    try:
        lever = int(Decimal(call.need("lever")))
    except InvalidOperation:
        raise OkxApiError(51000, "Parameter lever error") from None
    if not 1 <= lever <= 125:
        raise OkxApiError(51000, "Parameter lever error")
    mode = call.str_param("mgnMode", "cross")
    if mode not in ("cross", "isolated"):
        raise OkxApiError(51000, "Parameter mgnMode error")
    try:
        inst.core.set_margin_mode(call.account(inst), inst.symbol, mode)
    except SimError:
        raise OkxApiError(
            59000, "Settings failed. Close any open positions or orders before changing"
        ) from None
    inst.core.set_leverage(call.account(inst), inst.symbol, lever)
    return [{"lever": str(lever), "mgnMode": mode, "instId": inst.inst_id, "posSide": "net"}]


def _leverage_info(call: Call) -> list[dict[str, Any]]:
    rows = []
    for inst_id in call.need("instId").split(","):
        inst = call.markets.get(inst_id)
        settings = inst.core.contract_settings(call.account(inst), inst.symbol)
        rows.append(
            {
                "instId": inst_id,
                "mgnMode": call.str_param("mgnMode", "cross"),
                "posSide": "net",
                "lever": str(settings.leverage),
            }
        )
    return rows


def _cancel_all_after(call: Call) -> list[dict[str, Any]]:
    """The dead-man switch over the whole account (spot and swap): ``timeOut`` seconds, 0
    disarms, else 10..120 (51000 otherwise)."""
    raw = call.need("timeOut")
    if not raw.isdigit() or (int(raw) != 0 and not 10 <= int(raw) <= 120):
        raise OkxApiError(51000, "Parameter timeOut error")
    timeout_ms = int(raw) * 1000
    trigger = 0
    for ctx in call.markets.contexts():
        countdown = ctx.core.arm_cancel_countdown(call.account_in(ctx), None, timeout_ms)
        if countdown is not None:
            trigger = countdown.trigger_ms
    now = call.markets.spot.server_time_ms()
    return [{"triggerTime": str(trigger), "tag": call.str_param("tag") or "", "ts": str(now)}]


def _config(call: Call) -> list[dict[str, Any]]:
    return [
        {
            "uid": call.api_key or "",
            "acctLv": "2",
            "posMode": "net_mode",
            "autoLoan": False,
            "greeksType": "PA",
            "level": "Lv1",
            "levelTmp": "",
        }
    ]


def _bills(call: Call) -> list[dict[str, Any]]:
    """The caller's bills: the funding fees (``type`` 8) of its SWAP positions."""
    bills, swap = call.markets.bills, call.markets.swap_ctx
    if bills is None or swap is None:
        return []
    wanted = call.str_param("type")
    if wanted not in (None, "8"):
        return []

    def inst_of(symbol: str) -> tuple[str, Decimal]:
        inst = call.markets.find(swap, symbol)
        assert inst is not None
        return inst.inst_id, inst.ct_val

    rows = bills.rows(call.account_in(swap).account_id, inst_of)
    inst_id = call.str_param("instId")
    rows = [r for r in rows if inst_id is None or r["instId"] == inst_id]
    return _limited(rows, call, "billId")


PRIVATE_ROUTES: tuple[Route, ...] = (
    Route("POST", "/api/v5/trade/order", _order, private=True),
    Route("POST", "/api/v5/trade/batch-orders", _batch_orders, private=True),
    Route("POST", "/api/v5/trade/cancel-order", _cancel, private=True),
    Route("POST", "/api/v5/trade/cancel-batch-orders", _cancel_batch, private=True),
    Route("POST", "/api/v5/trade/amend-order", _amend, private=True),
    Route("POST", "/api/v5/trade/amend-batch-orders", _amend_batch, private=True),
    Route("GET", "/api/v5/trade/order", _get_order, private=True),
    Route("GET", "/api/v5/trade/orders-pending", _pending, private=True),
    Route("GET", "/api/v5/trade/orders-history", _history, private=True),
    Route("GET", "/api/v5/trade/orders-history-archive", _history, private=True),
    Route("GET", "/api/v5/trade/fills", _fills, private=True),
    Route("GET", "/api/v5/trade/fills-history", _fills, private=True),
    Route("GET", "/api/v5/account/balance", _balance, private=True),
    Route("GET", "/api/v5/account/bills", _bills, private=True),
    Route("GET", "/api/v5/account/bills-archive", _bills, private=True),
    Route("GET", "/api/v5/account/positions", _positions, private=True),
    Route("POST", "/api/v5/account/set-leverage", _set_leverage, private=True),
    Route("GET", "/api/v5/account/leverage-info", _leverage_info, private=True),
    Route("GET", "/api/v5/account/config", _config, private=True),
    Route("POST", "/api/v5/trade/cancel-all-after", _cancel_all_after, private=True),
)
"""The signed routes."""
