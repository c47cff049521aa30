"""Funds of the matching engine: what each order locks, and how each side of a trade settles.

The matching engine calls a :class:`Settlement` (the seam between matching and accounts), picked
for the symbol's instrument by :func:`settlement_for`: :class:`SpotSettlement` today (the rules
below); perpetual margin will be another implementation of the same protocol.

Spot commission follows Binance's default without BNB: the buyer receives the base asset less
commission (charged in base), the seller the quote asset less commission (charged in quote),
rounded down to the symbol's commission precision and credited to the fee account, so every
trade conserves balances exactly.

Funds, by order type (documented decisions where Binance leaves room):

* LIMIT / LIMIT_MAKER / *_LIMIT: a buy locks ``qty * price`` of quote, a sell locks ``qty`` of
  base, at placement. A buy filled at a better price gets the difference back at each fill.
* MARKET by quantity: the engine walks the book first. A buy whose walk costs more than the free
  quote is rejected (insufficient balance); a sell needs ``qty`` free base. When the book
  runs out of liquidity the order fills what there is and the rest EXPIRES (status EXPIRED).
* MARKET by ``quoteOrderQty``: spends (buy) or receives (sell) at most that much quote, the
  quantity floored to the lot step; FILLED when the budget is used, EXPIRED when the book ran
  out first; rejected when the book is empty.
* STOP_LOSS / TAKE_PROFIT (market once triggered): a sell locks its base at placement; a buy locks
  nothing and, when triggered, buys what the free quote affords, the rest EXPIRES.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from real_trade.sim.accounts import Account, commission
from real_trade.sim.instruments import Instrument, InstrumentKind
from real_trade.sim.rules import MARKET_TYPES, SymbolRules
from real_trade.sim.types import ZERO, Fill, Order, OrderStatus, OrderType, Side

__all__ = [
    "Settlement",
    "SpotSettlement",
    "market_reservation",
    "reservation",
    "settle_side",
    "settlement_for",
]


class Settlement(Protocol):
    """How one instrument's orders reserve funds and its fills settle against accounts."""

    def reservation(
        self,
        rules: SymbolRules,
        side: Side,
        order_type: OrderType,
        quantity: Decimal,
        price: Decimal | None,
    ) -> tuple[str, Decimal]:
        """``(asset, amount)`` a new resting (or stop) order locks at placement."""
        ...

    def market_reservation(
        self, rules: SymbolRules, side: Side, quantity: Decimal, cost: Decimal
    ) -> tuple[str, Decimal]:
        """``(asset, amount)`` a market order of ``quantity`` whose walk costs ``cost`` locks."""
        ...

    def trigger_budget(self, rules: SymbolRules, account: Account, side: Side) -> Decimal | None:
        """The quote a triggered stop-market order of ``side`` may spend (None: no cap, its
        funds were reserved at placement)."""
        ...

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
        """Settle ``order``'s side of a trade and return its :class:`Fill`."""
        ...


class SpotSettlement:
    """Spot: orders lock the asset they pay with; fills swap base and quote, less commission."""

    def reservation(
        self,
        rules: SymbolRules,
        side: Side,
        order_type: OrderType,
        quantity: Decimal,
        price: Decimal | None,
    ) -> tuple[str, Decimal]:
        """See :func:`reservation`."""
        return reservation(rules, side, order_type, quantity, price)

    def market_reservation(
        self, rules: SymbolRules, side: Side, quantity: Decimal, cost: Decimal
    ) -> tuple[str, Decimal]:
        """See :func:`market_reservation`."""
        return market_reservation(rules, side, quantity, cost)

    def trigger_budget(self, rules: SymbolRules, account: Account, side: Side) -> Decimal | None:
        """A stop-market buy spends what free quote the account has; a sell locked its base."""
        return account.free(rules.quote) if side is Side.BUY else None

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
        """See :func:`settle_side`."""
        return settle_side(
            order,
            account,
            fee_account,
            rules,
            trade_id=trade_id,
            price=price,
            qty=qty,
            is_maker=is_maker,
            now_ms=now_ms,
        )


_SPOT = SpotSettlement()


def settlement_for(instrument: Instrument) -> Settlement:
    """The settlement of ``instrument``; ``NotImplementedError`` for perpetuals (not built yet)."""
    if instrument.kind is InstrumentKind.SPOT:
        return _SPOT
    raise NotImplementedError(f"{instrument.kind.value} settlement is not built yet")


def market_reservation(
    rules: SymbolRules, side: Side, quantity: Decimal, cost: Decimal
) -> tuple[str, Decimal]:
    """Return ``(asset, amount)`` a spot market order locks: the walk's quote cost for a buy,
    the base quantity for a sell."""
    if side is Side.BUY:
        return rules.quote, cost
    return rules.base, quantity


def reservation(
    rules: SymbolRules,
    side: Side,
    order_type: OrderType,
    quantity: Decimal,
    price: Decimal | None,
) -> tuple[str, Decimal]:
    """Return ``(asset, amount)`` a new non-MARKET order locks at placement.

    A sell locks its base quantity; a limit-type buy locks ``quantity * price`` of quote; a
    stop-market buy locks nothing until it triggers (then it buys what the free quote affords).
    """
    if side is Side.SELL:
        return rules.base, quantity
    if order_type in MARKET_TYPES:
        return rules.quote, ZERO
    assert price is not None
    return rules.quote, quantity * price


def settle_side(
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
    """Settle ``order``'s side of a trade of ``qty`` at ``price`` and return its :class:`Fill`.

    Moves the locked funds and the proceeds on ``account``, charges the maker or taker rate to
    ``fee_account``, and updates the order's executed quantity, quote total, status, lock and
    fills. The caller takes a filled maker off the book and publishes the events.
    """
    quote_qty = price * qty
    rate = account.maker_fee if is_maker else account.taker_fee
    if order.side is Side.BUY:
        if order.type in MARKET_TYPES:
            reserved = quote_qty
        else:
            assert order.price is not None
            reserved = qty * order.price
        account.spend_locked(rules.quote, reserved, reserved - quote_qty)
        order.locked_amount -= reserved
        fee = commission(qty, rate, rules.base_commission_precision)
        account.credit(rules.base, qty - fee)
        fee_account.credit(rules.base, fee)
        fee_asset = rules.base
    else:
        account.spend_locked(rules.base, qty)
        order.locked_amount -= qty
        fee = commission(quote_qty, rate, rules.quote_commission_precision)
        account.credit(rules.quote, quote_qty - fee)
        fee_account.credit(rules.quote, fee)
        fee_asset = rules.quote
    order.executed_qty += qty
    order.cummulative_quote_qty += quote_qty
    order.update_time_ms = now_ms
    order.status = (
        OrderStatus.FILLED if order.executed_qty >= order.orig_qty else OrderStatus.PARTIALLY_FILLED
    )
    fill = Fill(
        rules.symbol,
        trade_id,
        order.order_id,
        price,
        qty,
        quote_qty,
        fee,
        fee_asset,
        is_maker,
        order.side is Side.BUY,
        now_ms,
    )
    order.fills.append(fill)
    return fill
