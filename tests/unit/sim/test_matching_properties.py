"""Property tests: random order streams from several accounts keep the engine's invariants.

Invariants checked after every action: balances conserved exactly per asset (fees land in the
fee account), no negative free or locked balance, locked balances equal what open orders hold,
the book is never crossed, executed quantity never exceeds the original, fills are never worse
than the limit, a rejected order changes nothing, and a taker consumes the resting queue in
price-time priority (better prices first, earlier orders first at one price).
"""

from __future__ import annotations

import random
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from real_trade.sim.accounts import Account
from real_trade.sim.matching import MatchingEngine
from real_trade.sim.rules import DEFAULT_RULES
from real_trade.sim.types import Order, OrderType, Side, SimError, TimeInForce

D = Decimal
TIF = TimeInForce

T0 = 1_700_000_000_000
STEP = D("0.001")

limit_action = st.tuples(
    st.just("limit"),
    st.integers(0, 2),
    st.sampled_from(Side),
    st.integers(1, 400),
    st.integers(0, 8),
    st.sampled_from([TIF.GTC, TIF.GTC, TIF.IOC, TIF.FOK]),
)
maker_action = st.tuples(
    st.just("maker"),
    st.integers(0, 2),
    st.sampled_from(Side),
    st.integers(1, 400),
    st.integers(0, 8),
)
market_action = st.tuples(
    st.just("market"), st.integers(0, 2), st.sampled_from(Side), st.integers(1, 600)
)
quote_action = st.tuples(
    st.just("quote"), st.integers(0, 2), st.sampled_from(Side), st.integers(10, 20_000)
)
stop_action = st.tuples(
    st.just("stop"),
    st.integers(0, 2),
    st.sampled_from(Side),
    st.sampled_from(
        [
            OrderType.STOP_LOSS,
            OrderType.STOP_LOSS_LIMIT,
            OrderType.TAKE_PROFIT,
            OrderType.TAKE_PROFIT_LIMIT,
        ]
    ),
    st.integers(1, 200),
    st.integers(0, 8),
    st.integers(0, 8),
)
cancel_action = st.tuples(st.just("cancel"), st.integers(0, 2), st.integers(0, 50))
actions = st.lists(
    st.one_of(
        limit_action,
        limit_action,
        maker_action,
        market_action,
        quote_action,
        stop_action,
        cancel_action,
    ),
    min_size=5,
    max_size=40,
)


def price(ticks: int) -> D:
    return D(29_900 + 10 * ticks)


class World:
    def __init__(self, fees: list[str]) -> None:
        self.fee = Account(1, "", "", maker_fee=D(0), taker_fee=D(0), internal=True)
        self.accounts: dict[int, Account] = {1: self.fee}
        self.users: list[Account] = []
        for i, f in enumerate(fees):
            a = Account(10 + i, "k", "s", maker_fee=D(f), taker_fee=D(f))
            a.credit("USDT", D("200000"))
            a.credit("BTC", D("5"))
            self.accounts[a.account_id] = a
            self.users.append(a)
        self.totals = {"USDT": D("200000") * len(fees), "BTC": D("5") * len(fees)}
        self.engine = MatchingEngine(
            DEFAULT_RULES["BTCUSDT"], self.accounts, self.fee, rng=random.Random(3)
        )
        self.orders: list[Order] = []

    def queue(self, side: Side) -> list[tuple[int, D]]:
        """Resting (order id, remaining) on ``side`` in priority order."""
        book_side = self.engine.book.side(side)
        return [
            (o.order_id, o.orig_qty - o.executed_qty)
            for lvl in book_side.levels()
            for o in lvl.orders.values()
        ]

    def balances(self) -> list[tuple[str, D, D]]:
        return [
            (a, b.free, b.locked)
            for u in self.accounts.values()
            for a, b in sorted(u.balances.items())
        ]

    def check(self) -> None:
        for asset, total in self.totals.items():
            held = sum((a.free(asset) + a.locked(asset) for a in self.accounts.values()), D(0))
            assert held == total, f"{asset} not conserved: {held} != {total}"
        for a in self.accounts.values():
            for bal in a.balances.values():
                assert bal.free >= 0 and bal.locked >= 0
        for u in self.users:
            held: dict[str, D] = {}
            for o in self.engine.open_orders_of(u.account_id):
                held[o.locked_asset] = held.get(o.locked_asset, D(0)) + o.locked_amount
            for asset in ("USDT", "BTC"):
                assert u.locked(asset) == held.get(asset, D(0)), (u.account_id, asset)
        bid, ask = self.engine.book.bids.best(), self.engine.book.asks.best()
        assert bid is None or ask is None or bid.price < ask.price
        for o in self.orders:
            assert o.executed_qty <= o.orig_qty
            assert sum((f.qty for f in o.fills), D(0)) == o.executed_qty
            if o.price is not None and o.type is not OrderType.MARKET:
                for f in o.fills:
                    assert f.price <= o.price if o.side is Side.BUY else f.price >= o.price
            if not o.is_open:
                assert o.locked_amount == 0

    def run(self, action: tuple) -> None:  # type: ignore[type-arg]
        kind, who = action[0], self.users[action[1]]
        eng = self.engine
        before = self.balances()
        try:
            if kind == "cancel":
                mine = eng.open_orders_of(who.account_id)
                if mine:
                    eng.cancel(who, now_ms=T0, order_id=mine[action[2] % len(mine)].order_id)
                return
            side = action[2]
            queue = self.queue(Side.SELL if side is Side.BUY else Side.BUY)
            if kind in ("limit", "maker"):
                typ = OrderType.LIMIT if kind == "limit" else OrderType.LIMIT_MAKER
                o = eng.place(
                    who,
                    side,
                    typ,
                    now_ms=T0,
                    quantity=STEP * action[3],
                    price=price(action[4]),
                    time_in_force=action[5] if kind == "limit" else None,
                )
            elif kind == "market":
                o = eng.place(who, side, OrderType.MARKET, now_ms=T0, quantity=STEP * action[3])
            elif kind == "quote":
                o = eng.place(who, side, OrderType.MARKET, now_ms=T0, quote_order_qty=D(action[3]))
            else:
                typ = action[3]
                limit = (
                    None
                    if typ in (OrderType.STOP_LOSS, OrderType.TAKE_PROFIT)
                    else price(action[6])
                )
                o = eng.place(
                    who,
                    side,
                    typ,
                    now_ms=T0,
                    quantity=STEP * action[4],
                    stop_price=price(action[5]),
                    price=limit,
                    time_in_force=None if limit is None else TIF.GTC,
                )
        except SimError:
            assert self.balances() == before, "a rejected order changed balances"
            return
        self.orders.append(o)
        self.check_priority(o, queue)

    def check_priority(self, taker: Order, queue: list[tuple[int, D]]) -> None:
        out = self.engine.drain()
        mine = []
        for t in out.trades:
            taker_id = t.seller_order_id if t.is_buyer_maker else t.buyer_order_id
            if taker_id != taker.order_id:
                break  # later trades come from triggered stops
            mine.append((t.buyer_order_id if t.is_buyer_maker else t.seller_order_id, t.qty))
        # the taker's fills consume a prefix of the queue: whole orders, the last maybe partly
        for i, (maker_id, qty) in enumerate(mine):
            q_id, q_rem = queue[i]
            assert maker_id == q_id, f"fill {i} hit order {maker_id}, expected {q_id}"
            assert qty == q_rem or (i == len(mine) - 1 and qty < q_rem)


@settings(max_examples=100, deadline=None)
@given(
    actions=actions,
    fees=st.lists(st.sampled_from(["0", "0.001", "0.00075"]), min_size=3, max_size=3),
)
def test_random_order_streams_keep_invariants(actions: list[tuple], fees: list[str]) -> None:  # type: ignore[type-arg]
    world = World(fees)
    for action in actions:
        world.run(action)
        world.check()
