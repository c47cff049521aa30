"""Amending an open order in the matching engine: same ids, the priority rules, funds, refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from real_trade.sim.types import (
    ExecutionType,
    FilterError,
    InsufficientBalance,
    OrderStatus,
    OrderType,
    UnknownOrder,
    WouldTakeAsMaker,
)
from tests.unit.sim.test_matching import BUY, SELL, T0, Market

D = Decimal


def _queue(m: Market, price: str) -> list[int]:
    level = m.engine.book.side(BUY).level(D(price))
    assert level is not None
    return list(level.orders)


def test_quantity_down_keeps_priority_and_ids() -> None:
    m = Market()
    a, b = m.account(), m.account()
    first = m.limit(a, BUY, "0.5", "50000", client_order_id="first")
    second = m.limit(b, BUY, "0.5", "50000")
    amended = m.engine.amend(a, now_ms=T0 + 1, order_id=first.order_id, quantity=D("0.2"))
    assert amended.order_id == first.order_id and amended.client_order_id == "first"
    assert amended.orig_qty == D("0.2") and amended.update_time_ms == T0 + 1
    assert _queue(m, "50000") == [first.order_id, second.order_id]
    assert m.engine.book.side(BUY).level(D("50000")).qty == D("0.7")  # type: ignore[union-attr]
    assert a.locked("USDT") == D("10000")  # 0.2 * 50000
    kinds = [e.execution_type for e in m.engine.drain().order_events]
    assert kinds[-1] is ExecutionType.AMENDED
    taker = m.account()
    m.market(taker, SELL, "0.2")
    assert m.engine.open_order(first.order_id) is None  # filled first: it kept its place


def test_price_change_or_quantity_up_loses_priority() -> None:
    m = Market()
    a, b = m.account(), m.account()
    first = m.limit(a, BUY, "0.5", "50000")
    second = m.limit(b, BUY, "0.5", "50000")
    m.engine.amend(a, now_ms=T0, order_id=first.order_id, quantity=D("0.6"))
    assert _queue(m, "50000") == [second.order_id, first.order_id]
    m.engine.amend(b, now_ms=T0, order_id=second.order_id, price=D("49000"))
    assert _queue(m, "49000") == [second.order_id]
    assert b.locked("USDT") == D("24500")
    assert m.engine.book.side(BUY).level(D("50000")).qty == D("0.6")  # type: ignore[union-attr]


def test_a_new_price_that_crosses_trades_at_once() -> None:
    m = Market()
    maker, buyer = m.account(), m.account()
    m.limit(maker, SELL, "0.3", "51000")
    bid = m.limit(buyer, BUY, "0.3", "50000")
    amended = m.engine.amend(buyer, now_ms=T0, order_id=bid.order_id, price=D("51000"))
    assert amended.status is OrderStatus.FILLED and amended.executed_qty == D("0.3")
    assert buyer.locked("USDT") == 0


def test_refusals_leave_the_order_as_it_was() -> None:
    m = Market()
    a = m.account(usdt="30000")
    order = m.limit(a, BUY, "0.5", "50000")
    with pytest.raises(InsufficientBalance):
        m.engine.amend(a, now_ms=T0, order_id=order.order_id, quantity=D("1"))
    with pytest.raises(FilterError):
        m.engine.amend(a, now_ms=T0, order_id=order.order_id, quantity=D("0.0000001"))
    with pytest.raises(UnknownOrder):
        m.engine.amend(a, now_ms=T0, order_id=999, quantity=D("0.1"))
    live = m.engine.open_order(order.order_id)
    assert live is not None and live.orig_qty == D("0.5") and a.locked("USDT") == D("25000")


def test_partly_filled_order_amends_its_remainder_and_not_below_its_fill() -> None:
    m = Market()
    a, taker = m.account(), m.account()
    order = m.limit(a, BUY, "1", "50000")
    m.market(taker, SELL, "0.4")
    with pytest.raises(FilterError):
        m.engine.amend(a, now_ms=T0, order_id=order.order_id, quantity=D("0.4"))
    amended = m.engine.amend(a, now_ms=T0, order_id=order.order_id, quantity=D("0.5"))
    assert amended.executed_qty == D("0.4") and amended.orig_qty == D("0.5")
    assert a.locked("USDT") == D("5000")  # 0.1 left at 50000


def test_post_only_amend_that_would_take_is_refused() -> None:
    m = Market()
    maker, a = m.account(), m.account()
    m.limit(maker, SELL, "0.3", "51000")
    order = m.engine.place(
        a, BUY, OrderType.LIMIT_MAKER, now_ms=T0, quantity=D("0.1"), price=D("50000")
    )
    with pytest.raises(WouldTakeAsMaker):
        m.engine.amend(a, now_ms=T0, order_id=order.order_id, price=D("51000"))
    assert m.engine.open_order(order.order_id).price == D("50000")  # type: ignore[union-attr]
