"""The live path's "done when" checks, through the full stack in testnet mode.

One scenario, run once for the module: ``BinanceStore`` (testnet, on a stepped simulator
replaying the real candles) -> ``BinanceData`` (backfill, then live klines) -> Cerebro with the
sample ``SmaCross`` (5/20, 0.01 BTC) -> ``BinanceBroker(paper_trading=False)``, on an account that
already holds 0.5 BTC. The test moves the market minute by minute and meanwhile

* drops every websocket of the simulator three times (close code 1006), the second time while
  three more bars close, so only a REST backfill can bring them;
* arms an ambiguous ``503`` right before the strategy's first order (the exchange accepts the
  order, then answers as if it failed).

Each test below checks one outcome of that run. The pieces are tested on their own elsewhere
(``test_feeds.py``: one disconnect without a broker; ``test_broker_live.py``: ambiguous submits,
holdings and account agreement with a hand-made feed); here they must hold together.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

import pytest

from real_trade.feeds import Bar, FeedState
from real_trade.sim import SimExchange
from tests.integration.live.parity_support import (
    FILE,
    MIN,
    LiveRun,
    RecordingSmaCross,
    clear_proxy_env,
    data_file,
    ms_of,
    start_live_run,
)

pytestmark = pytest.mark.integration

CSV = data_file()
START = datetime(2023, 3, 10, 14, 0)  # SmaCross(5/20) crosses down at 14:37, up at 14:55, ...
START_MS = ms_of(START)
HELD_BTC, CASH = 0.5, 10_000.0
# the drops come after this many bars (14:00 is bar 0): the third after the first order (14:37)
DROP_QUIET, DROP_WHILE_BARS_CLOSE, DROP_AFTER_ORDER, DROPS = 10, 20, 45, 3
TOTAL_BARS = 80


@dataclass
class Scenario:
    """What the run produced, for the checks."""

    run: LiveRun
    armed_on_ms: int | None
    backfilled_after_drop: list[Bar]


def _about_to_order(strategy: RecordingSmaCross) -> bool:
    """Whether ``SmaCross.next`` is about to create an order on this bar (its own rule)."""
    may_trade = strategy.pending is None and strategy.is_live
    cross = strategy.crossover[0]
    return bool(
        may_trade and ((cross > 0 and not strategy.position) or (cross < 0 and strategy.position))
    )


def _drop_and_wait_broken(run: LiveRun) -> None:
    """Drop every websocket (1006) and wait until the feed has noticed."""
    assert run.sim.faults.drop_connections(1006) >= 1
    stream = run.data.stream
    assert stream is not None
    run.wait(lambda: stream.state is FeedState.CONNBROKEN, "the feed went CONNBROKEN")


def _wait_live_again(run: LiveRun, drops: int) -> None:
    run.wait(
        lambda: (
            run.strategy.data_states.count("CONNBROKEN") == drops
            and run.strategy.data_states[-1] == "LIVE"
        ),
        f"the strategy saw CONNBROKEN #{drops} and LIVE again",
    )


@pytest.fixture(scope="module")
def scenario() -> Iterator[Scenario]:
    """Run the whole scenario once (see the module docstring)."""
    if CSV is None:
        pytest.skip(f"{FILE} not found: set RT_DATA_DIR or put it in ../shared/data")
    monkeypatch = pytest.MonkeyPatch()
    clear_proxy_env(monkeypatch)
    armed: list[int] = []

    def arm_before_first_order(strategy: RecordingSmaCross) -> None:
        if not armed and _about_to_order(strategy):
            sim.faults.ambiguous_next(1, "503")
            armed.append(ms_of(strategy.data.datetime.datetime(0)))

    with SimExchange(market=CSV, stepped=True, start_ms=START_MS) as sim:
        run = start_live_run(
            sim,
            paper=False,
            balances={"USDT": CASH, "BTC": HELD_BTC},
            store_kwargs={"reconnect_base_delay": 0.5, "reconnect_max_delay": 0.5},
            fast=5,
            slow=20,
            size=0.01,
            on_bar=arm_before_first_order,
        )
        try:
            run.wait_live()
            stepped = 0
            for _ in range(DROP_QUIET):
                run.step()
            stepped += DROP_QUIET
            _drop_and_wait_broken(run)  # 1: nothing closes while it is down
            _wait_live_again(run, 1)
            for _ in range(DROP_WHILE_BARS_CLOSE - stepped):
                run.step()
            stepped = DROP_WHILE_BARS_CLOSE
            _drop_and_wait_broken(run)  # 2: three bars close while it is down
            closing = [run.advance() for _ in range(3)]
            run.wait_processed(closing[-1])
            _wait_live_again(run, 2)
            stepped += 3
            seen = {
                b.open_ms: live
                for b, live in zip(run.strategy.bars, run.strategy.live, strict=True)
            }
            backfilled = [
                b for b in run.strategy.bars if b.open_ms in closing and not seen[b.open_ms]
            ]
            for _ in range(DROP_AFTER_ORDER - stepped):
                run.step()
            stepped = DROP_AFTER_ORDER
            _drop_and_wait_broken(run)  # 3: after the first (ambiguous) order
            _wait_live_again(run, 3)
            for _ in range(TOTAL_BARS - stepped):
                run.step()
            run.finish(stop=True)
        finally:
            run.thread.join(5)
            run.store.stop()
            monkeypatch.undo()
        yield Scenario(run, armed[0] if armed else None, backfilled)


def _account(run: LiveRun) -> dict[str, float]:
    acct = run.sim.core.account_by_key(run.key or "")
    assert acct is not None
    return {a: float(f + lk) for a, (f, lk) in run.sim.core.balances(acct).items()}


def _sim_klines(sim: SimExchange, first_ms: int, last_ms: int) -> list[Bar]:
    page = sim.core.klines("BTCUSDT", "1m", start_ms=first_ms, end_ms=last_ms, limit=1000)
    return [
        Bar(k.open_ms, *(float(v) for v in (k.open, k.high, k.low, k.close, k.volume)))
        for k in page
    ]


def test_disconnects_show_connbroken_then_live_and_lose_or_repeat_no_bar(
    scenario: Scenario,
) -> None:
    run = scenario.run
    states = run.strategy.data_states
    assert states[:2] == ["DELAYED", "LIVE"]
    assert states.count("CONNBROKEN") == DROPS
    after = states[states.index("CONNBROKEN") :]
    for _ in range(DROPS):  # each break is followed by LIVE before the next break
        broken = after.index("CONNBROKEN")
        assert "LIVE" in after[broken:]
        after = after[after.index("LIVE", broken) :]
    assert states[-1] == "LIVE"
    assert run.source.states.count("disconnected") >= DROPS  # the kline socket itself dropped

    bars = run.strategy.bars
    opens = [b.open_ms for b in bars]
    assert opens[0] == START_MS and len(bars) == TOTAL_BARS
    assert all(b - a == MIN for a, b in pairwise(opens)), "a gap or a duplicate"
    assert bars == _sim_klines(run.sim, START_MS, opens[-1])  # the exchange's closed klines
    assert opens[-1] + MIN == run.sim.clock.now_ms()
    assert len(scenario.backfilled_after_drop) == 3  # the bars missed while down came by REST


def test_an_ambiguous_submit_leaves_one_order_that_the_strategy_sees_complete(
    scenario: Scenario,
) -> None:
    run = scenario.run
    assert scenario.armed_on_ms == ms_of(datetime(2023, 3, 10, 14, 37))  # the first cross down
    assert run.sim.faults.injected.get("ambiguous:503") == 1  # the exchange did answer 503
    assert run.sim.faults.injected.get("drop_connections") == DROPS
    orders: dict[int, list[Any]] = {}
    for note in run.strategy.orders:
        orders.setdefault(note.ref, []).append(note)
    first_ref = min(orders)
    first = orders[first_ref]
    assert [o.getstatusname() for o in first] == ["Submitted", "Accepted", "Completed"]
    assert first[-1].isbuy() is False and first[-1].executed.size == pytest.approx(-HELD_BTC)
    cid = first[-1].info["client_order_id"]
    acct = run.sim.core.account_by_key(run.key or "")
    assert acct is not None
    placed = run.sim.core.all_orders(acct, "BTCUSDT")
    assert [o.client_order_id for o in placed].count(cid) == 1
    # and no order anywhere in the run was duplicated: one exchange order per strategy order
    completed = [n[-1] for n in orders.values() if n[-1].status == n[-1].Completed]
    assert sorted(o.client_order_id for o in placed) == sorted(
        o.info["client_order_id"] for o in completed
    )
    assert len(completed) >= 3  # the close at 14:37, then 14:55 buy, 15:14 sell


def test_balances_held_at_start_are_the_strategys_position(scenario: Scenario) -> None:
    strategy = scenario.run.strategy
    assert strategy.first_position == pytest.approx(HELD_BTC)
    assert scenario.run.broker.startingcash == pytest.approx(CASH)


def test_after_the_run_the_broker_equals_the_exchange_account(scenario: Scenario) -> None:
    run = scenario.run
    totals = _account(run)
    assert run.broker.getcash() == pytest.approx(totals["USDT"], abs=1e-8)
    assert run.broker.getposition(run.data).size == pytest.approx(totals.get("BTC", 0.0), abs=1e-12)
    assert totals["USDT"] != pytest.approx(CASH)  # it did trade
