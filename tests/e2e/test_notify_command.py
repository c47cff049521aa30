"""``real-trade notify``: ``--test`` checks each channel; the watcher process sends the dead-man
alert when the runner's heartbeat stopped, then what the dead runner left in the outbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from real_trade.engine.control import heartbeat_key
from real_trade.notifications import Alert, Outbox
from real_trade.persistence import Journal
from tests.integration.notifications.standins import TelegramStandIn, WebhookStandIn
from tests.support import eventually


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bot.toml"
    db = tmp_path / "journal.db"
    path.write_text(f'symbol = "BTC/USDT"\n[journal]\nurl = "sqlite:///{db}"\n{body}')
    return path


def test_notify_test_reports_each_channel(tmp_path: Path) -> None:
    hook, telegram = WebhookStandIn().start(), TelegramStandIn().start()
    try:
        config = _config(
            tmp_path,
            f"""
[notifications.webhook]
url = "{hook.hook_url}"
[notifications.telegram]
bot_token = "1:wrong-token-xyz"
chat_id = "7"
base_url = "{telegram.url}"
""",
        )
        out = subprocess.run(
            [sys.executable, "-m", "real_trade.cli", "notify", str(config), "--test"],
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(),
        )
    finally:
        hook.stop()
        telegram.stop()
    assert out.returncode == 1, out.stdout + out.stderr
    assert "webhook   ok" in out.stdout
    assert "telegram  FAILED" in out.stdout and "401" in out.stdout
    assert "wrong-token-xyz" not in out.stdout + out.stderr
    assert [b["title"] for b in hook.received] == ["real_trade test message"]


def test_the_watcher_raises_the_dead_man_and_delivers_what_the_dead_runner_left(
    tmp_path: Path,
) -> None:
    hook = WebhookStandIn().start()
    config = _config(
        tmp_path,
        f"""
[run]
name = "sma"
[notifications]
dead_man_after = 30
[notifications.webhook]
url = "{hook.hook_url}"
min_interval = 0
""",
    )
    db = f"sqlite:///{tmp_path / 'journal.db'}"
    stale_ms = time.time_ns() // 1_000_000 - 120_000  # the runner died two minutes ago
    with Journal(db) as journal:
        journal.set_state(
            heartbeat_key("sma"),
            {"pid": 1, "time_ms": stale_ms, "strategy": "sma", "state": "running"},
        )
    outbox = Outbox(db)  # the runner wrote an alert its channel never got before it died
    outbox.enqueue(
        Alert(
            "lost_order",
            "Lost order rt-sma-7",
            "never reached the exchange",
            "lost:rt-sma-7",
            "sma",
        ),
        "on",
        ["webhook"],
        stale_ms,
    )
    outbox.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "real_trade.cli", "notify", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )
    try:
        eventually(
            lambda: len(hook.received) >= 2,
            timeout=30,
            message="the dead-man alert and the leftover reached the webhook",
        )
        titles = [b["title"] for b in hook.received]
        assert titles[0] == "Lost order rt-sma-7" or titles[1] == "Lost order rt-sma-7"
        assert any(t.startswith("DEAD MAN: sma has been silent for 12") for t in titles), titles
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
        hook.stop()
    assert proc.returncode == 0, output
    assert "watching heartbeat 'runner_heartbeat:sma'" in output


@pytest.mark.parametrize("body", ["", "[notifications]\ncooldown = 10\n"])
def test_notify_without_a_channel_says_so(tmp_path: Path, body: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "real_trade.cli", "notify", str(_config(tmp_path, body))],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )
    assert out.returncode == 2 and "configures no channel" in out.stderr
