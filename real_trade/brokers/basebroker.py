"""``BaseBroker``: the backtrader broker shim over a :class:`~real_trade.session.TradingSession`.

The session trades (paper: the simulator's matching engine driven by the feeds' bars; live: the
store's venue client) and keeps positions and dust, journal, risk gate, reconciliation and kill
switch. This class only translates (:mod:`real_trade.brokers.translate`): orders to requests,
updates to statuses and ``notify_order``, fills to ``order.execute`` on backtrader positions,
feeds to symbols. Backfill bars: :mod:`real_trade.brokers.backfill`; perpetuals (reduce-only
closes, value, liquidations, funding): :mod:`real_trade.brokers.contracts`.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
from concurrent.futures import Future
from typing import Any

import backtrader as bt

from real_trade.brokers import contracts as ct
from real_trade.brokers import translate as tr
from real_trade.brokers.backfill import LivePriceUnknownError, reference_price
from real_trade.brokers.refusals import RefusalLog
from real_trade.errors import ConfigError
from real_trade.execution import FillEvent, FundingPayment, Liquidation, OrderSide
from real_trade.risk.killswitch import KillReport
from real_trade.session.session import TradingSession

__all__ = ["BaseBroker"]


class BaseBroker(bt.BrokerBase):
    """Paper (default) or live trading for an unchanged backtrader strategy (module docstring).

    Params (:data:`~real_trade.brokers.translate.BROKER_PARAMS`): ``paper_trading``,
    ``initial_cash``, ``commission``, ``currency``, ``run_id``, ``symbol``, ``rules``,
    ``level_notional``, ``bus``, ``journal``, ``risk``, ``reconcile_interval``,
    ``funding_poll_interval`` (seconds between reads of the funding bills while a position is
    open, on a venue that pays funding as bills: OKX), ``contracts`` (leverage and margin mode
    per perpetual), ``paper_fill_from_book`` (paper market orders walk the store's live order
    book)."""

    params = tr.BROKER_PARAMS
    comminfo: dict[Any, Any]
    journal_control: Any = None
    """A :class:`~real_trade.session.JournalControl` a runner polls (None: the session's own)."""

    def __init__(self, store: Any = None, **unknown: Any) -> None:
        """The broker; ConfigError for an unknown argument or live trading without credentials."""
        tr.check_arguments(unknown)
        self.store = store
        super().__init__()
        if not self.p.paper_trading:
            tr.require_credentials(store)
        self.notifs: collections.deque[Any] = collections.deque()
        self.positions: collections.defaultdict[Any, Any] = collections.defaultdict(bt.Position)
        self._orders: dict[int, Any] = {}
        self._refusals = RefusalLog()  # refused orders in the log, with the fix
        self._symbols: dict[Any, str] = {}  # data -> symbol
        self._drivers: dict[str, Any] = {}  # symbol -> the first data of it (drives the paper)
        self._readers: dict[Any, tr.BarReader] = {}  # data -> its newest bar's reader
        self.session = TradingSession(tr.session_config(self.p, store, 0.0))
        self.currency: str = self.p.currency or getattr(store, "quote_currency", None) or "USDT"
        self.startingcash = self.session.starting_cash
        self.funding_payments: list[FundingPayment] = []
        # paper: cash and value kept from the first read until the account or the bars change
        # (value: every next() while a position or dust is held; cash: a cycle that books
        # reports or settles positions, every dispatch, setcash); backtrader reads them several
        # times a cycle
        self._keep_values = bool(self.p.paper_trading)
        self._kept_cash: float | None = None
        self._kept_value: float | None = None
        self._value_priced = True  # whether the kept value holds a position at a price

    def init(self) -> None:
        """backtrader's hook: the default commission scheme from ``commission`` (a rate)."""
        if None not in self.comminfo:
            self.comminfo = {None: tr.commission_scheme(self.p.commission)}

    def setcommission(
        self,
        commission: float = 0.0,
        margin: float | None = None,
        mult: float = 1.0,
        commtype: Any = None,
        percabs: bool = True,
        stocklike: bool = False,
        interest: float = 0.0,
        interest_long: bool = False,
        leverage: float = 1.0,
        automargin: bool = False,
        name: Any = None,
    ) -> None:
        """backtrader's ``setcommission``, with fractional sizes for ``order_target_*``
        (:class:`~real_trade.brokers.translate.FractionalCommInfo`)."""
        self.comminfo[name] = tr.commission_scheme(
            commission,
            margin=margin,
            mult=mult,
            commtype=commtype,
            percabs=percabs,
            stocklike=stocklike,
            interest=interest,
            interest_long=interest_long,
            leverage=leverage,
            automargin=automargin,
        )

    def start(self) -> None:
        """Map the strategy's feeds to symbols and start the session for them."""
        super().start()
        if not self.p.paper_trading:
            tr.require_credentials(self.store)
            self.store.start()
        for data in list(getattr(getattr(self, "cerebro", None), "datas", None) or []):
            self._track(data)
        session, symbols = self.session, list(self._symbols.values())
        commission = self.comminfo[None].p.commission
        session.config = tr.session_config(self.p, self.store, commission, symbols)
        session.control, session.new_order = self.journal_control, self._close_order
        session.forgot_orders = self._forget_orders
        held = session.start(sorted(self._drivers), {s for s in symbols if symbols.count(s) > 1})
        self.currency, self.startingcash = session.currency, session.starting_cash
        self._apply(held)
        wakers = tuple(w for d in self._symbols if callable(w := getattr(d, "wake", None)))
        if wakers:  # live: a report wakes Cerebro's wait, next() books it before the next bar
            session.on_reports(functools.partial(_wake_all, wakers))

    def stop(self) -> None:
        """Settle the orders still on the wire, stop the session (the store stays its owner's)."""
        self.session.on_reports(None)
        self.session.stop(on_updates=self._dispatch)
        super().stop()

    def _track(self, data: Any) -> str:
        if data not in self._symbols:
            client = None if self.p.paper_trading else self.store.client
            symbol = tr.symbol_of(data, self.p.symbol, client)
            ct.check_symbol(symbol, getattr(self.store, "market_type", None))
            self._symbols[data] = symbol
            self._drivers.setdefault(symbol, data)
        return self._symbols[data]

    def getcash(self) -> float:
        """Cash: the quote currency's total balance (paper before the start: the initial cash)."""
        kept = self._kept_cash
        if kept is not None:
            return kept
        cash = self.session.cash()
        if self._keep_values:
            self._kept_cash = cash
        return cash

    def setcash(self, cash: float) -> None:
        """Set the paper cash (a live account's cash is the exchange's: ignored, with a warning)."""
        self._forget_values()
        self.session.set_cash(cash)
        self.startingcash = self.session.starting_cash

    def getvalue(self, datas: Any = None) -> float:
        """Cash plus the positions (of ``datas``, or all) and the dust at their latest prices;
        with perpetuals, the wallet plus the positions' PnL at the latest prices. For one data
        (``getvalue([data])``, as ``order_target_value`` and the PositionsValue analyzer ask)
        the value of its position alone, as BackBroker's: size (signed) times the close, dust
        left out."""
        if datas is None:
            kept = self._kept_value  # read twice a bar (value, fund value): kept till it moves
            if kept is not None:
                return kept  # (never kept with contracts: their value is read afresh)
        elif len(datas) == 1:
            return self._position_value(datas[0])
        if self.session.positions.contracts:
            return ct.contract_value(self, datas)
        value, priced = self.getcash(), False
        dusts = self.session.positions.dust
        positions = self.positions
        for data in datas if datas is not None else list(positions):
            pos = positions[data]
            dust = 0.0
            if dusts:
                symbol = self._symbols.get(data, "")
                dust = dusts.get(symbol, 0.0) if self._drivers.get(symbol) is data else 0.0
            if pos.size or dust:  # (the dust counts once per symbol: with its driving feed)
                reader = self._readers.get(data)
                close = reader.close() if reader is not None else None
                if close is None:
                    close = data.close[0] if len(data) else pos.price
                value += (pos.size + dust) * close
                priced = True
        if datas is None and self._keep_values:
            self._kept_value, self._value_priced = value, priced
        return value

    def _position_value(self, data: Any) -> float:
        """``data``'s position at its latest close; without the dust, which is no position
        (so ``order_target_percent(0)`` when flat with dust sends nothing)."""
        pos = self.positions[data]
        return pos.size * (data.close[0] if len(data) else pos.price) if pos.size else 0.0

    def _forget_values(self) -> None:
        """The account or the bars change: cash and value are read afresh."""
        self._kept_cash = self._kept_value = None

    def getposition(self, data: Any, clone: bool = False) -> Any:
        """The position of ``data`` (a copy when ``clone``)."""
        return self.positions[data].clone() if clone else self.positions[data]

    get_cash, set_cash, get_value = getcash, setcash, getvalue
    get_fundvalue = getvalue  # (Cerebro reads it every bar; BrokerBase's calls getvalue)
    fundvalue = property(getvalue, doc="The fund value: the value (read every bar).")

    @property
    def paper_positions(self) -> dict[str, float]:
        """Base-asset holdings by symbol (seed name)."""
        return {s: p.size for s, d in self._drivers.items() if (p := self.positions[d]).size}

    @property
    def open_orders(self) -> dict[int, Any]:
        """The backtrader orders still alive, by ``order.ref`` (seed name)."""
        return {ref: o for ref, o in self._orders.items() if o.alive()}

    paper_trading = property(lambda self: bool(self.p.paper_trading), doc="Simulated orders?")
    paper_cash = property(lambda self: self.getcash(), doc="The paper account's cash (seed).")
    manager = property(lambda self: self.session.manager, doc="The session's order manager.")
    journal = property(lambda self: self.session.journal, doc="The session's journal, or None.")
    guard = property(lambda self: self.session.guard, doc="The session's risk gate.")
    recovery = property(lambda self: self.session.recovery, doc="The live start's recovery.")
    trading_state = property(lambda self: self.session.trading_state, doc="The trading state.")
    strategy_name = property(lambda self: self.session.strategy_name, doc="The run's name.")
    _paper = property(lambda self: self.session.paper)
    _live = property(lambda self: self.session.live)

    def kill(self, flatten: bool = False, reason: str = "") -> Future[KillReport]:
        """Kill switch (any thread): cancel all, flatten when asked, HALT; a future report."""
        return self.session.kill(flatten, reason)

    def resume_trading(self, reason: str = "") -> None:
        """Lift a halt: trading state ACTIVE again (recorded in the journal)."""
        self.session.resume_trading(reason)

    def publish(self, topic: str, event: object) -> None:
        """Publish on the session's bus (a closed bus at shutdown is logged, not raised)."""
        self.session.publish(topic, event)

    def buy(self, owner: Any, data: Any, size: float, *args: Any, **kwargs: Any) -> Any:
        """Create and submit a buy order (``price``, ``plimit``, ``oco``, backtrader's order
        keywords; the rest goes to ``order.info``: :func:`~.translate.new_order`)."""
        return self._submit(*tr.new_order(bt.BuyOrder, owner, data, size, args, kwargs))

    def sell(self, owner: Any, data: Any, size: float, *args: Any, **kwargs: Any) -> Any:
        """Create and submit a sell order (the keywords of :meth:`buy`)."""
        return self._submit(*tr.new_order(bt.SellOrder, owner, data, size, args, kwargs))

    def submit(self, order: Any) -> Any:
        """Submit an order built elsewhere (its own ``oco`` parameter is honoured)."""
        return self._submit(order, order.p.oco)

    def _submit(self, order: Any, oco: Any) -> Any:
        if self.session.manager is None:
            raise RuntimeError("the broker is not started: add it to cerebro and run")
        data, session = order.data, self.session
        order.addcomminfo(self.getcommissioninfo(data))
        self._orders[order.ref] = order
        try:
            request = tr.request_of(order, self._track(data))
            if request.symbol in session.positions.contracts:
                held = session.positions.size(request.symbol)
                closing = ct.closes_position(order, held)
                request = dataclasses.replace(request, reduce_only=closing)
            reader = self._readers.get(data)
            reference = reference_price(self, session, data, request.symbol, self._drivers, reader)
        except (ValueError, ConfigError, LivePriceUnknownError) as exc:  # a Rejected order
            order.addinfo(reason=str(exc))
            order.reject(self)
            self._refused(order)
            self.notify(order)
            del self._orders[order.ref]  # ended, never sent: nothing will refer to it
            return order
        parent = getattr(order.parent, "ref", None)
        extra = {"tradeid": order.tradeid, "parent": parent}
        links: dict[str, Any] = {"oco": getattr(oco, "ref", None), "transmit": order.transmit}
        session.submit(request, parent=parent, reference_price=reference, extra=extra, **links)
        self._dispatch()
        return order

    def _forget_orders(self, refs: list[int]) -> None:
        """The session's manager forgot these ended orders (its window of ended orders,
        :data:`~real_trade.execution.order_manager.MAX_ENDED_ORDERS`): forget them too."""
        for ref in refs:
            self._orders.pop(ref, None)

    def _close_order(self, symbol: str, side: OrderSide, amount: float) -> int:
        """The kill switch's closing market order, as a backtrader order the strategy sees."""
        place, data = (self.sell if side is OrderSide.SELL else self.buy), self._drivers[symbol]
        order = place(
            tr.first_strategy(self), data, amount, exectype=bt.Order.Market, kill_switch=True
        )
        return int(order.ref)

    def cancel(self, order: Any) -> None:
        """Ask to cancel; the Canceled notification follows the exchange's confirmation."""
        self.session.cancel(order.ref)
        self._dispatch()

    def cancel_all(self) -> list[int]:
        """Cancel every working order of the run, those recovered at the start included."""
        self._adopt_recovered()
        orders = self.open_orders
        for order in orders.values():
            self.cancel(order)
        return list(orders)

    def notify(self, order: Any) -> None:
        """Queue a snapshot of ``order`` for the strategy's ``notify_order``."""
        self.notifs.append(tr.snapshot(order))  # order.clone(), the same copies

    def get_notification(self) -> Any:
        """The next queued order notification, or None."""
        return self.notifs.popleft() if self.notifs else None

    def orderstatus(self, order: Any) -> int:
        """The order's current status."""
        return int(self._orders.get(order.ref, order).status)

    def next(self) -> None:
        """Each cycle: bars and time to the session, its reports to the strategy, the rest."""
        if self._value_priced:
            self._kept_value = None  # new bars: new prices
        session = self.session
        if session.manager is None:
            return
        bars = tr.new_bars(self._drivers, self._readers)
        settled = session.pass_quiet_bars(bars)
        if settled is not None:  # nothing works (most bars): no report, no update
            if settled:
                self._apply(settled)
            session.after_cycle()
            return
        self._forget_values()
        self._adopt_recovered()  # before the reports are applied: some may be theirs (an end)
        if len(self._symbols) == len(bars):  # one feed per symbol, each with a new bar
            times = [bar.open_ms for bar in bars.values()]
        else:
            times = [tr.num_to_ms(d.lines.datetime[0]) for d in self._symbols if len(d)]
        session.advance(bars, max(times) if times else None)
        self._dispatch()
        session.after_cycle()

    def _adopt_recovered(self) -> None:
        if self.session.adopt_recovered(functools.partial(tr.follow_recovered, self)):
            self._dispatch()

    def _dispatch(self) -> None:
        """Book the session's updates on their orders (notify the strategy), then positions."""
        for update in self.session.take_updates():
            event, order = update.event, self._orders.get(update.event.local_id)
            if order is None:
                continue
            if isinstance(event, FillEvent):
                data = order.data
                info = self.getcommissioninfo(data)
                tr.execute(order, self.positions[data], event, update.position_change, info)
                continue
            tr.set_status(order, event, self, update.denial)
            if order.status in (order.Margin, order.Rejected):
                self._refused(order)
            self.notify(order)
        for happened in self.session.take_contract_events():
            if isinstance(happened, Liquidation):
                booked = ct.book_liquidation(self, happened)
                if booked is not None:
                    self.session.liquidated(happened, *booked)
            else:
                self.funding_payments.append(happened)
        self._apply(self.session.settle_positions())

    def _refused(self, order: Any) -> None:
        """Log a refused order (Margin, Rejected) with the fix, once per kind of refusal."""
        self._refusals.note(order, self._symbols.get(order.data, ""), self)

    def _apply(self, sizes: dict[str, float]) -> None:
        """Set the positions the session settled to the account's balances."""
        self._forget_values()
        for symbol, size in sizes.items():
            pos = self.positions[self._drivers[symbol]]
            price = self.session.entry_price(symbol) or pos.price or self.session.last_price(symbol)
            pos.set(size, (price or 0.0) if size else 0.0)


def _wake_all(wakers: tuple[Any, ...]) -> None:
    """Wake every feed's wait (the live execution's report listener, on the I/O thread)."""
    for wake in wakers:
        wake()
