"""What lets a broker run unattended: journal, recovery, risk gate, kill switch, snapshots.

:class:`UnattendedMixin` is the part of :class:`~real_trade.brokers.basebroker.BaseBroker` that
is about safety rather than backtrader: it builds the risk gate (every order passes the
:class:`~real_trade.risk.engine.RiskEngine`, or at least the trading state), journals each order
intent synchronously before it is sent, runs :func:`~real_trade.persistence.recovery.recover`
on a live start and adopts the orders still open (rebuilt as backtrader orders on the first
cycle, so the strategy gets their ``notify_order``), checks open orders against the exchange now
and then, follows the trading state an operator sets in the journal (``real-trade kill`` /
``resume``), publishes account snapshots (the journal's equity curve) and works the kill switch.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import backtrader as bt

from real_trade.brokers.kill import BrokerKill
from real_trade.brokers.risk_gate import BrokerRiskGuard, build_risk_engine
from real_trade.execution import (
    Holdings,
    ManagedOrder,
    OrderKind,
    OrderRequest,
    OrderSide,
    OrderState,
    OrderUpdate,
    base_asset,
)
from real_trade.risk import (
    AccountContext,
    LiveRiskConfig,
    RiskEngine,
    TradingState,
    TradingStateHolder,
)

__all__ = ["UnattendedMixin"]

_log = logging.getLogger("real_trade.brokers")
_SNAPSHOT_EVERY_S = 10.0
_CONTROL_EVERY_S = 2.0
_BT_KINDS = {
    OrderKind.MARKET: bt.Order.Market,
    OrderKind.LIMIT: bt.Order.Limit,
    OrderKind.STOP: bt.Order.Stop,
    OrderKind.STOP_LIMIT: bt.Order.StopLimit,
}


class UnattendedMixin:
    """Journal, recovery, risk and kill switch for a broker (module docstring). The host class
    provides ``p`` (params ``journal``, ``risk``, ``run_id``), ``manager``, ``positions``,
    ``_drivers``, ``_symbols``, ``_orders``, ``_paper``, ``_live``, ``store``, ``currency``,
    ``getcash``/``getvalue``/``sell``/``buy`` and ``_dispatch``."""

    p: Any
    manager: Any
    positions: Any
    currency: str
    store: Any
    _drivers: dict[str, Any]
    _orders: dict[int, Any]
    _paper: Any
    _live: Any
    _symbols: dict[Any, str]

    if TYPE_CHECKING:  # provided by the broker class (and bt.BrokerBase)

        def getvalue(self, datas: Any = None) -> float: ...
        def getcash(self) -> float: ...
        def getcommissioninfo(self, data: Any) -> Any: ...
        def _dispatch(self) -> None: ...
        def sell(self, owner: Any, data: Any, size: float, **kwargs: Any) -> Any: ...
        def buy(self, owner: Any, data: Any, size: float, **kwargs: Any) -> Any: ...

    def _init_unattended(self) -> None:
        self.trading_state = TradingStateHolder()
        self.guard: BrokerRiskGuard | None = None
        self.journal: Any = None
        self._own_journal = False
        self._bus: Any = None
        self._killer = BrokerKill(self)
        self._adopt: list[Any] = []
        self._reconciler: Any = None
        self._check_thread: threading.Thread | None = None
        self._last_snapshot = 0.0
        self._snapshot_lens: dict[Any, int] = {}
        self._last_control = 0.0
        self._journal_state: str | None = None
        self.recovery: Any = None

    @property
    def strategy_name(self) -> str:
        """The run's name: the journal key and the client order ids' prefix (``run_id``)."""
        return str(self.p.run_id or "default")

    # ------------------------------------------------------------------ start
    def _open_journal(self, bus: Any) -> None:
        journal = self.p.journal
        if journal is None:
            return
        if isinstance(journal, str):
            from real_trade.persistence import Journal

            journal = Journal(journal)
            self._own_journal = True
        self.journal = journal
        if not getattr(journal, "attached", False):
            journal.attach(bus)
        saved = journal.get_state("trading_state")
        if isinstance(saved, dict) and saved.get("state") == "halted":
            self.trading_state.halt(str(saved.get("reason") or "halted in the journal"))
            self._journal_state = "halted"
            _log.warning(
                "trading is HALTED (journal: %s); `real-trade resume` lifts it",
                saved.get("reason") or "kill switch",
            )

    def _build_guard(self, bus: Any, clock: Any = None) -> BrokerRiskGuard:
        risk = self.p.risk
        if risk is None:  # no limits, but the trading state (kill switch) still applies
            engine = RiskEngine(LiveRiskConfig(breaker_max_failures=None), state=self.trading_state)
        else:
            engine = build_risk_engine(risk, bus=bus, clock=clock)
            if isinstance(risk, LiveRiskConfig):
                engine.state = self.trading_state
            else:  # the user's engine keeps its own state holder, and a halt from the journal
                previous = self.trading_state.snapshot()
                self.trading_state = engine.state
                if previous.state is not TradingState.ACTIVE:
                    engine.state.set(previous.state, previous.reason)
        self.guard = BrokerRiskGuard(engine, self._risk_context)
        return self.guard

    def _risk_context(self, symbol: str) -> AccountContext:
        data = self._drivers.get(symbol)
        position = sum(self.positions[d].size for d, s in self._symbols.items() if s == symbol)
        port = self._paper if self._paper is not None else self._live
        last = port.last_price(symbol) if port is not None else None
        if data is not None and len(data):
            last = float(data.close[0])
        balances = port.balances() if port is not None else {}
        quote = balances.get(self.currency)
        return AccountContext(
            position=position,
            last_price=last,
            free_quote=None if quote is None else quote.free,
            equity=self.getvalue(),
        )

    def _journal_intent(self, mo: ManagedOrder, request: OrderRequest) -> None:
        from real_trade.persistence import OrderIntent

        order = self._orders.get(request.local_id)
        params: dict[str, Any] = {"exectype": request.kind.value}
        if order is not None:
            params.update(tradeid=order.tradeid, parent=getattr(order.parent, "ref", None))
        if mo.parent is not None:
            params["parent"] = mo.parent
        self.journal.record_intent(
            OrderIntent(
                client_order_id=request.client_order_id,
                strategy=self.strategy_name,
                local_id=request.local_id,
                symbol=request.symbol,
                side=request.side.value,
                kind=request.kind.value,
                amount=request.amount,
                price=request.price,
                stop_price=request.stop_price,
                params=params,
                time_ms=time.time_ns() // 1_000_000,
            )
        )

    def _resume_paper(self, ids: Any) -> None:
        """Paper start with a journal: the paper account resumes from the last snapshot; paper
        orders open at the last stop did not survive it (they lived in that process) and are
        recorded as Canceled with the reason."""
        if self.journal is None or self._paper is None:
            return
        for cid in self.journal.client_order_ids(strategy=self.strategy_name):
            ids.observe(cid)
        snapshot = self.journal.latest_snapshot(strategy=self.strategy_name)
        if snapshot is not None:
            totals = {a: free + locked for a, (free, locked) in snapshot.balances.items()}
            self._cash = float(totals.get(self.currency, 0.0))
            self._paper.set_cash(self._cash)
            self._paper.set_holdings(totals)
            self.startingcash = self._cash
            _log.info("paper account resumed from the journal: %s", totals)
        from real_trade.execution import TrackedOrder
        from real_trade.execution.events import order_update
        from real_trade.persistence.recovery import request_of

        why = "paper order ended with its process: paper orders do not survive a restart"
        now = time.time_ns() // 1_000_000
        for n, row in enumerate(self.journal.intents_without_outcome(strategy=self.strategy_name)):
            tracked = TrackedOrder(request_of(row, -1 - n), state=OrderState.CANCELED, reason=why)
            self.journal.record_update(
                order_update(
                    tracked,
                    OrderState.CANCELED,
                    client_order_id=row.client_order_id,
                    time_ms=now,
                    strategy=self.strategy_name,
                )
            )
            self.publish(
                "reconcile.paper_order_ended",
                {"client_order_id": row.client_order_id, "message": why},
            )

    def _recover(self, ids: Any) -> None:
        """Live start with a journal: reconcile before the strategy may trade."""
        if self.journal is None or self._live is None:
            return
        from real_trade.persistence.recovery import ContinuousReconciler, recover

        client = self.store.client
        report = recover(
            self.journal,
            client,
            list(self._drivers),
            strategy=self.strategy_name,
            ids=ids,
            publish=self.publish,
        )
        self.recovery = report
        for found in report.adopted:
            self._live.adopt(
                found.request.client_order_id,
                found.request.symbol,
                found.exchange_order_id,
                found.trades,
            )
        self._adopt = list(report.adopted)
        self._reconciler = ContinuousReconciler(
            client,
            list(self._drivers),
            ids,
            interval_s=float(self.p.reconcile_interval),
            publish=self.publish,
        )

    def _adopt_recovered(self) -> None:
        """Rebuild the recovered orders as backtrader orders (first cycle: strategies exist)."""
        if not self._adopt or self.manager is None:
            return
        strats = list(getattr(getattr(self, "cerebro", None), "runningstrats", None) or [])
        owner = strats[0] if strats else None
        for found in self._adopt:
            req = found.request
            data = self._drivers.get(req.symbol)
            if data is None:
                continue
            cls = bt.BuyOrder if req.side is OrderSide.BUY else bt.SellOrder
            price = (
                req.stop_price
                if req.kind in (OrderKind.STOP, OrderKind.STOP_LIMIT)
                else (req.price)
            )
            order = cls(
                owner=owner,
                data=data,
                size=req.amount,
                price=price,
                pricelimit=req.price if req.kind is OrderKind.STOP_LIMIT else None,
                exectype=_BT_KINDS.get(req.kind, bt.Order.Market),
                simulated=not len(data),
            )
            order.addcomminfo(self.getcommissioninfo(data))
            order.addinfo(
                recovered=True,
                filled_before_restart=found.filled,
                client_order_id=req.client_order_id,
            )
            self._orders[order.ref] = order
            wire = OrderRequest(
                order.ref,
                req.symbol,
                req.side,
                req.kind,
                req.amount,
                price=req.price,
                stop_price=req.stop_price,
                client_order_id=req.client_order_id,
            )
            self.manager.adopt(
                wire,
                exchange_order_id=found.exchange_order_id,
                filled=found.filled,
                trade_ids=found.trade_ids,
            )
        self._adopt = []
        self._dispatch()

    # ------------------------------------------------------------------ every cycle
    def _unattended_cycle(self) -> None:
        """Adopt recovered orders, follow the journal's trading state, step a kill, check the
        exchange's open orders, publish a snapshot when due."""
        self._adopt_recovered()
        now = time.monotonic()
        if self.journal is not None and now - self._last_control >= _CONTROL_EVERY_S:
            self._last_control = now
            self._follow_journal_state()
        self._killer.step()
        checking = self._check_thread is not None and self._check_thread.is_alive()
        reconciler = self._reconciler
        if reconciler is not None and not checking and reconciler.due() and self.manager:
            working = {
                mo.client_order_id: mo.tracked.request.symbol
                for mo in self.manager.alive_orders()
                if mo.sent
            }
            quiet = all(self.manager.settled(s) for s in self._drivers)
            assets = {self.currency, *(base_asset(s) for s in self._drivers)}
            balances = self._live.balances() if quiet and self._live is not None else None
            self._check_thread = threading.Thread(  # REST calls stay off the trading thread
                target=self._reconcile_in_background,
                args=(working, balances, assets),
                name="rt-reconcile",
                daemon=True,
            )
            self._check_thread.start()
        self._maybe_snapshot(now)

    def _reconcile_in_background(
        self, working: dict[str, str], balances: Any, assets: set[str]
    ) -> None:
        """One continuous-reconciliation check; what it finds is looked up at the exchange."""
        reconciler, live = self._reconciler, self._live
        assert reconciler is not None
        try:
            findings = reconciler.check(working, balances, assets)
        except Exception as exc:  # a failed check is retried at the next interval
            _log.warning("open-order reconciliation failed: %s", exc)
            return
        if findings and live is not None:
            if any(f["kind"] == "balance_mismatch" for f in findings):
                live.apply_balance(reconciler.fresh_balance)
            live.poll_now()  # learn the fate of what the exchange reports otherwise

    def _follow_journal_state(self) -> None:
        try:
            saved = self.journal.get_state("trading_state")
        except Exception as exc:
            _log.warning("could not read the trading state from the journal: %s", exc)
            return
        state = saved.get("state") if isinstance(saved, dict) else None
        if state == self._journal_state or state is None:
            return
        self._journal_state = state
        reason = str(saved.get("reason") or "set in the journal")
        if state == "halted" and not self._killer.active:
            self.trading_state.halt(reason)
            _log.warning("trading HALTED from the journal: %s", reason)
        elif state == "active" and self.trading_state.state.value != "active":
            self.trading_state.resume(reason)
            _log.warning("trading resumed from the journal: %s", reason)

    def _maybe_snapshot(self, now: float, force: bool = False) -> None:
        if self._bus is None or self.manager is None or self.journal is None:
            return  # snapshots feed the journal's equity curve
        lens = {d: len(d) for d in self._drivers.values()}
        due = now - self._last_snapshot >= _SNAPSHOT_EVERY_S
        if not force and lens == self._snapshot_lens and not due:
            return
        self._snapshot_lens, self._last_snapshot = lens, now
        from real_trade.persistence import AccountSnapshot

        port = self._paper if self._paper is not None and self._paper.started else self._live
        if port is None:
            return
        balances = {a: (b.free, b.locked) for a, b in port.balances().items() if b.total}
        positions = {s: self.positions[d].size for s, d in self._drivers.items()}
        times = [d.datetime[0] for d in self._drivers.values() if len(d)]
        stamp = self._paper.now_ms() if self._paper is not None else time.time_ns() // 1_000_000
        if not times:
            return
        self.publish(
            "account.snapshot",
            AccountSnapshot(
                strategy=self.strategy_name,
                time_ms=stamp,
                cash=self.getcash(),
                equity=self.getvalue(),
                balances=balances,
                positions=positions,
            ),
        )

    # ------------------------------------------------------------------ kill switch
    def kill(self, flatten: bool = False, reason: str = "") -> concurrent.futures.Future[Any]:
        """Kill switch (thread-safe): cancel every open order, flatten when ``flatten``, then
        HALT. Worked on the broker's next cycle; the returned future gets the report (a dict)."""
        return self._killer.request(flatten, reason)

    def resume_trading(self, reason: str = "") -> None:
        """Lift a halt: trading state ACTIVE again (recorded in the journal)."""
        self.trading_state.resume(reason)
        self.record_trading_state("active", reason or "resumed")

    def publish(self, topic: str, event: object) -> None:
        """Publish on the broker's bus (a closed bus at shutdown is logged, not raised)."""
        if self._bus is None:
            return
        try:
            self._bus.publish(topic, event)
        except RuntimeError as exc:
            _log.warning("could not publish %s: %s", topic, exc)

    def record_trading_state(self, state: str, reason: str) -> None:
        """Write the trading state to the journal (a restart starts in it)."""
        if self.journal is None:
            return
        self._journal_state = state
        now = time.time_ns() // 1_000_000
        self.journal.set_state("trading_state", {"state": state, "reason": reason, "time_ms": now})

    def flatten_targets(self, tradable_only: bool = False) -> dict[str, float]:
        """Signed holdings per traded symbol (spot: the base asset), optionally only those the
        exchange minimum lets a market order close."""
        out: dict[str, float] = {}
        for symbol, data in self._drivers.items():
            size = sum(self.positions[d].size for d, s in self._symbols.items() if s == symbol)
            if abs(size) <= 1e-12:
                continue
            if tradable_only and self._dust_reason(symbol, size, data) is not None:
                continue
            out[symbol] = size
        return out

    def _dust_reason(self, symbol: str, size: float, data: Any) -> str | None:
        limits = self.manager.port.limits(symbol)
        price = float(data.close[0]) if len(data) else self.manager.port.last_price(symbol)
        return Holdings.dust_reason(abs(size), limits, price)

    def close_position(self, symbol: str, size: float) -> tuple[Any, str | None]:
        """Send a market order closing ``size`` of ``symbol``; (None, reason) for dust."""
        data = self._drivers[symbol]
        dust = self._dust_reason(symbol, size, data)
        if dust is not None:
            return None, dust
        strats = list(getattr(getattr(self, "cerebro", None), "runningstrats", None) or [])
        owner = strats[0] if strats else None
        side = self.sell if size > 0 else self.buy
        order = side(owner, data, abs(size), exectype=bt.Order.Market, kill_switch=True)
        return order, None

    def order_alive(self, ref: int) -> bool:
        """Whether the backtrader order ``ref`` may still execute."""
        order = self._orders.get(ref)
        return order is not None and bool(order.alive())

    def cancel_untracked_at_exchange(self, known: list[str]) -> list[str]:
        """Live: cancel open orders on the traded symbols the manager does not follow; returns
        the errors (paper: nothing to do)."""
        if self._live is None:
            return []
        errors: list[str] = []
        client = self.store.client
        for symbol in self._drivers:
            try:
                orders = client.fetch_open_orders(symbol)
            except Exception as exc:
                errors.append(f"{symbol}: open orders unknown ({exc})")
                continue
            for order in orders:
                cid = order.get("clientOrderId") or ""
                if self.manager.find(cid) is not None:
                    continue
                try:
                    client.cancel_order(str(order["id"]), symbol)
                    known.append(cid or str(order["id"]))
                except Exception as exc:
                    errors.append(f"{symbol} order {order.get('id')}: cancel failed ({exc})")
        return errors

    def _close_journal(self) -> None:
        if self.journal is None:
            return
        try:
            self._maybe_snapshot(time.monotonic(), force=True)  # the account as we leave it
        except Exception as exc:
            _log.warning("final account snapshot failed: %s", exc)
        try:
            self.journal.flush()
        except Exception as exc:
            _log.warning("journal flush failed: %s", exc)
        if self._own_journal:
            self.journal.close()

    def _risk_info(self, order: Any, update: OrderUpdate) -> None:
        """Put a risk refusal's rule and numbers in ``order.info``."""
        if update.state is not OrderState.REJECTED or self.guard is None:
            return
        denial = self.guard.take_denial(update.local_id)
        if denial is not None:
            order.addinfo(risk_rule=denial.rule, risk_limit=denial.limit, risk_value=denial.value)

    @staticmethod
    def _base(symbol: str) -> str:
        return base_asset(symbol)
