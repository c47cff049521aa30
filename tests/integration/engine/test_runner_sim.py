"""TradingRunner against the simulator: paper and testnet runs, stops, kill requests, restarts."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from real_trade.engine import BarReport, LifecycleManager
from real_trade.engine.control import HEARTBEAT_KEY, KILL_DONE_KEY, KILL_REQUEST_KEY
from real_trade.persistence import Journal
from real_trade.sim import SimExchange
from real_trade.strategies import SmaCross
from real_trade.venues.retry import RetryPolicy
from tests.integration.engine.runner_support import (
    CrashOnFirstLiveBar,
    RestingLimit,
    exchange_open_orders,
    make_runner,
)
from tests.support import eventually

pytestmark = pytest.mark.integration
SMA = {"fast": 2, "slow": 4, "size": 0.01}


def test_paper_run_trades_journals_and_stops_from_another_thread(
    fast_sim: SimExchange, tmp_path: Path
) -> None:
    bars: list[BarReport] = []
    runner = make_runner(
        fast_sim, tmp_path, SmaCross, strategy_params=SMA, name="sma-paper", bars=bars
    )
    runner.start()
    try:
        eventually(
            lambda: len([b for b in bars if b.live]) >= 3,
            timeout=30,
            message="live bars reached the runner",
        )
        eventually(lambda: runner.journal.fills(), timeout=30, message="a paper fill journaled")
        assert runner.is_running() and runner.mode == "paper"
    finally:
        stopped = threading.Event()
        stopper = threading.Thread(target=lambda: runner.stop(timeout=20) and stopped.set())
        stopper.start()
        stopper.join(30)
    assert stopped.is_set(), "stop() from another thread returned True"
    assert not runner.is_running() and runner.last_error is None
    live = [b for b in bars if b.live]
    assert all(b.symbol == "BTC/USDT" and b.strategy == "sma-paper" for b in live)
    assert [b.time for b in live] == sorted(b.time for b in live)
    with Journal(f"sqlite:///{tmp_path / 'journal.db'}") as journal:
        fills = journal.fills()
        assert fills and all(f.strategy == "sma-paper" for f in fills)
        snapshot = journal.latest_snapshot(strategy="sma-paper")
        assert snapshot is not None and snapshot.positions.keys() == {"BTC/USDT"}
        beat = journal.get_state(HEARTBEAT_KEY)
        assert beat["strategy"] == "sma-paper" and beat["state"] == "stopped"
        assert beat["mode"] == "paper"


def test_testnet_run_sends_real_orders_and_keeps_them_open_on_stop(
    fast_sim: SimExchange, tmp_path: Path
) -> None:
    key = fast_sim.create_account({"USDT": 10_000})
    runner = make_runner(fast_sim, tmp_path, RestingLimit, testnet=True, key=key, name="rest")
    runner.start()
    try:
        eventually(
            lambda: exchange_open_orders(fast_sim, key[0]),
            timeout=30,
            message="the limit order rests at the exchange",
        )
        assert runner.mode == "testnet"
    finally:
        assert runner.stop(timeout=20)
    (order,) = exchange_open_orders(fast_sim, key[0])
    assert order.client_order_id.startswith("rt-rest-")
    # a restart with the same name and journal recovers the order instead of placing another
    runner.start()
    try:
        eventually(
            lambda: runner.broker is not None and runner.broker.recovery is not None,
            timeout=30,
            message="the restarted broker ran its recovery",
        )
        assert [f.request.client_order_id for f in runner.broker.recovery.adopted] == [
            order.client_order_id
        ]
    finally:
        assert runner.stop(timeout=20)
    assert runner.runs == 2
    assert [o.client_order_id for o in exchange_open_orders(fast_sim, key[0])] == [
        order.client_order_id
    ]


def test_cancel_on_stop_cancels_the_open_orders_at_the_exchange(
    fast_sim: SimExchange, tmp_path: Path
) -> None:
    key = fast_sim.create_account({"USDT": 10_000})
    runner = make_runner(
        fast_sim, tmp_path, RestingLimit, testnet=True, key=key, name="tidy", cancel_on_stop=True
    )
    runner.start()
    eventually(lambda: exchange_open_orders(fast_sim, key[0]), timeout=30)
    assert runner.stop(timeout=30)
    assert exchange_open_orders(fast_sim, key[0]) == []
    with Journal(f"sqlite:///{tmp_path / 'journal.db'}") as journal:
        (row,) = journal.orders(strategy="tidy")
        assert row.state == "CANCELED"


def test_cancel_on_stop_cancels_recovered_orders_even_when_the_stop_comes_during_startup(
    fast_sim: SimExchange, tmp_path: Path
) -> None:
    """An order left open by an earlier run is the run's too: a stop that arrives while the
    restarted run is still starting (before its first cycle) still cancels it."""
    key = fast_sim.create_account({"USDT": 10_000})
    first = make_runner(fast_sim, tmp_path, RestingLimit, testnet=True, key=key, name="early")
    first.start()
    try:
        eventually(lambda: exchange_open_orders(fast_sim, key[0]), timeout=30)
    finally:
        assert first.stop(timeout=30)
    (left,) = exchange_open_orders(fast_sim, key[0])
    second = make_runner(
        fast_sim, tmp_path, RestingLimit, testnet=True, key=key, name="early", cancel_on_stop=True
    )
    second.start()
    second.request_stop()  # at once: the broker is still starting
    assert second.stop(timeout=30)
    assert exchange_open_orders(fast_sim, key[0]) == [], "the recovered order is still open"
    with Journal(f"sqlite:///{tmp_path / 'journal.db'}") as journal:
        states = {r.client_order_id: r.state for r in journal.orders(strategy="early")}
    assert states[left.client_order_id] == "CANCELED"


def test_a_kill_request_in_the_journal_cancels_and_halts_the_running_strategy(
    fast_sim: SimExchange, tmp_path: Path
) -> None:
    key = fast_sim.create_account({"USDT": 10_000})
    notes: list[str] = []
    runner = make_runner(
        fast_sim, tmp_path, RestingLimit, testnet=True, key=key, name="k", notify=notes.append
    )
    runner.start()
    try:
        eventually(lambda: exchange_open_orders(fast_sim, key[0]), timeout=30)
        with Journal(f"sqlite:///{tmp_path / 'journal.db'}") as operator:
            operator.set_state(
                KILL_REQUEST_KEY, {"id": "kill-1", "flatten": False, "reason": "drill"}
            )
            eventually(
                lambda: operator.get_state(KILL_DONE_KEY) == "kill-1",
                timeout=15,
                message="the runner took the kill request",
            )
        eventually(
            lambda: not exchange_open_orders(fast_sim, key[0]),
            timeout=15,
            message="the resting order was cancelled",
        )
        eventually(lambda: runner.broker.trading_state.state.value == "halted", timeout=15)
        assert runner.is_running(), "a kill halts trading; it does not stop the runner"
        assert any("KILL SWITCH" in n and "drill" in n for n in notes)
    finally:
        runner.stop(timeout=20)


def test_a_crashed_strategy_loop_is_raised_and_restarted_by_the_lifecycle_manager(
    fast_sim: SimExchange, tmp_path: Path
) -> None:
    CrashOnFirstLiveBar.runs = 0
    runner = make_runner(fast_sim, tmp_path, CrashOnFirstLiveBar, name="crashy")
    quick = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)
    manager = LifecycleManager(runner, retry=quick, max_restarts=2).start()
    try:
        eventually(
            lambda: manager.restarts == 1 and runner.runs == 2 and runner.bars > 12,
            timeout=40,
            message="restarted once and trading again",
        )
        assert isinstance(manager.last_error, ZeroDivisionError)
        assert isinstance(runner.last_error, ZeroDivisionError)
        assert runner.is_running() and not manager.failed
    finally:
        assert manager.stop(timeout=20)
    assert not runner.is_running() and manager.state == "stopped"
