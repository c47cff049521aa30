"""Property tests of linear perpetuals: random order streams, clock jumps (funding) and price
swings (liquidations) from several accounts keep the books right.

After every step: wallet plus unrealized PnL over all accounts (fee account and insurance fund
included) is conserved exactly; positions sum to zero; locked balances equal what open orders
hold; every user account with a position is above its maintenance margin (else it was
liquidated); the insurance fund pays only with a liquidation event; funding at each funding time
sums to zero across longs and shorts.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from real_trade.sim.clock import SimClock
from real_trade.sim.core import ExchangeCore
from real_trade.sim.derivatives import (
    PERP_RULES,
    FundingEvent,
    LiquidationEvent,
    MarginMode,
    MarkModel,
    Position,
)
from real_trade.sim.errors import SimError
from real_trade.sim.types import OrderType, Side

D = Decimal
SYM = "BTCUSDT"
T0 = 1_700_006_400_000 + 3_600_000
USERS = 4

settings_action = st.tuples(
    st.just("settings"),
    st.integers(0, USERS - 1),
    st.sampled_from([1, 10, 20, 50, 100]),
    st.sampled_from(list(MarginMode)),
)
limit_action = st.tuples(
    st.just("limit"),
    st.integers(0, USERS - 1),
    st.sampled_from(Side),
    st.integers(1, 50),
    st.integers(-250, 250),
    st.sampled_from([False, False, False, True]),
)
market_action = st.tuples(
    st.just("market"),
    st.integers(0, USERS - 1),
    st.sampled_from(Side),
    st.integers(1, 50),
    st.sampled_from([False, False, False, True]),
)
stop_action = st.tuples(
    st.just("stop"),
    st.integers(0, USERS - 1),
    st.sampled_from(Side),
    st.sampled_from([OrderType.STOP_LOSS, OrderType.TAKE_PROFIT]),
    st.integers(-250, 250),
    st.sampled_from(["last", "mark"]),
)
cancel_action = st.tuples(st.just("cancel"), st.integers(0, USERS - 1))
time_action = st.tuples(st.just("time"), st.integers(1, 20))
quote_action = st.tuples(st.just("quote"), st.integers(-400, 400))
actions = st.lists(
    st.one_of(
        settings_action,
        limit_action,
        limit_action,
        market_action,
        market_action,
        market_action,
        stop_action,
        cancel_action,
        time_action,
        quote_action,
        quote_action,
    ),
    min_size=5,
    max_size=40,
)


class Bus:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def publish(self, topic: str, event: object) -> None:
        self.events.append((topic, event))


class World:
    def __init__(self, balances: list[int], seed: int) -> None:
        self.clock = SimClock(start_ms=T0, stepped=True)
        self.bus = Bus()
        self.core = ExchangeCore(
            self.clock,
            bus=self.bus,
            rules={SYM: PERP_RULES[SYM]},
            seed=seed,
            mark_model=MarkModel(seed=seed, max_premium=D("0.002")),
            insurance_fund=D(10_000_000),
        )
        self.users = [
            self.core.create_account({"USDT": b}, maker_fee=D("0.0002"), taker_fee=D("0.0005"))
            for b in [*balances, 50_000_000]
        ]
        self.maker = self.users[-1]
        self.start = self.total()

    def positions(self) -> list[Position]:
        return self.core.ledger.open_positions()

    def total(self) -> Decimal:
        core = self.core
        accts = [*self.users, core.fee_account, core.insurance_account]
        wallets = sum((a.free("USDT") + a.locked("USDT") for a in accts), D(0))
        return wallets + sum((p.isolated_margin - p.cost for p in self.positions()), D(0))

    def act(self, action: tuple) -> None:  # type: ignore[type-arg]
        core, kind = self.core, action[0]
        if kind == "time":
            self.clock.advance(action[1] * 3600)
            return
        if kind == "quote":  # a deep maker quotes around a new price, then prints there
            price = D(30_000 + 10 * action[1])
            core.cancel_all(self.maker, SYM)
            for side, px in ((Side.BUY, price - 10), (Side.SELL, price + 10)):
                core.place_order(
                    self.maker,
                    SYM,
                    side,
                    "limit",
                    quantity=D(3),
                    price=px,
                    time_in_force="gtc",
                )
            core.place_order(self.maker, SYM, "buy", "market", quantity=D("0.01"))
            return
        user = self.users[action[1]]
        if kind == "settings":
            core.set_leverage(user, SYM, action[2])
            core.set_margin_mode(user, SYM, action[3])
        elif kind == "limit":
            _, _, side, lots, ticks, reduce = action
            core.place_order(
                user,
                SYM,
                side,
                "limit",
                quantity=D("0.01") * lots,
                price=D(30_000 + 10 * ticks),
                time_in_force="gtc",
                reduce_only=reduce,
            )
        elif kind == "market":
            _, _, side, lots, reduce = action
            core.place_order(
                user, SYM, side, "market", quantity=D("0.01") * lots, reduce_only=reduce
            )
        elif kind == "stop":
            _, _, side, otype, ticks, working = action
            core.place_order(
                user,
                SYM,
                side,
                otype,
                quantity=D("0.05"),
                stop_price=D(30_000 + 10 * ticks),
                working_type=working,
            )
        elif kind == "cancel":
            orders = core.open_orders(user, SYM)
            if orders:
                core.cancel_order(user, SYM, order_id=orders[0].order_id)

    def check(self, fund_before: Decimal, fund_had_position: bool, first_event: int) -> None:
        core, ledger = self.core, self.core.ledger
        core.margin_summary(self.users[0])  # brings marks, funding and liquidations up to now
        assert self.total() == self.start
        assert sum((p.qty for p in self.positions()), D(0)) == 0
        for user in self.users:
            held = sum((o.locked_amount for o in core.open_orders(user)), D(0))
            assert user.locked("USDT") == held
            assert user.free("USDT") >= 0
            cross = [
                p
                for p in ledger.positions_of(user.account_id)
                if ledger.settings(user.account_id, p.symbol).margin_mode is MarginMode.CROSS
            ]
            for pos in ledger.positions_of(user.account_id):
                mark = ledger.mark(pos.symbol)
                assert mark is not None
                if pos not in cross:
                    assert pos.isolated_margin + pos.unrealized(mark) > ledger.maintenance(pos)
            if cross:
                mark = ledger.mark(SYM)
                assert mark is not None
                balance = user.free("USDT") + user.locked("USDT")
                balance += sum((p.unrealized(mark) for p in cross), D(0))
                assert balance > sum((ledger.maintenance(p) for p in cross), D(0))
        new = self.bus.events[first_event:]
        liquidated = any(isinstance(e, LiquidationEvent) for _, e in new)
        if core.insurance_account.free("USDT") < fund_before:
            assert liquidated or fund_had_position
        if not fund_had_position and not ledger.positions_of(core.insurance_account.account_id):
            by_time: dict[int, Decimal] = defaultdict(D)
            for _, e in new:
                if isinstance(e, FundingEvent):
                    by_time[e.time_ms] += e.amount
            assert all(total == 0 for total in by_time.values()), by_time


@settings(max_examples=60, deadline=None)
@given(
    actions,
    st.lists(st.sampled_from([300, 1000, 3000, 20_000]), min_size=USERS, max_size=USERS),
    st.integers(0, 5),
)
def test_random_perpetual_trading_keeps_margin_pnl_and_funding_right(
    steps: list[tuple],
    balances: list[int],
    seed: int,  # type: ignore[type-arg]
) -> None:
    world = World(balances, seed)
    fund = world.core.insurance_account
    for action in steps:
        before = fund.free("USDT")
        had = bool(world.core.ledger.positions_of(fund.account_id))
        first = len(world.bus.events)
        with contextlib.suppress(SimError):
            world.act(action)
        world.check(before, had, first)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 40)), max_size=12),
    st.integers(-300, 300),
    st.integers(0, 5),
)
def test_funding_sums_to_zero_across_longs_and_shorts(
    trades: list[tuple[int, int, int]], ticks: int, seed: int
) -> None:
    world = World([1_000_000] * USERS, seed)
    core = world.core
    for buyer, seller, lots in trades:
        if buyer == seller:
            continue
        qty = D("0.01") * lots
        price = D(30_000 + 10 * ticks)
        core.place_order(
            world.users[seller],
            SYM,
            "sell",
            "limit",
            quantity=qty,
            price=price,
            time_in_force="gtc",
        )
        core.place_order(world.users[buyer], SYM, "buy", "market", quantity=qty)
    wallets_before = [u.free("USDT") + u.locked("USDT") for u in world.users]
    first = len(world.bus.events)
    world.clock.advance(24 * 3600)  # three funding times
    core.margin_summary(world.users[0])
    fundings = [e for _, e in world.bus.events[first:] if isinstance(e, FundingEvent)]
    by_time: dict[int, Decimal] = defaultdict(D)
    for e in fundings:
        by_time[e.time_ms] += e.amount
    assert all(total == 0 for total in by_time.values())
    if any(p.qty for p in world.positions()):
        assert len(by_time) == 3
    wallets_after = [u.free("USDT") + u.locked("USDT") for u in world.users]
    assert sum(wallets_after) == sum(wallets_before)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([10, 20, 50, 100]), st.sampled_from(list(MarginMode))),
        min_size=USERS,
        max_size=USERS,
    ),
    st.lists(st.tuples(st.sampled_from(Side), st.integers(1, 30)), min_size=USERS, max_size=USERS),
    st.lists(st.one_of(quote_action, time_action), min_size=3, max_size=15),
    st.integers(0, 5),
)
def test_price_swings_liquidate_leveraged_accounts_and_conserve_balances(
    modes: list[tuple[int, MarginMode]],
    opens: list[tuple[Side, int]],
    swings: list[tuple],  # type: ignore[type-arg]
    seed: int,
) -> None:
    world = World([1000] * USERS, seed)
    core, fund = world.core, world.core.insurance_account
    world.act(("quote", 0))
    for i, ((lev, mode), (side, lots)) in enumerate(zip(modes, opens, strict=True)):
        world.act(("settings", i, lev, mode))
        with contextlib.suppress(SimError):
            world.act(("market", i, side, lots, False))
    world.check(fund.free("USDT"), False, 0)
    for action in swings:
        before = fund.free("USDT")
        had = bool(core.ledger.positions_of(fund.account_id))
        first = len(world.bus.events)
        world.act(action)
        world.check(before, had, first)
