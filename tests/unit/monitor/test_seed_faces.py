"""The monitor's seed faces: seed 001's imports and constructors, seed 003's method names,
alerts from the bus, report periods and the report generator's hand-off to the writer."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from real_trade.bus import EventBus
from real_trade.execution.events import FillEvent, OrderUpdate
from real_trade.execution.orders import OrderState
from real_trade.feeds.watchdog import FeedStale
from real_trade.monitor import RealTimeMonitor, RiskAlert, TradeReportGenerator, period_bounds
from real_trade.persistence import Journal
from real_trade.risk.engine import PreTradeOrder, RiskDecision

UTC = dt.timezone.utc


def test_seed_001_complete_system_imports_and_constructors() -> None:
    from real_trade.monitor import HealthChecker, PerformanceTracker, Reporter

    tracker = PerformanceTracker(initial_cash=10000)
    hc = HealthChecker()
    reporter = Reporter()
    assert tracker.current_equity == 10000 and tracker.metrics().start_value == 10000
    assert isinstance(hc.check_system_health(), list)
    assert "Total return" in reporter.report(tracker)
    with pytest.raises(ValueError, match="initial_cash"):
        PerformanceTracker(initial_cash=0)


def test_performance_tracker_fed_by_hand_gives_plain_json_figures() -> None:
    from real_trade.monitor import PerformanceTracker

    day = 86_400_000
    t0 = 1_767_225_600_000  # 2026-01-01 UTC
    tracker = PerformanceTracker(initial_cash=1_000)
    buy = FillEvent(
        1,
        "b",
        None,
        "BTC/USDT",
        "buy",
        "t1",
        100.0,
        1.0,
        0.1,
        "USDT",
        t0,
        position_change=1.0,
        fee_in_quote=0.1,
    )
    sell = FillEvent(
        2,
        "s",
        None,
        "BTC/USDT",
        "sell",
        "t2",
        110.0,
        1.0,
        0.11,
        "USDT",
        t0 + day,
        position_change=-1.0,
        fee_in_quote=0.11,
    )
    for fill in (buy, sell):
        tracker.record_fill(fill)
    for i, value in enumerate([999.9, 1_009.79, 1_009.79]):
        tracker.update(value, t0 + i * day + 3_600_000)
    tracker.record_price("BTC/USDT", 100.0, 104.0, t0)
    tracker.record_price("BTC/USDT", 104.0, 110.0, t0 + day)
    m = tracker.metrics()
    assert m.days == 3 and m.end_value == 1_009.79
    assert m.trade.trades == 1 and m.trade.net_profit == pytest.approx(10 - 0.21)
    assert m.buy_and_hold == pytest.approx(0.10)
    # held from the first point (t0 + 1 h; the buy was before) to the sell (t0 + 1 day), over
    # the span of the points (t0 + 1 h .. t0 + 2 days + 1 h, the last one included)
    assert m.exposure == pytest.approx((day - 3_600_000) / (2 * day + 1))
    summary = json.loads(json.dumps(tracker.summary()))
    assert summary["trades"]["trades"] == 1 and "365 periods" in summary["conventions"]


def test_seed_003_method_names_exist() -> None:
    from real_trade.monitor import TradeMonitor

    for cls, names in (
        (RealTimeMonitor, ["on_order_update", "on_position_update", "on_trade", "on_risk_alert"]),
        (
            TradeMonitor,
            ["get_recent_trades", "get_open_orders", "get_positions", "get_account_info"],
        ),
        (
            TradeReportGenerator,
            [
                "generate_daily_report",
                "generate_weekly_report",
                "generate_monthly_report",
                "generate_custom_report",
            ],
        ),
    ):
        assert all(callable(getattr(cls, n)) for n in names), cls


def test_importing_the_monitor_loads_neither_pandas_nor_pyarrow() -> None:
    code = "import sys, real_trade.monitor; print(sorted({'pandas', 'pyarrow'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def order(state: OrderState, coid: str = "c1", filled: float = 0.0) -> OrderUpdate:
    return OrderUpdate(
        1,
        coid,
        "e1",
        "BTC/USDT",
        "buy",
        "Market",
        state,
        1.0,
        filled,
        None,
        None,
        None,
        None,
        1_000,
        strategy="s",
    )


def test_real_time_monitor_keeps_open_orders_and_a_window_of_ended_ones() -> None:
    bus = EventBus(synchronous=True)
    monitor = RealTimeMonitor(bus, strategy="s", recent=10)
    bus.publish("order.accepted", order(OrderState.ACCEPTED, coid="open"))  # rests throughout
    for i in range(100):
        bus.publish("order.accepted", order(OrderState.ACCEPTED, coid=f"c{i}"))
        bus.publish("order.completed", order(OrderState.COMPLETED, coid=f"c{i}", filled=1.0))
    assert [o.client_order_id for o in monitor.open_orders()] == ["open"]
    ended = [k for k, u in monitor.orders.items() if not u.state.alive]
    assert 10 <= len(ended) <= 13  # the window, trimmed once past 1.25x
    assert {f"c{i}" for i in range(90, 100)} <= set(ended)  # the last ended are kept
    assert "c0" not in monitor.orders and "c0" not in monitor.created_ms
    assert set(monitor.created_ms) == set(monitor.orders)


def test_real_time_monitor_follows_orders_fills_positions_and_alerts() -> None:
    bus = EventBus(synchronous=True)
    seen: list[str] = []
    monitor = RealTimeMonitor(bus, strategy="s", listener=lambda kind, _: seen.append(kind))
    bus.publish("order.submitted", order(OrderState.SUBMITTED, coid=""))  # held locally
    bus.publish("order.accepted", order(OrderState.ACCEPTED))
    assert [o.client_order_id for o in monitor.open_orders()] == ["c1"]
    fill = FillEvent(
        1,
        "c1",
        "e1",
        "BTC/USDT",
        "buy",
        "t1",
        100.0,
        1.0,
        0.001,
        "BTC",
        2_000,
        position_change=0.999,
        fee_in_quote=0.1,
        strategy="s",
    )
    bus.publish("fill", fill)
    bus.publish("order.completed", order(OrderState.COMPLETED, filled=1.0))
    assert monitor.open_orders() == [] and monitor.position_sizes() == {("s", "BTC/USDT"): 0.999}
    bus.publish(
        "fill", FillEvent(9, "x", None, "BTC/USDT", "buy", "t9", 1, 1, 0, None, 1, strategy="other")
    )  # another run's: ignored
    assert monitor.recent_fills() == [fill]
    denied = RiskDecision(
        False,
        PreTradeOrder("BTC/USDT", "buy", 5.0),
        "max_position",
        1.0,
        5.0,
        "max_position: 5 > 1",
    )
    bus.publish("risk.decision", denied)
    bus.publish("risk.decision", RiskDecision(True, PreTradeOrder("BTC/USDT", "buy", 0.1)))
    bus.publish("feed.stale", FeedStale("BTC/USDT", "1m", 200.0, 180.0, None, None))
    bus.publish("killswitch.halted", {"reason": "operator", "strategy": "s"})
    kinds = [a.kind for a in monitor.alerts]
    assert kinds == ["risk.decision", "feed.stale", "killswitch.halted"]
    assert monitor.alerts[0].detail["rule"] == "max_position"
    assert "stale" in monitor.alerts[1].message and "operator" in monitor.alerts[2].message
    assert seen == ["order", "order", "trade", "position", "order", "alert", "alert", "alert"]
    monitor.detach()
    bus.publish("feed.stale", FeedStale("BTC/USDT", "1m", 300.0, 180.0, None, None))
    assert len(monitor.alerts) == 3
    assert isinstance(monitor.alerts[0], RiskAlert)


def test_report_periods_are_utc_days_iso_weeks_and_months() -> None:
    day = dt.datetime(2026, 12, 5, tzinfo=UTC)
    assert period_bounds("day", "2026-12-05") == (day, day + dt.timedelta(days=1))
    monday = dt.datetime(2026, 11, 30, tzinfo=UTC)
    assert period_bounds("week", "2026-W49") == (monday, monday + dt.timedelta(days=7))
    assert period_bounds("week", dt.date(2026, 12, 6)) == (monday, monday + dt.timedelta(days=7))
    assert period_bounds("month", "2026-12") == (
        dt.datetime(2026, 12, 1, tzinfo=UTC),
        dt.datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert period_bounds("month", dt.date(2024, 2, 29))[1] == dt.datetime(2024, 3, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        period_bounds("day", "5/12/2026")


@pytest.mark.skipif(
    importlib.util.find_spec("real_trade.monitor.report") is None,
    reason="real_trade.monitor.report (the report writer of issue 14's `reports` branch) is not "
    "importable in this checkout; the generator hands off to it",
)
def test_trade_report_generator_writes_daily_weekly_monthly_and_custom_files(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'j.db'}"
    with Journal(url):
        pass
    generator = TradeReportGenerator(url, initial_cash=10_000)
    written = [
        generator.generate_daily_report("2026-12-05", tmp_path / "day.json"),
        generator.generate_weekly_report("2026-W49", tmp_path / "week.html"),
        generator.generate_monthly_report("2026-12", tmp_path / "month.csv"),
        generator.generate_custom_report(
            dt.datetime(2026, 12, 1, tzinfo=UTC), 1_796_515_200_000, tmp_path / "custom.json"
        ),
    ]
    assert all(Path(p).is_file() and Path(p).stat().st_size > 0 for p in written)
    assert "2026-12-05" in (tmp_path / "day.json").read_text()
    with pytest.raises(ValueError, match="not after"):
        generator.generate_custom_report("2026-12-05", "2026-12-01", tmp_path / "bad.json")
