"""The ``[notifications]`` section: channels, levels, secrets masked, errors naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from real_trade.bus import EventBus, topic_matches
from real_trade.config import RealTradeConfig
from real_trade.errors import ConfigError
from real_trade.notifications import DEFAULT_LEVELS, NotificationsConfig, Notifier, alert_for
from real_trade.notifications.events import TOPIC_KINDS, TOPICS
from real_trade.utils.logger import mask_secrets


def test_a_toml_file_and_the_environment_set_the_channels_and_levels(tmp_path: Path) -> None:
    path = tmp_path / "bot.toml"
    path.write_text(
        '[notifications]\ncooldown = 60\n[notifications.events]\nfill = "off"\n'
        '[notifications.telegram]\nbot_token = "42:file-token"\nchat_id = "-100"\n'
    )
    env = {"RT_NOTIFICATIONS__TELEGRAM__BOT_TOKEN": "42:env-token-abc"}
    config = RealTradeConfig.load(path, env=env).notifications
    assert config.configured and config.channel_names == ["telegram"]
    assert config.telegram is not None
    assert config.telegram.bot_token.get_secret_value() == "42:env-token-abc"
    assert (config.level("fill"), config.level("kill_switch"), config.cooldown) == ("off", "on", 60)
    assert "env-token-abc" not in repr(config) + str(RealTradeConfig.load(path, env=env).to_dict())


def test_no_channel_means_not_configured() -> None:
    assert not RealTradeConfig().notifications.configured
    assert not NotificationsConfig(enabled=False, webhook={"url": "https://h/x"}).configured


def test_an_unknown_event_or_level_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"notifications\.events.*unknown event kind.*fils"):
        RealTradeConfig(notifications={"events": {"fils": "on"}})
    with pytest.raises(ConfigError, match=r"notifications\.events\.fill"):
        RealTradeConfig(notifications={"events": {"fill": "loud"}})


def test_secrets_are_registered_with_the_log_mask() -> None:
    config = NotificationsConfig(
        email={
            "host": "smtp.example.com",
            "sender": "a@example.com",
            "recipients": ["b@example.com"],
            "password": "smtp-pass-123",
        },
        apprise=["discord://111/apprise-secret-xyz"],
    )
    line = mask_secrets("leak? smtp-pass-123 discord://111/apprise-secret-xyz")
    assert "smtp-pass-123" not in line and "apprise-secret-xyz" not in line
    assert "smtp-pass-123" not in repr(config) and "apprise-secret-xyz" not in repr(config)


def test_every_default_level_kind_is_a_kind_alert_for_can_produce() -> None:
    produced = {
        alert_for(topic, event).kind  # type: ignore[union-attr]
        for topic, event in [
            ("fill", {"side": "buy", "amount": 1, "symbol": "X/Y", "price": 1, "trade_id": "t"}),
            ("order.rejected", {"client_order_id": "c", "reason": "no"}),
            ("order.canceled", {"client_order_id": "c", "reason": "lost: never seen"}),
            ("risk.decision", {"allowed": False, "rule": "max_order_amount"}),
            ("risk.decision", {"allowed": False, "rule": "circuit_breaker"}),
            ("killswitch.engaged", {"reason": "x"}),
            ("feed.stale", {"symbol": "X/Y", "seconds_since_bar": 1, "stale_after": 1}),
            ("feed.reconnect", {"symbol": "X/Y", "reason": "stale"}),
            ("reconcile.balance_mismatch", {"message": "m"}),
            ("report.daily", "the day"),
            ("log.error", {"logger": "real_trade.x", "message": "boom"}),
        ]
    }
    assert produced | {"dead_man"} == set(DEFAULT_LEVELS)
    assert alert_for("order.rejected", {"client_order_id": "", "reason": "risk"}) is None
    assert alert_for("risk.decision", {"allowed": True}) is None


def test_topic_kinds_name_every_kind_each_topic_can_make() -> None:
    assert set(TOPIC_KINDS) == set(TOPICS)
    cases = [
        ("fill", {"side": "buy", "amount": 1, "symbol": "X/Y", "price": 1, "trade_id": "t"}),
        ("order.rejected", {"client_order_id": "c", "reason": "no"}),
        ("order.margin", {"client_order_id": "c", "reason": "margin"}),
        ("order.canceled", {"client_order_id": "c", "reason": "lost: never seen"}),
        ("risk.decision", {"allowed": False, "rule": "max_order_amount"}),
        ("risk.decision", {"allowed": False, "rule": "circuit_breaker"}),
        ("risk.breaker", {"state": "open", "reason": "r"}),
        ("risk.breaker", {"state": "closed", "reason": "r"}),
        ("killswitch.engaged", {"reason": "x"}),
        ("killswitch.halted", {"reason": "x"}),
        ("feed.stale", {"symbol": "X/Y", "seconds_since_bar": 1, "stale_after": 1}),
        ("feed.reconnect", {"symbol": "X/Y", "reason": "stale"}),
        ("reconcile.balance_mismatch", {"message": "m"}),
        ("reconcile.intent_lost", {"message": "m", "client_order_id": "c"}),
        ("report.daily", "the day"),
        ("log.error", {"logger": "real_trade.x", "message": "boom"}),
    ]
    for topic, event in cases:
        (pattern,) = [p for p in TOPICS if topic_matches(p, topic)]
        alert = alert_for(topic, event)
        assert alert is not None and alert.kind in TOPIC_KINDS[pattern], (topic, alert)


def test_the_notifier_does_not_hear_topics_whose_kinds_are_all_off(tmp_path: Path) -> None:
    config = NotificationsConfig(
        webhook={"url": "http://127.0.0.1:9/hook"},
        events={"fill": "off", "risk_denial": "off", "breaker": "on"},
    )
    bus = EventBus(synchronous=True)
    notifier = Notifier(config, f"sqlite:///{tmp_path / 'j.db'}", bus=bus, start_thread=False)
    notifier.start()
    try:
        heard = {sub.pattern for sub in bus._subs}
        assert "fill" not in heard and "risk.decision" in heard  # a breaker refusal still alerts
        bus.publish("fill", {"side": "buy", "amount": 1, "symbol": "X/Y", "price": 1})
        assert notifier.outbox.rows() == []
    finally:
        notifier.stop()
