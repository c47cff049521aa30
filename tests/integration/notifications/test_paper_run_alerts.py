"""End to end: a paper run against the simulator trades, and its alerts reach every stand-in
(Telegram Bot API, webhook, SMTP) through the outbox in the run's journal database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from real_trade.bus import EventBus
from real_trade.config import RealTradeConfig
from real_trade.engine import TradingRunner
from real_trade.notifications.outbox import Outbox
from real_trade.sim import SimExchange
from real_trade.strategies import SmaCross
from tests.integration.engine.runner_support import CrashOnFirstLiveBar
from tests.integration.notifications.standins import (
    TOKEN,
    SmtpStandIn,
    TelegramStandIn,
    WebhookStandIn,
)
from tests.support import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
def fast_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimExchange]:
    for name in ("RT_SIM_URL", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with SimExchange(speed=240.0, seed=11) as sim:
        yield sim


def test_a_paper_run_that_trades_sends_its_fills_to_telegram_webhook_and_email(
    fast_sim: SimExchange, tmp_path: Path
) -> None:
    telegram, hook, smtp = (
        TelegramStandIn().start(),
        WebhookStandIn().start(),
        SmtpStandIn().start(),
    )
    db = f"sqlite:///{tmp_path / 'journal.db'}"
    config = RealTradeConfig(
        exchange="binance",
        symbol="BTC/USDT",
        timeframe="1m",
        paper_trading=True,
        sim_url=fast_sim.url,
        journal={"url": db},
        run={"name": "sma-alerts", "history_bars": 8},
        notifications={
            "events": {"fill": "on"},
            "telegram": {"bot_token": TOKEN, "chat_id": "42", "base_url": telegram.url},
            "webhook": {"url": hook.hook_url},
            "email": {
                "host": "127.0.0.1",
                "port": smtp.port,
                "starttls": False,
                "sender": "bot@example.com",
                "recipients": ["me@example.com"],
                "min_interval": 0.5,
            },
        },
    )
    runner = TradingRunner.from_config(
        config,
        SmaCross,
        strategy_params={"fast": 2, "slow": 4, "size": 0.01},
        bus=EventBus(),
        feed_options={"qcheck": 0.05},
    )
    runner.start()
    try:
        eventually(
            lambda: "Fill: " in "\n".join(telegram.texts),
            timeout=45,
            message="a fill alert reached the Telegram stand-in",
        )
        eventually(
            lambda: any("Fill: " in b["text"] for b in hook.received),
            timeout=20,
            message="a fill alert reached the webhook",
        )
        eventually(
            lambda: any("Fill: " in str(m) for m in smtp.mailbox.messages),
            timeout=20,
            message="a fill alert reached the SMTP server",
        )
        assert runner.journal.fills(), "the run traded"
    finally:
        done = threading.Event()
        stopper = threading.Thread(target=lambda: runner.stop(timeout=30) and done.set())
        stopper.start()
        stopper.join(40)
        telegram.stop()
        hook.stop()
        smtp.stop()
    assert done.is_set() and runner.last_error is None
    assert telegram.received[0]["chat_id"] == "42"
    outbox = Outbox(db)
    try:
        rows = outbox.rows("telegram")
        assert {r.kind for r in rows} >= {"fill"}
        assert all(r.strategy == "sma-alerts" for r in rows)
    finally:
        outbox.close()


def test_a_run_that_crashes_sends_the_error(fast_sim: SimExchange, tmp_path: Path) -> None:
    hook = WebhookStandIn().start()
    db = f"sqlite:///{tmp_path / 'journal.db'}"
    config = RealTradeConfig(
        exchange="binance",
        symbol="BTC/USDT",
        timeframe="1m",
        paper_trading=True,
        sim_url=fast_sim.url,
        journal={"url": db},
        run={"name": "crashy", "history_bars": 8},
        notifications={"webhook": {"url": hook.hook_url, "min_interval": 0}},
    )
    CrashOnFirstLiveBar.runs = 0
    runner = TradingRunner.from_config(
        config,
        CrashOnFirstLiveBar,
        bus=EventBus(),
        feed_options={"qcheck": 0.05},
    )
    try:
        with pytest.raises(ZeroDivisionError):
            runner.run(handle_signals=False)
        titles = [b["title"] for b in hook.received]
    finally:
        hook.stop()
    assert "crashy stopped after an error" in titles, titles
    (crash,) = [b for b in hook.received if b["title"] == "crashy stopped after an error"]
    assert crash["body"] == "ZeroDivisionError: a bug in the strategy" and crash["kind"] == "error"
