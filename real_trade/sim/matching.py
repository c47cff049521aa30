"""The matching engine of one symbol: price-time priority, every spot order type, exact settlement.

One engine serves the simulated exchange and the paper broker. It validates orders against the
symbol's rules, locks funds, matches against the :class:`~real_trade.sim.book.OrderBook`,
settles both sides with commission (:mod:`~real_trade.sim.settlement`: what each order type
locks, fees to a fee account so balances are conserved exactly), triggers stop orders on the
last trade price (:mod:`~real_trade.sim.stops`) and records what happened in
:attr:`MatchingEngine.out` (:mod:`~real_trade.sim.engine_output`) for the caller to publish.
Self-trade is allowed (STP NONE). It holds no lock and does no I/O: callers serialise access.
"""

from __future__ import annotations

import itertools
import random
import string
from collections.abc import Mapping
from decimal import Decimal

from real_trade.sim.accounts import Account
from real_trade.sim.book import OrderBook
from real_trade.sim.engine_output import EngineOutput
from real_trade.sim.errors import Reason
from real_trade.sim.open_orders import OpenOrders
from real_trade.sim.rules import MARKET_TYPES, STOP_TYPES, TIF_TYPES, SymbolRules
from real_trade.sim.settlement import Settlement, settlement_for
from real_trade.sim.stops import StopBook, would_trigger
from real_trade.sim.types import (
    ZERO,
    BadParameter,
    DuplicateOrder,
    ExecutionType,
    FilterError,
    InsufficientBalance,
    Order,
    OrderRejected,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    Trade,
    UnknownOrder,
    WorkingType,
    WouldTakeAsMaker,
    WouldTriggerImmediately,
)

__all__ = ["EngineOutput", "MatchingEngine"]

_ID_ALPHABET = string.ascii_letters + string.digits
_NO_FLAGS = (False, False, PositionSide.BOTH, WorkingType.LAST)
_CLOSE_TYPES = frozenset({OrderType.STOP_LOSS, OrderType.TAKE_PROFIT})


def _set_flags(order: Order, flags: tuple[bool, bool, PositionSide, WorkingType]) -> None:
    order.reduce_only, order.close_position, order.position_side, order.working_type = flags


class MatchingEngine:
    """Price-time priority matching for one symbol, with funds locking and stop triggers.

    ``accounts`` maps account ids to accounts (the engine looks up the owners of resting
    orders there); ``fee_account`` collects commissions. Order and trade ids are per symbol and
    start at ``first_order_id`` / ``first_trade_id``. ``rng`` draws generated client order ids.
    """

    def __init__(
        self,
        rules: SymbolRules,
        accounts: Mapping[int, Account],
        fee_account: Account,
        *,
        rng: random.Random | None = None,
        first_order_id: int = 1,
        first_trade_id: int = 1,
        settlement: Settlement | None = None,
    ) -> None:
        """Create an engine with an empty book (``settlement``: the instrument's by default)."""
        self.rules = rules
        self.settlement = settlement if settlement is not None else settlement_for(rules.instrument)
        self.symbol = rules.symbol
        self.book = OrderBook()
        self.last_price: Decimal | None = None
        self.out = EngineOutput()
        self._accounts = accounts
        self._fees = fee_account
        self._rng = rng if rng is not None else random.Random()
        self._order_ids = itertools.count(first_order_id)
        self._trade_ids = itertools.count(first_trade_id)
        self._open = OpenOrders()
        self._stops = StopBook()
        self._mark_stops = StopBook()
        self.mark_price: Decimal | None = None
        settle = rules.instrument.settle_asset or rules.quote
        self._assets = (rules.base, rules.quote) if rules.instrument.is_spot else (settle, settle)

    def take_trade_ids(self, count: int) -> int:
        """Reserve ``count`` consecutive trade ids (trades recorded without matching, see
        :meth:`~real_trade.sim.symbol_market.SymbolMarket.record_quiet`); return the first."""
        first = next(self._trade_ids)
        self._trade_ids = itertools.count(first + count)
        return first

    # ------------------------------------------------------------------ queries
    def drain(self) -> EngineOutput:
        """Return what happened since the last drain and start a fresh record."""
        out, self.out = self.out, EngineOutput()
        return out

    def open_order(self, order_id: int) -> Order | None:
        """Return the live open order with this id (on the book or a pending stop)."""
        return self._open.get(order_id)

    def open_orders_of(self, account_id: int) -> list[Order]:
        """Return the live open orders of an account, oldest first."""
        return self._open.of(account_id)

    def find_open(
        self, account_id: int, order_id: int | None = None, client_order_id: str | None = None
    ) -> Order | None:
        """Find an account's open order by id or client order id."""
        return self._open.find(account_id, order_id, client_order_id)

    def pending_stops(self) -> int:
        """Number of untriggered stop orders."""
        return len(self._stops) + len(self._mark_stops)

    def new_client_order_id(self) -> str:
        """Return a generated 22-character client order id, like Binance's."""
        return "".join(self._rng.choices(_ID_ALPHABET, k=22))

    # ------------------------------------------------------------------ placing
    def place(
        self,
        account: Account,
        side: Side,
        order_type: OrderType,
        *,
        now_ms: int,
        quantity: Decimal | None = None,
        quote_order_qty: Decimal | None = None,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
        time_in_force: TimeInForce | None = None,
        client_order_id: str | None = None,
        avg_price: Decimal | None = None,
        validate: bool = True,
        test: bool = False,
        reduce_only: bool = False,
        close_position: bool = False,
        position_side: PositionSide = PositionSide.BOTH,
        working_type: WorkingType = WorkingType.LAST,
    ) -> Order:
        """Validate, lock funds for, and execute or rest a new order; return the live order.

        The contract flags (``reduce_only``, ``close_position``, ``position_side``,
        ``working_type``) are refused on spot symbols (FIELD_NOT_TAKEN); a close-position
        order is a stop-market or take-profit-market without a quantity.

        Raises the typed errors (filters, parameters, insufficient balance, duplicate client id,
        LIMIT_MAKER that would take, stop that would trigger) without changing any state.
        ``test=True`` validates only (like ``order/test``) and returns an unrecorded order with
        id -1. ``validate=False`` skips the rules (the simulator's own liquidity).
        """
        flags = (reduce_only, close_position, position_side, working_type)
        if flags != _NO_FLAGS:
            self._check_flags(order_type, quantity, flags)
        if validate:
            if not account.can_trade:
                raise OrderRejected(Reason.TRADING_DISABLED)
            self.rules.validate(
                side,
                order_type,
                quantity=self._close_check_qty() if close_position else quantity,
                quote_order_qty=quote_order_qty,
                price=price,
                stop_price=stop_price,
                time_in_force=time_in_force,
                avg_price=avg_price,
            )
        if test:
            return self._new_order(
                account,
                side,
                order_type,
                -1,
                client_order_id or "",
                quantity,
                quote_order_qty,
                price,
                stop_price,
                time_in_force,
                now_ms,
            )
        if validate and self._open.count_of(account.account_id) >= self.rules.max_num_orders:
            raise FilterError(Reason.MAX_NUM_ORDERS)
        if not client_order_id:
            client_order_id = self.new_client_order_id()
        elif self._open.has_client_id(account.account_id, client_order_id):
            raise DuplicateOrder()
        if order_type is OrderType.LIMIT_MAKER and self._crosses(side, price):
            raise WouldTakeAsMaker()
        stop = order_type in STOP_TYPES
        if stop:
            ref = self.mark_price if working_type is WorkingType.MARK else self.last_price
            assert stop_price is not None
            if ref is not None and would_trigger(side, order_type, stop_price, ref):
                raise WouldTriggerImmediately()
        if order_type is OrderType.MARKET:
            return self._place_market(
                account, side, quantity, quote_order_qty, client_order_id, now_ms, flags
            )
        if close_position:
            quantity = ZERO
        assert quantity is not None
        order = self._new_order(
            account,
            side,
            order_type,
            -1,
            client_order_id,
            quantity,
            None,
            price,
            stop_price,
            time_in_force,
            now_ms,
        )
        if flags != _NO_FLAGS:
            _set_flags(order, flags)
        if stop:
            order.is_working = False
            order.working_time_ms = -1
        lock_asset, lock_amount = self.settlement.reservation(
            self.rules, side, order_type, quantity, price, account=account, order=order
        )
        account.lock(lock_asset, lock_amount)
        order.order_id = next(self._order_ids)
        order.locked_asset, order.locked_amount = lock_asset, lock_amount
        self._register(order, account, lock_asset if lock_amount else None)
        if stop:
            self._stop_book(order).add(order)
        else:
            self._work_limit(order, account, now_ms)
        self._check_triggers(now_ms)
        return order

    def place_quote(
        self,
        account: Account,
        side: Side,
        price: Decimal,
        quantity: Decimal,
        *,
        now_ms: int,
        client_order_id: str,
    ) -> Order:
        """Rest an internal account's GTC limit order (the simulator's liquidity) exactly as
        ``place(account, side, LIMIT, price=price, quantity=quantity, time_in_force=GTC,
        validate=False, ...)`` does; the short way when it crosses nothing (nothing trades,
        no event: only the lock, the ids and the book change), else :meth:`place` itself."""
        if (
            not account.internal
            or not client_order_id
            or self._crosses(side, price)
            or self._open.has_client_id(account.account_id, client_order_id)
        ):
            return self.place(
                account,
                side,
                OrderType.LIMIT,
                now_ms=now_ms,
                quantity=quantity,
                price=price,
                time_in_force=TimeInForce.GTC,
                validate=False,
                client_order_id=client_order_id,
            )
        order = self._new_order(
            account,
            side,
            OrderType.LIMIT,
            -1,
            client_order_id,
            quantity,
            None,
            price,
            None,
            TimeInForce.GTC,
            now_ms,
        )
        lock_asset, lock_amount = self.settlement.reservation(
            self.rules, side, OrderType.LIMIT, quantity, price, account=account, order=order
        )
        account.lock(lock_asset, lock_amount)
        order.order_id = next(self._order_ids)
        order.locked_asset, order.locked_amount = lock_asset, lock_amount
        self._open.add(order)  # an internal account's order: no event (see _register)
        if self.settlement.fill_cap(order, account) == 0:
            self._close(order, account, OrderStatus.EXPIRED, now_ms)  # as _work_limit
        else:
            self.book.add(order)
        if self._stops:  # as place: the stops the last price has crossed fire (none rest: none)
            self._check_triggers(now_ms)
        return order

    def _check_flags(
        self,
        order_type: OrderType,
        quantity: Decimal | None,
        flags: tuple[bool, bool, PositionSide, WorkingType],
    ) -> None:
        """Refuse contract flags on spot, and a close-position order that is not a bare stop."""
        reduce_only, close_position, position_side, working_type = flags
        if self.rules.instrument.is_spot:
            for name, given in (
                ("reduce_only", reduce_only),
                ("close_position", close_position),
                ("position_side", position_side is not PositionSide.BOTH),
                ("working_type", working_type is not WorkingType.LAST),
            ):
                if given:
                    raise BadParameter.not_required(name)
        if working_type is not WorkingType.LAST and order_type not in STOP_TYPES:
            raise BadParameter.not_required("working_type")
        if close_position:
            if order_type not in _CLOSE_TYPES:
                raise BadParameter.not_required("close_position")
            if quantity is not None:
                raise BadParameter.not_required("quantity")
            if reduce_only:
                raise BadParameter.not_required("reduce_only")

    def _close_check_qty(self) -> Decimal:
        """The quantity a close-position order is validated with (it has none of its own): the
        largest a market order may have, so the minimum notional never refuses it."""
        rules = self.rules
        return rules.market_max_qty or rules.max_qty or rules.min_qty

    def _stop_book(self, order: Order) -> StopBook:
        return self._mark_stops if order.working_type is WorkingType.MARK else self._stops

    def update_mark(self, mark: Decimal, now_ms: int) -> None:
        """Set the contract's mark price and trigger the mark-price stops it crossed."""
        self.mark_price = mark
        while True:
            fired = self._mark_stops.pop_fired(mark)
            if not fired:
                break
            for order_id in fired:
                order = self._open.get(order_id)
                if order is not None:
                    self._activate(order, now_ms)
        self._check_triggers(now_ms)  # what the triggered orders traded may fire last-price stops

    def _place_market(
        self,
        account: Account,
        side: Side,
        quantity: Decimal | None,
        quote_qty: Decimal | None,
        client_order_id: str,
        now_ms: int,
        flags: tuple[bool, bool, PositionSide, WorkingType] = (
            False,
            False,
            PositionSide.BOTH,
            WorkingType.LAST,
        ),
    ) -> Order:
        rules = self.rules
        exhausted = False
        if quote_qty is not None:
            if self.book.opposite(side).best() is None:
                raise OrderRejected(Reason.NO_LIQUIDITY)
            if side is Side.BUY and account.free(rules.quote) < quote_qty:
                raise InsufficientBalance(None, rules.quote)
            qty, cost, exhausted = self.book.plan_take(
                side, quote_cap=quote_qty, step=rules.market_step
            )
            if qty <= 0 or qty < rules.min_qty:
                raise FilterError(Reason.LOT_SIZE)
        else:
            assert quantity is not None
            qty, cost, _ = self.book.plan_take(side, qty_cap=quantity)
        order = self._new_order(
            account,
            side,
            OrderType.MARKET,
            -1,
            client_order_id,
            quantity if quantity is not None else qty,
            quote_qty,
            None,
            None,
            None,
            now_ms,
        )
        if flags != _NO_FLAGS:
            _set_flags(order, flags)
        lock_asset, lock_amount = self.settlement.market_reservation(
            rules,
            side,
            quantity if quantity is not None else qty,
            cost,
            account=account,
            order=order,
        )
        if account.free(lock_asset) < lock_amount:
            raise InsufficientBalance(None, lock_asset)
        account.lock(lock_asset, lock_amount)
        order.order_id = next(self._order_ids)
        order.locked_asset, order.locked_amount = lock_asset, lock_amount
        self._register(order, account, lock_asset if lock_amount else None)
        self._take(order, account, qty, None, now_ms)
        self._finish_taker(order, account, now_ms, expire=exhausted)
        self._check_triggers(now_ms)
        return order

    # ------------------------------------------------------------------ cancelling
    def cancel(
        self,
        account: Account,
        *,
        now_ms: int,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> Order:
        """Cancel an open order of ``account``; ``UnknownOrder`` if there is none."""
        order = self.find_open(account.account_id, order_id, client_order_id)
        if order is None:
            raise UnknownOrder()
        self._close(order, account, OrderStatus.CANCELED, now_ms)
        return order

    def withdraw(self, order: Order, account: Account, *, now_ms: int) -> None:
        """Cancel ``order``, an open order of ``account`` the caller holds, as :meth:`cancel`
        does (without looking it up)."""
        if self._open.get(order.order_id) is not order or order.account_id != account.account_id:
            raise UnknownOrder()
        self._close(order, account, OrderStatus.CANCELED, now_ms)

    def amend(
        self,
        account: Account,
        *,
        now_ms: int,
        order_id: int | None = None,
        client_order_id: str | None = None,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> Order:
        """Change an open order in place, keeping its ids; return it.

        ``quantity`` is the new total (executed included). A smaller quantity at the same price
        keeps the order's place in its level; a new price or a larger quantity sends it to the
        back of its (new) level, and a new price that crosses matches at once, as a new order
        would. The new values pass the symbol's rules and the funds check (the old lock is
        kept when they fail); a quantity at or below what has executed is a LOT_SIZE refusal;
        ``UnknownOrder`` when the order is not open.
        """
        order = self.find_open(account.account_id, order_id, client_order_id)
        if order is None:
            raise UnknownOrder()
        qty = order.orig_qty if quantity is None else quantity
        new_price = order.price if price is None else price
        new_stop = order.stop_price if stop_price is None else stop_price
        if qty <= order.executed_qty:
            raise FilterError(Reason.LOT_SIZE)
        self.rules.validate(
            order.side,
            order.type,
            quantity=qty,
            price=new_price,
            stop_price=new_stop,
            time_in_force=order.tif if order.type in TIF_TYPES else None,
        )
        if order.type is OrderType.LIMIT_MAKER and self._crosses(order.side, new_price):
            raise WouldTakeAsMaker()
        resting = order.order_id in self.book
        keeps_place = new_price == order.price and qty <= order.orig_qty
        self._relock(order, account, qty, new_price)
        if resting and keeps_place:
            self.book.resize(order, qty)
        else:
            if resting:
                self.book.remove(order.order_id)
            elif order.stop_price is not None:
                self._stop_book(order).discard(order)
            order.orig_qty, order.price, order.stop_price = qty, new_price, new_stop
        order.update_time_ms = now_ms
        self.out.order_event(order, ExecutionType.AMENDED, now_ms)
        if not resting and order.stop_price is not None and not order.is_working:
            self._stop_book(order).add(order)
        elif not (resting and keeps_place):
            self._work_limit(order, account, now_ms)
        return order

    def _relock(self, order: Order, account: Account, qty: Decimal, price: Decimal | None) -> None:
        """Swap ``order``'s lock for the one ``qty`` at ``price`` needs, or keep the old lock
        and raise when the account cannot fund it."""
        asset, amount = self.settlement.reservation(
            self.rules,
            order.side,
            order.type,
            qty - order.executed_qty,
            price,
            account=account,
            order=order,
        )
        old_asset, old_amount = order.locked_asset, order.locked_amount
        if old_amount:
            account.unlock(old_asset, old_amount)
        try:
            account.lock(asset, amount)
        except InsufficientBalance:
            if old_amount:
                account.lock(old_asset, old_amount)
            raise
        order.locked_asset, order.locked_amount = asset, amount
        self.out.touch(account, asset)

    def cancel_all(self, account: Account, *, now_ms: int) -> list[Order]:
        """Cancel every open order of ``account`` on this symbol, oldest first."""
        orders = self.open_orders_of(account.account_id)
        for order in orders:
            self._close(order, account, OrderStatus.CANCELED, now_ms)
        return orders

    # ------------------------------------------------------------------ internals
    def _new_order(
        self,
        account: Account,
        side: Side,
        order_type: OrderType,
        order_id: int,
        client_order_id: str,
        quantity: Decimal | None,
        quote_qty: Decimal | None,
        price: Decimal | None,
        stop_price: Decimal | None,
        tif: TimeInForce | None,
        now_ms: int,
    ) -> Order:
        return Order(
            order_id,
            client_order_id,
            self.symbol,
            side,
            order_type,
            tif or TimeInForce.GTC,
            price,
            stop_price,
            quantity if quantity is not None else ZERO,
            ZERO,
            ZERO,
            OrderStatus.NEW,
            now_ms,
            now_ms,
            now_ms,
            True,
            account.account_id,
            quote_qty if quote_qty is not None else ZERO,
        )

    def _register(self, order: Order, account: Account, locked_asset: str | None) -> None:
        self._open.add(order)
        if not account.internal:
            self.out.order_event(order, ExecutionType.NEW, order.time_ms)
            if locked_asset is not None:
                self.out.touch(account, locked_asset)

    def _close(self, order: Order, account: Account, status: OrderStatus, now_ms: int) -> None:
        """End an open order (cancel/expire/fill): off the book, lock released, event sent."""
        if self.book.remove(order.order_id) is None and order.stop_price is not None:
            self._stop_book(order).discard(order)
        self._open.remove(order)
        if order.locked_amount:
            account.unlock(order.locked_asset, order.locked_amount)
            order.locked_amount = ZERO
            self.out.touch(account, order.locked_asset)
        order.status = status
        order.update_time_ms = now_ms
        if status is not OrderStatus.FILLED and not account.internal:
            canceled = status is OrderStatus.CANCELED
            kind = ExecutionType.CANCELED if canceled else ExecutionType.EXPIRED
            self.out.order_event(order, kind, now_ms)

    def _crosses(self, side: Side, price: Decimal | None) -> bool:
        best = self.book.opposite(side).best()
        if best is None or price is None:
            return False
        return best.price <= price if side is Side.BUY else best.price >= price

    def _take(
        self, taker: Order, account: Account, qty_cap: Decimal, limit: Decimal | None, now_ms: int
    ) -> None:
        """Match ``taker`` against the opposite side, best price first, up to ``qty_cap``."""
        opposite = self.book.opposite(taker.side)
        buy = taker.side is Side.BUY
        remaining = qty_cap
        cap = self.settlement.fill_cap(taker, account)
        if cap is not None:
            remaining = min(remaining, cap)
        while remaining > 0:
            lvl = opposite.best()
            if lvl is None:
                break
            price = lvl.price
            if limit is not None and (price > limit if buy else price < limit):
                break
            maker = lvl.first()
            qty = min(remaining, maker.orig_qty - maker.executed_qty)
            maker_acct = self._accounts[maker.account_id]
            maker_cap = self.settlement.fill_cap(maker, maker_acct)
            if maker_cap is not None:
                if maker_cap <= 0:  # a reduce-only maker whose position is gone
                    self._close(maker, maker_acct, OrderStatus.EXPIRED, now_ms)
                    continue
                qty = min(qty, maker_cap)
            self._trade(taker, account, maker, price, qty, now_ms)
            remaining -= qty
            if maker_cap is not None and maker.is_open and qty == maker_cap:
                self._close(maker, maker_acct, OrderStatus.EXPIRED, now_ms)

    def _trade(
        self,
        taker: Order,
        taker_acct: Account,
        maker: Order,
        price: Decimal,
        qty: Decimal,
        now_ms: int,
    ) -> None:
        """Execute ``qty`` at ``price`` between a taker and a resting maker; settle both."""
        maker_acct = self._accounts[maker.account_id]
        trade_id = next(self._trade_ids)
        rules = self.rules
        for order, acct, is_maker in ((maker, maker_acct, True), (taker, taker_acct, False)):
            fill = self.settlement.settle(
                order,
                acct,
                self._fees,
                rules,
                trade_id=trade_id,
                price=price,
                qty=qty,
                is_maker=is_maker,
                now_ms=now_ms,
            )
            if is_maker:
                self.book.reduce(maker, qty)
                if maker.status is OrderStatus.FILLED:
                    self._close(maker, maker_acct, OrderStatus.FILLED, now_ms)
            self.out.fill(acct, order, fill, *self._assets)
        self.last_price = price
        taker_buys = taker.side is Side.BUY
        self.out.trades.append(
            Trade(
                trade_id,
                self.symbol,
                price,
                qty,
                price * qty,
                now_ms,
                taker.order_id if taker_buys else maker.order_id,
                maker.order_id if taker_buys else taker.order_id,
                not taker_buys,
            )
        )

    def _work_limit(self, order: Order, account: Account, now_ms: int) -> None:
        """Run a (triggered) limit-type order: match what crosses, then rest or expire."""
        price = order.price
        assert price is not None
        if order.type is OrderType.LIMIT_MAKER:
            self.book.add(order)
            return
        remaining = order.orig_qty - order.executed_qty
        if order.tif is TimeInForce.FOK:
            fillable, _, _ = self.book.plan_take(order.side, limit=price, qty_cap=remaining)
            if fillable < remaining:
                self._close(order, account, OrderStatus.EXPIRED, now_ms)
                return
        if self._crosses(order.side, price):
            self._take(order, account, remaining, price, now_ms)
        if order.status is OrderStatus.FILLED:
            self._close(order, account, OrderStatus.FILLED, now_ms)
        elif self.settlement.fill_cap(order, account) == 0:
            self._close(order, account, OrderStatus.EXPIRED, now_ms)  # nothing left to reduce
        elif order.tif is TimeInForce.GTC:
            self.book.add(order)
        else:
            self._close(order, account, OrderStatus.EXPIRED, now_ms)

    def _finish_taker(self, order: Order, account: Account, now_ms: int, *, expire: bool) -> None:
        """End a market-type order after its walk: FILLED, or EXPIRED when short."""
        if order.status is OrderStatus.FILLED and not expire:
            self._close(order, account, OrderStatus.FILLED, now_ms)
        else:
            self._close(order, account, OrderStatus.EXPIRED, now_ms)

    def _check_triggers(self, now_ms: int) -> None:
        """Trigger every stop the last trade price has crossed, until none is left to fire."""
        while self.last_price is not None:
            fired = self._stops.pop_fired(self.last_price)
            if not fired:
                return
            for order_id in fired:
                order = self._open.get(order_id)
                if order is not None:
                    self._activate(order, now_ms)

    def _activate(self, order: Order, now_ms: int) -> None:
        """A stop order triggered: it becomes a working LIMIT or MARKET order now."""
        account = self._accounts[order.account_id]
        order.is_working = True
        order.working_time_ms = now_ms
        order.update_time_ms = now_ms
        if not account.internal:
            self.out.order_event(order, ExecutionType.NEW, now_ms)
        if order.type not in MARKET_TYPES:
            self._work_limit(order, account, now_ms)
            return
        if order.close_position:
            order.orig_qty = self.settlement.fill_cap(order, account) or ZERO
            if not order.orig_qty:
                self._close(order, account, OrderStatus.EXPIRED, now_ms)
                return
        rules = self.rules
        budget = self.settlement.trigger_budget(rules, account, order.side)
        if budget is None:
            qty, _, _ = self.book.plan_take(order.side, qty_cap=order.orig_qty)
        else:
            qty, cost, _ = self.book.plan_take(
                order.side, qty_cap=order.orig_qty, quote_cap=budget, step=rules.market_step
            )
            asset, amount = self.settlement.market_reservation(
                rules, order.side, qty, cost, account=account, order=order
            )
            account.lock(asset, amount)
            order.locked_asset, order.locked_amount = asset, amount
            if amount:
                self.out.touch(account, asset)
        self._take(order, account, qty, None, now_ms)
        self._finish_taker(order, account, now_ms, expire=False)
