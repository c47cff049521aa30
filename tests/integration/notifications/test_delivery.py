"""Delivery rules against the stand-ins, step by step on injected clocks (no thread, no wait):
channel down then up, restart, rate limit, Retry-After, dedupe, digest, dead man, levels."""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from real_trade.bus import EventBus
from real_trade.engine.control import heartbeat_key
from real_trade.execution.events import FillEvent
from real_trade.notifications import Message, NotificationsConfig, Notifier
from real_trade.persistence import Journal
from tests.integration.notifications.standins import (
    TOKEN,
    SmtpStandIn,
    TelegramStandIn,
    WebhookStandIn,
)
from tests.support import eventually

pytestmark = pytest.mark.integration

T0_MS = 1_780_000_000_000  # a wall time (epoch ms) for the fake clocks


class FakeClock:
    """Both clocks of the worker: monotonic seconds and wall epoch ms, moved by the test."""

    def __init__(self) -> None:
        self.seconds = 1000.0
        self.wall_ms = T0_MS

    def advance(self, seconds: float) -> None:
        self.seconds += seconds
        self.wall_ms += int(seconds * 1000)

    def now_ms(self) -> int:
        return self.wall_ms


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def telegram() -> Iterator[TelegramStandIn]:
    server = TelegramStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _config(telegram: TelegramStandIn, **options: Any) -> NotificationsConfig:
    options.setdefault("events", {"fill": "on"})
    options.setdefault("daily_report", False)
    return NotificationsConfig(
        telegram={
            "bot_token": TOKEN,
            "chat_id": "42",
            "base_url": telegram.url,
            "min_interval": 1.0,
        },
        **options,
    )


def _notifier(config: NotificationsConfig, db: str, clock: FakeClock, **options: Any) -> Notifier:
    bus = options.pop("bus", None) or EventBus(synchronous=True)
    return Notifier(
        config,
        db,
        bus=bus,
        clock=lambda: clock.seconds,
        now_ms=clock.now_ms,
        rng=random.Random(1),
        start_thread=False,
        **options,
    ).start()


def _fill(n: int, strategy: str = "", symbol: str = "BTC/USDT") -> FillEvent:
    return FillEvent(
        n,
        f"rt-x-{n:04d}",
        f"X{n}",
        symbol,
        "buy",
        f"T{n}",
        100.0 + n,
        0.01,
        0.0,
        "USDT",
        T0_MS,
        strategy=strategy,
    )


def _fill_at(n: int, time_ms: int) -> FillEvent:
    return dataclasses.replace(_fill(n), time_ms=time_ms)


def _db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'journal.db'}"


def test_a_channel_down_keeps_the_alerts_and_sends_them_when_it_is_back_even_after_a_restart(
    telegram: TelegramStandIn, clock: FakeClock, journal_url: str
) -> None:
    telegram.down = True
    notifier = _notifier(_config(telegram), journal_url, clock)
    notifier.bus.publish("fill", _fill(1))
    notifier.bus.publish("fill", _fill(2))
    assert notifier.worker.step() == 0
    assert telegram.attempts == 1 and telegram.received == []
    (first, second) = notifier.outbox.rows("telegram")
    assert (first.status, first.attempts, second.status) == ("pending", 1, "pending")
    assert "502" in (first.last_error or "")
    notifier.worker.step()  # backing off: no new attempt at the same instant
    assert telegram.attempts == 1
    clock.advance(2.0)
    notifier.worker.step()
    assert telegram.attempts == 2 and telegram.received == []
    notifier.stop()
    # the process restarts while the channel is still down: the rows are still there
    telegram.down = False
    again = _notifier(_config(telegram), journal_url, clock)
    assert [r.status for r in again.outbox.rows("telegram")] == ["pending", "pending"]
    assert again.worker.step() == 1
    clock.advance(1.0)
    assert again.worker.step() == 1
    assert [t.splitlines()[0] for t in telegram.texts] == [
        "Fill: BUY 0.01 BTC/USDT @ 101",
        "Fill: BUY 0.01 BTC/USDT @ 102",
    ]
    assert [r.status for r in again.outbox.rows("telegram")] == ["sent", "sent"]
    clock.advance(31 * 86_400)  # past the 30 days of retention: delivered rows are deleted
    again.bus.publish("fill", _fill(3))
    again.worker.step()
    assert [r.title.split("@ ")[1] for r in again.outbox.rows("telegram")] == ["103"]
    again.stop()


def test_the_rate_limit_and_telegrams_retry_after_are_honoured(
    telegram: TelegramStandIn, clock: FakeClock, tmp_path: Path
) -> None:
    notifier = _notifier(_config(telegram, digest_threshold=50), _db(tmp_path), clock)
    for n in range(1, 5):
        notifier.bus.publish("fill", _fill(n))
    sent_at: list[float] = []
    for _ in range(40):  # 10 s of rounds, every quarter second
        if notifier.worker.step():
            sent_at.append(clock.seconds - 1000.0)
        if len(sent_at) == 2 and not telegram._limited and telegram.attempts == 2:
            telegram.rate_limit(1, retry_after=5)
        clock.advance(0.25)
    # one message a second, then 429 retry_after=5 at t=2: nothing before t=7
    assert sent_at == [0.0, 1.0, 7.0, 8.0]
    assert telegram.attempts == 5
    assert [int(m["text"].split("@ ")[1].split()[0]) for m in telegram.received] == [
        101,
        102,
        103,
        104,
    ]
    notifier.stop()


def test_the_same_alert_within_the_cooldown_is_sent_once(
    telegram: TelegramStandIn, clock: FakeClock, tmp_path: Path
) -> None:
    notifier = _notifier(_config(telegram, cooldown=60), _db(tmp_path), clock)
    stale = {
        "symbol": "BTC/USDT",
        "timeframe": "1m",
        "seconds_since_bar": 100.0,
        "stale_after": 100.0,
    }
    for _ in range(3):
        notifier.bus.publish("feed.stale", stale)
        clock.advance(5)
    notifier.worker.step()
    clock.advance(5)
    notifier.worker.step()
    assert len(telegram.received) == 1
    assert [r.status for r in notifier.outbox.rows()] == ["sent", "suppressed", "suppressed"]
    clock.advance(61)
    notifier.bus.publish("feed.stale", stale)
    notifier.worker.step()
    assert len(telegram.received) == 2
    notifier.stop()


def test_a_burst_goes_out_as_one_digest_after_the_critical_alert(
    telegram: TelegramStandIn, clock: FakeClock, tmp_path: Path
) -> None:
    notifier = _notifier(_config(telegram, digest_threshold=5), _db(tmp_path), clock)
    for n in range(1, 13):
        notifier.bus.publish("fill", _fill(n))
    notifier.bus.publish("killswitch.engaged", {"reason": "drawdown", "flatten": True})
    assert notifier.worker.step() == 1
    clock.advance(1.0)
    assert notifier.worker.step() == 1
    clock.advance(1.0)
    assert notifier.worker.step() == 0
    kill, digest = telegram.received
    assert kill["text"].startswith("KILL SWITCH engaged") and kill["disable_notification"] is False
    assert digest["text"].startswith("12 alerts (fill)")
    assert digest["text"].count("Fill: BUY") == 12
    assert sorted({r.status for r in notifier.outbox.rows()}) == ["digested", "sent"]
    notifier.stop()


def test_the_dead_man_alerts_when_the_heartbeat_stops_and_not_after_a_clean_stop(
    telegram: TelegramStandIn, clock: FakeClock, tmp_path: Path
) -> None:
    db = _db(tmp_path)
    key = heartbeat_key("sma")
    with Journal(db) as journal:
        journal.set_state(key, {"pid": 1, "time_ms": T0_MS, "strategy": "sma", "state": "running"})
    notifier = _notifier(_config(telegram, dead_man_after=60), db, clock, heartbeat_key=key)
    notifier.worker.step()
    clock.advance(30)
    notifier.worker.step()
    assert telegram.received == []
    clock.advance(31)  # 61 s without a heartbeat
    notifier.worker.step()
    (alert,) = telegram.texts
    assert alert.startswith("DEAD MAN: sma has been silent for 61 s")
    clock.advance(60)
    notifier.worker.step()
    assert len(telegram.received) == 1  # raised once per silence
    with Journal(db) as journal:
        journal.set_state(
            key, {"pid": 1, "time_ms": clock.wall_ms, "strategy": "sma", "state": "running"}
        )
    clock.advance(1)
    notifier.worker.step()
    assert telegram.texts[1].startswith("sma is alive again")
    with Journal(db) as journal:
        journal.set_state(
            key, {"pid": 1, "time_ms": clock.wall_ms, "strategy": "sma", "state": "stopped"}
        )
    clock.advance(600)
    notifier.worker.step()
    assert len(telegram.received) == 2  # a runner that said it stopped is not dead
    notifier.stop()


def test_levels_off_and_silent_and_no_secret_in_the_logs(
    telegram: TelegramStandIn, clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _config(telegram, events={"fill": "off", "feed_reconnect": "silent"})
    notifier = _notifier(config, _db(tmp_path), clock)
    notifier.bus.publish("fill", _fill(1))
    notifier.bus.publish(
        "feed.reconnect", {"symbol": "BTC/USDT", "reason": "stale", "seconds_since_bar": 99.0}
    )
    assert notifier.worker.step() == 1
    (only,) = telegram.received
    assert only["text"].startswith("Feed reconnect: BTC/USDT")
    assert only["disable_notification"] is True
    assert len(notifier.outbox.rows()) == 1  # the fill at level off was never queued
    notifier.stop()
    wrong = NotificationsConfig(
        telegram={"bot_token": "999:WRONG-secret-token", "chat_id": "42", "base_url": telegram.url}
    )
    caplog.set_level(logging.DEBUG)
    bad = _notifier(wrong, _db(tmp_path), clock)
    bad.bus.publish("killswitch.engaged", {"reason": "test"})
    for _ in range(3):
        bad.worker.step()
        clock.advance(400)
    (row,) = [r for r in bad.outbox.rows() if r.kind == "kill_switch"]
    assert row.status == "failed" and "401" in (row.last_error or "")
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("real_trade"))
    assert "WRONG-secret-token" not in ours and "401" in ours
    assert "WRONG-secret-token" not in repr(bad) + repr(bad.channels) + repr(wrong)
    bad.stop()


def test_webhook_and_email_receive_the_alert_and_a_stopped_webhook_gets_it_on_return(
    clock: FakeClock, tmp_path: Path
) -> None:
    hook, smtp = WebhookStandIn().start(), SmtpStandIn().start()
    try:
        config = NotificationsConfig(
            webhook={"url": hook.hook_url, "min_interval": 0},
            email={
                "host": "127.0.0.1",
                "port": smtp.port,
                "starttls": False,
                "sender": "bot@example.com",
                "recipients": ["me@example.com"],
                "min_interval": 0,
            },
            daily_report=False,
        )
        notifier = _notifier(config, _db(tmp_path), clock)
        hook.stop()  # the webhook's server is down: connection refused
        notifier.bus.publish(
            "order.rejected",
            {
                "client_order_id": "rt-a-1",
                "side": "buy",
                "amount": 1.0,
                "symbol": "ETH/USDT",
                "reason": "insufficient balance",
            },
        )
        assert notifier.worker.step() == 1  # e-mail went, the webhook did not
        assert smtp.subjects == ["[real_trade] Rejected: BUY 1 ETH/USDT"]
        (row,) = notifier.outbox.rows("webhook")
        assert row.status == "pending" and "unreachable" in (row.last_error or "")
        hook.start()  # back on the same port
        clock.advance(5)
        assert notifier.worker.step() == 1
        (body,) = hook.received
        assert body["kind"] == "rejection" and body["title"] == "Rejected: BUY 1 ETH/USDT"
        assert body["body"] == "insufficient balance"
        notifier.stop()
    finally:
        hook.stop()
        smtp.stop()


def test_apprise_carries_the_long_tail(clock: FakeClock, tmp_path: Path) -> None:
    pytest.importorskip("apprise")
    hook = WebhookStandIn().start()
    try:
        url = f"json://127.0.0.1:{hook.port}/hook"
        config = NotificationsConfig(apprise=[url], daily_report=False)
        notifier = _notifier(config, _db(tmp_path), clock)
        notifier.bus.publish("killswitch.engaged", {"reason": "manual", "flatten": False})
        assert notifier.worker.step() == 1
        (body,) = hook.received
        assert body["title"] == "KILL SWITCH engaged"
        assert "manual" in body["message"]
        notifier.stop()
    finally:
        hook.stop()


class GatedChannel:
    """A channel whose every send waits until the test opens the gate (a hung service)."""

    name = "gated"
    min_interval = 0.0

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.messages: list[Message] = []

    def send(self, message: Message) -> None:
        self.entered.set()
        assert self.gate.wait(30), "the test never opened the gate"
        self.messages.append(message)


def test_a_hung_channel_never_holds_up_the_publisher_or_the_outbox(tmp_path: Path) -> None:
    channel = GatedChannel()
    bus = EventBus()
    config = NotificationsConfig(
        events={"fill": "on"},
        daily_report=False,
        cooldown=0,
        webhook={"url": "http://127.0.0.1:9/unused"},
    )
    notifier = Notifier(config, _db(tmp_path), bus=bus, channels=[channel]).start()
    try:
        bus.publish("fill", _fill(1))
        assert channel.entered.wait(10), "the worker is sending the first alert"
        for n in range(2, 52):  # the channel hangs: publishing and queueing go on
            bus.publish("fill", _fill(n))
        assert bus.flush(10), "every bus handler returned while the channel hangs"
        rows = notifier.outbox.rows("gated")
        assert len(rows) == 51 and all(r.status == "pending" for r in rows)
        channel.gate.set()
        eventually(
            lambda: all(r.status != "pending" for r in notifier.outbox.rows("gated")),
            timeout=20,
            message="everything delivered once the channel answers",
        )
    finally:
        channel.gate.set()
        notifier.stop()
    assert sum(m.count for m in channel.messages) == 51
    assert channel.messages[0].count == 1 and channel.messages[1].count == 50  # one digest


def test_the_daily_report_after_utc_midnight_counts_the_days_fills(
    telegram: TelegramStandIn, clock: FakeClock, tmp_path: Path
) -> None:
    day_ms = 86_400_000
    midnight = (T0_MS // day_ms + 1) * day_ms
    clock.wall_ms = midnight - 10_000  # 23:59:50 UTC
    db = _db(tmp_path)
    with Journal(db) as journal:
        for n in (1, 2):
            journal.record_fill(_fill_at(n, midnight - 3_600_000))
        journal.record_fill(_fill_at(3, midnight + 1_000))  # the next day: not counted
    notifier = _notifier(_config(telegram, daily_report=True), db, clock)
    notifier.worker.step()
    assert telegram.received == []
    clock.advance(20)  # 00:00:10 UTC
    notifier.worker.step()
    (report,) = telegram.texts
    day = time.strftime("%Y-%m-%d", time.gmtime((midnight - 1) / 1000))
    assert report.startswith(f"Daily report {day}\n{day} (UTC): 0 order(s) sent, 2 fill(s)")
    assert telegram.received[0]["disable_notification"] is True  # silent by default
    clock.advance(3600)
    notifier.worker.step()
    assert len(telegram.received) == 1  # once a day
    notifier.stop()


def test_two_runs_sharing_a_journal_each_deliver_only_their_own_alerts(
    telegram: TelegramStandIn, clock: FakeClock, tmp_path: Path
) -> None:
    bus = EventBus(synchronous=True)
    first = _notifier(_config(telegram), _db(tmp_path), clock, bus=bus, strategy="a")
    second = _notifier(_config(telegram), _db(tmp_path), clock, bus=bus, strategy="b")
    bus.publish("fill", _fill(1, strategy="a"))
    bus.publish("fill", _fill(2, strategy="b"))
    assert [r.strategy for r in first.outbox.rows()] == ["a", "b"]  # one row each, no copies
    for _ in range(3):
        first.worker.step()
        clock.advance(1.0)
    assert [m["text"].split("@ ")[1].split()[0] for m in telegram.received] == ["101"]
    second.worker.step()
    assert [m["text"].split("@ ")[1].split()[0] for m in telegram.received] == ["101", "102"]
    first.stop()
    second.stop()


def test_a_webhooks_retry_after_header_is_honoured(clock: FakeClock, tmp_path: Path) -> None:
    hook = WebhookStandIn().start()
    try:
        config = NotificationsConfig(
            webhook={"url": hook.hook_url, "min_interval": 0}, daily_report=False
        )
        notifier = _notifier(config, _db(tmp_path), clock)
        hook.rate_limit(1, retry_after=4)
        notifier.bus.publish("killswitch.engaged", {"reason": "test"})
        tries = []
        for _ in range(10):  # 5 s in half seconds
            tries.append((clock.seconds - 1000.0, notifier.worker.step(), hook.attempts))
            clock.advance(0.5)
        notifier.stop()
    finally:
        hook.stop()
    assert [t for t, sent, _ in tries if sent] == [4.0]
    assert [(t, n) for t, _, n in tries][:2] == [(0.0, 1), (0.5, 1)]  # no retry before 4 s
    assert len(hook.received) == 1 and hook.attempts == 2


def test_delivery_outcomes_reach_the_bus_and_the_prometheus_alert_counter(
    telegram: TelegramStandIn, clock: FakeClock, tmp_path: Path
) -> None:
    from real_trade.monitor.prometheus import MetricsExporter

    bus = EventBus(synchronous=True)
    exporter = MetricsExporter().attach(bus)
    outcomes: list[tuple[str, Any]] = []
    bus.subscribe("notification.**", lambda topic, event: outcomes.append((topic, event)))
    notifier = _notifier(_config(telegram, cooldown=60), _db(tmp_path), clock, bus=bus)
    stale = {
        "symbol": "BTC/USDT",
        "timeframe": "1m",
        "seconds_since_bar": 100.0,
        "stale_after": 100.0,
    }
    for _ in range(3):
        bus.publish("feed.stale", stale)
    notifier.worker.step()
    assert len(telegram.received) == 1
    assert [(t, e["channel"], e["alerts"]) for t, e in outcomes] == [
        ("notification.dropped", "telegram", 2),
        ("notification.sent", "telegram", 1),
    ]

    def alerts(result: str) -> float | None:
        return exporter.registry.get_sample_value(
            "realtrade_alerts_total", {"channel": "telegram", "result": result}
        )

    assert (alerts("sent"), alerts("dropped")) == (1.0, 2.0)  # alerts, not messages
    notifier.stop()
    exporter.detach()
