"""Property tests: no accepted order breaks a configured limit; the throttle holds its rate."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from real_trade.risk import (
    AccountContext,
    LiveRiskConfig,
    OrderThrottle,
    PreTradeOrder,
    RiskEngine,
)

LIMITS = LiveRiskConfig(
    max_order_amount=2.0,
    max_order_notional=150.0,
    max_position_amount=5.0,
    max_position_notional=400.0,
    max_leverage=3.0,
    max_price_deviation=0.1,
    min_free_quote=50.0,
    symbols={"ETH/USDT": {"max_order_amount": 0.5, "max_position_amount": 1.0}},
)
EQUITY = 200.0


class StepClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


orders = st.lists(
    st.tuples(
        st.sampled_from(["BTC/USDT", "ETH/USDT"]),
        st.sampled_from(["buy", "sell"]),
        st.floats(0.01, 4.0),
        st.one_of(st.none(), st.floats(50.0, 150.0)),  # limit price, or market
        st.floats(60.0, 140.0),  # last price
        st.floats(0.0, 600.0),  # free quote
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(orders)
def test_no_accepted_order_breaks_a_limit(
    stream: list[tuple[str, str, float, float | None, float, float]],
) -> None:
    risk = RiskEngine(LIMITS)
    positions = {"BTC/USDT": 0.0, "ETH/USDT": 0.0}
    for symbol, side, amount, price, last, free in stream:
        order = PreTradeOrder(symbol, side, amount, price)  # type: ignore[arg-type]
        position = positions[symbol]
        ctx = AccountContext(position=position, last_price=last, free_quote=free, equity=EQUITY)
        decision = risk.check(order, ctx)
        if not decision.allowed:
            assert decision.rule and decision.rule in decision.reason
            continue
        limits = LIMITS.limits_for(symbol)
        value_price = price if price is not None else last
        assert limits.max_order_amount is not None and amount <= limits.max_order_amount
        assert amount * value_price <= 150.0
        if price is not None:
            assert abs(price - last) / last <= 0.1
        after = order.position_after(position)
        if abs(after) > abs(position):  # exposure grew: the position limits must hold
            assert limits.max_position_amount is not None
            assert abs(after) <= limits.max_position_amount
            assert abs(after) * value_price <= 400.0
            assert abs(after) * value_price / EQUITY <= 3.0
            assert free - amount * value_price >= 50.0
        positions[symbol] = after


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 5),
    st.lists(st.floats(0.0, 0.7, allow_nan=False), min_size=1, max_size=60),
)
def test_throttle_never_admits_more_than_n_in_any_one_second_window(
    limit: int, gaps: list[float]
) -> None:
    clock = StepClock()
    throttle = OrderThrottle(limit, clock=clock)
    admitted: list[float] = []
    for gap in gaps:
        clock.now += gap
        if throttle.try_acquire():
            admitted.append(clock.now)
    for i, start in enumerate(admitted):
        in_window = [t for t in admitted[i:] if t - start < 1.0]
        assert len(in_window) <= limit
    assert admitted, "the first order is always admitted"


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 5), st.lists(st.floats(0.0, 0.5), min_size=1, max_size=40))
def test_engine_throttle_holds_the_configured_rate(limit: int, gaps: list[float]) -> None:
    clock = StepClock()
    risk = RiskEngine(LiveRiskConfig(max_orders_per_second=limit), clock=clock)
    ctx = AccountContext(last_price=100.0)
    admitted: list[float] = []
    for gap in gaps:
        clock.now += gap
        if risk.check(PreTradeOrder("BTC/USDT", "buy", 1.0), ctx).allowed:
            admitted.append(clock.now)
    for i, start in enumerate(admitted):
        assert len([t for t in admitted[i:] if t - start < 1.0]) <= limit


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.05, 0.5), min_size=1, max_size=20))
def test_position_amount_limit_binds_on_a_stream_of_buys(amounts: list[float]) -> None:
    """Only the per-symbol position-amount limit (ETH 1.0) can bind here: everything else is
    generous, so every refusal names it and the position never exceeds it."""
    risk = RiskEngine(LIMITS)
    position = 0.0
    for amount in amounts:
        ctx = AccountContext(
            position=position, last_price=100.0, free_quote=10_000.0, equity=10_000.0
        )
        decision = risk.check(PreTradeOrder("ETH/USDT", "buy", amount, None), ctx)
        if decision.allowed:
            position += amount
        else:
            assert decision.rule == "max_position_amount", decision.reason
            assert position + amount > 1.0
        assert position <= 1.0 + 1e-9
