"""Linear perpetuals through ExchangeCore: margin, positions, modes, order flags, mark stops,
funding and liquidation, with the events a face will translate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from real_trade.sim.clock import SimClock
from real_trade.sim.core import ExchangeCore
from real_trade.sim.derivatives import (
    PERP_RULES,
    FundingEvent,
    LiquidationEvent,
    LiquidationReason,
    MarginMode,
    MarkModel,
    MarkPriceEvent,
    PositionMode,
    PositionView,
)
from real_trade.sim.errors import (
    BadParameter,
    InsufficientBalance,
    OrderRejected,
    Reason,
    WouldTakeAsMaker,
    WouldTriggerImmediately,
)
from real_trade.sim.rules import DEFAULT_RULES
from real_trade.sim.types import OrderStatus, PositionSide, Side

D = Decimal
HOUR = 3_600_000
T0 = 1_700_006_400_000 + HOUR  # 2023-11-15 01:00 UTC
SYM = "BTCUSDT"


class FixedPremium(MarkModel):
    """A mark exactly ``premium`` above the index."""

    def __init__(self, premium: Decimal) -> None:
        super().__init__(max_premium=D(1))
        self.fixed = premium

    def premium(self, symbol: str, t_ms: int) -> Decimal:
        return self.fixed


class Bus:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def publish(self, topic: str, event: object) -> None:
        self.events.append((topic, event))

    def of(self, prefix: str) -> list[object]:
        return [e for t, e in self.events if t.startswith(prefix)]


class World:
    def __init__(self, premium: Decimal = Decimal(0), fee: str = "0") -> None:
        self.clock = SimClock(start_ms=T0, stepped=True)
        self.bus = Bus()
        self.core = ExchangeCore(
            self.clock,
            bus=self.bus,
            rules={SYM: PERP_RULES[SYM]},
            mark_model=FixedPremium(premium),
        )
        self.fee = fee
        self.deposited = D(0)

    def account(self, usdt: str | int):
        self.deposited += D(usdt)
        return self.core.create_account(
            {"USDT": usdt}, maker_fee=D(self.fee), taker_fee=D(self.fee)
        )

    def rest(self, acct, side: str, qty: str, price: str, **kw):
        return self.core.place_order(
            acct, SYM, side, "limit", quantity=qty, price=price, time_in_force="gtc", **kw
        )

    def take(self, acct, side: str, qty: str, **kw):
        return self.core.place_order(acct, SYM, side, "market", quantity=qty, **kw)

    def print_at(self, price: str) -> None:
        """Two bystanders trade 0.01 at ``price`` (moves the last price, so the mark)."""
        c, d = self.account(1_000_000), self.account(1_000_000)
        self.rest(c, "sell", "0.01", price)
        self.take(d, "buy", "0.01")

    def position(self, acct) -> PositionView | None:
        found = self.core.positions(acct, SYM)
        return found[0] if found else None

    def total(self) -> Decimal:
        """Wallets (free, locked, isolated) of every account less the open cost basis."""
        core = self.core
        accts = [*core.accounts(), core.fee_account, core.insurance_account]
        wallets = sum((a.free("USDT") + a.locked("USDT") for a in accts), D(0))
        ledger = core.ledger
        open_ = ledger.open_positions()
        return wallets + sum((p.isolated_margin - p.cost for p in open_), D(0)) - self.deposited


def test_an_order_locks_initial_margin_and_a_fill_opens_both_positions() -> None:
    w = World(fee="0.0005")
    a, b = w.account(10_000), w.account(10_000)
    w.core.set_leverage(a, SYM, 10)
    order = w.rest(a, "sell", "0.1", "30000")
    assert order.locked_amount == D("300") and a.locked("USDT") == D("300")
    w.take(b, "buy", "0.1")
    short, long_ = w.position(a), w.position(b)
    assert short is not None and long_ is not None
    assert short.qty == D("-0.1") and long_.qty == D("0.1")
    assert short.entry_price == D("30000") and short.leverage == 10 and long_.leverage == 20
    assert a.locked("USDT") == 0 and a.free("USDT") == D("9998.5")  # 1.5 fee on 3000
    summary = w.core.margin_summary(a)
    assert summary.wallet_balance == D("9998.5")
    assert summary.position_initial_margin == D("300")
    assert summary.available_balance == D("9698.5")
    assert summary.maintenance_margin == D("12")  # 3000 * 0.4%
    assert w.core.fee_account.free("USDT") == D("3")
    views = w.bus.of(f"sim.position.{a.account_id}")
    assert isinstance(views[-1], PositionView) and views[-1].qty == D("-0.1")
    assert isinstance(w.bus.of("sim.mark.BTCUSDT")[-1], MarkPriceEvent)


def test_an_order_beyond_the_available_margin_is_refused_without_change() -> None:
    w = World()
    a = w.account(100)
    w.core.set_leverage(a, SYM, 10)
    with pytest.raises(InsufficientBalance):
        w.rest(a, "buy", "0.1", "30000")  # needs 300
    assert a.free("USDT") == 100 and not w.core.open_orders(a)


def test_closing_and_flipping_realize_pnl_in_the_settlement_asset() -> None:
    w = World()
    a, b = w.account(10_000), w.account(10_000)
    start = w.total()
    w.rest(b, "sell", "0.1", "30000")
    w.take(a, "buy", "0.1")
    w.rest(b, "buy", "0.3", "31000")
    sold = w.take(a, "sell", "0.3")  # closes 0.1 (+100), opens 0.2 short at 31000
    assert sold.fills[0].realized_pnl == D("100")
    pos = w.position(a)
    assert pos is not None and pos.qty == D("-0.2") and pos.entry_price == D("31000")
    assert a.free("USDT") + a.locked("USDT") == D("10100")
    assert w.total() == start
    other = w.position(b)
    assert other is not None and other.qty == D("0.2") and other.realized_pnl == D("-100")


def test_reduce_only_is_refused_when_it_cannot_reduce_and_trimmed_when_too_large() -> None:
    w = World()
    a, b = w.account(10_000), w.account(10_000)
    with pytest.raises(OrderRejected) as flat:
        w.rest(a, "sell", "0.1", "30000", reduce_only=True)
    assert flat.value.reason is Reason.REDUCE_ONLY_REJECTED
    w.rest(b, "sell", "0.1", "30000")
    w.take(a, "buy", "0.1")
    with pytest.raises(OrderRejected):
        w.rest(a, "buy", "0.1", "29000", reduce_only=True)  # same side: would increase
    w.rest(b, "buy", "0.5", "30000")
    order = w.take(a, "sell", "0.3", reduce_only=True)
    assert order.executed_qty == D("0.1") and order.status is OrderStatus.EXPIRED
    assert w.position(a) is None
    assert order.locked_amount == 0 and a.locked("USDT") == 0


def test_a_resting_reduce_only_order_expires_when_its_position_is_gone() -> None:
    w = World()
    a, b, c = w.account(10_000), w.account(10_000), w.account(10_000)
    w.rest(b, "sell", "0.1", "30000")
    w.take(a, "buy", "0.1")
    tp = w.rest(a, "sell", "0.1", "31000", reduce_only=True)
    w.rest(c, "buy", "0.1", "29000")
    w.take(a, "sell", "0.1")  # closed by hand
    w.take(b, "buy", "0.1")  # reaches the reduce-only order: nothing left to reduce
    snap = w.core.get_order(a, SYM, order_id=tp.order_id)
    assert snap.status is OrderStatus.EXPIRED and snap.executed_qty == 0
    assert w.position(a) is None


def test_hedge_mode_keeps_a_long_and_a_short() -> None:
    w = World()
    a, b = w.account(10_000), w.account(10_000)
    w.core.set_position_mode(a, SYM, "hedge")
    with pytest.raises(OrderRejected) as both:
        w.rest(a, "buy", "0.1", "30000")
    assert both.value.reason is Reason.POSITION_SIDE_MISMATCH
    with pytest.raises(BadParameter):
        w.rest(a, "sell", "0.1", "30000", position_side="long", reduce_only=True)
    w.rest(b, "sell", "0.2", "30000")
    w.take(a, "buy", "0.2", position_side="long")
    w.rest(b, "buy", "0.1", "30000")
    w.take(a, "sell", "0.1", position_side="short")
    views = {v.position_side: v.qty for v in w.core.positions(a, SYM)}
    assert views == {PositionSide.LONG: D("0.2"), PositionSide.SHORT: D("-0.1")}
    w.rest(b, "buy", "0.5", "30100")
    close = w.take(a, "sell", "0.5", position_side="long")  # closes the long only
    assert close.executed_qty == D("0.2") and close.fills[0].realized_pnl == D("20")
    views = {v.position_side: v.qty for v in w.core.positions(a, SYM)}
    assert views == {PositionSide.SHORT: D("-0.1")}
    with pytest.raises(OrderRejected) as locked:
        w.core.set_position_mode(a, SYM, PositionMode.ONE_WAY)
    assert locked.value.reason is Reason.SETTINGS_LOCKED


def test_leverage_and_margin_mode_rules() -> None:
    w = World()
    a, b = w.account(100_000), w.account(100_000)
    for bad in (0, 126):
        with pytest.raises(BadParameter) as err:
            w.core.set_leverage(a, SYM, bad)
        assert err.value.reason is Reason.LEVERAGE_NOT_VALID
    w.core.set_leverage(a, SYM, 125)
    with pytest.raises(OrderRejected) as big:
        w.rest(a, "buy", "2", "30000")  # 60000 > 50000 allowed at 125x
    assert big.value.reason is Reason.MAX_NOTIONAL_FOR_LEVERAGE
    w.core.set_margin_mode(a, SYM, "isolated")
    w.rest(b, "sell", "1", "30000")
    w.take(a, "buy", "1")
    pos = w.position(a)
    assert (
        pos is not None
        and pos.margin_mode is MarginMode.ISOLATED
        and pos.isolated_margin == D("240")
    )
    with pytest.raises(OrderRejected) as locked:
        w.core.set_margin_mode(a, SYM, MarginMode.CROSS)
    assert locked.value.reason is Reason.SETTINGS_LOCKED
    assert w.core.contract_settings(a, SYM).leverage == 125


def test_post_only_is_refused_when_it_would_take() -> None:
    w = World()
    a, b = w.account(10_000), w.account(10_000)
    w.rest(b, "sell", "0.1", "30000")
    with pytest.raises(WouldTakeAsMaker):
        w.core.place_order(a, SYM, "buy", "limit_maker", quantity="0.1", price="30000")
    ok = w.core.place_order(a, SYM, "buy", "limit_maker", quantity="0.1", price="29990")
    assert ok.status is OrderStatus.NEW


def test_stop_market_triggers_on_the_mark_or_the_last_price() -> None:
    w = World(premium=D("0.01"))  # mark = last * 1.01
    a = w.account(100_000)
    w.print_at("30000")  # last 30000, mark 30300
    assert w.core.mark_price(SYM).mark_price == D("30300")
    with pytest.raises(WouldTriggerImmediately):
        w.core.place_order(
            a, SYM, "buy", "stop_loss", quantity="0.01", stop_price="30200", working_type="mark"
        )
    on_last = w.core.place_order(a, SYM, "buy", "stop_loss", quantity="0.01", stop_price="30600")
    on_mark = w.core.place_order(
        a, SYM, "buy", "stop_loss", quantity="0.01", stop_price="30400", working_type="mark"
    )
    lp = w.account(1_000_000)
    w.rest(lp, "sell", "1", "30500")
    w.print_at("30100")  # mark 30401: the mark stop fires, the last-price one does not
    mark_stop = w.core.get_order(a, SYM, order_id=on_mark.order_id)
    last_stop = w.core.get_order(a, SYM, order_id=on_last.order_id)
    assert mark_stop.status is OrderStatus.FILLED and mark_stop.working_time_ms > 0
    assert last_stop.status is OrderStatus.NEW and not last_stop.is_working


def test_a_close_position_stop_closes_the_whole_position_on_trigger() -> None:
    w = World()
    a, b = w.account(100_000), w.account(100_000)
    w.rest(b, "sell", "0.3", "30000")
    w.take(a, "buy", "0.3")
    stop = w.core.place_order(a, SYM, "sell", "stop_loss", stop_price="29500", close_position=True)
    assert stop.orig_qty == 0 and stop.close_position
    with pytest.raises(BadParameter):
        w.core.place_order(a, SYM, "sell", "limit", quantity="0.1", price="1", close_position=True)
    w.rest(b, "buy", "1", "29400")
    w.print_at("29450")
    done = w.core.get_order(a, SYM, order_id=stop.order_id)
    assert done.status is OrderStatus.FILLED and done.executed_qty == D("0.3")
    assert w.position(a) is None


def test_funding_is_paid_at_the_8_hour_marks_and_sums_to_zero() -> None:
    w = World()
    a, b = w.account(10_000), w.account(10_000)
    w.rest(b, "sell", "0.1", "30000")
    w.take(a, "buy", "0.1")
    before = w.total()
    w.clock.advance(6 * 3600)  # 07:00: nothing yet
    w.core.positions(a, SYM)
    assert not w.bus.of("sim.funding.")
    w.clock.advance(2 * 3600)  # 09:00: the 08:00 funding
    w.core.positions(a, SYM)
    paid = w.bus.of(f"sim.funding.{a.account_id}")
    got = w.bus.of(f"sim.funding.{b.account_id}")
    assert len(paid) == 1 and len(got) == 1
    fa, fb = paid[0], got[0]
    assert isinstance(fa, FundingEvent) and isinstance(fb, FundingEvent)
    assert fa.rate == D("0.0001") and fa.time_ms == T0 + 7 * HOUR
    assert fa.amount == D("-0.3") and fb.amount == D("0.3")
    assert a.free("USDT") + a.locked("USDT") == D("9999.7")
    assert w.total() == before
    assert w.core.funding_rates(SYM)[-1] == (T0 + 7 * HOUR, D("0.0001"), D("30000"))


def test_an_isolated_position_is_liquidated_at_its_bankruptcy_price() -> None:
    w = World()
    a, b = w.account(3100), w.account(1_000_000)
    w.core.set_leverage(a, SYM, 10)
    w.core.set_margin_mode(a, SYM, "isolated")
    w.rest(b, "sell", "1", "30000")
    w.take(a, "buy", "1")
    pos = w.position(a)
    assert pos is not None and pos.isolated_margin == D("3000")
    assert pos.liquidation_price == D("27108.43373494")
    start = w.total()
    w.print_at("27200")  # above the liquidation price: nothing
    assert w.position(a) is not None and not w.bus.of("sim.liquidation.")
    w.print_at("27100")
    assert w.position(a) is None
    (event,) = w.bus.of(f"sim.liquidation.{a.account_id}")
    assert isinstance(event, LiquidationEvent)
    assert event.reason is LiquidationReason.MAINTENANCE_MARGIN
    assert event.price == D("27000") and event.qty == D("1") and event.insurance_paid == 0
    assert a.free("USDT") == D("100")  # lost exactly the isolated margin
    fund = w.core.insurance_account.account_id
    assert [p.qty for p in w.core.ledger.positions_of(fund)] == [D("1")]
    assert w.total() == start


def test_a_cross_account_is_liquidated_at_the_mark_and_the_fund_covers_a_gap() -> None:
    w = World()
    a, b, c = w.account(3100), w.account(1_000_000), w.account(1_000_000)
    w.core.set_leverage(a, SYM, 10)
    w.rest(b, "sell", "1", "30000")
    w.take(a, "buy", "1")
    pending = w.rest(a, "buy", "0.01", "20000")  # cancelled by the liquidation
    pos = w.position(a)
    assert pos is not None and pos.liquidation_price == D("27008.03212851")
    start = w.total()
    w.rest(c, "buy", "2", "25000")  # the fund will sell its takeover into this bid
    w.print_at("26000")  # gaps through the bankruptcy price (27000)
    assert w.position(a) is None
    (event,) = w.bus.of(f"sim.liquidation.{a.account_id}")
    assert isinstance(event, LiquidationEvent) and event.price == D("26000")
    assert event.insurance_paid == D("900")  # lost 4000 with 3100
    assert a.free("USDT") == 0 and a.locked("USDT") == 0
    assert w.core.get_order(a, SYM, order_id=pending.order_id).status is OrderStatus.CANCELED
    fund = w.core.insurance_account.account_id
    assert not w.core.ledger.positions_of(fund)  # unwound into c's bid
    assert w.total() == start


def test_spot_symbols_refuse_contract_flags_and_contract_calls() -> None:
    clock = SimClock(start_ms=T0, stepped=True)
    core = ExchangeCore(clock, rules={"BTCUSDT": DEFAULT_RULES["BTCUSDT"]})
    a = core.create_account({"USDT": 100_000})
    with pytest.raises(BadParameter) as err:
        core.place_order(
            a,
            "BTCUSDT",
            Side.BUY,
            "limit",
            quantity="0.1",
            price="30000",
            time_in_force="gtc",
            reduce_only=True,
        )
    assert err.value.reason is Reason.FIELD_NOT_TAKEN and err.value.field == "reduce_only"
    with pytest.raises(OrderRejected) as not_contract:
        core.set_leverage(a, "BTCUSDT", 5)
    assert not_contract.value.reason is Reason.NOT_A_CONTRACT


def test_isolated_margin_can_be_added_and_removed_down_to_the_initial_margin() -> None:
    w = World()
    a, b = w.account(10_000), w.account(1_000_000)
    w.core.set_leverage(a, SYM, 10)
    w.core.set_margin_mode(a, SYM, "isolated")
    w.rest(b, "sell", "1", "30000")
    w.take(a, "buy", "1")
    view = w.core.adjust_isolated_margin(a, SYM, "500")
    assert view.isolated_margin == D("3500") and a.free("USDT") == D("6500")
    assert view.liquidation_price < D("27108.43373494")
    view = w.core.adjust_isolated_margin(a, SYM, "-500")
    assert view.isolated_margin == D("3000") and a.free("USDT") == D("7000")
    with pytest.raises(InsufficientBalance):
        w.core.adjust_isolated_margin(a, SYM, "-1")  # below the initial margin
    with pytest.raises(OrderRejected) as cross:
        w.core.adjust_isolated_margin(b, SYM, "10")  # b is cross
    assert cross.value.reason is Reason.NO_POSITION
