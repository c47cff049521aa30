"""Backtrader to trading-session translation, both ways, for the broker shim.

backtrader orders become :class:`~real_trade.execution.orders.OrderRequest` objects
(:func:`request_of`), a feed's newest bar a :class:`~real_trade.execution.paper.PaperBar`
(:func:`bar_of`); the session's :class:`~real_trade.execution.events.OrderUpdate` sets the
backtrader status with backtrader's own setters (:func:`set_status`), a
:class:`~real_trade.execution.events.FillEvent` is booked on the order and the position with
the exchange's price, size and commission the way backtrader's own broker books executions
(:func:`execute`), and an order recovered from the journal becomes a backtrader order again
(:func:`recovered_order`).
"""

from __future__ import annotations

import array
import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

import backtrader as bt
from backtrader.comminfo import CommInfoBase
from backtrader.utils import dateintern as _di

from real_trade.errors import ConfigError
from real_trade.execution import (
    FillEvent,
    OrderKind,
    OrderRequest,
    OrderSide,
    OrderState,
    OrderUpdate,
    PaperBar,
)
from real_trade.persistence.recovery import RecoveredOrder
from real_trade.session.config import SessionConfig

__all__ = [
    "BROKER_PARAMS",
    "ORDER_PARAMS",
    "BarReader",
    "bar_of",
    "book_source",
    "check_arguments",
    "commission_scheme",
    "execute",
    "first_strategy",
    "ms_to_num",
    "new_bars",
    "new_order",
    "num_to_ms",
    "recovered_order",
    "request_of",
    "require_credentials",
    "session_config",
    "set_status",
    "snapshot",
    "symbol_of",
]

_KINDS = {
    bt.Order.Market: OrderKind.MARKET,
    bt.Order.Close: OrderKind.MARKET,
    bt.Order.Limit: OrderKind.LIMIT,
    bt.Order.Stop: OrderKind.STOP,
    bt.Order.StopLimit: OrderKind.STOP_LIMIT,
    bt.Order.StopTrail: OrderKind.STOP_TRAIL,
    bt.Order.StopTrailLimit: OrderKind.STOP_TRAIL_LIMIT,
}
_BT_KINDS = {
    OrderKind.MARKET: bt.Order.Market,
    OrderKind.LIMIT: bt.Order.Limit,
    OrderKind.STOP: bt.Order.Stop,
    OrderKind.STOP_LIMIT: bt.Order.StopLimit,
}
_SECONDS = {
    bt.TimeFrame.Seconds: 1,
    bt.TimeFrame.Minutes: 60,
    bt.TimeFrame.Days: 86_400,
    bt.TimeFrame.Weeks: 604_800,
    bt.TimeFrame.Months: 2_592_000,
}
ORDER_PARAMS = (
    "exectype",
    "valid",
    "tradeid",
    "trailamount",
    "trailpercent",
    "parent",
    "transmit",
    "histnotify",
)
"""The keywords of ``buy``/``sell`` that are backtrader order parameters (the rest is info)."""


BROKER_PARAMS = (
    ("paper_trading", True),
    ("initial_cash", 10_000.0),
    ("commission", 0.001),
    ("currency", None),
    ("run_id", None),
    ("symbol", None),
    ("rules", None),
    ("level_notional", 20_000.0),
    ("bus", None),
    ("journal", None),
    ("risk", None),
    ("reconcile_interval", 60.0),
    ("funding_poll_interval", 60.0),
    ("contracts", None),
    ("paper_fill_from_book", False),
)
"""The broker's backtrader ``params`` (names and defaults), documented on ``BaseBroker``."""


def check_arguments(unknown: dict[str, Any]) -> None:
    """ConfigError naming the broker arguments that are none of ``store`` and the params."""
    if unknown:
        known = ", ".join(["store", *(name for name, _ in BROKER_PARAMS)])
        raise ConfigError(
            f"unknown broker argument(s) {sorted(unknown)}",
            field=sorted(unknown)[0],
            fix=f"use one of: {known}",
        )


def new_order(cls: Any, owner: Any, data: Any, size: float, args: Any, kwargs: Any) -> Any:
    """A backtrader order of ``cls`` from ``buy``/``sell``'s arguments (``price``, ``plimit``,
    ``oco`` by position or keyword; backtrader's order keywords; the rest into ``order.info``)
    and its ``oco`` order."""
    named = dict(zip(("price", "plimit", "oco"), args, strict=False)) | kwargs
    price, plimit, oco = named.pop("price", None), named.pop("plimit", None), named.pop("oco", None)
    params = {}
    for key in ORDER_PARAMS:  # (loops, not comprehensions: one call less each, every order)
        if key in named:
            params[key] = named.pop(key)
    order = cls(owner=owner, data=data, size=size, price=price, pricelimit=plimit, **params)
    info = {}
    for key, value in named.items():
        if not key.startswith("_"):
            info[key] = value
    if info:
        order.addinfo(**info)
    return order, oco


def first_strategy(broker: Any) -> Any:
    """The first running strategy of ``broker``'s cerebro (the owner of orders the broker
    makes itself), or None."""
    strats = list(getattr(getattr(broker, "cerebro", None), "runningstrats", None) or [])
    return strats[0] if strats else None


_EPOCH_NUM = float(bt.date2num(dt.datetime(1970, 1, 1)))
_new_tuple = tuple.__new__  # a PaperBar without its Python-level __new__ (every bar)
_MS_PER_DAY = 86_400_000
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def num_to_ms(num: float) -> int:
    """A backtrader date number as epoch milliseconds (UTC), to the microsecond like
    ``bt.num2date`` (without building a datetime: it runs for every bar)."""
    return round(round((num - _EPOCH_NUM) * _MS_PER_DAY * 1000) / 1000)


def ms_to_num(ms: int) -> float:
    """Epoch milliseconds as a backtrader date number: ``bt.date2num`` of the UTC datetime,
    its sum taken from the integer parts (no datetime built: it runs for every fill)."""
    if type(ms) is not int or ms < 0:
        stamp = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).replace(tzinfo=None)
        return float(bt.date2num(stamp))
    days, rest = divmod(ms, _MS_PER_DAY)
    hour, rest = divmod(rest, 3_600_000)
    minute, rest = divmod(rest, 60_000)
    second, milli = divmod(rest, 1000)
    return math.fsum(  # date2num's own terms, in its order
        (
            float(_EPOCH_ORDINAL + days),
            hour / _di.HOURS_PER_DAY,
            minute / _di.MINUTES_PER_DAY,
            second / _di.SECONDS_PER_DAY,
            milli * 1000 / _di.MUSECONDS_PER_DAY,
        )
    )


def bar_of(data: Any) -> PaperBar:
    """The newest bar of ``data``, with its length from the feed's timeframe."""
    return BarReader(data).bar()


_LINE_LEN = bt.linebuffer.LineBuffer.__len__
_LINE_IDX = bt.linebuffer.LineBuffer.idx  # a property over _idx
_DOUBLES = array.array  # an unbounded LineBuffer's array (typecode 'd')


class BarReader:
    """Reads the newest bar of one feed as a :class:`PaperBar` straight from its line buffers
    (it runs for every bar: a feed's own attribute and line lookups cost more than the bar)."""

    __slots__ = ("_buffers", "_counted", "_first", "_ms", "_plain", "_same", "size")

    def __init__(self, data: Any) -> None:
        """The reader of ``data``; :attr:`size` (bars seen) starts at 0."""
        seconds = _SECONDS.get(data._timeframe, 31_536_000) * max(1, int(data._compression))
        lines = data.lines
        self._ms = seconds * 1000
        self._first = lines.lines[0]  # its length is the feed's
        # a LineBuffer's length is its lencount: read it without a call when it is one
        self._counted = type(self._first).__len__ is _LINE_LEN
        self._buffers = tuple(
            getattr(lines, name) for name in ("datetime", "open", "high", "low", "close", "volume")
        )
        # a LineBuffer's idx is a property over _idx: read _idx without the call when it is one
        self._plain = all(getattr(type(b), "idx", None) is _LINE_IDX for b in self._buffers)
        # the lines of one buffer mode: an unbounded LineBuffer's array (the close's is asked
        # each bar) holds doubles, read as floats without float()
        self._same = len({getattr(b, "mode", None) for b in self._buffers}) == 1
        self.size = 0

    def bar(self) -> PaperBar:
        """The feed's newest bar."""
        t, o, h, lo, c, v = self._buffers  # buffer[0] is buffer.array[buffer.idx]
        if self._plain:
            ti, oi, hi, li, ci, vi = t._idx, o._idx, h._idx, lo._idx, c._idx, v._idx
        else:
            ti, oi, hi, li, ci, vi = t.idx, o.idx, h.idx, lo.idx, c.idx, v.idx
        closes = c.array
        if type(closes) is _DOUBLES and self._same and closes.typecode == "d":  # floats all
            volume = v.array[vi]
            # a volume minus itself is 0.0 only when it is finite
            return _new_tuple(
                PaperBar,
                (
                    num_to_ms(t.array[ti]),
                    o.array[oi],
                    h.array[hi],
                    lo.array[li],
                    closes[ci],
                    volume if volume - volume == 0.0 else 0.0,
                    self._ms,
                ),
            )
        volume = float(v.array[vi])
        return _new_tuple(
            PaperBar,
            (
                num_to_ms(t.array[ti]),
                float(o.array[oi]),
                float(h.array[hi]),
                float(lo.array[li]),
                float(c.array[ci]),
                volume if math.isfinite(volume) else 0.0,
                self._ms,
            ),
        )

    def close(self) -> float | None:
        """The newest bar's close (None before the first bar)."""
        first = self._first
        if not (first.lencount if self._counted else len(first)):
            return None
        c = self._buffers[4]
        return float(c.array[c._idx if self._plain else c.idx])


def new_bars(drivers: dict[str, Any], readers: dict[Any, BarReader]) -> dict[str, PaperBar]:
    """The bar of each symbol's driving feed that grew since the last call (``readers``: each
    feed's :class:`BarReader`, made here the first time; its :attr:`~BarReader.size` follows
    the feed's length)."""
    bars = {}
    for symbol, data in drivers.items():
        reader = readers.get(data)
        if reader is None:
            reader = readers[data] = BarReader(data)
        first = reader._first  # (read here, not in a method: it runs for every bar)
        size = first.lencount if reader._counted else len(first)
        if size and size != reader.size:
            reader.size = size
            bars[symbol] = reader.bar()
    return bars


class FractionalCommInfo(CommInfoBase):
    """backtrader's commission scheme with fractional sizes: :meth:`getsize` (what
    ``order_target_value``/``order_target_percent`` buy for an amount of cash) does not round
    down to whole units (5 % of 10,000 USDT at 60,000 is 0.00833 BTC, not 0); the venue's
    amount step rounds the order."""

    def getsize(self, price: float, cash: float) -> float:
        """The size ``cash`` buys at ``price`` (through the margin for a margined scheme)."""
        per_unit = price if self._stocklike else self.get_margin(price)
        return float(self.p.leverage * (cash / per_unit)) if per_unit else 0.0


def commission_scheme(commission: Any, **params: Any) -> CommInfoBase:
    """The broker's default scheme: ``commission`` itself, or a percentage rate (with
    backtrader's ``setcommission`` ``params``) in a :class:`FractionalCommInfo`."""
    if isinstance(commission, CommInfoBase):
        return commission
    return FractionalCommInfo(commission=float(commission), **{"percabs": True, **params})


def request_of(order: Any, symbol: str) -> OrderRequest:
    """The session's request for backtrader ``order`` on ``symbol`` (ValueError: unsupported)."""
    kind = _KINDS.get(order.exectype)
    if kind is None:
        raise ValueError(f"order type {order.getordername()} is not supported live")
    created, price, stop = order.created, None, None
    if kind is OrderKind.LIMIT:
        price = created.price
    elif kind is not OrderKind.MARKET:
        stop = created.price
        if kind is OrderKind.STOP_LIMIT:
            price = created.pricelimit or created.price
    valid = order.valid
    return OrderRequest(
        order.ref,
        symbol,
        OrderSide.BUY if order.isbuy() else OrderSide.SELL,
        kind,
        abs(float(order.size)),
        price=price,
        stop_price=stop,
        trail_amount=order.trailamount,
        trail_percent=order.trailpercent,
        limit_offset=float(getattr(order, "_limitoffset", 0.0) or 0.0),
        expires_ms=num_to_ms(valid) if isinstance(valid, float) and valid > 0 else None,
    )


def set_status(order: Any, update: OrderUpdate, broker: Any, denial: Any = None) -> None:
    """Apply ``update`` to ``order``: ids, reason, trim and a risk refusal's rule and numbers
    (``denial``, a RiskDecision) in ``order.info``, then the status."""
    if denial is not None:
        order.addinfo(risk_rule=denial.rule, risk_limit=denial.limit, risk_value=denial.value)
    info, changed = order.info, {}
    for key, value in (
        ("client_order_id", update.client_order_id),
        ("exchange_order_id", update.exchange_order_id),
        ("reason", update.reason),
    ):
        if value and info.get(key) != value:  # (each update repeats the ids: set them once)
            changed[key] = value
    if changed:
        order.addinfo(**changed)
    if update.trimmed:
        order.addinfo(requested=update.requested, sent=update.amount, trimmed=update.trimmed)
    state = update.state  # backtrader's own setters (they stamp dates)
    if state is OrderState.SUBMITTED:
        order.submit(broker)
    elif state is OrderState.ACCEPTED:
        order.accept(broker)
    elif state is OrderState.REJECTED:
        order.reject(broker)
    elif state is OrderState.CANCELED:
        order.cancel()
    elif state is OrderState.MARGIN:
        order.margin()
    else:  # Partial, Completed, Expired
        order.status = int(state)


_ORDER_CLONE = bt.order.OrderBase.clone
_DATA_CLONE = bt.order.OrderData.clone


def snapshot(order: Any) -> Any:
    """``order.clone()``, backtrader's copy of an order for ``notify_order``, without the copy
    module: the same shallow copies of the order and of its ``executed`` (marked pending
    first), made as ``copy.copy`` makes them (a new instance of the class, the attributes
    copied); ``order.clone()`` itself when a class overrides backtrader's clone."""
    cls: Any = type(order)
    executed = order.executed
    kind: Any = type(executed)
    if cls.clone is not _ORDER_CLONE or kind.clone is not _DATA_CLONE:
        return order.clone()
    copied = cls.__new__(cls)
    copied.__dict__.update(order.__dict__)
    executed.markpending()
    done = kind.__new__(kind)
    done.__dict__.update(executed.__dict__)
    copied.executed = done
    return copied


def execute(order: Any, pos: Any, fill: FillEvent, net: float, info: Any) -> None:
    """Book ``fill`` (changing the position by ``net``) on ``order`` and ``pos``, as
    BackBroker books its executions, with ``info`` the commission scheme."""
    size = fill.amount if order.isbuy() else -fill.amount
    psize, pprice = pos.size, pos.price
    _, _, opened, closed = pos.update(net, fill.price)
    comm = fill.fee_in_quote
    closedcomm = comm * abs(closed) / abs(net) if net else 0.0
    order.execute(
        ms_to_num(fill.time_ms),
        size,
        fill.price,
        closed,
        info.getoperationcost(closed, pprice),
        closedcomm,
        opened,
        info.getoperationcost(opened, fill.price),
        comm - closedcomm,
        info.margin,
        info.profitandloss(-closed, pprice, fill.price),
        psize,
        pprice,
    )
    order.addcomminfo(info)
    known, xid = order.info, fill.exchange_order_id
    fills = [*known.get("fills", []), fill]
    if xid and known.get("exchange_order_id") != xid:
        order.addinfo(fills=fills, exchange_order_id=xid)
    else:  # (the id came with the order's update before its fill)
        order.addinfo(fills=fills)


def recovered_order(found: RecoveredOrder, data: Any, owner: Any, comminfo: Any) -> Any:
    """A backtrader order for an order recovered from the journal (``info['recovered']``)."""
    req = found.request
    cls = bt.BuyOrder if req.side is OrderSide.BUY else bt.SellOrder
    stop_kinds = (OrderKind.STOP, OrderKind.STOP_LIMIT)
    order = cls(
        owner=owner,
        data=data,
        size=req.amount,
        price=req.stop_price if req.kind in stop_kinds else req.price,
        pricelimit=req.price if req.kind is OrderKind.STOP_LIMIT else None,
        exectype=_BT_KINDS.get(req.kind, bt.Order.Market),
        simulated=not len(data),
    )
    order.addinfo(
        recovered=True, filled_before_restart=found.filled, client_order_id=req.client_order_id
    )
    order.addcomminfo(comminfo)
    return order


def follow_recovered(broker: Any, found: RecoveredOrder) -> int | None:
    """Rebuild ``found`` as a backtrader order of ``broker`` (kept in its orders); its ref, or
    None when no feed of the broker trades its symbol."""
    data = broker._drivers.get(found.request.symbol)
    if data is None:
        return None
    order = recovered_order(found, data, first_strategy(broker), broker.getcommissioninfo(data))
    broker._orders[order.ref] = order
    return int(order.ref)


def session_config(
    p: Any, store: Any, commission: float, symbols: Iterable[str] = ()
) -> SessionConfig:
    """The session's config from the broker's params ``p`` (read again at the start: a test
    may set them after construction), ``store`` and the ``commission`` rate."""
    return SessionConfig(
        paper=bool(p.paper_trading),
        initial_cash=float(p.initial_cash),
        commission=float(commission),
        currency=p.currency,
        run_id=p.run_id,
        rules=p.rules,
        level_notional=p.level_notional,
        bus=p.bus,
        journal=p.journal,
        risk=p.risk,
        reconcile_interval=float(p.reconcile_interval),
        funding_poll_interval=float(p.funding_poll_interval),
        client=None if p.paper_trading else getattr(store, "client", None),
        venue=getattr(store, "venue_spec", None),
        contract_settings=contract_settings_of(p.contracts, symbols),
        book=book_source(store) if p.paper_trading and p.paper_fill_from_book else None,
    )


def book_source(store: Any) -> Any:
    """The depth source of ``paper_fill_from_book``: the store's live books."""
    if store is None or not hasattr(store, "get_order_book"):
        raise ConfigError(
            "paper_fill_from_book needs a store to sync the order book from",
            field="paper_fill_from_book",
            fix="BinanceBroker(store, paper_trading=True, paper_fill_from_book=True)",
        )
    return store.get_order_book


def contract_settings_of(
    config: Any, symbols: Iterable[str] = ()
) -> dict[str, tuple[int | None, str | None]]:
    """The broker's ``contracts`` parameter as ``(leverage, margin_mode)`` by symbol."""
    from real_trade.brokers.contracts import settings_of

    return settings_of(config, symbols)


def require_credentials(store: Any) -> None:
    """ConfigError unless ``store`` has a venue client with API credentials (live trading)."""
    venue = getattr(store, "venue_spec", None)
    fields = venue.required_credentials() if venue is not None else ("apikey", "secret")
    client = getattr(store, "client", None)
    if client is None or not client.has_credentials:
        raise ConfigError(
            f"paper_trading=False needs a store with API credentials ({', '.join(fields)})",
            field="store" if store is None else fields[0],
            fix="e.g. BinanceBroker(BinanceStore.get_instance(apikey=..., secret=..., "
            "testnet=True), paper_trading=False), or keep paper_trading=True",
        )


def symbol_of(data: Any, default: str | None, client: Any) -> str:
    """The symbol ``data`` trades: its ``symbol``, else ``default``, else a name such as
    ``BTC/USDT``; in the venue's spelling when ``client`` (live) is given."""
    name = str(data._name)
    symbol = getattr(data, "symbol", None) or default or (name if "/" in name else None)
    if not symbol:
        raise ConfigError(
            "the broker cannot tell the symbol of a data feed",
            field="symbol",
            fix="cerebro.adddata(data, name='BTC/USDT') or BaseBroker(symbol='BTC/USDT')",
        )
    return str(client.symbol_of(symbol)) if client is not None else str(symbol)
