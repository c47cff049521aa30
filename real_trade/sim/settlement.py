"""Funds of the matching engine: what each order locks, and how each side of a trade settles.

Commission follows Binance's default without BNB: the buyer receives the base asset less
commission (charged in base), the seller the quote asset less commission (charged in quote),
rounded down to the symbol's commission precision and credited to the fee account, so every
trade conserves balances exactly.

Funds, by order type (documented decisions where Binance leaves room):

* LIMIT / LIMIT_MAKER / *_LIMIT: a buy locks ``qty * price`` of quote, a sell locks ``qty`` of
  base, at placement. A buy filled at a better price gets the difference back at each fill.
* MARKET by quantity: the engine walks the book first. A buy whose walk costs more than the free
  quote is rejected (-2010 insufficient balance); a sell needs ``qty`` free base. When the book
  runs out of liquidity the order fills what there is and the rest EXPIRES (status EXPIRED).
* MARKET by ``quoteOrderQty``: spends (buy) or receives (sell) at most that much quote, the
  quantity floored to the lot step; FILLED when the budget is used, EXPIRED when the book ran
  out first; rejected when the book is empty.
* STOP_LOSS / TAKE_PROFIT (market once triggered): a sell locks its base at placement; a buy locks
  nothing and, when triggered, buys what the free quote affords, the rest EXPIRES.
"""

from __future__ import annotations

from decimal import Decimal

from real_trade.sim.accounts import Account, commission
from real_trade.sim.rules import MARKET_TYPES, SymbolRules
from real_trade.sim.types import ZERO, Fill, Order, OrderStatus, OrderType, Side

__all__ = ["reservation", "settle_side"]


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
