"""The monitor's seed faces on a paper run against the simulator: what they see live on the bus
equals what they read afterwards from the journal."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from real_trade.bus import EventBus
from real_trade.monitor import (
    HealthChecker,
    PerformanceTracker,
    RealTimeMonitor,
    Reporter,
    TradeMonitor,
    journal_health,
)
from real_trade.persistence import Journal
from real_trade.sim import SimExchange
from real_trade.strategies import SmaCross
from tests.integration.engine.runner_support import SPEED, make_runner
from tests.support import eventually

pytestmark = pytest.mark.integration
SMA = {"fast": 2, "slow": 4, "size": 0.01}
NAME = "sma-monitor"


@pytest.fixture
def fast_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimExchange]:
    """An accelerated simulator; no proxy or RT_ variable from the environment interferes."""
    for name in ("RT_SIM_URL", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with SimExchange(speed=SPEED, seed=11) as sim:
        yield sim


def test_live_figures_from_the_bus_equal_the_journals_after_the_run(
    fast_sim: SimExchange, tmp_path: Path
) -> None:
    bus = EventBus(name="monitor-test")
    tracker = PerformanceTracker(initial_cash=10_000, strategy=NAME, bus=bus)
    live = RealTimeMonitor(bus, strategy=NAME)
    health = HealthChecker(bus, max_clock_skew_ms=5_000)
    runner = make_runner(
        fast_sim, tmp_path, SmaCross, strategy_params=SMA, name=NAME, bus=bus, initial_cash=10_000
    )
    runner.start()
    try:
        eventually(
            lambda: runner.journal and runner.journal.trades(),
            timeout=60,
            message="a paper round trip journaled",
        )
        eventually(
            lambda: health.check_feeds().status == "ok",
            timeout=30,
            message="the feed is live with a fresh bar",
        )
        assert "BTC/USDT LIVE" in health.check_feeds().detail
        during = journal_health(runner.journal, NAME)
        heartbeat = during.get("heartbeat")
        assert heartbeat is not None and heartbeat.status == "ok"
    finally:
        results: list[bool] = []
        stopper = threading.Thread(target=lambda: results.append(runner.stop(timeout=20)))
        stopper.start()
        stopper.join(30)
    assert results == [True] and runner.last_error is None
    assert bus.flush(10)

    with Journal(f"sqlite:///{tmp_path / 'journal.db'}", strategy=NAME) as journal:
        after = PerformanceTracker.from_journal(journal, initial_cash=10_000)
        live_m, journal_m = tracker.metrics(), after.metrics()
        assert live_m.trade.trades >= 1 and live_m.days >= 1
        assert tracker.equity_curve == after.equity_curve and len(tracker.equity_curve) >= 2
        assert [f.trade_id for f in tracker.fills] == [f.trade_id for f in journal.fills()]
        assert tracker.trades() == journal.trades()
        # every figure but the benchmark (the journal keeps no market prices) is the same
        assert live_m.buy_and_hold is not None and journal_m.buy_and_hold is None
        assert live_m.trade == journal_m.trade
        for name in (
            "total_return",
            "cagr",
            "volatility",
            "sharpe",
            "sortino",
            "max_drawdown",
            "max_drawdown_days",
            "exposure",
            "end_value",
            "daily",
        ):
            assert getattr(live_m, name) == getattr(journal_m, name), name
        assert live_m.end_value == journal.latest_snapshot().equity  # type: ignore[union-attr]
        assert 0 < live_m.exposure <= 1  # type: ignore[operator]
        text = Reporter(currency="USDT").report(after)
        assert "Sharpe" in text and "365 periods a year" in text

        # the seed 003 trade monitor answers the same from the live monitor and the journal
        from_bus, from_journal = TradeMonitor(live), TradeMonitor(journal)
        assert [f.trade_id for f in from_bus.get_recent_trades(5)] == [
            f.trade_id for f in from_journal.get_recent_trades(5)
        ]
        assert from_bus.get_recent_trades(5) == from_journal.get_recent_trades(5)
        assert from_bus.get_positions() == from_journal.get_positions()
        assert from_bus.get_account_info() == from_journal.get_account_info()
        assert [o.client_order_id for o in from_bus.get_open_orders()] == [
            o.client_order_id for o in from_journal.get_open_orders()
        ]
        done = {o.client_order_id: o.state for o in journal.orders() if o.client_order_id}
        seen = {k: u.state.name for k, u in live.orders.items() if u.client_order_id}
        assert seen == done
        assert live.counts["trade"] == len(journal.fills())
        stopped_health = journal_health(journal, NAME)
        assert stopped_health.get("heartbeat").detail.startswith("runner stopped")  # type: ignore[union-attr]
