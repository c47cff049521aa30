"""``TradingSession``: one strategy's trading path, paper or live, without backtrader.

It composes the :class:`~real_trade.execution.order_manager.OrderManager` over
:class:`~real_trade.execution.paper.PaperExecution` (``paper=True``: the simulator's matching
engine in-process, driven by the bars the host plays) or
:class:`~real_trade.execution.live.LiveExecution` (the venue client); the strategy's positions
and dust by symbol (:class:`~real_trade.session.positions.SymbolPositions`); the journal
(intents before they are sent, paper resume, recovery and adoption on a live start, account
snapshots: the journal's equity curve); the risk gate
(:class:`~real_trade.session.risk_gate.BrokerRiskGuard` over a
:class:`~real_trade.risk.engine.RiskEngine`, or at least the trading state); continuous
reconciliation on the client's I/O loop (:class:`~real_trade.session.reconcile.ReconcileTask`);
the :class:`~real_trade.risk.killswitch.KillSwitch` stepped on its cycle, with the session as
its target; and the journal's requests (:class:`~real_trade.session.control.JournalControl`,
polled here unless a runner polls it).

A host (the backtrader broker shim) calls :meth:`start` with the symbols, then on each cycle
:meth:`advance` (new bars, the time), books :meth:`take_updates`, applies
:meth:`settle_positions` and calls :meth:`after_cycle`; :meth:`stop` at the end.

Contracts (``BTC/USDT:USDT``, :mod:`real_trade.session.contracts`): the configured leverage and
margin mode are set on start; positions are the exchange's (signed, with their entry price),
the cash is the wallet and the equity adds the unrealized PnL; the risk context carries the
margin ratio, the leverage and the liquidation price; funding payments and liquidations are
published (``funding``, ``liquidation``, a liquidation also as ``order.completed``) and handed
to the host by :meth:`take_contract_events`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import itertools
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from real_trade.bus import EventBus, get_bus
from real_trade.execution import (
    Balance,
    ClientOrderIds,
    ContractAccount,
    FillEvent,
    FundingPayment,
    Liquidation,
    LiveExecution,
    ManagedOrder,
    OrderKind,
    OrderManager,
    OrderRequest,
    OrderSide,
    OrderState,
    PaperBar,
    PaperExecution,
    base_asset,
)
from real_trade.persistence import AccountSnapshot
from real_trade.persistence.handle import JournalHandle, open_journal
from real_trade.persistence.recovery import ContinuousReconciler, RecoveredOrder
from real_trade.risk import AccountContext
from real_trade.risk.killswitch import KillReport, KillSwitch
from real_trade.risk.state import TradingState, TradingStateHolder
from real_trade.risk.trading_state import TradingStateStore
from real_trade.session import contracts, journal_ops
from real_trade.session.config import (
    KILL_CONFIRM_S,
    SNAPSHOT_EVERY_S,
    STOP_SETTLE_S,
    SessionConfig,
    SessionUpdate,
)
from real_trade.session.control import JournalControl
from real_trade.session.kill_target import SessionKillTarget
from real_trade.session.positions import SymbolPositions
from real_trade.session.reconcile import ReconcileTask
from real_trade.session.risk_gate import BrokerRiskGuard, build_guard
from real_trade.vocabulary import is_contract, quote_asset

__all__ = ["TradingSession"]

_log = logging.getLogger("real_trade.brokers")
_NO_HOLD = contextlib.nullcontext()  # a submission on a bus nobody subscribes to: no hold


class TradingSession:
    """The trading path of one strategy (module docstring)."""

    def __init__(self, config: SessionConfig) -> None:
        """Prepare the session (nothing trades until :meth:`start`)."""
        self.config = config
        self.trading_state = TradingStateHolder()
        self.guard: BrokerRiskGuard | None = None
        self.journal: Any = None
        self.recovery: Any = None
        self.manager: OrderManager | None = None
        self.paper: PaperExecution | None = None
        self.live: LiveExecution | None = None
        self.bus: EventBus | None = None
        self.symbols: list[str] = []
        self.currency = config.currency or "USDT"
        self.initial_cash = self.starting_cash = float(config.initial_cash)
        self.positions = SymbolPositions(self.publish, self._cleared, self.strategy_name)
        self.last_close: dict[str, float] = {}
        self.new_order: Callable[[str, OrderSide, float], int] | None = None
        # the host's hook: the manager forgot these ended orders (its own books may too)
        self.forgot_orders: Callable[[list[int]], None] | None = None
        self.control: JournalControl | None = None  # given by a runner: it polls it
        self.kill_target = SessionKillTarget(self)
        self.killswitch = KillSwitch(
            self.kill_target,
            state=self.trading_state,
            strategy=self.strategy_name,
            journal_events=False,
            confirm_timeout=KILL_CONFIRM_S,
            clock=lambda: self.now_ms() / 1000,  # paper: waits span the market's time
        )
        self._handle: JournalHandle | None = None
        self._polls_control = False
        self._adopt: list[RecoveredOrder] = []
        self._reconcile: ReconcileTask | None = None
        self._extra: dict[int, dict[str, Any]] = {}
        self._own_ids = itertools.count(-1, -1)
        self._new_bars = False
        self._bar_pass = False  # live: this cycle brought a bar (its snapshot waits a cycle)
        self._holding, self._settled_seq = True, -1  # settle_positions: skip when flat, no news
        self._floors: dict[str, float] | None = None  # settle_positions: holdings' dust floors
        self._last_snapshot = 0.0
        self._contract_events: list[FundingPayment | Liquidation] = []

    @property
    def strategy_name(self) -> str:
        """The run's name: the journal key and the client order ids' prefix (``run_id``)."""
        return str(self.config.run_id or "default")

    @property
    def port(self) -> PaperExecution | LiveExecution | None:
        """The execution port with an account to read (paper once started, else live)."""
        if self.paper is not None and self.paper.started:
            return self.paper
        return self.live

    # ------------------------------------------------------------------ lifecycle
    def start(self, symbols: list[str], shared: set[str] | None = None) -> dict[str, float]:
        """Build the execution for ``symbols`` (``shared``: traded by several feeds), open the
        journal, resume (paper) or recover (live) before the strategy trades; the positions
        the account holds at the start (live: its holdings become positions)."""
        cfg = self.config
        self.symbols, self.positions.shared = list(symbols), set(shared or ())
        self.positions.contracts = {s for s in self.symbols if is_contract(s)}
        if cfg.currency is None and symbols:
            self.currency = quote_asset(symbols[0])
        run_id = cfg.run_id if cfg.run_id is not None or cfg.journal is None else "default"
        ids = ClientOrderIds.for_venue(cfg.venue, run_id) if cfg.venue else ClientOrderIds(run_id)
        bus = self.bus = self.killswitch.bus = cfg.bus or get_bus()
        self._open_journal(bus)
        hooks: dict[str, Any] = {
            "strategy": self.strategy_name,
            "on_intent": self._record_intent if self.journal is not None else None,
            "publish": bus.publish,
            "on_forget": self._forgot,
        }
        if cfg.paper:
            paper = self.paper = PaperExecution(
                self.symbols,
                cash=self.initial_cash,
                currency=self.currency,
                commission=cfg.commission,
                rules=cfg.rules,
                level_notional=cfg.level_notional,
                contract_settings=cfg.contract_settings,
                book=cfg.book,
            )
            guard = self._build_guard(bus, clock=lambda: paper.now_ms() / 1000)
            native = frozenset({OrderKind.STOP, OrderKind.STOP_LIMIT})  # the sim's own stops
            self.manager = OrderManager(
                paper, ids, native_kinds=native, clock_ms=paper.now_ms, **self._gate(guard), **hooks
            )
            if self.journal is not None:
                cash = journal_ops.resume_paper(
                    self.journal,
                    paper,
                    ids,
                    strategy=self.strategy_name,
                    currency=self.currency,
                    publish=self.publish,
                )
                if cash is not None:
                    self.initial_cash = self.starting_cash = cash
            return {}
        guard = self._build_guard(bus)
        contracts.apply_settings(cfg.client, self.symbols, cfg.contract_settings)
        live = self.live = LiveExecution(
            cfg.client,
            self.symbols,
            funding_poll_s=float(cfg.funding_poll_interval),
            on_connection=guard.on_connection,
        )
        live.start()
        for order in live.open_orders_at_start:
            ids.observe(order.get("clientOrderId"))
        names = getattr(cfg.venue, "native_order_types", ())
        native = frozenset(k for k in OrderKind if k.value in names)
        self.manager = OrderManager(live, ids, native_kinds=native, **self._gate(guard), **hooks)
        if self.journal is not None:
            self._recover(ids)
        held = self.settle_positions(force=True)  # holdings at start become positions
        if self.journal is not None and self.positions.contracts:
            sizes = {s: self.positions.size(s) for s in self.positions.contracts}
            contracts.check_positions_at_start(
                self.journal, self.strategy_name, sizes, self.publish
            )
        self.starting_cash = self.cash()
        return held

    @staticmethod
    def _gate(guard: BrokerRiskGuard) -> dict[str, Any]:
        return {"gate": guard.gate, "on_outcome": guard.on_outcome}

    def _recover(self, ids: ClientOrderIds) -> None:
        assert self.live is not None
        client = self.config.client
        self.recovery = journal_ops.recover_live(
            self.journal,
            client,
            self.live,
            self.symbols,
            strategy=self.strategy_name,
            ids=ids,
            publish=self.publish,
        )
        self._adopt = list(self.recovery.adopted)
        reconciler = ContinuousReconciler(
            client,
            self.symbols,
            ids,
            interval_s=float(self.config.reconcile_interval),
            publish=self.publish,
        )
        self._reconcile = ReconcileTask(reconciler, client, self.live)

    def stop(self, on_updates: Callable[[], None] | None = None) -> None:
        """Settle the orders still on the wire (``on_updates`` books what they answer), stop
        the live streams, write the last snapshot and release the journal."""
        if self._reconcile is not None:
            self._reconcile.stop()
        if self.live is not None:
            unanswered = self.live.settle(STOP_SETTLE_S)
            self.live.read_account_now()  # the account as the exchange leaves it
            if self.manager is not None:
                self.manager.process()
                if on_updates is not None:
                    on_updates()
            if unanswered:
                _log.warning(
                    "stopping with %d order(s) sent but not answered within %.0f s (%s); "
                    "the next start looks them up by client order id",
                    len(unanswered),
                    STOP_SETTLE_S,
                    ", ".join(unanswered),
                )
            self.live.stop()
        self._close_journal()

    # ------------------------------------------------------------------ journal and risk
    def _open_journal(self, bus: EventBus) -> None:
        handle = self._handle = open_journal(self.config.journal, bus=bus)
        if handle is None:
            return
        self.journal = handle.journal
        self.killswitch.journal = self.journal
        if self.control is None:
            self.control, self._polls_control = JournalControl(self.journal), True
            self.control.on_kill = lambda flatten, why: bool(self.kill(flatten, why))
        self.control.on_state = self.follow_trading_state
        saved = TradingStateStore(self.journal).read()
        if saved is not None and saved.state is TradingState.HALTED:
            self.trading_state.halt(saved.reason or "halted in the journal")
            self.control.seen(TradingState.HALTED)
            _log.warning(
                "trading is HALTED (journal: %s); `real-trade resume` lifts it",
                saved.reason or "kill switch",
            )

    def _close_journal(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            self.maybe_snapshot(force=True)  # the account as we leave it
        except Exception as exc:
            _log.warning("final account snapshot failed: %s", exc)
        try:
            handle.release()
        except Exception as exc:
            _log.warning("journal flush failed: %s", exc)

    def _build_guard(
        self, bus: EventBus, clock: Callable[[], float] | None = None
    ) -> BrokerRiskGuard:
        self.guard = build_guard(
            self.config.risk, self.trading_state, self._risk_context, bus, clock
        )
        self.trading_state = self.killswitch.state = self.guard.engine.state
        return self.guard

    def _risk_context(self, symbol: str) -> AccountContext:
        account = self.contract_account() if is_contract(symbol) else None
        if account is not None:
            setting = self.config.contract_settings.get(symbol, (None, None))
            position, price = self.positions.size(symbol), self.last_price(symbol)
            return contracts.risk_context(account, symbol, position, price, self.equity(), setting)
        port = self.paper if self.paper is not None else self.live
        balances = port.balances() if port is not None else {}
        quote = balances.get(self.currency)
        return AccountContext(
            position=self.positions.size(symbol),
            last_price=self.last_price(symbol),
            free_quote=None if quote is None else quote.free,
            equity=self.equity(),
        )

    def _forgot(self, local_ids: list[int]) -> None:
        """The manager forgot these ended orders: so do the intents' extras and the host."""
        for local_id in local_ids:
            self._extra.pop(local_id, None)
        if self.forgot_orders is not None:
            self.forgot_orders(local_ids)

    def _record_intent(self, mo: ManagedOrder, request: OrderRequest) -> None:
        extra = self._extra.get(request.local_id)
        journal_ops.record_intent(self.journal, self.strategy_name, mo, request, extra)

    # ------------------------------------------------------------------ account
    def contract_account(self) -> ContractAccount | None:
        """The contracts' wallet and positions as the exchange holds them (None: spot only,
        or paper before the first bar)."""
        port = self.port
        read = getattr(port, "contract_account", None)
        return read() if read is not None else None

    def entry_price(self, symbol: str) -> float | None:
        """The exchange's entry price of ``symbol``'s position (contracts; else None)."""
        account = self.contract_account()
        held = account.position(symbol) if account is not None else None
        return held.entry_price if held is not None else None

    def cash(self) -> float:
        """The quote currency's total balance (paper before the start: the initial cash);
        with contracts, the wallet balance."""
        port = self.port
        if port is None:
            return self.initial_cash
        account = self.contract_account() if self.positions.contracts else None
        if account is not None:
            return account.wallet
        balance = port.balances().get(self.currency)
        return balance.total if balance is not None else 0.0

    def set_cash(self, cash: float) -> None:
        """Set the paper cash (before the start also the starting cash); a live account's cash
        is the exchange's: ignored, with a warning."""
        if not self.config.paper:
            _log.warning("setcash(%s) ignored: a live account's cash is the exchange's", cash)
            return
        self.initial_cash = float(cash)
        if self.paper is None or not self.paper.started:
            self.starting_cash = self.initial_cash
        if self.paper is not None:
            self.paper.set_cash(cash)

    def last_price(self, symbol: str) -> float | None:
        """The last bar's close of ``symbol``, else the port's last price."""
        if symbol in self.last_close:
            return self.last_close[symbol]
        port = self.paper if self.paper is not None else self.live
        return port.last_price(symbol) if port is not None else None

    def equity(self) -> float:
        """Cash plus the positions and the dust at their last prices (contracts: plus their
        unrealized PnL at the last price)."""
        value = self.cash()
        account = self.contract_account()
        for symbol in self.symbols:
            if account is not None and symbol in self.positions.contracts:
                price = self.last_close.get(symbol)
                value += contracts.unrealized(account.position(symbol), price)
                continue
            held = self.positions.size(symbol) + self.positions.dust.get(symbol, 0.0)
            if held:
                value += held * (self.last_price(symbol) or 0.0)
        return value

    def now_ms(self) -> int:
        """The trading clock: the paper market's time, else the wall clock."""
        if self.paper is not None and self.paper.started:
            return self.paper.now_ms()
        return time.time_ns() // 1_000_000

    def on_reports(self, listener: Callable[[], None] | None) -> None:
        """Call ``listener()`` whenever the live execution queues a report (an order update, a
        fill, a balance; from the I/O thread: keep it short); paper: never. A broker wakes its
        cycle with it, so the reports are booked as they come, not on the next bar."""
        if self.live is not None:
            self.live.on_report = listener

    # ------------------------------------------------------------------ orders
    def submit(
        self,
        request: OrderRequest,
        *,
        parent: int | None = None,
        oco: int | None = None,
        transmit: bool = True,
        reference_price: float | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Hand ``request`` to the order manager; ``extra`` goes into its journaled intent.

        What the submission publishes (its ``order.submitted``, the risk decision) goes on the
        bus once the order is handed to the wire: the bus's dispatcher (journal writes,
        monitors) wakes after the send, not during it. The intent is journaled before, as
        ever (synchronously, not through the bus)."""
        if self.manager is None:
            raise RuntimeError("the session is not started")
        if extra:
            self._extra[request.local_id] = dict(extra)
        bus = self.bus
        deferred = getattr(bus, "deferred", None)  # an EventBus's; a stand-in may lack it
        hold: contextlib.AbstractContextManager[object] = _NO_HOLD  # nobody to wake: no hold
        if deferred is not None and getattr(bus, "subscribed", True):
            hold = deferred()
        with hold:
            self.manager.submit(
                request, parent=parent, oco=oco, transmit=transmit, reference_price=reference_price
            )

    def cancel(self, local_id: int) -> None:
        """Ask to cancel order ``local_id`` (the venue's confirmation follows as an update)."""
        if self.manager is not None:
            self.manager.cancel(local_id)

    def close(self, symbol: str, side: OrderSide, amount: float) -> int:
        """A market order reducing ``symbol``'s position by ``amount``; its local id (placed
        by the host's ``new_order`` when it has one, so the host books it like its own)."""
        if self.new_order is not None:
            return self.new_order(symbol, side, amount)
        local_id = next(self._own_ids)
        self.submit(OrderRequest(local_id, symbol, side, OrderKind.MARKET, amount))
        return local_id

    def meet_live_market(self, prices: Mapping[str, float], now_ms: int) -> None:
        """Paper: the market moves to the venue's prices now (a backfill bar's order)."""
        assert self.paper is not None and self.manager is not None
        self.paper.meet_live_market(prices, now_ms)
        for symbol, price in prices.items():
            self.manager.on_price(symbol, price)

    def adopt_recovered(self, make: Callable[[RecoveredOrder], int | None]) -> bool:
        """Follow the orders recovered at the start again (once, when the host can build its
        orders: ``make(found)`` returns the host's local id, or None to skip); whether any."""
        adopted = False
        found_orders, self._adopt = self._adopt, []
        for found in found_orders:
            local_id = make(found)
            if local_id is not None:
                self._adopt_one(found, local_id)
                adopted = True
        return adopted

    def _adopt_one(self, found: RecoveredOrder, local_id: int) -> None:
        assert self.manager is not None
        req = found.request
        wire = OrderRequest(
            local_id,
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

    # ------------------------------------------------------------------ the cycle
    def pass_quiet_bars(self, bars: Mapping[str, PaperBar]) -> dict[str, float] | None:
        """A cycle's new ``bars`` when nothing works (most bars of a backtest): no order works
        or is held back, no report or update waits, nothing waits to be adopted; the paper
        market keeps them aside and the positions are settled (:meth:`settle_positions`).
        The changed sizes (the host applies them and ends the cycle with :meth:`after_cycle`,
        no update can wait); None when not quiet: run :meth:`advance`."""
        paper, manager = self.paper, self.manager
        if not bars or paper is None or manager is None or self._adopt:
            return None
        if not manager.idle or not paper.keep_aside(bars):
            return None
        last_close = self.last_close
        for symbol, bar in bars.items():
            last_close[symbol] = bar.close
        self._new_bars = True
        if manager.reports_applied != self._settled_seq:
            return self.settle_positions()  # a report since the last settlement
        if not self._holding:
            return {}  # flat, no report since: settle_positions has nothing to do
        floors = self._floors
        if floors is None:
            return self.settle_positions()
        for symbol, floor in floors.items():  # (no order works: the manager is idle)
            if not paper.above(symbol, floor):
                return self.settle_positions()  # it reads the price (_above_floors)
        return {}  # every holding's price above its dust floor: settle_positions' answer

    def advance(self, bars: Mapping[str, PaperBar], time_ms: int | None) -> None:
        """One cycle's market: ``bars`` (new bars by symbol: paper plays them), prices of
        triggered orders (live), the time (``valid`` expiries); then apply the reports."""
        manager = self.manager
        if manager is None:
            return
        paper = self.paper
        if bars and paper is not None and paper.started and paper.idle and manager.idle:
            # nothing works (most bars of a backtest): no report to apply, no order to expire;
            # the bars go to the paper market, which keeps them aside
            for symbol, bar in bars.items():
                self.last_close[symbol] = bar.close
            self._new_bars = True
            paper.play(bars, manager.on_price, manager.trigger_symbols)
            if not paper.idle:
                manager.process()
            return
        manager.flush()
        for symbol, bar in bars.items():
            self.last_close[symbol] = bar.close
        self._new_bars = self._new_bars or bool(bars)
        self._bar_pass = bool(bars)
        if self.paper is not None:
            if bars and (self.paper.started or len(bars) == len(self.symbols)):
                self.paper.play(bars, manager.on_price, manager.trigger_symbols)
        elif self.live is not None:
            for symbol in manager.trigger_symbols():
                self.live.watch_prices(symbol)
                price = self.live.last_price(symbol)
                if price is not None:
                    manager.on_price(symbol, price)
        if time_ms is not None:
            manager.on_time(time_ms)
        manager.process()

    def take_updates(self) -> list[SessionUpdate]:
        """Every order update and fill since the last call; fills booked on the positions."""
        manager = self.manager
        if manager is None:
            return []
        out = []
        for event in manager.take_updates():
            if isinstance(event, FillEvent):
                change = self.positions.book(event, manager.port.limits(event.symbol))
                out.append(SessionUpdate(event, change))
            elif event.state is OrderState.REJECTED and self.guard is not None:
                out.append(SessionUpdate(event, denial=self.guard.take_denial(event.local_id)))
            else:
                out.append(SessionUpdate(event))
        return out

    def settle_positions(self, force: bool = False) -> dict[str, float]:
        """Positions of quiet symbols follow the account's balances; the changed sizes."""
        manager = self.manager
        if manager is None:
            return {}
        seq = manager.reports_applied
        if not force and seq == self._settled_seq and not self._holding:
            return {}  # flat, and no report since: the balances and positions are as settled
        port = self.port
        if port is None:
            return {}
        if not force and seq == self._settled_seq:
            if self._above_floors(manager, port):
                return {}  # no report since, and no holding's price nears its dust floor
            if not any(manager.settled(symbol) for symbol in self.symbols):
                # no report since, and every symbol waits on a working order (the order just
                # submitted): no size to settle, and no dust floor while orders work
                self._holding, self._floors = True, None
                return {}
        self._settled_seq = seq
        balances, changed = port.balances(), {}
        contracts_held = self.positions.contracts
        account = self.contract_account() if contracts_held else None
        deferred = False
        for symbol in self.symbols:
            if not force and not manager.settled(symbol):
                continue
            contract = symbol in contracts_held
            if contract:
                if account is None or not account.current:
                    deferred = True  # the exchange's positions lag the fills: next time
                    continue
                position = account.position(symbol)
                size = position.size if position is not None else 0.0
            else:
                held = balances.get(base_asset(symbol))
                size = held.total if held is not None else 0.0
            price = None  # only a spot holding's dust check reads it
            if size > 0 and not contract:
                price = port.last_price(symbol) or self.last_close.get(symbol)
            new = self.positions.settle(symbol, size, port.limits(symbol), price, self.now_ms)
            if new is not None:
                changed[symbol] = new
        self._holding = any(
            self.positions.size(s) or self.positions.dust.get(s) or not manager.settled(s)
            for s in self.symbols
        ) or any(b.total for a, b in balances.items() if a != self.currency)
        self._floors = self._dust_floors(manager, port, balances)
        if deferred:  # not settled: look again on the next call, report or not
            self._settled_seq = -1
        return changed

    def _dust_floors(
        self,
        manager: OrderManager,
        port: PaperExecution | LiveExecution,
        balances: Mapping[str, Balance],
    ) -> dict[str, float] | None:
        """Just settled: the price of each spot holding under which it would turn to dust (its
        minimum order value), while no report comes; None when the next settlement must look
        again whatever the prices (contracts, working orders, dust)."""
        if self.positions.contracts or manager.alive_orders():
            return None
        floors = {}
        for symbol in self.symbols:
            held = balances.get(base_asset(symbol))
            if symbol in self.positions.shared or held is None or held.total <= 0:
                continue
            limits = port.limits(symbol)
            amount = limits.round_amount(held.total)
            if self.positions.dust.get(symbol) or amount <= 0:
                return None
            floors[symbol] = (limits.min_cost or 0.0) / amount * (1 + 1e-6)
        return floors

    def _above_floors(self, manager: OrderManager, port: PaperExecution | LiveExecution) -> bool:
        """Whether every holding's price is still above its dust floor (:meth:`_dust_floors`)
        and no order works: settling again would change nothing."""
        floors = self._floors
        if floors is None or manager.alive_orders():
            return False
        for symbol, floor in floors.items():
            price = port.last_price(symbol) or self.last_close.get(symbol)
            if price is None or price < floor:
                return False
        return True

    def take_contract_events(self) -> list[FundingPayment | Liquidation]:
        """The funding payments and liquidations since the last call (published on
        ``funding`` / ``liquidation`` with the run's name), for the host to book."""
        port = self.paper if self.paper is not None else self.live  # (paper before its start:
        take = getattr(port, "take_contract_events", None)  # nothing taken, as from no port)
        fresh = take() if take is not None else []
        if not fresh and not self._contract_events:
            return []  # every bar of a spot run
        events, self._contract_events = [*self._contract_events, *fresh], []
        out = []
        for event in events:
            event = dataclasses.replace(event, strategy=self.strategy_name)
            self.publish(event.topic, event)
            out.append(event)
        return out

    def liquidated(self, event: Liquidation, local_id: int, closed: float) -> None:
        """The host booked ``event`` on its order ``local_id`` (``closed``: what it closed of
        the strategy's position): publish it as ``order.completed`` with the reason (the
        journal's order row)."""
        update = contracts.liquidation_update(event, local_id, self.strategy_name, event.size)
        self.publish(update.topic, update)
        if closed:
            self.positions.sizes[event.symbol] = self.positions.size(event.symbol) - closed

    def after_cycle(self) -> None:
        """The unattended work of a cycle: the journal's requests (when polled here), the
        kill switch, continuous reconciliation, the account snapshot when due."""
        if self._polls_control and self.control is not None:
            try:
                self.control.poll_if_due()
            except Exception as exc:  # the journal may be busy: ask again next time
                _log.warning("could not read the journal's requests: %s", exc)
        if self.killswitch.active:  # else nothing to step (every bar of a backtest)
            self.killswitch.step()
        if self._reconcile is not None and self.manager is not None:
            held = {
                s: self.positions.size(s) for s in self.symbols if s in self.positions.contracts
            }
            self._reconcile.step(self.manager, self.symbols, self.currency, held)
        if self.journal is not None:  # else no snapshot to take (every bar of a backtest)
            self.maybe_snapshot()

    def maybe_snapshot(self, force: bool = False) -> None:
        """Publish ``account.snapshot`` (the journal's equity curve) on a new bar, every
        :data:`SNAPSHOT_EVERY_S` seconds, or when ``force``d; not before the first bar.

        Live, a cycle that brought a bar leaves it to the next cycle without one (the one its
        order's answers wake, or a ``qcheck`` timeout): its journal write would run on the
        bus's thread while the strategy's ``next()`` journals and sends its order. Only when
        the last snapshot is :data:`SNAPSHOT_EVERY_S` old does a bar's cycle take one (a feed
        whose bars come faster than its ``qcheck`` leaves no cycle without a bar)."""
        if self.journal is None or self.bus is None or self.manager is None:
            return  # no journal (a backtest): no equity curve to write
        port = self.port
        if port is None:
            return
        now = time.monotonic()
        if not (force or self._new_bars or now - self._last_snapshot >= SNAPSHOT_EVERY_S):
            return
        recent = now - self._last_snapshot < SNAPSHOT_EVERY_S  # else a bar every cycle: now
        if self._bar_pass and self.live is not None and not force and recent:
            return
        self._new_bars, self._last_snapshot = False, now
        if not self.last_close:
            return
        balances = {a: (b.free, b.locked) for a, b in port.balances().items() if b.total}
        snapshot = AccountSnapshot(
            strategy=self.strategy_name,
            time_ms=self.now_ms(),
            cash=self.cash(),
            equity=self.equity(),
            balances=balances,
            positions={s: self.positions.size(s) for s in self.symbols},
        )
        self.publish("account.snapshot", snapshot)

    # ------------------------------------------------------------------ kill and state
    def kill(
        self, flatten: bool = False, reason: str = ""
    ) -> concurrent.futures.Future[KillReport]:
        """Kill switch (any thread): cancel every open order, flatten when ``flatten``, then
        HALT; worked on the next cycles. The future receives the :class:`KillReport`."""
        self.kill_target.refresh()
        why = f"kill switch: {reason or 'requested'}"
        return self.killswitch.request(flatten=flatten, reason=why)

    def resume_trading(self, reason: str = "") -> None:
        """Lift a halt: ACTIVE again, recorded in the journal."""
        self.trading_state.resume(reason)
        if self.journal is not None:
            TradingStateStore(self.journal).write(
                TradingState.ACTIVE, reason or "resumed", strategy=self.strategy_name
            )
        if self.control is not None:
            self.control.seen(TradingState.ACTIVE)

    def follow_trading_state(self, state: TradingState, reason: str) -> None:
        """The journal's trading state changed (``real-trade kill``/``resume``, the control
        API's pause): follow it (not while a kill is being worked)."""
        if self.killswitch.active:
            return
        if state is TradingState.HALTED and self.trading_state.state is not state:
            self.trading_state.halt(reason)
            _log.warning("trading HALTED from the journal: %s", reason)
        elif state is TradingState.ACTIVE and self.trading_state.state is not state:
            self.trading_state.resume(reason)
            _log.warning("trading resumed from the journal: %s", reason)
        elif state is TradingState.REDUCING and self.trading_state.state is not state:
            self.trading_state.reduce(reason)
            _log.warning("new entries paused from the journal (REDUCING): %s", reason)

    def publish(self, topic: str, event: object) -> None:
        """Publish on the session's bus (a closed bus at shutdown is logged, not raised)."""
        if self.bus is None:
            return
        try:
            self.bus.publish(topic, event)
        except RuntimeError as exc:
            _log.warning("could not publish %s: %s", topic, exc)

    def _cleared(self, symbol: str) -> None:
        if self.manager is not None:
            self.manager.holdings.cleared(symbol)
