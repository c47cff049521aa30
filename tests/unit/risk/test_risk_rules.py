"""Each pre-trade rule at its boundary, per-symbol overrides, trading states, bus and config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from real_trade.bus import EventBus
from real_trade.config import RealTradeConfig
from real_trade.errors import ConfigError, RiskRejectedError
from real_trade.risk import (
    RISK_DECISION_TOPIC,
    AccountContext,
    CircuitBreaker,
    LiveRiskConfig,
    PreTradeOrder,
    RiskDecision,
    RiskEngine,
    TradingState,
    TradingStateHolder,
)

EPS = 1e-6
CTX = AccountContext(position=0.0, last_price=100.0, free_quote=1e9, equity=1e9)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def engine(**limits: Any) -> RiskEngine:
    return RiskEngine(LiveRiskConfig(**limits), clock=FakeClock())


def buy(amount: float, price: float | None = 100.0, symbol: str = "BTC/USDT") -> PreTradeOrder:
    return PreTradeOrder(symbol, "buy", amount, price)


def assert_denied(decision: RiskDecision, rule: str, limit: float | None) -> None:
    assert not decision.allowed
    assert decision.rule == rule
    assert rule in decision.reason
    if limit is not None:
        assert decision.limit == pytest.approx(limit)
        assert f"{limit:.10g}" in decision.reason


# (config, context, passing order, failing order, rule, limit)
CASES: list[tuple[dict[str, Any], AccountContext, PreTradeOrder, PreTradeOrder, str, float]] = [
    ({"max_order_amount": 2.0}, CTX, buy(2.0), buy(2.0 + EPS), "max_order_amount", 2.0),
    ({"max_order_notional": 500.0}, CTX, buy(5.0), buy(5.0 + EPS), "max_order_notional", 500.0),
    (  # market order valued at the last price
        {"max_order_notional": 500.0},
        CTX,
        buy(5.0, None),
        buy(5.0 + EPS, None),
        "max_order_notional",
        500.0,
    ),
    (
        {"max_price_deviation": 0.05},
        CTX,
        buy(1.0, 105.0 - EPS),
        buy(1.0, 105.0 + EPS),
        "max_price_deviation",
        0.05,
    ),
    (
        {"max_position_amount": 3.0},
        AccountContext(position=1.0, last_price=100.0),
        buy(2.0),
        buy(2.0 + EPS),
        "max_position_amount",
        3.0,
    ),
    (
        {"max_position_notional": 1000.0},
        AccountContext(position=4.0, last_price=100.0),
        buy(6.0),
        buy(6.0 + EPS),
        "max_position_notional",
        1000.0,
    ),
    (
        {"max_leverage": 2.0},
        AccountContext(position=0.0, last_price=100.0, equity=1000.0),
        buy(20.0),
        buy(20.0 + EPS),
        "max_leverage",
        2.0,
    ),
    (
        {"min_free_quote": 100.0},
        AccountContext(last_price=100.0, free_quote=600.0),
        buy(5.0),
        buy(5.0 + EPS),
        "min_free_quote",
        100.0,
    ),
]


@pytest.mark.parametrize(("limits", "ctx", "ok", "bad", "rule", "limit"), CASES)
def test_rule_boundary(
    limits: dict[str, Any],
    ctx: AccountContext,
    ok: PreTradeOrder,
    bad: PreTradeOrder,
    rule: str,
    limit: float,
) -> None:
    risk = engine(**limits)
    assert risk.check(ok, ctx).allowed
    assert_denied(risk.check(bad, ctx), rule, limit)


def test_price_deviation_below_the_last_price_is_refused_too() -> None:
    risk = engine(max_price_deviation=0.05)
    assert risk.check(buy(1.0, 95.0 + EPS), CTX).allowed
    assert_denied(risk.check(buy(1.0, 95.0 - 1e-4), CTX), "max_price_deviation", 0.05)


def test_account_leverage_setting_above_the_limit_is_refused() -> None:
    risk = engine(max_leverage=5.0)
    ctx = AccountContext(last_price=100.0, equity=1e6, leverage=5.0)
    assert risk.check(buy(1.0), ctx).allowed
    denied = risk.check(buy(1.0), AccountContext(last_price=100.0, equity=1e6, leverage=10.0))
    assert_denied(denied, "max_leverage", 5.0)


def test_margin_ratio_at_the_threshold_refuses_new_exposure_but_not_a_close() -> None:
    risk = engine(max_margin_ratio=0.8)
    assert risk.check(buy(1.0), AccountContext(position=1.0, margin_ratio=0.8 - EPS)).allowed
    high = AccountContext(position=1.0, last_price=100.0, margin_ratio=0.8)
    assert_denied(risk.check(buy(1.0), high), "max_margin_ratio", 0.8)
    assert risk.check(PreTradeOrder("BTC/USDT", "sell", 1.0, None), high).allowed


def test_market_order_without_a_price_is_refused_when_notional_limits_are_set() -> None:
    decision = engine(max_order_notional=100.0).check(buy(1.0, None), AccountContext())
    assert not decision.allowed and decision.rule == "price_unknown"
    assert engine(max_order_amount=5.0).check(buy(1.0, None), AccountContext()).allowed


def test_throttle_refuses_the_order_over_the_rate_then_recovers() -> None:
    clock = FakeClock()
    risk = RiskEngine(LiveRiskConfig(max_orders_per_second=2), clock=clock)
    assert risk.check(buy(1.0), CTX).allowed
    assert risk.check(buy(1.0), CTX).allowed
    assert_denied(risk.check(buy(1.0), CTX), "max_orders_per_second", 2)
    clock.now = 0.999
    assert not risk.check(buy(1.0), CTX).allowed
    clock.now = 1.0
    assert risk.check(buy(1.0), CTX).allowed


def test_a_refused_order_does_not_use_a_throttle_slot() -> None:
    risk = RiskEngine(
        LiveRiskConfig(max_orders_per_second=1, max_order_amount=1.0), clock=FakeClock()
    )
    assert not risk.check(buy(2.0), CTX).allowed
    assert risk.check(buy(1.0), CTX).allowed


def test_per_symbol_override_replaces_only_the_fields_it_sets() -> None:
    config = LiveRiskConfig(
        max_order_amount=10.0,
        max_order_notional=1e6,
        symbols={"ETH/USDT": {"max_order_amount": 1.0}},
    )
    risk = RiskEngine(config)
    assert risk.check(buy(5.0), CTX).allowed
    assert_denied(risk.check(buy(1.5, symbol="ETH/USDT"), CTX), "max_order_amount", 1.0)
    assert config.limits_for("ETH/USDT").max_order_notional == 1e6


def test_reducing_lets_only_exposure_reducing_orders_pass() -> None:
    state = TradingStateHolder()
    risk = RiskEngine(LiveRiskConfig(), state=state)
    state.reduce("drawdown")
    long = AccountContext(position=2.0, last_price=100.0)
    assert risk.check(PreTradeOrder("BTC/USDT", "sell", 2.0, None), long).allowed
    flip = risk.check(PreTradeOrder("BTC/USDT", "sell", 2.5, None), long)
    assert not flip.allowed and flip.rule == "trading_state" and "REDUCING" in flip.reason
    assert "drawdown" in flip.reason
    assert not risk.check(buy(1.0), long).allowed
    short = AccountContext(position=-1.0, last_price=100.0)
    assert risk.check(buy(1.0), short).allowed


def test_halted_refuses_everything_and_resume_restores() -> None:
    state = TradingStateHolder(TradingState.HALTED, "kill switch")
    risk = RiskEngine(LiveRiskConfig(), state=state)
    long = AccountContext(position=2.0, last_price=100.0)
    decision = risk.check(PreTradeOrder("BTC/USDT", "sell", 1.0, None), long)
    assert not decision.allowed and "HALTED" in decision.reason and "kill switch" in decision.reason
    state.set("active")
    assert risk.check(buy(1.0), long).allowed


def test_open_breaker_refuses_with_a_reason() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(max_failures=1, reset_timeout=30, clock=clock)
    risk = RiskEngine(LiveRiskConfig(), breaker=breaker, clock=clock)
    breaker.trip("exchange errors")
    decision = risk.check(buy(1.0), CTX)
    assert not decision.allowed and decision.rule == "circuit_breaker"
    assert "exchange errors" in decision.reason
    clock.now = 30
    assert risk.check(buy(1.0), CTX).allowed  # the half-open probe
    assert not risk.check(buy(1.0), CTX).allowed  # probe in flight


def test_enforce_raises_risk_rejected_error_with_the_numbers() -> None:
    risk = engine(max_order_amount=1.0)
    assert risk.enforce(buy(1.0), CTX).allowed
    with pytest.raises(RiskRejectedError) as info:
        risk.enforce(buy(3.0), CTX)
    assert (info.value.rule, info.value.limit, info.value.value) == ("max_order_amount", 1.0, 3.0)


def test_every_decision_is_published_on_the_bus() -> None:
    bus = EventBus(synchronous=True)
    seen: list[tuple[str, Any]] = []
    bus.subscribe("risk.*", lambda topic, event: seen.append((topic, event)))
    risk = RiskEngine(LiveRiskConfig(max_order_amount=1.0), bus=bus)
    first, second = risk.check(buy(1.0), CTX), risk.check(buy(2.0), CTX)
    assert seen == [(RISK_DECISION_TOPIC, first), (RISK_DECISION_TOPIC, second)]


def test_update_config_changes_the_limits() -> None:
    risk = engine(max_order_amount=1.0)
    risk.update_config(LiveRiskConfig(max_order_amount=5.0))
    assert risk.check(buy(4.0), CTX).allowed


# --------------------------------------------------------------------------- config
def test_config_is_a_frozen_section_of_the_one_config_system() -> None:
    config = RealTradeConfig.load(env={"RT_RISK__MAX_ORDER_NOTIONAL": "250"})
    assert config.risk.max_order_notional == 250.0
    with pytest.raises(ConfigError, match=r"risk\.max_leverage"):
        RealTradeConfig(risk={"max_leverage": -1})
    with pytest.raises(ConfigError, match="frozen"):
        config.risk.max_order_amount = 3.0  # type: ignore[misc]
    with pytest.raises(ConfigError):
        LiveRiskConfig(max_orders_per_sec=3)  # type: ignore[call-arg]


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_save_and_load_round_trip(tmp_path: Path, suffix: str) -> None:
    config = LiveRiskConfig(
        max_order_notional=1000.0,
        max_orders_per_second=5,
        max_price_deviation=0.05,
        symbols={"BTC/USDT:USDT": {"max_leverage": 3.0}},
    )
    path = config.save(tmp_path / f"risk{suffix}")
    assert LiveRiskConfig.load(path) == config
    assert LiveRiskConfig.load(path, max_orders_per_second=9).max_orders_per_second == 9


def test_load_names_an_unknown_key_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "risk.toml"
    path.write_text("max_notional = 5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="max_notional"):
        LiveRiskConfig.load(path)


def test_limits_are_built_once_per_symbol_not_per_order(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    limits_for = LiveRiskConfig.limits_for

    def counting(self: LiveRiskConfig, symbol: str) -> Any:
        built.append(symbol)
        return limits_for(self, symbol)

    monkeypatch.setattr(LiveRiskConfig, "limits_for", counting)
    risk = engine(max_order_amount=2.0)
    for _ in range(5):
        assert risk.check(PreTradeOrder("BTC/USDT", "buy", 1.0), CTX).allowed
    assert not risk.check(PreTradeOrder("ETH/USDT", "buy", 3.0), CTX).allowed
    assert built == ["BTC/USDT", "ETH/USDT"]
    risk.update_config(LiveRiskConfig(max_order_amount=0.5))  # a new config: built afresh
    assert not risk.check(PreTradeOrder("BTC/USDT", "buy", 1.0), CTX).allowed
    assert built == ["BTC/USDT", "ETH/USDT", "BTC/USDT"]


# contexts a blind allowance must hold in: flat, long, short, no price, no equity, margin high
ANY_CTX = [
    CTX,
    AccountContext(),
    AccountContext(position=-5.0, last_price=None, free_quote=0.0, equity=0.0),
    AccountContext(position=3.0, last_price=1e-9, equity=-1.0, margin_ratio=0.99, leverage=50.0),
]


@pytest.mark.parametrize(("limits", "ctx", "ok", "bad", "rule", "limit"), CASES)
def test_allows_unseen_never_where_a_limit_could_refuse(
    limits: dict[str, Any],
    ctx: AccountContext,
    ok: PreTradeOrder,
    bad: PreTradeOrder,
    rule: str,
    limit: float,
) -> None:
    risk = engine(**limits)
    for order in (ok, bad):
        assert not risk.allows_unseen(order.symbol, order.amount, order.price)
    assert_denied(risk.check(bad, ctx), rule, limit)


def test_allows_unseen_without_limits_is_what_check_decides_in_any_context() -> None:
    risk = engine()
    orders = [buy(1.0), buy(2.5, None), PreTradeOrder("ETH/USDT", "sell", 1e6, 3.0)]
    for order in orders:
        assert risk.allows_unseen(order.symbol, order.amount, order.price)
        for ctx in ANY_CTX:
            decision = risk.check(order, ctx)
            assert decision.allowed, decision.reason


@pytest.mark.parametrize(
    ("amount", "price"),
    [(0.0, None), (-1.0, 100.0), (float("nan"), None), (float("inf"), None), (1.0, 0.0),
     (1.0, -5.0), (1.0, float("nan")), (1.0, float("inf"))],
)  # fmt: skip
def test_allows_unseen_leaves_invalid_numbers_to_check(amount: float, price: float | None) -> None:
    risk = engine()
    assert not risk.allows_unseen("BTC/USDT", amount, price)
    order = PreTradeOrder("BTC/USDT", "buy", amount, price)
    assert_denied(risk.check(order, CTX), "invalid_order", None)


def test_allows_unseen_asks_check_when_anything_else_could_refuse() -> None:
    halted = TradingStateHolder()
    halted.halt("test")
    reducing = TradingStateHolder()
    reducing.reduce("test")
    others = {
        "halted": RiskEngine(LiveRiskConfig(), state=halted),
        "reducing": RiskEngine(LiveRiskConfig(), state=reducing),
        "breaker": RiskEngine(LiveRiskConfig(), breaker=CircuitBreaker(2, 30.0)),
        "throttle": engine(max_orders_per_second=5),
        "bus": RiskEngine(LiveRiskConfig(), bus=EventBus(synchronous=True)),
        "free quote": engine(min_free_quote=10.0),
        "margin ratio": engine(max_margin_ratio=0.5),
        "liquidation": engine(min_liquidation_distance=0.1),
        "override": engine(symbols={"BTC/USDT": {"max_order_amount": 1.0}}),
        "subclass": type("Stricter", (RiskEngine,), {})(LiveRiskConfig()),
    }
    for name, risk in others.items():
        assert not risk.allows_unseen("BTC/USDT", 1.0, 100.0), name
    # an override on another symbol leaves this one unlimited; a state change is seen at once
    assert others["override"].allows_unseen("ETH/USDT", 1.0, 100.0)
    halted.resume()
    assert others["halted"].allows_unseen("BTC/USDT", 1.0, 100.0)
