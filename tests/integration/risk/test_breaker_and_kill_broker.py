"""The circuit breaker and ``BaseBroker.kill`` end to end, through a real broker.

Breaker: the simulator rejects orders (fault injection), the broker's breaker hears the refusals
and opens, the next order is refused with the breaker's reason, after ``reset_timeout`` (on an
injected clock) a probe goes out: a failed probe opens it again, a good one closes it.
Kill switch: a strategy holds a position and two resting orders; ``broker.kill(flatten=True)``
cancels both, sells the position, HALTs (a later order is refused) and journals the halt; a
second kill has nothing to do. Against the simulator and on paper.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import backtrader as bt
import pytest

from real_trade.risk import (
    BreakerState,
    CircuitBreaker,
    LiveRiskConfig,
    RiskEngine,
    TradingState,
)
from real_trade.sim import SimClock, SimExchange
from tests.integration.risk.broker_support import Run, Step, Stepper, run_paper, run_sim

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator (the price stays put) shared by this module."""
    with SimExchange(stepped=True, seed=23) as exchange:
        exchange.advance(60)
        yield exchange


@pytest.fixture(autouse=True)
def _reset_faults(sim: SimExchange) -> Iterator[None]:
    yield
    sim.faults.reset()


def breaker_run(
    sim: SimExchange, tmp_path: Path, probe: str
) -> tuple[Run, list[BreakerState], CircuitBreaker]:
    """Refusals open the breaker, a failed probe reopens it, a ``probe`` order ("limit" resting
    below the market, or "market") after the timeout, then one more market order."""
    last = sim.core.last_price("BTCUSDT")
    assert last is not None
    clock = SimClock(start_ms=5_000_000, stepped=True)  # moves only when the test says so
    breaker = CircuitBreaker(max_failures=2, reset_timeout=30.0, clock=clock.now)
    engine = RiskEngine(LiveRiskConfig(), breaker=breaker, clock=clock.now)
    seen: list[BreakerState] = []

    def buy(arm_rejections: int = 0, advance: float = 0.0, limit: bool = False) -> Step:
        def step(s: Stepper) -> None:
            seen.append(breaker.get_state())
            clock.advance(advance)
            if advance:
                seen.append(breaker.get_state())
            if arm_rejections:
                sim.faults.reject_next_orders(arm_rejections, msg="Simulated outage.")
            price = round(float(last) * 0.99, 2)
            kind = {"exectype": bt.Order.Limit, "price": price} if limit else {}
            s.place("buy", 0.001, **kind)

        return step

    steps = [
        buy(arm_rejections=2),  # 1: refused by the venue
        buy(),  # 2: refused by the venue: two in a row open the breaker
        buy(),  # 3: refused by the breaker
        buy(arm_rejections=1, advance=30.0),  # 4: half-open probe, refused by the venue
        buy(),  # 5: refused by the breaker (open again)
        buy(advance=30.0, limit=probe == "limit"),  # 6: half-open probe, acknowledged
        buy(),  # 7: goes through
    ]
    run = run_sim(sim, engine, steps, tmp_path)
    seen.append(breaker.get_state())
    return run, seen, breaker


def test_venue_refusals_open_the_breaker_and_a_probe_after_the_timeout_closes_it(
    sim: SimExchange, tmp_path: Path
) -> None:
    run, seen, _ = breaker_run(sim, tmp_path, probe="limit")

    assert [run.status(n) for n in range(1, 8)] == [
        "Rejected",
        "Rejected",
        "Rejected",
        "Rejected",
        "Rejected",
        "Accepted",
        "Completed",
    ]
    for venue_refused in (1, 2, 4):
        assert run.info(venue_refused).get("risk_rule") is None
        assert "Simulated outage." in str(run.info(venue_refused).get("reason"))
    for by_breaker in (3, 5):
        reason = str(run.info(by_breaker).get("reason"))
        assert run.info(by_breaker).get("risk_rule") == "circuit_breaker"
        assert reason.startswith("circuit_breaker: open ("), reason
    assert "2 consecutive failures" in str(run.info(3)["reason"])
    assert "a half-open probe failed" in str(run.info(5)["reason"])
    assert seen[:-1] == [
        BreakerState.CLOSED,  # before 1
        BreakerState.CLOSED,  # before 2
        BreakerState.OPEN,  # before 3
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,  # before 4, then the timeout passed
        BreakerState.OPEN,  # before 5
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,  # before 6, then the timeout passed
        BreakerState.CLOSED,  # before 7
    ]
    rules = [row.payload["rule"] for row in run.journal.events("risk.rejected")]
    assert rules == ["circuit_breaker", "circuit_breaker"]


def test_a_market_order_probe_that_fills_closes_the_breaker(
    sim: SimExchange, tmp_path: Path
) -> None:
    run, seen, breaker = breaker_run(sim, tmp_path, probe="market")
    assert run.status(6) == "Completed"
    assert seen[-2] is BreakerState.CLOSED, breaker.last_reason
    assert run.status(7) == "Completed", run.info(7).get("reason")


def kill_steps(price: float) -> list[Step]:
    """Buy 0.02, rest a buy and a sell, kill with flatten, then try to trade, then kill again."""

    def resting(s: Stepper) -> bool:
        if abs(s.position_size - 0.01998) > 1e-9:  # the fee was paid in BTC
            return False
        s.place("buy", 0.01, exectype=bt.Order.Limit, price=round(price * 0.8, 2))
        s.place("sell", 0.005, exectype=bt.Order.Limit, price=round(price * 1.2, 2))
        return True

    def kill(key: str) -> Step:
        def step(s: Stepper) -> None:
            s.memo[key] = s.broker.kill(flatten=True, reason="risk test kill")

        return step

    def after(key: str, then: Step | None = None) -> Step:
        def step(s: Stepper) -> bool:
            future: concurrent.futures.Future[Any] = s.memo[key]
            if not future.done():
                return False
            if then is not None:
                then(s)
            return True

        return step

    return [
        lambda s: s.place("buy", 0.02) and None,
        resting,
        kill("first"),
        after("first", lambda s: s.place("buy", 0.001) and None),
        kill("second"),
        after("second"),
    ]


def check_kill(run: Run) -> None:
    """The kill canceled both resting orders, flattened, halted, journaled; the rerun idled."""
    first = run.strategy.memo["first"].result(0)
    second = run.strategy.memo["second"].result(0)
    assert sorted(c.order.client_order_id for c in first.cancels) == sorted(
        o.info["client_order_id"] for o in run.strategy.orders[1:3]
    )
    assert [c.status for c in first.cancels] == ["canceled", "canceled"]
    closed = [(f.position.symbol, f.amount) for f in first.closes("closed")]
    assert closed == [("BTC/USDT", pytest.approx(0.01998))]
    assert first.errors == () and first.closes("dust") == [] and not first.already_halted
    assert first.ok
    assert [run.status(n) for n in (1, 2, 3)] == ["Completed", "Canceled", "Canceled"]
    assert run.status(4) == "Rejected"
    assert str(run.info(4)["reason"]).startswith("trading_state: HALTED (kill switch: risk test")
    assert run.strategy.position_size == pytest.approx(0.0, abs=1e-12)
    assert run.broker.trading_state.state is TradingState.HALTED
    assert second.already_halted and second.cancels == () and second.flattens == ()
    assert run.journal.get_state("trading_state")["state"] == "halted"
    assert len(run.journal.events("killswitch.*")) >= 2


def test_broker_kill_at_the_simulator_cancels_flattens_and_halts(
    sim: SimExchange, tmp_path: Path
) -> None:
    last = sim.core.last_price("BTCUSDT")
    assert last is not None
    run = run_sim(sim, LiveRiskConfig(), kill_steps(float(last)), tmp_path)

    check_kill(run)
    account = sim.core.account_by_key(run.key)
    assert account is not None
    assert sim.call(lambda: sim.core.open_orders(account)) == []
    btc = sim.core.balances(account).get("BTC", (Decimal(0), Decimal(0)))
    assert sum(btc) == 0


def test_broker_kill_on_paper_cancels_flattens_and_halts(tmp_path: Path) -> None:
    run = run_paper(LiveRiskConfig(), kill_steps(40_000.0), tmp_path)
    check_kill(run)
    assert run.broker.paper_positions.get("BTC/USDT", 0.0) == pytest.approx(0.0, abs=1e-12)
