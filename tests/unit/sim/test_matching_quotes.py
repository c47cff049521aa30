"""The liquidity's short ways into the matching engine (``place_quote``, ``withdraw``) leave
every state exactly as ``place(..., validate=False)`` and ``cancel`` leave it."""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal

import pytest

from real_trade.sim.accounts import Account
from real_trade.sim.matching import MatchingEngine
from real_trade.sim.rules import DEFAULT_RULES
from real_trade.sim.types import Order, OrderType, Side, TimeInForce, UnknownOrder

D = Decimal
BUY, SELL = Side.BUY, Side.SELL
T0 = 1_700_000_000_000


class _Market:
    def __init__(self) -> None:
        self.fees = Account(1, "", "", maker_fee=D(0), taker_fee=D(0), internal=True)
        self.lp = Account(2, "", "", maker_fee=D(0), taker_fee=D(0), internal=True)
        self.user = Account(1001, "k", "s", maker_fee=D("0.001"), taker_fee=D("0.001"))
        for acct in (self.lp, self.user):
            acct.credit("USDT", D(10_000_000))
            acct.credit("BTC", D(1000))
        accounts = {a.account_id: a for a in (self.fees, self.lp, self.user)}
        self.engine = MatchingEngine(
            DEFAULT_RULES["BTCUSDT"], accounts, self.fees, rng=random.Random(3)
        )

    def state(self) -> object:
        eng = self.engine
        out = eng.drain()
        book = [
            [
                (lvl.price, lvl.qty, [(o.order_id, o.client_order_id) for o in lvl.orders.values()])
                for lvl in side.levels()
            ]
            for side in (eng.book.bids, eng.book.asks)
        ]
        balances = [
            (a.account_id, asset, a.free(asset), a.locked(asset))
            for a in (self.fees, self.lp, self.user)
            for asset in ("USDT", "BTC")
        ]
        events = [(e.order.order_id, e.execution_type, e.order.status) for e in out.order_events]
        opens = [(o.order_id, o.status, o.locked_amount) for o in eng.open_orders_of(2)]
        return (
            book,
            balances,
            events,
            out.trades,
            eng.last_price,
            opens,
            eng.pending_stops(),
            eng.book.drain_changes(),
        )


Quote = Callable[[_Market, Side, str, str, int, str], Order]


def _slow(m: _Market, side: Side, price: str, qty: str, now: int, cid: str) -> Order:
    return m.engine.place(
        m.lp,
        side,
        OrderType.LIMIT,
        now_ms=now,
        quantity=D(qty),
        price=D(price),
        time_in_force=TimeInForce.GTC,
        validate=False,
        client_order_id=cid,
    )


def _fast(m: _Market, side: Side, price: str, qty: str, now: int, cid: str) -> Order:
    return m.engine.place_quote(m.lp, side, D(price), D(qty), now_ms=now, client_order_id=cid)


def _play(quote: Quote, withdraw: bool) -> list[object]:
    """Quotes that rest, one that crosses a user order (it trades), one that fires a stop, a
    duplicate client id; each step's whole state."""
    m = _Market()
    eng, states = m.engine, []
    eng.place(
        m.user,
        SELL,
        OrderType.LIMIT,
        now_ms=T0,
        quantity=D("0.5"),
        price=D("30100"),
        time_in_force=TimeInForce.GTC,
    )
    eng.place(
        m.user,
        BUY,
        OrderType.STOP_LOSS_LIMIT,
        now_ms=T0,
        quantity=D("0.1"),
        price=D("30300"),
        stop_price=D("30100"),
        time_in_force=TimeInForce.GTC,
    )
    states.append(m.state())
    orders = []
    for i, (side, price, qty) in enumerate(
        [(BUY, "29900", "1"), (SELL, "30200", "1"), (BUY, "30100", "2"), (SELL, "30250", "1")]
    ):
        orders.append(quote(m, side, price, qty, T0 + i, f"sim-lp-{i}"))
        states.append(m.state())
    with pytest.raises(Exception) as dup:
        quote(m, BUY, "29000", "1", T0 + 9, "sim-lp-0")
    states.append((type(dup.value), m.state()))
    for order in orders:
        if order.is_open:
            if withdraw:
                eng.withdraw(order, m.lp, now_ms=T0 + 10)
            else:
                eng.cancel(m.lp, now_ms=T0 + 10, order_id=order.order_id)
        states.append(m.state())
    return states


def test_place_quote_and_withdraw_leave_the_state_place_and_cancel_leave() -> None:
    slow = _play(_slow, withdraw=False)
    assert _play(_fast, withdraw=True) == slow
    assert slow[3][3]  # the crossing quote traded (the fast way fell back to place)


def test_withdraw_refuses_an_order_that_is_not_open_or_not_the_accounts() -> None:
    m = _Market()
    order = _fast(m, BUY, "29000", "1", T0, "sim-lp-1")
    with pytest.raises(UnknownOrder):
        m.engine.withdraw(order, m.user, now_ms=T0)
    m.engine.withdraw(order, m.lp, now_ms=T0)
    with pytest.raises(UnknownOrder):
        m.engine.withdraw(order, m.lp, now_ms=T0)
