"""``ExchangeCore``: the simulated exchange behind every protocol face and the paper broker.

A thread-safe facade (one ``RLock``) over the accounts (:mod:`~real_trade.sim.accounts`),
the users' order history (:mod:`~real_trade.sim.history`) and one
:class:`~real_trade.sim.symbol_market.SymbolMarket` per symbol (engine, klines, tape). ``pump()``
plays the market source up to the clock's now: for each tick a liquidity provider re-quotes so
the tape prints at the tick's price and a flow account takes the tick's volume
(:mod:`~real_trade.sim.liquidity`), so the tape, the klines and the depth all come from real
matches, and user orders rest and fill among them with price-time priority.

Everything that changes is published on the bus, synchronously and in order, under the lock:
``sim.trade.<SYMBOL>``, ``sim.depth.<SYMBOL>`` (update ids matching :meth:`ExchangeCore.depth`),
``sim.kline.<SYMBOL>`` (1m updates and closes), ``sim.order.<account_id>`` and
``sim.balance.<account_id>``. The simulator's own accounts (fees, liquidity, flow, insurance
fund) are hidden from user views and publish nothing.

Linear perpetuals (symbols whose rules carry a ``LINEAR_PERPETUAL`` instrument) settle through
one :class:`~real_trade.sim.derivatives.ledger.DerivativesLedger`: after every flush of such a
symbol the core moves its mark with the market, triggers mark-price stops, pays funding at
00/08/16 UTC of market time and liquidates at the mark, publishing ``sim.mark.<SYMBOL>``,
``sim.position.<account_id>``, ``sim.funding.<account_id>`` and
``sim.liquidation.<account_id>`` (see :mod:`real_trade.sim.derivatives`).

Dead-man switches (:mod:`~real_trade.sim.countdowns`): :meth:`ExchangeCore.arm_cancel_countdown`
(re)arms an account's countdown over one symbol or all; every :meth:`ExchangeCore.pump` cancels
the open orders a countdown past its deadline covers (``sim.order.<account_id>`` as any cancel).
"""

from __future__ import annotations

import enum
import itertools
import random
import threading
import time
import typing
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from real_trade.sim.accounts import Account, AccountBook
from real_trade.sim.countdowns import CancelCountdowns, Countdown
from real_trade.sim.derivatives.brackets import BracketTable
from real_trade.sim.derivatives.funding import next_funding_ms
from real_trade.sim.derivatives.ledger import DerivativesLedger
from real_trade.sim.derivatives.liquidation import check_liquidations
from real_trade.sim.derivatives.mark import MarkModel
from real_trade.sim.derivatives.types import (
    MarginMode,
    MarginSummary,
    MarkPriceEvent,
    PositionMode,
    PositionView,
    SymbolSettings,
)
from real_trade.sim.history import OrderHistory
from real_trade.sim.klines import Kline, LaterMinute, MinuteTrades
from real_trade.sim.liquidity import MarketMakers, SymbolLiquidity
from real_trade.sim.market import MarketSource, MarketTick
from real_trade.sim.rules import (
    SymbolRules,
    parse_client_order_id,
    parse_order_type,
    parse_side,
    parse_tif,
    rules_for_market,
    to_decimal,
)
from real_trade.sim.settlement import settlement_for
from real_trade.sim.symbol_market import SymbolMarket
from real_trade.sim.types import (
    AggTrade,
    AvgPrice,
    BadParameter,
    BadSymbol,
    BalanceEvent,
    BookTicker,
    DepthSnapshot,
    Fill,
    Order,
    OrderRejected,
    OrderType,
    PositionSide,
    Reason,
    Side,
    SimError,
    Ticker24h,
    TimeInForce,
    Trade,
    WorkingType,
)
from real_trade.vocabulary.clock import Clock

__all__ = ["Clock", "EventSink", "ExchangeCore"]

FEE_ACCOUNT_ID, LIQUIDITY_ACCOUNT_ID, FLOW_ACCOUNT_ID, INSURANCE_ACCOUNT_ID = 1, 2, 3, 4
_FIRST_USER_ID = 1001


class EventSink(Protocol):
    """What the core needs from an event bus (``EventBus`` satisfies it)."""

    def publish(self, topic: str, event: object) -> None:
        """Deliver ``event`` on ``topic``."""
        ...


class ExchangeCore:
    """The multi-symbol simulated exchange every face calls (see the module docstring).

    ``rules`` overrides or adds symbol rules; without a market the symbols are those rules (or
    Binance-like defaults for BTCUSDT, ETHUSDT, BNBUSDT, BTCUSDC); with one, the market's
    symbols are added (default rules when known, else derived from the reference price with
    the source's own tick as PRICE_FILTER: :func:`~real_trade.sim.rules.rules_for_market`).
    ``seed`` makes keys and client order ids reproducible (``None``: unpredictable).
    ``auto_pump`` pumps the market before every call, so REST answers reflect market time.
    ``pump_budget_s`` bounds the wall time one pump (or one call's catch-up) may spend playing
    the market: past it, the rest of the market time is skipped (the price jumps; see
    :meth:`SymbolMarket.pump`), so a clock running faster than the machine can play never
    stalls the exchange (None: play everything, as a stepped clock needs). Memory stays
    bounded whatever the market time: ``max_tape_trades`` public trades and
    ``max_kline_bars`` one-minute bars per symbol are kept, and per account and symbol every
    open order, the last ``max_ended_orders`` ended orders and the last ``max_fills`` fills
    (what ``order``, ``allOrders`` and ``myTrades`` answer; None: the defaults of
    :mod:`~real_trade.sim.history`).

    Contracts: ``mark_model`` draws the premium of the mark price (default: seeded from
    ``seed``, at most 0.05%), ``brackets`` overrides the leverage brackets per symbol and
    ``insurance_fund`` is what the insurance fund holds of each settlement asset at the start.
    ``countdown_clock`` measures the dead-man switches' countdowns (default: ``clock``).
    """

    def __init__(
        self,
        clock: Clock,
        market: MarketSource | None = None,
        bus: EventSink | None = None,
        rules: Mapping[str, SymbolRules] | None = None,
        seed: int | None = 0,
        *,
        auto_pump: bool = True,
        max_kline_bars: int = 100_000,
        max_tape_trades: int = 50_000,
        max_ended_orders: int | None = None,
        max_fills: int | None = None,
        pump_budget_s: float | None = None,
        mark_model: MarkModel | None = None,
        brackets: Mapping[str, BracketTable] | None = None,
        insurance_fund: Decimal = Decimal(1_000_000_000),
        countdown_clock: Clock | None = None,
    ) -> None:
        """Create the exchange at the market's start (or the clock's now without a market)."""
        self._lock = threading.RLock()
        self._clock = clock
        self._bus = bus
        self._ask: typing.Callable[[str], object] | None = getattr(bus, "has_subscribers", None)
        self._auto_pump = auto_pump
        self._pump_budget_s = pump_budget_s
        self._rng: random.Random = (
            random.Random(seed) if seed is not None else random.SystemRandom()
        )
        self.start_ms = market.start_ms() if market is not None else clock.now_ms()
        self._accounts = AccountBook(self._rng, _FIRST_USER_ID)
        self._history = OrderHistory(max_ended_orders, max_fills)
        self.fee_account = self._accounts.internal(FEE_ACCOUNT_ID)
        self.insurance_account = self._accounts.internal(INSURANCE_ACCOUNT_ID)
        self.ledger = DerivativesLedger(
            self._accounts.by_id,
            self.insurance_account,
            mark_model if mark_model is not None else MarkModel(seed=seed or 0),
            brackets,
        )
        self.countdowns = CancelCountdowns(countdown_clock or clock)
        self._in_upkeep = False
        self._last_marks: dict[str, Decimal] = {}
        internal_ids = itertools.count(1)
        makers = MarketMakers(
            self._accounts.internal(LIQUIDITY_ACCOUNT_ID),
            self._accounts.internal(FLOW_ACCOUNT_ID),
            lambda: next(internal_ids),
        )
        all_rules = rules_for_market(market, rules)
        market_symbols = tuple(market.symbols) if market is not None else ()
        self._states: dict[str, SymbolMarket] = {}
        for sym in sorted(all_rules):
            sym_rules = all_rules[sym]
            contract = not sym_rules.instrument.is_spot
            if contract:
                self.ledger.register(sym_rules, self.start_ms)
                settle = self.ledger.settle_asset(sym)
                if not self.insurance_account.free(settle):
                    self.insurance_account.credit(settle, insurance_fund)
            self._states[sym] = SymbolMarket(
                sym_rules,
                accounts=self._accounts.by_id,
                fee_account=self.fee_account,
                rng=random.Random(self._rng.getrandbits(64)),
                history=self._history,
                publish=self._emit,
                start_ms=self.start_ms,
                max_kline_bars=max_kline_bars,
                max_tape_trades=max_tape_trades,
                source=market if sym in market_symbols else None,
                makers=makers,
                settlement=settlement_for(sym_rules.instrument, self.ledger) if contract else None,
                after_flush=self._upkeep_hook(sym) if contract else None,
                listens=self._listens,
            )

    @property
    def bus(self) -> EventSink | None:
        """The sink the core publishes its events on (None: events are dropped)."""
        return self._bus

    # ================================================================ accounts
    def create_account(
        self,
        balances: Mapping[str, Decimal | str | float | int],
        maker_fee: Decimal = Decimal("0.001"),
        taker_fee: Decimal = Decimal("0.001"),
        api_key: str | None = None,
        secret: str | None = None,
    ) -> Account:
        """Open a user account with starting ``balances`` and fee rates; keys generated if absent.

        Keys are 64 letters and digits like Binance's, drawn from the core's seeded RNG.
        ``ValueError`` if ``api_key`` is already in use.
        """
        with self._lock:
            return self._accounts.open(balances, maker_fee, taker_fee, api_key, secret)

    def account_by_key(self, api_key: str) -> Account | None:
        """Return the user account with this API key, or None."""
        with self._lock:
            return self._accounts.by_key(api_key)

    def accounts(self) -> list[Account]:
        """Return the user accounts (not the simulator's own), by id."""
        with self._lock:
            return self._accounts.users()

    def balances(self, account: Account) -> dict[str, tuple[Decimal, Decimal]]:
        """Return a consistent ``{asset: (free, locked)}`` snapshot of an account."""
        with self._lock:
            return account.snapshot()

    def deposit(self, account: Account, asset: str, amount: Decimal | str | float | int) -> None:
        """Credit ``amount`` of ``asset`` (publishes a BalanceEvent with the delta)."""
        with self._lock:
            dec = to_decimal(amount, "amount")
            account.credit(asset, dec)
            now = self._clock.now_ms()
            bal = account.balance(asset)
            self._emit(
                f"sim.balance.{account.account_id}",
                BalanceEvent(account.account_id, {asset: (bal.free, bal.locked)}, now, asset, dec),
            )

    # ================================================================ orders
    def _state(self, symbol: str) -> SymbolMarket:
        st = self._states.get(symbol)
        if st is None:
            raise BadSymbol()
        return st

    def _synced(self, symbol: str) -> tuple[SymbolMarket, int]:
        """The symbol's market brought up to the clock (call under the lock), and now."""
        st = self._state(symbol)
        return st, self._sync(st)

    def place_order(
        self,
        account: Account,
        symbol: str,
        side: Side | str,
        type: OrderType | str,
        *,
        quantity: Decimal | str | float | None = None,
        quote_order_qty: Decimal | str | float | None = None,
        price: Decimal | str | float | None = None,
        stop_price: Decimal | str | float | None = None,
        time_in_force: TimeInForce | str | None = None,
        client_order_id: str | None = None,
        test: bool = False,
        reduce_only: bool = False,
        close_position: bool = False,
        position_side: PositionSide | str = PositionSide.BOTH,
        working_type: WorkingType | str = WorkingType.LAST,
    ) -> Order:
        """Place an order and return a snapshot of it after matching; raise the typed errors.

        Contracts only: ``reduce_only``, ``close_position`` (a stop-market or
        take-profit-market without quantity that closes the whole position on trigger),
        ``position_side`` (LONG/SHORT in hedge mode, BOTH in one-way) and ``working_type``
        (a stop's trigger price: LAST or MARK). Post-only is the LIMIT_MAKER type.

        ``client_order_id`` must be unique among the account's open orders on the symbol
        (``DUPLICATE_ORDER``); a 22-character id is generated when absent.
        ``test=True`` validates without placing (like ``order/test``).
        """
        s, t, tif = parse_side(side), parse_order_type(type), parse_tif(time_in_force)
        q = None if quantity is None else to_decimal(quantity, "quantity")
        qq = None if quote_order_qty is None else to_decimal(quote_order_qty, "quote_quantity")
        p = None if price is None else to_decimal(price, "price")
        sp = None if stop_price is None else to_decimal(stop_price, "stop_price")
        parse_client_order_id(client_order_id)
        ps = _parse_enum(PositionSide, position_side, "position_side")
        wt = _parse_enum(WorkingType, working_type, "working_type")
        with self._lock:
            st, now = self._synced(symbol)
            avg = st.market_average(now, q) if t is OrderType.MARKET and q is not None else None
            order = st.engine.place(
                account,
                s,
                t,
                now_ms=now,
                quantity=q,
                quote_order_qty=qq,
                price=p,
                stop_price=sp,
                time_in_force=tif,
                client_order_id=client_order_id,
                avg_price=avg,
                test=test,
                reduce_only=reduce_only,
                close_position=close_position,
                position_side=ps,
                working_type=wt,
            )
            if not test:
                self._history.add_order(order)
            st.flush(now)
            return order.snapshot()

    def cancel_order(
        self,
        account: Account,
        symbol: str,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> Order:
        """Cancel an open order; ``UnknownOrder`` when it is not open."""
        if order_id is None and client_order_id is None:
            raise BadParameter.one_of("order_id", "client_order_id")
        with self._lock:
            st, now = self._synced(symbol)
            order = st.engine.cancel(
                account, now_ms=now, order_id=order_id, client_order_id=client_order_id
            )
            st.flush(now)
            return order.snapshot()

    def amend_order(
        self,
        account: Account,
        symbol: str,
        order_id: int | None = None,
        client_order_id: str | None = None,
        *,
        quantity: Decimal | str | float | None = None,
        price: Decimal | str | float | None = None,
        stop_price: Decimal | str | float | None = None,
    ) -> Order:
        """Amend an open order in place (same ids): ``quantity`` is the new total; see
        :meth:`~real_trade.sim.matching.MatchingEngine.amend` for the priority rules."""
        if order_id is None and client_order_id is None:
            raise BadParameter.one_of("order_id", "client_order_id")
        q = None if quantity is None else to_decimal(quantity, "quantity")
        p = None if price is None else to_decimal(price, "price")
        sp = None if stop_price is None else to_decimal(stop_price, "stop_price")
        with self._lock:
            st, now = self._synced(symbol)
            order = st.engine.amend(
                account,
                now_ms=now,
                order_id=order_id,
                client_order_id=client_order_id,
                quantity=q,
                price=p,
                stop_price=sp,
            )
            st.flush(now)
            return order.snapshot()

    def cancel_all(self, account: Account, symbol: str) -> list[Order]:
        """Cancel all open orders of the account on ``symbol`` (an empty list when none;
        a face may refuse then, as Binance's does)."""
        with self._lock:
            st, now = self._synced(symbol)
            orders = st.engine.cancel_all(account, now_ms=now)
            st.flush(now)
            return [o.snapshot() for o in orders]

    def arm_cancel_countdown(
        self, account: Account, symbol: str | None, timeout_ms: int
    ) -> Countdown | None:
        """(Re)arm the account's dead-man switch over ``symbol`` (None: every symbol); when
        ``timeout_ms`` passes without another call its open orders there are cancelled.
        ``timeout_ms`` 0 disarms (returns None). ``BadSymbol`` for an unknown symbol."""
        with self._lock:
            if symbol is not None:
                self._state(symbol)
            return self.countdowns.arm(account.account_id, symbol, timeout_ms)

    def _fire_countdowns(self) -> None:
        """Cancel what every expired countdown covers (call under the lock)."""
        for countdown in self.countdowns.take_expired():
            account = self._accounts.by_id.get(countdown.account_id)
            if account is None:
                continue
            symbols = [countdown.scope] if countdown.scope is not None else sorted(self._states)
            for symbol in symbols:
                st, now = self._synced(symbol)
                if st.engine.cancel_all(account, now_ms=now):
                    st.flush(now)

    def get_order(
        self,
        account: Account,
        symbol: str,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> Order:
        """Return an order of the account (open or not); ``UnknownOrder`` when there is none."""
        if order_id is None and client_order_id is None:
            raise BadParameter.one_of("order_id", "client_order_id")
        with self._lock:
            self._state(symbol)
            return self._history.get(account.account_id, symbol, order_id, client_order_id)

    def open_orders(self, account: Account, symbol: str | None = None) -> list[Order]:
        """Return snapshots of the account's open orders (one symbol or all), oldest first."""
        with self._lock:
            states = [self._state(symbol)] if symbol is not None else list(self._states.values())
            aid = account.account_id
            out = [o.snapshot() for st in states for o in st.engine.open_orders_of(aid)]
            out.sort(key=lambda o: (o.time_ms, o.symbol, o.order_id))
            return out

    def all_orders(
        self,
        account: Account,
        symbol: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
    ) -> list[Order]:
        """The account's orders on ``symbol`` with Binance's ``allOrders`` paging, ascending.

        ``from_id``: the first ``limit`` with id >= it; else ``start_ms``: the first ``limit``
        from then; else the most recent ``limit``. Times filter on creation time.
        """
        with self._lock:
            self._state(symbol)
            return self._history.orders(
                account.account_id, symbol, start_ms, end_ms, from_id, limit
            )

    def my_trades(
        self,
        account: Account,
        symbol: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
        order_id: int | None = None,
    ) -> list[Fill]:
        """The account's fills on ``symbol`` (``myTrades``), paged like :meth:`all_orders`."""
        with self._lock:
            self._state(symbol)
            return self._history.fills(
                account.account_id, symbol, start_ms, end_ms, from_id, limit, order_id
            )

    # ================================================================ contracts
    def _contract(self, symbol: str) -> SymbolMarket:
        st = self._state(symbol)
        if st.engine.rules.instrument.is_spot:
            raise OrderRejected(Reason.NOT_A_CONTRACT)
        return st

    def _contracts(self) -> list[SymbolMarket]:
        return [self._states[sym] for sym in sorted(self.ledger.rules)]

    def contract_settings(self, account: Account, symbol: str) -> SymbolSettings:
        """The account's leverage, margin mode and position mode on a contract (a copy)."""
        with self._lock:
            self._contract(symbol)
            s = self.ledger.settings(account.account_id, symbol)
            return SymbolSettings(s.leverage, s.margin_mode, s.position_mode)

    def set_leverage(self, account: Account, symbol: str, leverage: int) -> SymbolSettings:
        """Set the leverage on a contract: 1 to the brackets' maximum, and no lower than the
        open position's notional allows (LEVERAGE_NOT_VALID, MAX_NOTIONAL_FOR_LEVERAGE)."""
        with self._lock:
            self._contract(symbol)
            self.ledger.set_leverage(account, symbol, int(leverage))
            self._publish_upkeep(self._clock.now_ms())
            return self.contract_settings(account, symbol)

    def set_margin_mode(
        self, account: Account, symbol: str, mode: MarginMode | str
    ) -> SymbolSettings:
        """Switch cross/isolated margin on a contract (SETTINGS_LOCKED with a position or open
        orders there; a no-op when unchanged)."""
        m = _parse_enum(MarginMode, mode, "margin_mode")
        with self._lock:
            st = self._contract(symbol)
            busy = bool(st.engine.open_orders_of(account.account_id))
            self.ledger.set_margin_mode(account, symbol, m, has_orders=busy)
            return self.contract_settings(account, symbol)

    def set_position_mode(
        self, account: Account, symbol: str, mode: PositionMode | str
    ) -> SymbolSettings:
        """Switch one-way/hedge on a contract (SETTINGS_LOCKED with a position or open orders
        there; a no-op when unchanged)."""
        m = _parse_enum(PositionMode, mode, "position_mode")
        with self._lock:
            st = self._contract(symbol)
            busy = bool(st.engine.open_orders_of(account.account_id))
            self.ledger.set_position_mode(account, symbol, m, has_orders=busy)
            return self.contract_settings(account, symbol)

    def adjust_isolated_margin(
        self,
        account: Account,
        symbol: str,
        amount: Decimal | str | int,
        position_side: PositionSide | str = PositionSide.BOTH,
    ) -> PositionView:
        """Add (``amount`` > 0) or remove (< 0) margin of an isolated position: NO_POSITION
        without an isolated position, INSUFFICIENT_BALANCE when the free balance is short or
        removing would leave less than the position's initial margin."""
        dec = Decimal(str(amount))
        side = _parse_enum(PositionSide, position_side, "position_side")
        with self._lock:
            now = self._sync(self._contract(symbol))
            pos = self.ledger.adjust_isolated_margin(account, symbol, side, dec, now)
            self._publish_upkeep(now)
            return self.ledger.view(pos, now)

    def positions(self, account: Account, symbol: str | None = None) -> list[PositionView]:
        """The account's open positions (one contract or all), by symbol and side."""
        with self._lock:
            now = self._clock.now_ms()
            for st in [self._contract(symbol)] if symbol is not None else self._contracts():
                self._sync(st)
            pos = self.ledger.positions_of(account.account_id, symbol)
            pos.sort(key=lambda p: (p.symbol, p.side.value))
            return [self.ledger.view(p, now) for p in pos]

    def margin_summary(self, account: Account, asset: str = "USDT") -> MarginSummary:
        """Wallet, unrealized PnL, margin and available balance, maintenance margin in ``asset``."""
        with self._lock:
            for st in self._contracts():
                self._sync(st)
            return self.ledger.summary(account, asset)

    def mark_price(self, symbol: str) -> MarkPriceEvent:
        """Mark, index, premium and the funding rate the premium implies now, with the next
        funding time (``mark_price`` 0 before the contract has a price)."""
        with self._lock:
            st = self._contract(symbol)
            now = self._sync(st)
            return self._mark_event(symbol, now)

    def funding_rates(self, symbol: str, limit: int = 100) -> list[tuple[int, Decimal, Decimal]]:
        """The last ``limit`` fundings of a contract: ``(time_ms, rate, mark)``, oldest first."""
        with self._lock:
            self._sync(self._contract(symbol))
            return self.ledger.funding_history.get(symbol, [])[-limit:]

    def _mark_event(self, symbol: str, now: int) -> MarkPriceEvent:
        ledger = self.ledger
        return MarkPriceEvent(
            symbol,
            ledger.mark(symbol) or Decimal(0),
            ledger.indexes.get(symbol, Decimal(0)),
            ledger.next_rate(symbol, now),
            next_funding_ms(now),
            now,
            ledger.mark_model.premium(symbol, now),
        )

    def _upkeep_hook(self, symbol: str) -> typing.Callable[[int], None]:
        return lambda now_ms: self._upkeep(symbol, now_ms)

    def _upkeep(self, symbol: str, now_ms: int) -> None:
        """A contract's upkeep after each flush: mark, mark stops, funding, liquidations."""
        st = self._states.get(symbol)
        if st is None or self._in_upkeep:
            return
        self._in_upkeep = True
        try:
            ledger = self.ledger
            index = st.last_price()
            if index is not None:
                mark = ledger.update_mark(symbol, index, now_ms)
                st.engine.update_mark(mark, now_ms)
                if self._last_marks.get(symbol) != mark:
                    self._last_marks[symbol] = mark
                    self._emit(f"sim.mark.{symbol}", self._mark_event(symbol, now_ms))
            ledger.fund(symbol, now_ms)
            touched: set[str] = {symbol}

            def cancel(account: Account, sym: str) -> None:
                touched.add(sym)
                self._states[sym].engine.cancel_all(account, now_ms=now_ms)

            if check_liquidations(ledger, self._accounts.users(), now_ms, cancel):
                touched |= self._unwind_insurance(now_ms)
            for sym in sorted(touched):
                self._states[sym].flush(now_ms)
            self._publish_upkeep(now_ms)
        finally:
            self._in_upkeep = False

    def _unwind_insurance(self, now_ms: int) -> set[str]:
        """The insurance fund closes what it took over with market orders on the book."""
        done: set[str] = set()
        fund = self.insurance_account
        for pos in self.ledger.positions_of(fund.account_id):
            st = self._states[pos.symbol]
            if st.engine.book.opposite(Side.SELL if pos.qty > 0 else Side.BUY).best() is None:
                continue
            try:
                st.engine.place(
                    fund,
                    Side.SELL if pos.qty > 0 else Side.BUY,
                    OrderType.MARKET,
                    now_ms=now_ms,
                    quantity=abs(pos.qty),
                    validate=False,
                    reduce_only=True,
                )
            except SimError:
                continue
            done.add(pos.symbol)
        return done

    def _publish_upkeep(self, now_ms: int) -> None:
        for topic, event in self.ledger.drain(now_ms):
            self._emit(topic, event)

    # ================================================================ market data
    def symbols(self) -> list[str]:
        """The traded symbols, sorted."""
        return sorted(self._states)

    def rules_for(self, symbol: str) -> SymbolRules:
        """The rules of ``symbol``; ``BadSymbol`` when unknown."""
        return self._state(symbol).engine.rules

    def depth(self, symbol: str, limit: int = 100) -> DepthSnapshot:
        """Aggregated book snapshot with the last depth update id it reflects."""
        with self._lock:
            st, _ = self._synced(symbol)
            return st.depth(limit)

    def book_ticker(self, symbol: str) -> BookTicker:
        """Best bid and ask of ``symbol``."""
        with self._lock:
            st, _ = self._synced(symbol)
            return st.book_ticker()

    def recent_trades(self, symbol: str, limit: int = 500) -> list[Trade]:
        """The last ``limit`` public trades, oldest first."""
        with self._lock:
            st, _ = self._synced(symbol)
            return st.tape.recent(limit)

    def historical_trades(
        self, symbol: str, from_id: int | None = None, limit: int = 500
    ) -> list[Trade]:
        """Public trades from ``from_id`` (the most recent ``limit`` when None)."""
        with self._lock:
            st, _ = self._synced(symbol)
            return st.tape.recent(limit) if from_id is None else st.tape.from_id(from_id, limit)

    def agg_trades(
        self,
        symbol: str,
        from_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[AggTrade]:
        """Aggregate trades with Binance's paging (see :meth:`Tape.agg_trades`)."""
        with self._lock:
            st, _ = self._synced(symbol)
            return st.tape.agg_trades(
                from_id=from_id, start_ms=start_ms, end_ms=end_ms, limit=limit
            )

    def klines(
        self,
        symbol: str,
        interval: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[Kline]:
        """Klines of any Binance interval: pre-start history plus bars from the core's trades."""
        with self._lock:
            st, now = self._synced(symbol)
            return st.klines.klines(
                interval, now_ms=now, start_ms=start_ms, end_ms=end_ms, limit=limit
            )

    def last_price(self, symbol: str) -> Decimal | None:
        """The last trade price (else the last known close or reference price)."""
        with self._lock:
            st, _ = self._synced(symbol)
            return st.last_price()

    def avg_price(self, symbol: str) -> AvgPrice:
        """Volume-weighted average price over the symbol's ``avg_price_mins``."""
        with self._lock:
            st, now = self._synced(symbol)
            return st.avg_price(now)

    def ticker_24h(self, symbol: str) -> Ticker24h:
        """Rolling 24-hour statistics of ``symbol`` (from its 1m bars)."""
        with self._lock:
            st, now = self._synced(symbol)
            return st.ticker_24h(now)

    def liquidity(self, symbol: str) -> SymbolLiquidity | None:
        """The liquidity provider of ``symbol`` (None when the market source does not play it)."""
        return self._state(symbol).liquidity

    def record_quiet(
        self,
        symbol: str,
        minutes: Sequence[MinuteTrades | LaterMinute],
        last_price: Decimal | None,
        last_trade_ms: int | None,
        now_ms: int,
    ) -> None:
        """Record market trades no user order could meet, unplayed (see
        :meth:`~real_trade.sim.symbol_market.SymbolMarket.record_quiet`)."""
        with self._lock:
            self._state(symbol).record_quiet(minutes, last_price, last_trade_ms, now_ms)

    def pass_tick(self, symbol: str, tick: MarketTick) -> bool:
        """Play ``symbol``'s next tick with its flow's trade recorded, not matched (the paper
        fast path when no user order of ``symbol`` rests; see
        :meth:`~real_trade.sim.symbol_market.SymbolMarket.pass_tick`); False, with nothing
        done, when the symbol has no ladder."""
        with self._lock:
            passed = self._state(symbol).pass_tick(tick)
            if passed:
                self._fire_countdowns()
            return passed

    # ================================================================ market pump
    def pump(self, until_ms: int | None = None) -> int:
        """Play the market up to the clock's now (or ``until_ms`` if earlier); return the ticks."""
        with self._lock:
            now = self._clock.now_ms()
            target = now if until_ms is None else min(until_ms, now)
            deadline = self._deadline()
            ticks = sum(st.pump(target, deadline) for st in self._states.values())
            self._fire_countdowns()
            return ticks

    def _deadline(self) -> float | None:
        budget = self._pump_budget_s
        return None if budget is None else time.monotonic() + budget

    def _sync(self, st: SymbolMarket) -> int:
        """Bring ``st`` up to the clock (pump when auto-pumping, else roll klines); return now."""
        now = self._clock.now_ms()
        if self._auto_pump and st.liquidity is not None and now > st.pumped_ms:
            st.pump(now, self._deadline())
        else:
            st.roll(now)
        if st.after_flush is not None:
            st.after_flush(now)
        return now

    def _listens(self, topic: str) -> bool:
        """Whether an event on ``topic`` would reach anyone (a sink that cannot tell: yes)."""
        ask = self._ask
        return bool(ask(topic)) if ask is not None else self._bus is not None

    def _emit(self, topic: str, event: object) -> None:
        if self._bus is not None:
            self._bus.publish(topic, event)


_E = typing.TypeVar("_E", bound=enum.Enum)


def _parse_enum(kind: type[_E], value: _E | str, name: str) -> _E:
    """``value`` as a member of ``kind`` (its neutral spelling accepted); else BadParameter."""
    if isinstance(value, kind):
        return value
    try:
        return kind(value)
    except ValueError:
        raise BadParameter.illegal_chars(name) from None
