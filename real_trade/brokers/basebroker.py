"""``BaseBroker``: the backtrader broker shim, paper and live in one class.

A thin ``bt.BrokerBase`` over the plain classes of :mod:`real_trade.execution`: backtrader
orders become :class:`~real_trade.execution.orders.OrderRequest` objects for the
:class:`~real_trade.execution.order_manager.OrderManager`, which works them on
:class:`~real_trade.execution.paper.PaperExecution` (``paper_trading=True``, the default: the
simulator's matching engine in-process, driven by the feed's bars) or
:class:`~real_trade.execution.live.LiveExecution` (``paper_trading=False``: the store's venue
client, testnet or live). Every state change comes back as an
:class:`~real_trade.execution.events.OrderUpdate` and reaches ``notify_order``; every execution
(a :class:`~real_trade.execution.events.FillEvent`) is booked on the order and the position with
the exchange's price, size and commission, the way backtrader's own broker books executions.

Cash is the quote currency's total balance (free plus what open orders lock); a position is
the base asset's balance (on a live account, what it already holds at start too), net of the
fees a buy pays in the base asset, following the fills while orders work and the exchange's
balances once the symbol is quiet. A sell that exceeds the holding only by those fees (or by
less than one amount step) is sent trimmed to what is held, rounded down to the step:
``order.info`` then carries ``requested`` (the size asked), ``sent`` and ``trimmed`` (why). A
remainder no order can sell (below the venue's minimum amount or order value) is dust: no
position for the strategy (``if not self.position`` holds again), still part of
:meth:`~BaseBroker.getvalue`, reported once (a log line and a
:class:`~real_trade.execution.PositionDust` on ``position.dust``); the next buy takes it back
into the position. A below-minimum order is Rejected before it is sent, with the reason in
``order.info['reason']``; insufficient funds give Margin, other refusals Rejected, both with the
exchange's words. A paper
order placed on a backfill bar of a live feed meets the venue's market now, as it would on the
exchange (:mod:`real_trade.brokers.backfill`).
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import math
import time
from typing import Any

import backtrader as bt
from backtrader.comminfo import CommInfoBase

from real_trade.brokers.backfill import (
    LivePriceUnknownError,
    live_market,
    replays_history,
    venue_client_of,
)
from real_trade.brokers.unattended import UnattendedMixin
from real_trade.bus import get_bus
from real_trade.errors import ConfigError
from real_trade.execution import (
    ClientOrderIds,
    FillEvent,
    Holdings,
    LiveExecution,
    OrderKind,
    OrderManager,
    OrderRequest,
    OrderSide,
    OrderState,
    OrderUpdate,
    PaperBar,
    PaperExecution,
    PositionDust,
    base_asset,
)
from real_trade.vocabulary import quote_asset

__all__ = ["STOP_SETTLE_S", "BaseBroker"]

_log = logging.getLogger("real_trade.brokers")
STOP_SETTLE_S = 5.0
"""How long a stopping live broker waits for the answers to orders it sent just before."""
_KINDS = {
    bt.Order.Market: OrderKind.MARKET,
    bt.Order.Close: OrderKind.MARKET,
    bt.Order.Limit: OrderKind.LIMIT,
    bt.Order.Stop: OrderKind.STOP,
    bt.Order.StopLimit: OrderKind.STOP_LIMIT,
    bt.Order.StopTrail: OrderKind.STOP_TRAIL,
    bt.Order.StopTrailLimit: OrderKind.STOP_TRAIL_LIMIT,
}
_SECONDS = {
    bt.TimeFrame.Seconds: 1,
    bt.TimeFrame.Minutes: 60,
    bt.TimeFrame.Days: 86_400,
    bt.TimeFrame.Weeks: 604_800,
    bt.TimeFrame.Months: 2_592_000,
}
_BT_CALLS = {
    OrderState.SUBMITTED: "submit",
    OrderState.ACCEPTED: "accept",
    OrderState.REJECTED: "reject",
    OrderState.CANCELED: "cancel",
    OrderState.MARGIN: "margin",
}
_ORDER_PARAMS = (
    "exectype",
    "valid",
    "tradeid",
    "trailamount",
    "trailpercent",
    "parent",
    "transmit",
    "histnotify",
)


def _num_to_ms(num: float) -> int:
    return round(bt.num2date(num).replace(tzinfo=dt.timezone.utc).timestamp() * 1000)


def _ms_to_num(ms: int) -> float:
    stamp = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).replace(tzinfo=None)
    return float(bt.date2num(stamp))


class BaseBroker(UnattendedMixin, bt.BrokerBase):
    """Paper (default) or live trading for an unchanged backtrader strategy (module docstring).

    ``BaseBroker(store=None, paper_trading=True, initial_cash=10000.0, commission=0.001,
    currency=None, run_id=None, symbol=None, rules=None, level_notional=20000.0, bus=None)``:
    ``currency`` is the cash currency (default: the quote of the first feed's symbol);
    ``run_id`` makes client order ids restart-stable and keys the journal; ``symbol`` names the
    symbol of feeds that carry none (else the feed's ``symbol`` or its name);
    ``rules``/``level_notional`` shape the paper market; ``bus`` receives the order events
    (default: the process bus). ``journal`` (a :class:`~real_trade.persistence.Journal` or a
    database URL) records every intent before it is sent and everything after; on a live start
    the broker reconciles with it and the exchange before the strategy trades. ``risk`` (a
    :class:`~real_trade.risk.RiskEngine` or a :class:`~real_trade.risk.LiveRiskConfig`) checks
    every order before it is sent: a refusal is a Rejected order whose ``info`` carries
    ``reason``, ``risk_rule``, ``risk_limit`` and ``risk_value``. :meth:`kill` is the kill
    switch. With a journal, a live broker checks its open orders against the exchange every
    ``reconcile_interval`` seconds (lost and untracked orders are reported on ``reconcile.*``
    and looked up). Live trading (``paper_trading=False``) needs a store with API credentials.
    """

    params = (
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
    )

    comminfo: dict[Any, Any]

    def __init__(self, store: Any = None, **unknown: Any) -> None:
        """Create the broker (backtrader hands the ``params`` over itself; anything left here is
        unknown); ConfigError for an unknown argument or live trading without credentials."""
        if unknown:
            known = ", ".join(["store", *self.params._getkeys()])  # type: ignore[attr-defined]
            raise ConfigError(
                f"unknown broker argument(s) {sorted(unknown)}",
                field=sorted(unknown)[0],
                fix=f"use one of: {known}",
            )
        self.store = store
        super().__init__()
        if not self.p.paper_trading:
            self._require_credentials()
        self.notifs: collections.deque[Any] = collections.deque()
        self.positions: collections.defaultdict[Any, Any] = collections.defaultdict(bt.Position)
        self._orders: dict[int, Any] = {}
        self._symbols: dict[Any, str] = {}  # data -> symbol
        self._drivers: dict[str, Any] = {}  # symbol -> the first data of it (drives the paper)
        self._bar_len: dict[Any, int] = {}
        self._dust: dict[str, float] = {}  # symbol -> base held that no order can sell
        self._cash = self.startingcash = float(self.p.initial_cash)
        self.currency: str = self.p.currency or getattr(store, "quote_currency", None) or "USDT"
        self._paper: PaperExecution | None = None
        self._live: LiveExecution | None = None
        self.manager: OrderManager | None = None
        self._init_unattended()

    def init(self) -> None:
        """backtrader's hook: the default commission scheme from ``commission`` (a rate)."""
        if None not in self.comminfo:
            com = self.p.commission
            scheme = com if isinstance(com, CommInfoBase) else None
            self.comminfo = {None: scheme or CommInfoBase(commission=float(com), percabs=True)}

    def _require_credentials(self) -> None:
        venue = getattr(self.store, "venue_spec", None)
        fields = venue.required_credentials() if venue is not None else ("apikey", "secret")
        client = getattr(self.store, "client", None)
        if client is None or not client.has_credentials:
            raise ConfigError(
                f"paper_trading=False needs a store with API credentials ({', '.join(fields)})",
                field="store" if self.store is None else fields[0],
                fix="e.g. BinanceBroker(BinanceStore.get_instance(apikey=..., secret=..., "
                "testnet=True), paper_trading=False), or keep paper_trading=True",
            )

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Build the execution (paper engine or venue) for the strategy's feeds."""
        super().start()
        if not self.p.paper_trading:
            self._require_credentials()
            self.store.start()
        for data in list(getattr(getattr(self, "cerebro", None), "datas", None) or []):
            self._track(data)
        symbols = sorted(self._drivers)
        if self.p.currency is None and symbols:
            self.currency = quote_asset(symbols[0])
        venue = getattr(self.store, "venue_spec", None)
        run_id = (
            self.p.run_id
            if self.p.run_id is not None or self.p.journal is None
            else (self.strategy_name)
        )  # a journal needs restart-stable ids
        ids = ClientOrderIds.for_venue(venue, run_id) if venue else ClientOrderIds(run_id)
        bus = self._bus = self.p.bus or get_bus()
        self._open_journal(bus)
        hooks: dict[str, Any] = {
            "strategy": self.strategy_name,
            "on_intent": self._journal_intent if self.journal else None,
        }
        if self.p.paper_trading:
            paper = self._paper = PaperExecution(
                symbols,
                cash=self._cash,
                currency=self.currency,
                commission=float(self.comminfo[None].p.commission),
                rules=self.p.rules,
                level_notional=self.p.level_notional,
            )
            guard = self._build_guard(bus, clock=lambda: paper.now_ms() / 1000)
            native = frozenset({OrderKind.STOP, OrderKind.STOP_LIMIT})  # the sim's own stops
            self.manager = OrderManager(
                paper,
                ids,
                native_kinds=native,
                publish=bus.publish,
                clock_ms=paper.now_ms,
                gate=guard.gate,
                on_outcome=guard.on_outcome,
                **hooks,
            )
            self._resume_paper(ids)
            return
        guard = self._build_guard(bus)
        live = self._live = LiveExecution(
            self.store.client, symbols, on_connection=guard.on_connection
        )
        live.start()
        for order in live.open_orders_at_start:
            ids.observe(order.get("clientOrderId"))
        names = getattr(venue, "native_order_types", ())
        native = frozenset(k for k in OrderKind if k.value in names)
        self.manager = OrderManager(
            live,
            ids,
            native_kinds=native,
            publish=bus.publish,
            gate=guard.gate,
            on_outcome=guard.on_outcome,
            **hooks,
        )
        self._recover(ids)  # journal + exchange, before the strategy may trade
        self._reconcile(force=True)  # holdings at start become positions, at the last price
        self.startingcash = self.getcash()

    def stop(self) -> None:
        """Settle the orders still on the wire, then stop the live streams (the store and its
        client stay with their owner)."""
        if self._live is not None:
            self._settle_in_flight(self._live)
            self._live.stop()
        self._close_journal()
        super().stop()

    def _settle_in_flight(self, live: LiveExecution) -> None:
        """Wait (at most :data:`STOP_SETTLE_S`) for the answers to orders sent just before the
        stop and apply them, so the journal records their outcome instead of a bare intent."""
        unanswered = live.settle(STOP_SETTLE_S)
        if self.manager is not None:
            self.manager.process()
            self._dispatch()
        if unanswered:
            _log.warning(
                "stopping with %d order(s) sent but not answered within %.0f s (%s); "
                "the next start looks them up by client order id",
                len(unanswered),
                STOP_SETTLE_S,
                ", ".join(unanswered),
            )

    def _track(self, data: Any) -> str:
        symbol = self._symbols.get(data)
        if symbol is None:
            name = str(data._name)
            named = name if "/" in name else None
            symbol = getattr(data, "symbol", None) or self.p.symbol or named
            if not symbol:
                raise ConfigError(
                    "the broker cannot tell the symbol of a data feed",
                    field="symbol",
                    fix="cerebro.adddata(data, name='BTC/USDT') or BaseBroker(symbol='BTC/USDT')",
                )
            if not self.p.paper_trading:
                symbol = self.store.client.symbol_of(symbol)
            self._symbols[data] = symbol
            self._drivers.setdefault(symbol, data)
        return symbol

    # ------------------------------------------------------------------ account
    def getcash(self) -> float:
        """Cash: the quote currency's total balance (paper before the start: the initial cash)."""
        port = self._paper if self._paper is not None and self._paper.started else self._live
        if port is None:
            return self._cash
        balance = port.balances().get(self.currency)
        return balance.total if balance is not None else 0.0

    get_cash = getcash

    def setcash(self, cash: float) -> None:
        """Set the paper cash (a live account's cash is the exchange's: ignored, with a warning)."""
        if not self.p.paper_trading:
            _log.warning("setcash(%s) ignored: a live account's cash is the exchange's", cash)
            return
        self._cash = float(cash)
        if self._paper is None or not self._paper.started:
            self.startingcash = self._cash
        if self._paper is not None:
            self._paper.set_cash(cash)

    set_cash = setcash

    @property
    def paper_trading(self) -> bool:
        """Whether orders are simulated locally (True) or sent to the venue (False)."""
        return bool(self.p.paper_trading)

    @property
    def paper_cash(self) -> float:
        """The paper account's cash (seed name)."""
        return self.getcash()

    @property
    def paper_positions(self) -> dict[str, float]:
        """Base-asset holdings by symbol (seed name)."""
        sizes = {s: self.positions[d].size for s, d in self._drivers.items()}
        return {s: size for s, size in sizes.items() if size}

    @property
    def open_orders(self) -> dict[int, Any]:
        """The backtrader orders still alive, by ``order.ref`` (seed name)."""
        return {ref: o for ref, o in self._orders.items() if o.alive()}

    def getvalue(self, datas: Any = None) -> float:
        """Cash plus the positions (of ``datas``, or all) at their latest prices."""
        value = self.getcash()
        for data in datas if datas is not None else list(self.positions):
            pos = self.positions[data]
            dust = self._dust.get(self._symbols.get(data, ""), 0.0)
            if dust and self._drivers.get(self._symbols[data]) is not data:
                dust = 0.0  # counted once per symbol, with its first data
            if pos.size or dust:
                value += (pos.size + dust) * (data.close[0] if len(data) else pos.price)
        return value

    get_value = getvalue

    def getposition(self, data: Any, clone: bool = False) -> Any:
        """The position of ``data`` (a copy when ``clone``)."""
        pos = self.positions[data]
        return pos.clone() if clone else pos

    # ------------------------------------------------------------------ orders
    def buy(
        self,
        owner: Any,
        data: Any,
        size: float,
        price: float | None = None,
        plimit: float | None = None,
        oco: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Create and submit a buy order (backtrader's keywords: exectype, valid, tradeid,
        trailamount, trailpercent, parent, transmit; ``oco``; the rest goes to ``order.info``)."""
        return self._create(bt.BuyOrder, owner, data, size, price, plimit, oco, kwargs)

    def sell(
        self,
        owner: Any,
        data: Any,
        size: float,
        price: float | None = None,
        plimit: float | None = None,
        oco: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Create and submit a sell order (the keywords of :meth:`buy`)."""
        return self._create(bt.SellOrder, owner, data, size, price, plimit, oco, kwargs)

    def _create(
        self,
        cls: Any,
        owner: Any,
        data: Any,
        size: float,
        price: float | None,
        plimit: float | None,
        oco: Any,
        kwargs: dict[str, Any],
    ) -> Any:
        params = {k: kwargs.pop(k) for k in _ORDER_PARAMS if k in kwargs}
        order = cls(owner=owner, data=data, size=size, price=price, pricelimit=plimit, **params)
        order.addinfo(**{k: v for k, v in kwargs.items() if not k.startswith("_")})
        return self._submit(order, oco)

    def submit(self, order: Any) -> Any:
        """Submit an order built elsewhere (its own ``oco`` parameter is honoured)."""
        return self._submit(order, order.p.oco)

    def _submit(self, order: Any, oco: Any) -> Any:
        if self.manager is None:
            raise RuntimeError("the broker is not started: add it to cerebro and run")
        order.addcomminfo(self.getcommissioninfo(order.data))
        self._orders[order.ref] = order
        try:
            request = self._request_of(order)
        except (ValueError, ConfigError) as exc:  # bad input: a Rejected order, not a crash
            order.addinfo(reason=str(exc))
            order.reject(self)
            self.notify(order)
            return order
        data = order.data
        reference = data.close[0] if len(data) else None
        if self._paper is not None and replays_history(data):  # the order meets the market now
            reference = self._meet_live_market(order)
            if reference is None:
                return order
        self.manager.submit(
            request,
            parent=getattr(order.parent, "ref", None),
            oco=getattr(oco, "ref", None),
            transmit=order.transmit,
            reference_price=reference,
        )
        self._dispatch()
        return order

    def _meet_live_market(self, order: Any) -> float | None:
        """Paper order on a backfill bar: the paper market moves to the venue's market now (see
        :mod:`real_trade.brokers.backfill`); the order's live price, or None when it was
        Rejected because the venue could not tell its price."""
        assert self._paper is not None and self.manager is not None
        try:
            market = live_market(venue_client_of(self, order.data), sorted(self._drivers))
        except LivePriceUnknownError as exc:
            order.addinfo(
                reason=f"paper cannot price an order placed on a backfill bar: {exc}; "
                "an exchange fills it at the market now (or place it once LIVE)"
            )
            order.reject(self)
            self.notify(order)
            return None
        self._paper.meet_live_market(market.prices, market.now_ms)
        for symbol, price in market.prices.items():
            self.manager.on_price(symbol, price)
        return market.prices[self._track(order.data)]

    def _request_of(self, order: Any) -> OrderRequest:
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
            self._track(order.data),
            OrderSide.BUY if order.isbuy() else OrderSide.SELL,
            kind,
            abs(float(order.size)),
            price=price,
            stop_price=stop,
            trail_amount=order.trailamount,
            trail_percent=order.trailpercent,
            limit_offset=float(getattr(order, "_limitoffset", 0.0) or 0.0),
            expires_ms=_num_to_ms(valid) if isinstance(valid, float) and valid > 0 else None,
        )

    def cancel(self, order: Any) -> None:
        """Ask to cancel; the Canceled notification follows the exchange's confirmation."""
        if self.manager is not None:
            self.manager.cancel(order.ref)
            self._dispatch()

    def notify(self, order: Any) -> None:
        """Queue a snapshot of ``order`` for the strategy's ``notify_order``."""
        self.notifs.append(order.clone())

    def get_notification(self) -> Any:
        """The next queued order notification, or None."""
        return self.notifs.popleft() if self.notifs else None

    def orderstatus(self, order: Any) -> int:
        """The order's current status."""
        return int(self._orders.get(order.ref, order).status)

    # ------------------------------------------------------------------ the cycle
    def next(self) -> None:
        """Each cerebro cycle: play new bars (paper) or watch prices (live), apply reports."""
        manager = self.manager
        if manager is None:
            return
        manager.flush()
        if self._paper is not None:
            self._play_new_bars(manager, self._paper)
        elif self._live is not None:
            for symbol in manager.trigger_symbols():
                self._live.watch_prices(symbol)
                price = self._live.last_price(symbol)
                if price is not None:
                    manager.on_price(symbol, price)
        times = [_num_to_ms(d.datetime[0]) for d in self._symbols if len(d)]
        if times:
            manager.on_time(max(times))
        manager.process()
        self._dispatch()
        self._unattended_cycle()

    def _play_new_bars(self, manager: OrderManager, paper: PaperExecution) -> None:
        bars: dict[str, PaperBar] = {}
        for symbol, data in self._drivers.items():
            if len(data) and len(data) != self._bar_len.get(data):
                self._bar_len[data] = len(data)
                seconds = _SECONDS.get(data._timeframe, 31_536_000) * max(1, int(data._compression))
                volume = float(data.volume[0])
                bars[symbol] = PaperBar(
                    _num_to_ms(data.datetime[0]),
                    float(data.open[0]),
                    float(data.high[0]),
                    float(data.low[0]),
                    float(data.close[0]),
                    volume if math.isfinite(volume) else 0.0,
                    seconds * 1000,
                )
        if bars and (paper.started or len(bars) == len(self._drivers)):
            paper.play(bars, manager.on_price)

    def _dispatch(self) -> None:
        """Book every update on its backtrader order and notify the strategy."""
        assert self.manager is not None
        for event in self.manager.take_updates():
            order = self._orders.get(event.local_id)
            if order is None:
                continue
            if isinstance(event, FillEvent):
                self._execute(order, event)
            else:
                self._set_status(order, event)
                self._risk_info(order, event)
                self.notify(order)
        self._reconcile()

    def _set_status(self, order: Any, update: OrderUpdate) -> None:
        for key in ("client_order_id", "exchange_order_id", "reason"):
            if getattr(update, key):
                order.addinfo(**{key: getattr(update, key)})
        if update.trimmed:
            order.addinfo(requested=update.requested, sent=update.amount, trimmed=update.trimmed)
        call = _BT_CALLS.get(update.state)  # backtrader's own setters (they stamp dates)
        if call in ("submit", "accept", "reject"):
            getattr(order, call)(self)
        elif call is not None:
            getattr(order, call)()
        else:  # Partial, Completed, Expired
            order.status = int(update.state)

    def _execute(self, order: Any, fill: FillEvent) -> None:
        """Book one fill on the order and the position, as BackBroker books its executions."""
        pos = self.positions[order.data]
        size = fill.amount if order.isbuy() else -fill.amount
        net = self._position_change(order.data, pos.size, fill)
        psize, pprice = pos.size, pos.price
        _, _, opened, closed = pos.update(net, fill.price)
        info = self.getcommissioninfo(order.data)
        comm = fill.fee_in_quote
        closedcomm = comm * abs(closed) / abs(net) if net else 0.0
        order.execute(
            _ms_to_num(fill.time_ms),
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
        order.addinfo(fills=[*order.info.get("fills", []), fill])
        if fill.exchange_order_id:
            order.addinfo(exchange_order_id=fill.exchange_order_id)

    def _position_change(self, data: Any, held: float, fill: FillEvent) -> float:
        """What ``fill`` does to the strategy's position: the holding's change, plus the dust
        a buy takes back, or minus the dust a sell leaves (the position closes)."""
        net = fill.position_change
        symbol = self._track(data)
        if self._shared(symbol):  # the strategy splits the holding: fills as they are
            return net
        dust = self._dust.get(symbol, 0.0)
        if dust and net > 0 and not held:
            net += dust  # the dust becomes part of a position again
            self._set_dust(symbol, 0.0)
        left = held + net
        if abs(left) <= 1e-9 * max(1.0, abs(held)):
            if self.manager is not None:
                self.manager.holdings.cleared(symbol)
            return -held  # closes exactly (no float dust left open)
        if net < 0 < left and self.manager is not None:
            why = Holdings.dust_reason(left, self.manager.port.limits(symbol), fill.price)
            if why is not None:
                self._set_dust(symbol, left, why, fill.time_ms)
                return -held
        return net

    def _now_ms(self) -> int:
        """The trading clock: the paper market's time, else the wall clock."""
        if self._paper is not None and self._paper.started:
            return self._paper.now_ms()
        return time.time_ns() // 1_000_000

    def _shared(self, symbol: str) -> bool:
        """Whether several feeds trade ``symbol`` (the strategy splits its holding)."""
        return sum(1 for s in self._symbols.values() if s == symbol) > 1

    def _set_dust(self, symbol: str, amount: float, why: str = "", time_ms: int = 0) -> None:
        """Keep ``symbol``'s dust; a new remainder is reported once (log and bus)."""
        before = self._dust.get(symbol, 0.0)
        self._dust[symbol] = amount
        if amount <= 0 or before > 0:
            if amount <= 0:
                self._dust.pop(symbol, None)
            return
        if self.manager is not None:
            self.manager.holdings.cleared(symbol)
        asset = base_asset(symbol)
        _log.info(
            "%s: %.8g %s left is dust, not a position (%s); it still counts in the value",
            symbol,
            amount,
            asset,
            why,
        )
        self.publish(
            "position.dust", PositionDust(symbol, asset, amount, why, time_ms, self.strategy_name)
        )

    def _reconcile(self, force: bool = False) -> None:
        """Positions of quiet symbols follow the exchange's (or the paper account's) balances."""
        manager = self.manager
        port = self._paper if self._paper is not None and self._paper.started else self._live
        if manager is None or port is None:
            return
        balances = port.balances()
        for symbol, data in self._drivers.items():
            if (not force and not manager.settled(symbol)) or self._shared(symbol):
                continue  # shared: the strategy splits the holding
            held = balances.get(base_asset(symbol))
            size = held.total if held is not None else 0.0
            price = port.last_price(symbol) or (data.close[0] if len(data) else None)
            why = Holdings.dust_reason(size, port.limits(symbol), price) if size > 0 else None
            if why is not None:
                self._set_dust(symbol, size, why, self._now_ms())
                size = 0.0
            else:
                self._set_dust(symbol, 0.0)
            pos = self.positions[data]
            if abs(pos.size - size) > 1e-12 * max(1.0, size):
                last = pos.price or port.last_price(symbol) or (data.close[0] if len(data) else 0)
                pos.set(size, last if size else 0.0)
