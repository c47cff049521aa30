"""The order manager: backtrader's order semantics over any execution port, emulating the rest.

:class:`OrderManager` owns every order of one broker. It rounds amounts and prices to the
market's steps and rejects below-minimum orders before sending (a Rejected order with the reason,
not an exception), sends what the venue supports natively through the
:class:`~real_trade.execution.events.ExecutionPort`, works the rest itself, feeds the port's
reports through each order's :class:`~real_trade.execution.orders.TrackedOrder` and publishes an
:class:`~real_trade.execution.events.OrderUpdate` (and a
:class:`~real_trade.execution.events.FillEvent` per execution) for every change.

Emulated locally, with backtrader's own semantics:

* **StopTrail / StopTrailLimit**: a :class:`~real_trade.execution.orders.LocalTrigger`
  follows the prices the broker shows it (:meth:`OrderManager.on_price`) and sends a market
  (limit) order when the stop is crossed.
* **OCO** (``oco=``): when any member executes, or is cancelled, expires or is refused, the
  other members are cancelled.
* **Brackets** (``parent=``/``transmit=``, ``buy_bracket``): orders are held until the one with
  ``transmit=True`` arrives; the children wait (Accepted) until the parent completes, then go
  out; when a child completes or ends, its siblings are cancelled; a parent that ends without
  completing cancels its children.

On spot accounts two resting sells of one position would lock it twice, so stop legs of OCO
groups and brackets are always local triggers (a native Stop or StopLimit is held back until
:meth:`OrderManager.flush`, the next broker cycle, so an OCO partner submitted in the same
strategy step can still claim it): when one fires, its siblings are cancelled at
the exchange first and its order is sent once they are gone (if a sibling executes meanwhile,
the fired leg is cancelled instead, as backtrader would). Sell children of a buy parent are sized
to what the parent really delivered (net of fees paid in the base asset), and every sell that
exceeds the free holding only by the fees taken in the base asset (or by less than one amount
step) goes out trimmed to what is held (:class:`~real_trade.execution.holdings.Holdings`, the
manager's :attr:`OrderManager.holdings`; the order's updates carry what was asked and why).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from real_trade.execution.client_ids import ClientOrderIds
from real_trade.execution.events import (
    FILL_TOPIC,
    ORDER_TOPICS,
    BalanceReport,
    ExecutionPort,
    FillEvent,
    FillReport,
    OrderUpdate,
    Report,
    SubmitFailed,
    fill_event,
    order_update,
)
from real_trade.execution.holdings import Holdings
from real_trade.execution.orders import (
    _LAST_ALIVE,
    _STOP_KINDS,
    ExchangeStatus,
    LocalTrigger,
    ManagedOrder,
    OrderChange,
    OrderRequest,
    OrderState,
    SymbolLimits,
    TrackedOrder,
)
from real_trade.utils.chaos import crash_point
from real_trade.vocabulary import OrderKind, OrderSide, base_asset

__all__ = ["MAX_ENDED_ORDERS", "ForgetHook", "Gate", "IntentHook", "OrderManager", "OutcomeHook"]

Gate = Callable[[ManagedOrder, OrderRequest], "str | None"]
"""``gate(order, request) -> None | reason``: the pre-send check (the risk engine)."""
IntentHook = Callable[[ManagedOrder, OrderRequest], None]
"""``on_intent(order, request)``: record the intent durably before the order is sent."""
OutcomeHook = Callable[[bool, str], None]
"""``on_outcome(ok, reason)``: the venue acknowledged (True) or refused / lost (False) an order."""
ForgetHook = Callable[[list[int]], None]
"""``on_forget(local_ids)``: the manager forgot these ended orders (:data:`MAX_ENDED_ORDERS`)."""

MAX_ENDED_ORDERS = 1_000
"""Ended orders the manager remembers (a weeks-long session would otherwise keep every order it
ever sent): past it the oldest ended are forgotten, once their whole group (bracket, OCO) has
ended. A report for a forgotten order is one for an unknown order (a fill waits among the
orphans). The window covers what may still refer to an ended order: a fill reported late, a
cancel that crossed a fill; recovery reads the journal, not this memory."""

_log = logging.getLogger("real_trade.execution")
_MAX_ORPHANS = 1_000
_TRAIL_KINDS = frozenset({OrderKind.STOP_TRAIL, OrderKind.STOP_TRAIL_LIMIT})
_ENDED_BADLY = frozenset(
    {OrderState.CANCELED, OrderState.EXPIRED, OrderState.MARGIN, OrderState.REJECTED}
)


class OrderManager:
    """Every order of one broker (see the module docstring).

    ``port`` executes; ``ids`` issues client order ids; ``native_kinds`` are the kinds the venue
    takes as such (the others are emulated); ``publish(topic, event)`` receives every
    :class:`OrderUpdate` and :class:`FillEvent` (a bus's ``publish``); ``clock_ms`` stamps them.
    :meth:`settled` tells when a symbol's balances can be trusted over the fills (no live order
    and a balance report received after its last fill). ``strategy`` stamps every event (the
    journal key). Three hooks guard the wire, each called just before an order is placed:
    ``gate(order, request)`` returns None to let it go or the reason to refuse it (the risk
    engine: the order ends Rejected with that reason and nothing is sent); ``on_intent(order,
    request)`` receives the request with its client order id and must record it durably (the
    journal) before it is sent: if it raises, the order ends Rejected and is not sent;
    ``on_outcome(ok, reason)`` hears every answer of the venue to a placement (an
    acknowledgement, or a refusal / lost order: the circuit breaker's food).
    Past ``max_ended`` ended orders (None: :data:`MAX_ENDED_ORDERS`) the oldest ended are forgotten;
    ``on_forget(local_ids)`` hears which, so the host forgets them too.
    All methods run on one thread (the strategy's); the port's own threads only queue reports.
    """

    def __init__(
        self,
        port: ExecutionPort,
        ids: ClientOrderIds,
        *,
        native_kinds: frozenset[OrderKind] = frozenset(),
        publish: Callable[[str, object], None] | None = None,
        clock_ms: Callable[[], int] | None = None,
        strategy: str = "",
        gate: Gate | None = None,
        on_intent: IntentHook | None = None,
        on_outcome: OutcomeHook | None = None,
        on_forget: ForgetHook | None = None,
        max_ended: int | None = None,
    ) -> None:
        """Create an empty manager over ``port`` (the hooks are described in the class doc)."""
        self.port = port
        self.holdings = Holdings(port)
        self.ids = ids
        self.strategy = strategy
        self._gate, self._on_intent, self._on_outcome = gate, on_intent, on_outcome
        self.native_kinds = native_kinds | {OrderKind.MARKET, OrderKind.LIMIT}
        self._publish = publish
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self.orders: dict[int, ManagedOrder] = {}
        self._working: dict[int, ManagedOrder] = {}  # orders that may still be alive
        self._by_client: dict[str, int] = {}
        self._by_exchange: dict[str, int] = {}
        self._oco_groups: dict[int, list[int]] = {}
        self._orphan_fills: dict[str, list[FillReport]] = {}
        self._deferred: list[ManagedOrder] = []
        self._updates: list[OrderUpdate | FillEvent] = []
        self._seq = self._balance_seq = 0  # reports applied; the last balance report's number
        self._fill_seq: dict[str, int] = {}
        self._firing = False  # a fired local trigger waits to be sent (_resolve_fires)
        self._ended: dict[int, None] = {}  # the ended orders still remembered, oldest ended first
        self.max_ended = MAX_ENDED_ORDERS if max_ended is None else max_ended
        self._forget_at = self.max_ended + max(1, self.max_ended // 4)
        self._on_forget = on_forget

    # ------------------------------------------------------------------ strategy side
    def submit(
        self,
        request: OrderRequest,
        *,
        parent: int | None = None,
        oco: int | None = None,
        transmit: bool = True,
        reference_price: float | None = None,
    ) -> ManagedOrder:
        """Take a new order with backtrader's ``parent``/``transmit``/``oco`` semantics."""
        mo = ManagedOrder(TrackedOrder(request), reference_price=reference_price, parent=parent)
        self.orders[request.local_id] = self._working[request.local_id] = mo
        if oco is not None and oco in self.orders:
            leader = self.orders[oco].oco_leader or oco
            group = self._oco_groups.setdefault(leader, [leader])
            self.orders[leader].oco_leader = leader
            mo.oco_leader = leader
            group.append(mo.local_id)
        if parent is not None:
            parent_mo = self.orders.get(parent)
            if parent_mo is None or (parent_mo.released and not parent_mo.tracked.state.alive):
                self._emit(mo, mo.tracked.end(OrderState.REJECTED, "the parent order is gone"))
                return mo
            parent_mo.children.append(mo.local_id)
        if transmit:
            root = self.orders[parent] if parent is not None else mo
            if root.children:
                for member in [root, *(self.orders[c] for c in root.children)]:
                    self._release(member)
            else:  # a lone order (nearly every one)
                self._release(root)
        self.process()
        return mo

    def adopt(
        self,
        request: OrderRequest,
        *,
        exchange_order_id: str | None,
        filled: float = 0.0,
        trade_ids: Iterable[str] = (),
    ) -> ManagedOrder:
        """Take over an order that is already at the exchange (recovery after a restart).

        ``request`` carries the order's client order id; ``filled`` is what executed before the
        takeover and ``trade_ids`` those executions (they are never applied again). The order
        is reported Accepted (Partial when it has executions), so the strategy hears of it.
        """
        cid = request.client_order_id
        tracked = TrackedOrder(
            request, exchange_order_id=exchange_order_id, filled=filled, exchange_filled=filled
        )
        tracked._trade_ids.update(trade_ids)
        mo = ManagedOrder(tracked, client_order_id=cid, released=True, sent=True)
        self.orders[request.local_id] = self._working[request.local_id] = mo
        self._by_client[cid] = request.local_id
        if exchange_order_id:
            self._by_exchange[exchange_order_id] = request.local_id
        self.ids.observe(cid)
        changes = tracked.submit() + tracked.accept()
        if filled > 0:
            changes.append(tracked._to(OrderState.PARTIAL))
        self._emit(mo, changes)
        return mo

    def cancel(self, local_id: int) -> None:
        """Cancel an order: locally when it is not at the exchange, else ask the exchange."""
        mo = self.orders.get(local_id)
        if mo is not None:
            self._cancel(mo)
            self.process()

    def on_price(self, symbol: str, price: float) -> None:
        """Show a trade price to the local triggers of ``symbol``; fire those it crosses."""
        for mo in self._alive():
            trig = mo.trigger  # armed: a bracket child gets its trigger once the parent completed
            if (
                trig is not None
                and not mo.sent
                and not mo.fire_pending
                and mo.tracked.state.alive
                and mo.tracked.request.symbol == symbol
                and trig.observe(price)
            ):
                self._fire(mo)
        self.process()

    def on_time(self, now_ms: int) -> None:
        """Expire the orders whose ``valid`` time has passed (backtrader's Expired)."""
        for mo in self._alive():
            exp = mo.tracked.request.expires_ms
            if exp is not None and now_ms > exp and mo.tracked.state.alive:
                mo.tracked.cancel_as = OrderState.EXPIRED
                self._cancel(mo)
        self.process()

    def process(self) -> None:
        """Apply every report the port has, reacting (groups, emulation) until quiet."""
        drain = self.port.drain
        for _ in range(10_000):
            reports = drain()
            for report in reports:
                self._apply(report)
            progressed = self._firing and self._resolve_fires()  # (no trigger fired: none)
            if not reports and not progressed:
                return

    def take_updates(self) -> list[OrderUpdate | FillEvent]:
        """Return and forget the updates since the last call, in order."""
        out, self._updates = self._updates, []
        return out

    def alive_orders(self, symbol: str | None = None) -> list[ManagedOrder]:
        """The orders that may still execute (of ``symbol``, or all)."""
        alive = self._alive()
        if symbol is None:
            return alive
        found = []
        for mo in alive:  # (a loop, not a comprehension: one call less, several every order)
            if mo.tracked.request.symbol == symbol:
                found.append(mo)
        return found

    def settled(self, symbol: str) -> bool:
        """Whether no order of ``symbol`` is live and a balance report followed its last fill."""
        last_fill = self._fill_seq.get(symbol, -1)
        return not self.alive_orders(symbol) and self._balance_seq > last_fill

    @property
    def idle(self) -> bool:
        """Whether nothing works: no order may still execute, none is held back, no update
        waits to be taken."""
        return not self._working and not self._deferred and not self._updates

    @property
    def reports_applied(self) -> int:
        """How many reports have been applied so far (balances only change with one)."""
        return self._seq

    def trigger_symbols(self) -> set[str]:
        """The symbols whose prices armed local triggers are waiting on."""
        return {
            mo.tracked.request.symbol
            for mo in self._alive()
            if mo.trigger is not None and not mo.sent
        }

    def _alive(self) -> list[ManagedOrder]:
        """The orders that may still execute (the index forgets the ended ones as it goes)."""
        working = self._working
        if not working:  # most cycles of a backtest: nothing works
            return []
        for local_id, mo in list(working.items()):
            if mo.tracked.state > _LAST_ALIVE:
                del working[local_id]
        return list(working.values())

    def find(self, client_order_id: str) -> ManagedOrder | None:
        """The order sent with ``client_order_id``."""
        local = self._by_client.get(client_order_id)
        return None if local is None else self.orders.get(local)

    # ------------------------------------------------------------------ working orders
    def _release(self, mo: ManagedOrder) -> None:
        """The order leaves the transmit hold: a root is activated, a child is accepted."""
        if mo.released or mo.tracked.state > _LAST_ALIVE:
            return
        mo.released = True
        if mo.parent is not None:
            self._emit(mo, mo.tracked.submit() + mo.tracked.accept())
        else:
            self._activate(mo)

    def _activate(self, mo: ManagedOrder) -> None:
        """Check, round and send the order, or arm its local trigger."""
        req = mo.tracked.request
        changes = mo.tracked.submit()
        limits = self.port.limits(req.symbol)
        amount = self._fitted_amount(mo, limits)
        price = None if req.price is None else limits.round_price(req.price)
        stop = None if req.stop_price is None else limits.round_price(req.stop_price)
        ref = price or stop or mo.reference_price or self.port.last_price(req.symbol)
        problem = limits.problem(amount, ref)
        if problem is not None:
            self._emit(mo, changes + mo.tracked.end(OrderState.REJECTED, problem))
            return
        if amount != req.amount or price != req.price or stop != req.stop_price:
            req = mo.tracked.request = replace(req, amount=amount, price=price, stop_price=stop)
        if self._emulates(mo):
            mo.trigger = LocalTrigger(req.side, stop or 0.0, req.trail_amount, req.trail_percent)
            self._emit(mo, changes + mo.tracked.accept())
            return
        self._emit(mo, changes)
        if req.kind in _STOP_KINDS and mo.oco_leader is None and mo.parent is None:
            self._deferred.append(mo)  # an OCO partner may claim it before the next cycle
            return
        self._send(mo, req)

    def flush(self) -> None:
        """Send the stop orders held back for one cycle (see the module docstring)."""
        deferred, self._deferred = self._deferred, []
        for mo in deferred:
            if not mo.tracked.state.alive or mo.sent:
                continue
            req = mo.tracked.request
            if mo.oco_leader is not None:
                mo.trigger = LocalTrigger(req.side, req.stop_price or 0.0)
                self._emit(mo, mo.tracked.accept())
            else:
                self._send(mo, req)
        self.process()

    def _emulates(self, mo: ManagedOrder) -> bool:
        kind = mo.tracked.request.kind
        if kind in _TRAIL_KINDS:
            return True
        in_group = mo.oco_leader is not None or mo.parent is not None
        return kind in _STOP_KINDS and (in_group or kind not in self.native_kinds)

    def _send(self, mo: ManagedOrder, req: OrderRequest) -> None:
        if self._gate is not None:
            refusal = self._gate(mo, req)
            if refusal is not None:
                self._emit(mo, mo.tracked.end(OrderState.REJECTED, refusal))
                return
        cid = self.ids.next()
        wire = req.with_client_order_id(cid)
        if self._on_intent is not None:
            try:
                self._on_intent(mo, wire)
            except Exception as exc:  # not recorded, not sent: a restart could not account for it
                _log.error(
                    "order %s not sent: its intent could not be journaled", cid, exc_info=True
                )
                why = f"not sent: the journal could not record the intent ({exc})"
                self._emit(mo, mo.tracked.end(OrderState.REJECTED, why))
                return
            crash_point("after_intent")
        mo.client_order_id, mo.sent = cid, True
        self._by_client[cid] = req.local_id
        self.port.place(wire)

    def _fire(self, mo: ManagedOrder) -> None:
        """A local trigger fired: clear the siblings away, then send the order."""
        mo.fire_pending = self._firing = True
        for sib in self._siblings(mo):
            sib.canceled_for = mo.local_id
            self._cancel(sib)

    def _resolve_fires(self) -> bool:
        """Send each fired order whose siblings are gone; True when one was sent."""
        if not self._firing:  # no local trigger fired (nearly every call)
            return False
        sent = self._firing = False
        for mo in self._alive():
            if not mo.fire_pending:
                continue
            if any(s.tracked.state.alive for s in self._siblings(mo)):
                self._firing = True  # look again once the siblings are gone
                continue
            mo.fire_pending = False
            req = mo.tracked.request
            trig = mo.trigger
            assert trig is not None
            limits = self.port.limits(req.symbol)
            price: float | None
            if req.kind is OrderKind.STOP_TRAIL_LIMIT:
                kind, price = OrderKind.LIMIT, limits.round_price(trig.stop - req.limit_offset)
            elif req.kind is OrderKind.STOP_LIMIT:
                kind, price = OrderKind.LIMIT, req.price
            else:
                kind, price = OrderKind.MARKET, None
            amount = self._fitted_amount(mo, limits)
            problem = limits.problem(amount, price or trig.stop)
            if problem is not None:
                self._emit(mo, mo.tracked.end(OrderState.REJECTED, problem))
                continue
            leg = replace(req, kind=kind, price=price, amount=amount, stop_price=None)
            mo.tracked.request = replace(req, amount=amount, stop_price=trig.stop)
            self._send(mo, leg)
            sent = True
        return sent

    def _fitted_amount(self, mo: ManagedOrder, limits: SymbolLimits) -> float:
        """The amount to send: capped, on the amount step, and a sell fitted to the holding."""
        req = mo.tracked.request
        amount = limits.round_amount(req.amount if mo.parent is None else self._capped_amount(mo))
        if req.side is not OrderSide.SELL:
            return amount
        trim = self.holdings.fit_sell(req.symbol, amount, limits)
        if trim is None:
            return amount
        asked = mo.tracked.trim.requested if mo.tracked.trim is not None else req.amount
        mo.tracked.trim = replace(trim, requested=asked)  # what the strategy asked for
        _log.info("order %s: %s", mo.local_id, trim.reason)
        return trim.sent

    def _capped_amount(self, mo: ManagedOrder) -> float:
        """A sell child of a buy parent sells at most what the parent delivered, net of fees."""
        req = mo.tracked.request
        parent = self.orders.get(mo.parent) if mo.parent is not None else None
        if parent is None or req.side is not OrderSide.SELL:
            return req.amount
        if parent.tracked.request.side is not OrderSide.BUY or not parent.tracked.filled:
            return req.amount
        delivered = parent.tracked.net_bought(base_asset(req.symbol))
        sold = sum(self.orders[c].tracked.filled for c in parent.children if c != mo.local_id)
        return max(0.0, min(req.amount, delivered - sold))

    def _cancel(self, mo: ManagedOrder) -> None:
        if not mo.tracked.state.alive:
            return
        if not mo.sent:
            self._emit(mo, mo.tracked.end(mo.tracked.cancel_as))
            return
        mo.cancel_requested = True
        if mo.tracked.exchange_order_id is not None or mo.client_order_id:
            self.port.cancel(
                mo.client_order_id, mo.tracked.request.symbol, mo.tracked.exchange_order_id
            )

    def _siblings(self, mo: ManagedOrder) -> list[ManagedOrder]:
        """The other members of the order's OCO group and bracket."""
        ids: set[int] = set()
        if mo.oco_leader is not None:
            ids.update(self._oco_groups.get(mo.oco_leader, ()))
        if mo.parent is not None and mo.parent in self.orders:
            ids.update(self.orders[mo.parent].children)
        ids.discard(mo.local_id)
        orders = self.orders  # (a member forgotten had ended with its whole group)
        return [orders[i] for i in sorted(ids) if i in orders]

    # ------------------------------------------------------------------ reports
    def _apply(self, report: Report) -> None:
        self._seq += 1
        if isinstance(report, BalanceReport):
            self._balance_seq = self._seq
            self.holdings.on_balance(report)
            return
        if isinstance(report, FillReport):
            mo = self._locate(report.client_order_id, report.exchange_order_id)
            if mo is None:
                key = report.exchange_order_id or report.client_order_id or ""
                self._orphan_fills.setdefault(key, []).append(report)
                if len(self._orphan_fills) > _MAX_ORPHANS:  # fills of other bots' orders
                    self._orphan_fills.pop(next(iter(self._orphan_fills)))
                return
            xid = report.exchange_order_id
            if xid and mo.tracked.exchange_order_id is None:
                mo.tracked.exchange_order_id = xid
                self._by_exchange[xid] = mo.tracked.request.local_id
                if self._on_outcome is not None:  # a fill before the ack: the venue took it
                    self._on_outcome(True, "")
            self._emit(mo, mo.tracked.on_fill(report.fill))
            return
        mo = self.find(report.client_order_id)
        if mo is None:
            _log.debug("report for an order this broker did not send: %s", report)
            return
        if isinstance(report, SubmitFailed):
            if self._on_outcome is not None:
                self._on_outcome(False, f"order {report.client_order_id}: {report.reason}")
            self._emit(mo, mo.tracked.end(report.state, report.reason))
            return
        had_id, cid = mo.tracked.exchange_order_id is not None, mo.client_order_id
        if self._on_outcome is not None and report.status is ExchangeStatus.REJECTED:
            self._on_outcome(False, f"order {cid}: rejected ({report.reason or 'no reason'})")
        elif self._on_outcome is not None and not had_id:
            self._on_outcome(True, "")
        self._emit(mo, mo.tracked.on_report(report))
        xid = mo.tracked.exchange_order_id
        if xid is not None:
            self._by_exchange[xid] = mo.tracked.request.local_id
            if self._orphan_fills:  # fills that came before the order's first report
                orphans = self._orphan_fills.pop(xid, []) + self._orphan_fills.pop(cid, [])
                for orphan in orphans:
                    self._emit(mo, mo.tracked.on_fill(orphan.fill))
            if not had_id and mo.cancel_requested and mo.tracked.state.alive:
                self.port.cancel(cid, mo.tracked.request.symbol, xid)

    def _locate(self, client_order_id: str | None, exchange_id: str | None) -> ManagedOrder | None:
        if client_order_id and client_order_id in self._by_client:
            return self.orders[self._by_client[client_order_id]]
        if exchange_id and exchange_id in self._by_exchange:
            return self.orders[self._by_exchange[exchange_id]]
        return None

    def _emit(self, mo: ManagedOrder, changes: list[OrderChange]) -> None:
        """Publish the changes, then apply backtrader's group rules to them."""
        if not changes:  # a report that changed nothing (the exchange's FILLED after the fill)
            return
        now, cid, tracked = self._clock_ms(), mo.client_order_id, mo.tracked
        emulated = mo.trigger is not None and not mo.sent
        for change in changes:
            fill = change.fill
            if fill is not None:
                self._fill_seq[tracked.request.symbol] = self._seq
                crash_point("after_fill")
                event = fill_event(tracked, fill, client_order_id=cid, strategy=self.strategy)
                self.holdings.on_fill(event)
                self._push(FILL_TOPIC, event)
            state = change.state
            update = order_update(
                tracked,
                state,
                client_order_id=cid,
                time_ms=now,
                emulated=emulated,
                strategy=self.strategy,
            )
            self._push(ORDER_TOPICS[state], update)
        if tracked.state > _LAST_ALIVE:  # ended: no longer working (idle sees it at once)
            local_id = tracked.request.local_id
            self._working.pop(local_id, None)
            ended = self._ended
            ended[local_id] = None
            if len(ended) > self._forget_at:
                self._forget_ended()
        if mo.oco_leader is not None or mo.children or mo.parent is not None:
            for change in changes:  # an order in no group: no rule to apply
                self._react(mo, change)

    def _push(self, topic: str, event: OrderUpdate | FillEvent) -> None:
        self._updates.append(event)
        if self._publish is not None:
            try:
                self._publish(topic, event)
            except RuntimeError as exc:  # a closed bus (shutdown): trading goes on, say so
                _log.warning("could not publish %s: %s", topic, exc)

    def _react(self, mo: ManagedOrder, change: OrderChange) -> None:
        state = change.state
        executed = change.fill is not None
        ended_badly = state in _ENDED_BADLY and mo.canceled_for is None
        if mo.oco_leader is not None and (executed or ended_badly):
            members = self._oco_groups.pop(mo.oco_leader, [])
            for other in members:
                if other != mo.local_id and other in self.orders:
                    self._cancel(self.orders[other])
        if mo.children and not state.alive:
            for child in (self.orders[c] for c in mo.children if c in self.orders):
                if state is OrderState.COMPLETED:
                    if child.tracked.state.alive:
                        self._activate(child)
                else:
                    self._cancel(child)
        parent = self.orders.get(mo.parent) if mo.parent is not None else None
        if parent is not None and (state is OrderState.COMPLETED or ended_badly):
            for sib in self._siblings(mo):
                self._cancel(sib)

    # ------------------------------------------------------------------ memory
    def _forget_ended(self) -> None:
        """Forget the oldest ended orders past :attr:`max_ended` whose group has ended whole;
        the host hears which (``on_forget``)."""
        ended, orders = self._ended, self.orders
        excess = len(ended) - self.max_ended
        gone: list[int] = []
        for local_id in list(ended):
            if len(gone) >= excess:
                break
            mo = orders.get(local_id)
            if mo is None:
                del ended[local_id]
                continue
            if not self._group_ended(mo):
                continue
            del ended[local_id], orders[local_id]
            gone.append(local_id)
            cid, xid = mo.client_order_id, mo.tracked.exchange_order_id
            if cid and self._by_client.get(cid) == local_id:
                del self._by_client[cid]
            if xid and self._by_exchange.get(xid) == local_id:
                del self._by_exchange[xid]
            self._oco_groups.pop(local_id, None)
        self._forget_at = len(ended) + max(1, self.max_ended // 4)
        if gone and self._on_forget is not None:
            self._on_forget(gone)

    def _group_ended(self, mo: ManagedOrder) -> bool:
        """Whether ``mo``, its parent, their children and its OCO group have all ended."""
        orders = self.orders
        root = orders.get(mo.parent) if mo.parent is not None else mo
        members = [mo] if root is None else [root, *(orders.get(c) for c in root.children)]
        if mo.oco_leader is not None:
            members += [orders.get(i) for i in self._oco_groups.get(mo.oco_leader, ())]
        return all(m is None or m.tracked.state > _LAST_ALIVE for m in members)
