"""StrategyExecutor with real runners on the simulator: one shared journal, or one each."""

from __future__ import annotations

from pathlib import Path

import pytest

from real_trade.bus import EventBus
from real_trade.engine import StrategyExecutor
from real_trade.persistence import Journal
from real_trade.sim import SimExchange
from real_trade.strategies import SmaCross
from tests.integration.engine.runner_support import make_runner
from tests.support import eventually

pytestmark = pytest.mark.integration


def test_two_strategies_share_one_journal_keyed_by_name(
    fast_sim: SimExchange, tmp_path: Path
) -> None:
    bus = EventBus()  # a shared journal listens on one bus: the runners publish there
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with StrategyExecutor(journal=url) as executor:
        for name, fast in (("fast", 2), ("slow", 3)):
            runner = make_runner(
                fast_sim,
                tmp_path,
                SmaCross,
                journal=None,
                bus=bus,
                name=name,
                strategy_params={"fast": fast, "slow": 5, "size": 0.01},
            )
            executor.add(runner)
        assert executor.start_all() == ["fast", "slow"]
        journal = executor.journal
        eventually(
            lambda: all(journal.latest_snapshot(strategy=n) for n in ("fast", "slow")),
            timeout=30,
            message="both strategies journaled their account",
        )
        eventually(
            lambda: {f.strategy for f in journal.fills()} == {"fast", "slow"},
            timeout=30,
            message="both strategies traded",
        )
        assert sorted(executor.get_running_strategies()) == ["fast", "slow"]
        assert executor.stop_strategy("fast") is True
        assert executor.list() == ["slow"]
        assert executor.runner("slow").is_running()
    assert executor.list() == []
    with Journal(url) as reader:
        orders = reader.orders()
        assert {o.strategy for o in orders} == {"fast", "slow"}
        prefixes = {o.strategy: o.client_order_id.split("-")[1] for o in orders}
        assert prefixes == {"fast": "fast", "slow": "slow"}


def test_isolated_journals_keep_each_strategy_apart(fast_sim: SimExchange, tmp_path: Path) -> None:
    executor = StrategyExecutor()
    for name in ("a", "b"):
        executor.add(
            make_runner(
                fast_sim,
                tmp_path,
                SmaCross,
                name=name,
                journal=f"sqlite:///{tmp_path / f'{name}.db'}",
                strategy_params={"fast": 2, "slow": 4},
            )
        )
    executor.start_all()
    try:
        eventually(lambda: all(executor.runner(n).bars > 10 for n in ("a", "b")), timeout=30)
    finally:
        executor.close()
    for name, other in (("a", "b"), ("b", "a")):
        with Journal(f"sqlite:///{tmp_path / f'{name}.db'}") as journal:
            assert journal.latest_snapshot(strategy=name) is not None
            assert journal.latest_snapshot(strategy=other) is None
