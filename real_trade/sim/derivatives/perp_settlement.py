"""The :class:`~real_trade.sim.settlement.Settlement` of linear perpetuals: margin, not swaps.

An order locks the initial margin of the part that opens or increases a position
(``contracts * contract_size * price / leverage``, at its limit price, its stop price for a
stop-market order, or its walk's average price for a market order), checked against the
account's available balance (:meth:`DerivativesLedger.available`); what closes needs no margin.
Each fill releases the order's margin for the filled part, then books the position change in
the :class:`~real_trade.sim.derivatives.ledger.DerivativesLedger` (realized PnL, fee on the
notional in the settlement asset, isolated margin).

Rules chosen where venues differ:

* reduce-only (one-way mode only; hedge mode refuses the flag, like Binance): refused when the
  position is flat or on the order's side (REDUCE_ONLY_REJECTED, Binance -2022); a quantity
  above the position is **trimmed when it executes** (the fill stops at the position's size and
  the rest expires), as Binance and Bybit do for a position that shrank since placement;
* hedge-mode closing orders (SELL on LONG, BUY on SHORT) behave as reduce-only;
* close-position (stop-market and take-profit-market only) carries no quantity: on trigger it
  takes the position's whole size (and expires when flat);
* margin for stop orders is locked at placement (Binance checks it at trigger): simpler, safe.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from real_trade.sim.accounts import Account, commission
from real_trade.sim.derivatives.ledger import DerivativesLedger
from real_trade.sim.derivatives.margin import initial_margin
from real_trade.sim.derivatives.positions import PNL_QUANTUM
from real_trade.sim.derivatives.types import PositionMode
from real_trade.sim.errors import BadParameter, InsufficientBalance, OrderRejected, Reason
from real_trade.sim.rules import SymbolRules
from real_trade.sim.types import ZERO, Fill, Order, OrderStatus, OrderType, Side

__all__ = ["PerpSettlement"]


class PerpSettlement:
    """Margin reservation and position settlement for linear perpetuals (module docstring)."""

    def __init__(self, ledger: DerivativesLedger) -> None:
        """Settle through ``ledger``."""
        self.ledger = ledger

    def _check(self, rules: SymbolRules, account: Account, order: Order) -> None:
        ledger = self.ledger
        ledger.position_side_for(account.account_id, rules.symbol, order.position_side)
        settings = ledger.settings(account.account_id, rules.symbol)
        if order.reduce_only and settings.position_mode is PositionMode.HEDGE:
            raise BadParameter.not_required("reduce_only")
        cap = ledger.reduce_cap(account.account_id, rules.symbol, order)
        if cap is not None and not cap and not order.close_position:
            raise OrderRejected(Reason.REDUCE_ONLY_REJECTED)

    def _margin(
        self, rules: SymbolRules, account: Account, order: Order, qty: Decimal, ref: Decimal
    ) -> Decimal:
        ledger = self.ledger
        opening = ledger.opening_qty(account.account_id, rules.symbol, order, qty)
        if not opening:
            return ZERO
        settings = ledger.settings(account.account_id, rules.symbol)
        cs = rules.instrument.contract_size
        notional = opening * cs * ref
        if not account.internal:
            mark = ledger.mark(rules.symbol) or ref
            held = sum(
                (
                    p.notional(mark)
                    for p in ledger.positions_of(account.account_id, rules.symbol)
                    if p.side is order.position_side
                ),
                ZERO,
            )
            if held + notional > ledger.brackets(rules.symbol).max_notional(settings.leverage):
                raise OrderRejected(Reason.MAX_NOTIONAL_FOR_LEVERAGE)
        margin = initial_margin(notional, settings.leverage)
        asset = ledger.settle_asset(rules.symbol)
        if ledger.available(account, asset) < margin or account.free(asset) < margin:
            raise InsufficientBalance(None, asset)
        return margin

    def reservation(
        self,
        rules: SymbolRules,
        side: Side,
        order_type: OrderType,
        quantity: Decimal,
        price: Decimal | None,
        *,
        account: Account | None = None,
        order: Order | None = None,
    ) -> tuple[str, Decimal]:
        """The initial margin a resting or stop order locks (0 for what closes)."""
        assert account is not None and order is not None
        self._check(rules, account, order)
        ref = price if price is not None else order.stop_price
        assert ref is not None
        return self.ledger.settle_asset(rules.symbol), self._margin(
            rules, account, order, quantity, ref
        )

    def market_reservation(
        self,
        rules: SymbolRules,
        side: Side,
        quantity: Decimal,
        cost: Decimal,
        *,
        account: Account | None = None,
        order: Order | None = None,
    ) -> tuple[str, Decimal]:
        """The initial margin a market order locks, at its walk's average price."""
        assert account is not None and order is not None
        asset = self.ledger.settle_asset(rules.symbol)
        if order.is_working and order.stop_price is not None:
            return asset, ZERO  # a triggered stop locked its margin at placement
        self._check(rules, account, order)
        if not quantity:
            return asset, ZERO
        cs = rules.instrument.contract_size
        ref = cost / (quantity * cs)
        return asset, self._margin(rules, account, order, quantity, ref)

    def trigger_budget(self, rules: SymbolRules, account: Account, side: Side) -> Decimal | None:
        """No cap: a stop order's margin was locked at placement."""
        return None

    def fill_cap(self, order: Order, account: Account) -> Decimal | None:
        """How much more a reducing order may fill (None: no cap)."""
        return self.ledger.reduce_cap(account.account_id, order.symbol, order)

    def settle(
        self,
        order: Order,
        account: Account,
        fee_account: Account,
        rules: SymbolRules,
        *,
        trade_id: int,
        price: Decimal,
        qty: Decimal,
        is_maker: bool,
        now_ms: int,
    ) -> Fill:
        """Release the filled part's margin, book the position change, charge the fee."""
        asset = self.ledger.settle_asset(rules.symbol)
        remaining = order.orig_qty - order.executed_qty
        if order.locked_amount:
            part = order.locked_amount
            if qty < remaining:
                part = (order.locked_amount * qty / remaining).quantize(PNL_QUANTUM, ROUND_DOWN)
            account.unlock(asset, part)
            order.locked_amount -= part
        notional = price * qty * rules.instrument.contract_size
        rate = account.maker_fee if is_maker else account.taker_fee
        fee = commission(notional, rate, rules.quote_commission_precision)
        realized = self.ledger.apply_fill(
            account, order, price=price, qty=qty, fee=fee, fee_account=fee_account, now_ms=now_ms
        )
        order.executed_qty += qty
        order.cummulative_quote_qty += notional
        order.update_time_ms = now_ms
        order.status = (
            OrderStatus.FILLED
            if order.executed_qty >= order.orig_qty
            else OrderStatus.PARTIALLY_FILLED
        )
        fill = Fill(
            rules.symbol,
            trade_id,
            order.order_id,
            price,
            qty,
            notional,
            fee,
            asset,
            is_maker,
            order.side is Side.BUY,
            now_ms,
            realized,
            order.position_side,
        )
        order.fills.append(fill)
        return fill
