"""What a real paper broker publishes becomes the right alerts: a risk denial is told once (not
also as a rejection), an open circuit breaker as ``breaker``, a fill as ``fill``, the kill
switch as ``kill_switch``. The broker's recorded bus traffic is replayed into a notifier."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from real_trade.bus import EventBus
from real_trade.notifications import NotificationsConfig, Notifier
from real_trade.risk import LiveRiskConfig
from tests.integration.risk.broker_support import Stepper, run_paper

pytestmark = pytest.mark.integration


def _buy_too_much_then_trip_then_buy(s: Stepper) -> None:
    s.place("buy", 0.01)  # within the limit: fills
    s.place("buy", 0.05)  # over max_order_amount: refused by the risk engine
    s.broker.guard.engine.breaker.trip("venue trouble")
    s.place("buy", 0.001)  # refused by the open breaker


def test_a_paper_brokers_events_become_one_alert_each(tmp_path: Path) -> None:
    risk = LiveRiskConfig(max_order_amount=0.02, breaker_max_failures=3)
    kill = [lambda s: s.broker.kill(flatten=False, reason="operator test") and None]
    run = run_paper(risk, [_buy_too_much_then_trip_then_buy, *kill], tmp_path)
    topics = [t for t, _ in run.events]
    assert "order.rejected" in topics and "risk.decision" in topics
    config = NotificationsConfig(
        webhook={"url": "http://127.0.0.1:9/unused"},
        events={"fill": "on"},
        cooldown=0,
        daily_report=False,
    )
    bus = EventBus(synchronous=True)
    notifier = Notifier(
        config,
        f"sqlite:///{tmp_path / 'alerts.db'}",
        bus=bus,
        rng=random.Random(1),
        start_thread=False,
    ).start()
    try:
        for topic, event in list(run.events):
            bus.publish(topic, event)
        kinds = [r.kind for r in notifier.outbox.rows("webhook")]
        titles = [r.title for r in notifier.outbox.rows("webhook")]
    finally:
        notifier.stop()
    assert kinds.count("risk_denial") == 1, titles
    assert kinds.count("breaker") == 1, titles
    assert "rejection" not in kinds, titles  # refused before sending: told as the denial only
    assert kinds.count("fill") >= 1, titles
    assert "kill_switch" in kinds, titles
    (denial,) = [t for t in titles if t.startswith("Risk denied")]
    assert denial == "Risk denied BTC/USDT: max_order_amount"


def _three_unaffordable_buys(s: Stepper) -> None:
    for _ in range(3):
        s.place("buy", 5.0)  # 200,000 USDT of BTC on a 10,000 USDT account: the venue refuses


def test_venue_refusals_that_open_the_breaker_are_told_as_rejections_and_one_breaker_alert(
    tmp_path: Path,
) -> None:
    risk = LiveRiskConfig(breaker_max_failures=3)
    run = run_paper(risk, [_three_unaffordable_buys], tmp_path)
    opened = [e for t, e in run.events if t == "risk.breaker"]
    assert [e["state"] for e in opened] == ["open"], opened
    config = NotificationsConfig(webhook={"url": "http://127.0.0.1:9/unused"}, daily_report=False)
    bus = EventBus(synchronous=True)
    notifier = Notifier(
        config, f"sqlite:///{tmp_path / 'alerts.db'}", bus=bus, start_thread=False
    ).start()
    try:
        for topic, event in list(run.events):
            bus.publish(topic, event)
        rows = notifier.outbox.rows("webhook")
    finally:
        notifier.stop()
    assert sorted(r.kind for r in rows) == ["breaker", "rejection", "rejection", "rejection"]
    (breaker,) = [r for r in rows if r.kind == "breaker"]
    assert breaker.title == "Circuit breaker OPEN: orders refused"
    assert "3 consecutive failures" in breaker.body
