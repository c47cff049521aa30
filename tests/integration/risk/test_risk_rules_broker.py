"""Every pre-trade rule at its boundary through a real broker, in paper mode and at the simulator.

For each rule of ``LiveRiskConfig`` (and the trading state and the circuit breaker) a scripted
strategy places one order just over the limit and one just under it. The one over is Rejected
with ``order.info`` naming the rule and the limit, an ``order.rejected`` bus update with the
reason, a ``risk.rejected`` journal row and a WARNING on ``real_trade.risk``; the one under goes
through (Accepted or Completed). Limits are set relative to the reference price ``P`` (40,000 on
paper, the simulator's last price there) and the account's 10,000 USDT. ``max_margin_ratio``
does not apply to spot (a spot account has no margin ratio), so there it never refuses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import backtrader as bt
import pytest

from real_trade.risk import LiveRiskConfig, RiskEngine
from real_trade.sim import SimExchange
from tests.integration.risk.broker_support import Run, Step, Stepper, run_paper, run_sim

pytestmark = pytest.mark.integration
EQUITY = 10_000.0
PASSED = ("Accepted", "Completed")


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator: its last price stays put, so the limits sit where they are set."""
    with SimExchange(stepped=True, seed=17) as exchange:
        exchange.advance(60)
        yield exchange


@dataclass
class Case:
    """One rule: its risk setting and steps for a price ``P``, and what must come of them."""

    rule: str
    risk: Callable[[float], Any]
    steps: Callable[[float], list[Step]]
    rejected: dict[int, float | None]  # order number -> the limit named in the reason
    passed: list[int]
    words: list[str] = field(default_factory=list)  # more text the reason must carry


def buys(*sizes: float) -> Step:
    """A step placing market buys of ``sizes``, in order."""

    def step(s: Stepper) -> None:
        for size in sizes:
            s.place("buy", size)

    return step


def limit_buys(*prices: float) -> Step:
    """A step placing limit buys of 0.001 at ``prices``, in order."""

    def step(s: Stepper) -> None:
        for price in prices:
            s.place("buy", 0.001, exectype=bt.Order.Limit, price=price)

    return step


def reduce_then_sell(s: Stepper) -> bool:
    """REDUCING once the position is known; a sell just over the position, then all of it.

    "Just over": by more than the fee paid in BTC plus one lot step (0.00001 each); a sell over
    the holding by no more than that is trimmed to the holding and would pass (it reduces)."""
    position = s.position_size
    if abs(position - 0.00999) > 1e-9:  # 0.01 bought, the fee paid in BTC
        return False
    s.broker.trading_state.reduce("risk test")
    s.place("sell", 0.01002)
    s.place("sell", 0.00999)
    return True


def halt_then_buy(s: Stepper) -> None:
    """HALT, then try to buy."""
    s.broker.trading_state.halt("risk test")
    s.place("buy", 0.001)


def resume_then_buy(s: Stepper) -> None:
    """Resume, then buy."""
    s.broker.trading_state.resume("risk test over")
    s.place("buy", 0.001)


def trip_then_buy(s: Stepper) -> None:
    """Trip the broker's breaker, then try to buy."""
    s.broker.guard.engine.breaker.trip("venue trouble")
    s.place("buy", 0.001)


def reset_then_buy(s: Stepper) -> None:
    """Reset the broker's breaker, then buy."""
    s.broker.guard.engine.breaker.reset()
    s.place("buy", 0.001)


def frozen_clock() -> float:
    """A monotonic clock that never moves: every order falls in the same one-second window."""
    return 1_000.0


CASES = {
    "max_order_amount": Case(
        "max_order_amount",
        lambda p: LiveRiskConfig(max_order_amount=0.01),
        lambda p: [buys(0.01001, 0.00999)],
        {1: 0.01},
        [2],
    ),
    "max_order_notional": Case(
        "max_order_notional",
        lambda p: LiveRiskConfig(max_order_notional=0.01 * p),
        lambda p: [buys(0.01001, 0.00999)],
        {1: None},
        [2],
        ["order notional"],
    ),
    "max_position_amount": Case(
        "max_position_amount",
        lambda p: LiveRiskConfig(max_position_amount=0.02),
        lambda p: [buys(0.02001, 0.01999)],
        {1: 0.02},
        [2],
    ),
    "max_position_notional": Case(
        "max_position_notional",
        lambda p: LiveRiskConfig(max_position_notional=0.02 * p),
        lambda p: [buys(0.02001, 0.01999)],
        {1: None},
        [2],
    ),
    "max_leverage": Case(
        "max_leverage",
        lambda p: LiveRiskConfig(max_leverage=0.02 * p / EQUITY),
        lambda p: [buys(0.02001, 0.01999)],
        {1: None},
        [2],
        ["leverage after the order"],
    ),
    "max_price_deviation": Case(
        "max_price_deviation",
        lambda p: LiveRiskConfig(max_price_deviation=0.05),
        lambda p: [limit_buys(round(p * 0.9499, 2), round(p * 0.9501, 2))],
        {1: 0.05},
        [2],
    ),
    "max_orders_per_second": Case(
        "max_orders_per_second",
        lambda p: RiskEngine(LiveRiskConfig(max_orders_per_second=2), clock=frozen_clock),
        lambda p: [buys(0.001, 0.001, 0.001)],
        {3: 2},
        [1, 2],
    ),
    "min_free_quote": Case(
        "min_free_quote",
        lambda p: LiveRiskConfig(min_free_quote=EQUITY - 0.02 * p),
        lambda p: [buys(0.02001, 0.01999)],
        {1: None},
        [2],
        ["free quote"],
    ),
    "max_margin_ratio (spot: not applicable)": Case(
        "max_margin_ratio",
        lambda p: LiveRiskConfig(max_margin_ratio=0.01),
        lambda p: [buys(0.001)],
        {},
        [1],
    ),
    "trading_state REDUCING": Case(
        "trading_state",
        lambda p: LiveRiskConfig(),
        lambda p: [buys(0.01), reduce_then_sell],
        {2: None},
        [1, 3],
        ["REDUCING (risk test)"],
    ),
    "trading_state HALTED": Case(
        "trading_state",
        lambda p: LiveRiskConfig(),
        lambda p: [halt_then_buy, resume_then_buy],
        {1: None},
        [2],
        ["HALTED (risk test)"],
    ),
    "circuit_breaker open": Case(
        "circuit_breaker",
        lambda p: LiveRiskConfig(breaker_max_failures=3),
        lambda p: [trip_then_buy, reset_then_buy],
        {1: None},
        [2],
        ["open (venue trouble)"],
    ),
}


def check_case(case: Case, run: Run, price: float, records: list[logging.LogRecord]) -> None:
    """The orders over the limit are Rejected everywhere it shows; the others went through."""
    limits = case.risk(price)
    config = limits.config if isinstance(limits, RiskEngine) else limits
    for nth in case.passed:
        assert run.status(nth) in PASSED, (nth, run.info(nth).get("reason"))
    rejected_updates = [e for t, e in run.events if t == "order.rejected"]
    journal_rows = run.journal.events("risk.rejected")
    for nth, limit in case.rejected.items():
        limit = getattr(config, case.rule, None) if limit is None else limit
        info = run.info(nth)
        reason = str(info.get("reason"))
        assert run.status(nth) == "Rejected", (nth, run.status(nth))
        assert info.get("risk_rule") == case.rule
        assert reason.startswith(case.rule + ":"), reason
        for word in case.words:
            assert word in reason, reason
        if limit is not None:
            assert f"{limit:.10g}" in reason, reason
            assert info.get("risk_limit") == pytest.approx(limit)
        assert any(u.reason == reason for u in rejected_updates), "an order.rejected update"
        assert any(r.payload["reason"] == reason for r in journal_rows), "a journal row"
        assert any(
            r.name == "real_trade.risk" and r.levelno == logging.WARNING and reason in r.message
            for r in records
        ), "a WARNING log line"
    assert len(journal_rows) == len(case.rejected)


@pytest.mark.parametrize("name", list(CASES))
def test_rule_at_its_boundary_on_paper(
    name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    case, price = CASES[name], 40_000.0
    caplog.set_level(logging.WARNING, logger="real_trade.risk")
    run = run_paper(case.risk(price), case.steps(price), tmp_path, price=price)
    assert run.strategy.done
    check_case(case, run, price, caplog.records)


@pytest.mark.parametrize("name", list(CASES))
def test_rule_at_its_boundary_at_the_simulator(
    name: str, sim: SimExchange, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    case = CASES[name]
    last = sim.core.last_price("BTCUSDT")
    assert last is not None
    price = float(last)
    caplog.set_level(logging.WARNING, logger="real_trade.risk")
    run = run_sim(sim, case.risk(price), case.steps(price), tmp_path)
    assert run.strategy.done
    check_case(case, run, price, caplog.records)
