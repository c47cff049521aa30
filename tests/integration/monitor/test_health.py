"""``HealthChecker`` and ``journal_health``: each check against the real pieces it watches (a
simulator with a skewed clock, a circuit breaker, a trading-state holder, a SQLite journal, the
bus events feeds and streams publish)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from real_trade.bus import EventBus
from real_trade.engine.control import HEARTBEAT_KEY, KILL_REQUEST_KEY, RunnerControl
from real_trade.feeds.bars import Bar, FeedState, StateChange
from real_trade.feeds.watchdog import FeedStale
from real_trade.monitor import HealthChecker, journal_health
from real_trade.persistence import Journal
from real_trade.risk.circuit_breaker import CircuitBreaker
from real_trade.risk.state import TradingStateHolder
from real_trade.sim import SimExchange
from real_trade.venues.streams import StreamStateChanged

pytestmark = pytest.mark.integration


class WallClock:
    """A settable wall clock (seconds) for the checker."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_feed_freshness_and_states_come_from_the_bus() -> None:
    bus = EventBus(synchronous=True)
    clock = WallClock(1_000.0)
    checker = HealthChecker(bus, stale_after_s=120, clock=clock)
    assert checker.check_feeds().status == "unknown"
    bus.publish("feed.state.BTC/USDT", StateChange(FeedState.DELAYED, "backfilling"))
    assert checker.check_feeds().status == "warn"
    bus.publish("feed.state.BTC/USDT", StateChange(FeedState.LIVE, "live bars"))
    bus.publish("feed.bar.BTC/USDT", Bar(60_000, 1, 2, 0.5, 1.5, 10))
    clock.now += 30
    check = checker.check_feeds()
    assert check.status == "ok" and "BTC/USDT LIVE, last bar 30 s ago" in check.detail
    clock.now += 100  # 130 s without a bar: over the 120 s limit
    assert checker.check_feeds().status == "fail"
    bus.publish("feed.bar.BTC/USDT", Bar(120_000, 1, 2, 0.5, 1.5, 10))
    assert checker.check_feeds().status == "ok"
    bus.publish("feed.stale", FeedStale("BTC/USDT", "1m", 181.0, 180.0, 120_000, 5.0))
    stale = checker.check_feeds()
    assert stale.status == "fail" and "STALE" in stale.detail and "181 s" in stale.detail
    clock.now += 1
    bus.publish("feed.bar.BTC/USDT", Bar(180_000, 1, 2, 0.5, 1.5, 10))
    assert checker.check_feeds().status == "ok"  # a bar after the stale event clears it
    bus.publish("feed.state.BTC/USDT", StateChange(FeedState.CONNBROKEN, "disconnected"))
    assert checker.check_feeds().status == "fail"
    assert any("feeds" in p for p in checker.check_system_health())


def test_stream_states_and_a_kill_switch_event() -> None:
    bus = EventBus(synchronous=True)
    checker = HealthChecker(bus)
    bus.publish("venue.stream.orders", StreamStateChanged("binance", "orders", None, "connected"))
    trades = StreamStateChanged("binance", "trades", "BTC/USDT", "connecting")
    bus.publish("venue.stream.trades", trades)
    check = checker.check_streams()
    assert check.status == "warn" and "binance trades BTC/USDT connecting" in check.detail
    bus.publish(
        "venue.stream.orders",
        StreamStateChanged("binance", "orders", None, "failed", "auth refused"),
    )
    assert checker.check_streams().status == "fail"
    assert "auth refused" in checker.check_streams().detail
    assert checker.check_trading_state().status == "unknown"
    bus.publish("killswitch.halted", {"reason": "operator", "flatten": False})
    assert checker.check_trading_state().status == "fail"


def test_breaker_trading_state_memory_and_journal(tmp_path: Path) -> None:
    breaker = CircuitBreaker(max_failures=2, reset_timeout=60)
    state = TradingStateHolder()
    with Journal(f"sqlite:///{tmp_path / 'j.db'}") as journal:
        checker = HealthChecker(
            journal=journal, breaker=breaker, trading_state=state, max_memory_mb=1e9
        )
        assert checker.check_breaker().status == "ok"
        breaker.record_failure()
        breaker.record_failure()
        assert checker.check_breaker().status == "fail"
        assert checker.check_trading_state().status == "ok"
        state.reduce("drawdown")
        assert checker.check_trading_state().status == "warn"
        state.halt("operator")
        assert checker.check_trading_state().status == "fail"
        assert checker.check_journal().status == "ok"
        memory = checker.check_memory()
        assert memory.status == "ok" and memory.value is not None and memory.value > 1
        assert HealthChecker(max_memory_mb=1).check_memory().status == "warn"
        report = checker.check()
        assert report.status == "fail" and not report.healthy
        assert {c.name for c in report.checks} == {
            "feeds",
            "streams",
            "journal",
            "clock",
            "breaker",
            "trading",
            "memory",
        }
    # a closed journal is not writable: the check says so instead of raising
    assert checker.check_journal().status == "fail"


def test_clock_skew_against_the_simulators_venue_clock() -> None:
    with SimExchange() as sim:

        def venue_time() -> float:
            with urllib.request.urlopen(sim.url + "/api/v3/time", timeout=5) as answer:
                return float(json.load(answer)["serverTime"])

        checker = HealthChecker(venue_time=venue_time, max_clock_skew_ms=1_000)
        assert checker.check_clock_skew().status == "ok"
        sim.faults.set_clock_skew(4_000)
        skewed = checker.check_clock_skew()
        assert skewed.status == "warn" and skewed.value is not None
        assert 3_000 < skewed.value < 5_000 and "+" in skewed.detail
        sim.faults.set_clock_skew(-60_000)
        assert checker.check_clock_skew().status == "fail"


def test_journal_health_reads_heartbeat_trading_state_and_kill_request(tmp_path: Path) -> None:
    now = WallClock(2_000_000.0)
    with Journal(f"sqlite:///{tmp_path / 'j.db'}") as journal:
        assert journal_health(journal, now=now).get("heartbeat").status == "unknown"  # type: ignore[union-attr]
        control = RunnerControl(
            journal,
            "sma",
            lambda flatten, why: True,
            details=lambda: {"health": {"feeds": ["fail", "BTC/USDT STALE"]}},
        )
        control.beat()
        beat = journal.get_state(HEARTBEAT_KEY)
        now.now = beat["time_ms"] / 1000 + 5
        report = journal_health(journal, "sma", now=now)
        assert report.get("heartbeat").status == "ok"  # type: ignore[union-attr]
        assert report.get("feeds").status == "fail"  # type: ignore[union-attr]
        assert report.get("trading").status == "ok"  # type: ignore[union-attr]
        now.now += 60
        assert journal_health(journal, "sma", now=now).get("heartbeat").status == "fail"  # type: ignore[union-attr]
        journal.set_state("trading_state", {"state": "halted", "reason": "kill"})
        journal.set_state(KILL_REQUEST_KEY, {"id": "k1", "flatten": False})
        report = journal_health(journal, "sma", now=now)
        assert report.get("trading").status == "fail"  # type: ignore[union-attr]
        assert report.get("kill").status == "warn"  # type: ignore[union-attr]
        control.poll_kill()
        assert journal_health(journal, "sma", now=now).get("kill").status == "ok"  # type: ignore[union-attr]
