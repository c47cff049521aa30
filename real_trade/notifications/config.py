"""The ``[notifications]`` config section: channels, per-event levels, pacing and the dead man.

Example (TOML)::

    [notifications]
    cooldown = 300            # the same alert again within 5 minutes is suppressed
    digest_threshold = 5      # more pending alerts than this on a channel go out as one digest
    dead_man_after = 120      # no runner heartbeat for 2 minutes: alert

    [notifications.events]    # on | silent | off, per event
    fill = "silent"
    feed_reconnect = "off"

    [notifications.telegram]
    bot_token = "123456:ABC..."     # a secret: masked in every repr, log and error
    chat_id = "-1001234567"

    [notifications.webhook]
    url = "https://hooks.example.com/real-trade"

    [notifications.email]
    host = "smtp.example.com"
    port = 587
    username = "bot@example.com"
    password = "..."
    sender = "bot@example.com"
    recipients = ["me@example.com"]

    [notifications]
    apprise = ["discord://webhook_id/webhook_token"]   # the long tail (pip install apprise)

The section is *configured* when at least one channel is; ``real-trade run`` then starts the
notifier. Secrets (bot token, SMTP password, webhook URL, Apprise URLs) are ``SecretStr``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_serializer, field_validator

from real_trade.config.section import ConfigSection
from real_trade.utils.logger import register_secret

__all__ = [
    "DEFAULT_LEVELS",
    "EVENT_KINDS",
    "EmailChannelConfig",
    "Level",
    "NotificationsConfig",
    "TelegramChannelConfig",
    "WebhookChannelConfig",
]

Level = Literal["on", "silent", "off"]
"""``on``: sent with sound; ``silent``: sent quietly (Telegram ``disable_notification``);
``off``: not sent at all."""

DEFAULT_LEVELS: dict[str, Level] = {
    "fill": "silent",
    "rejection": "on",
    "risk_denial": "on",
    "kill_switch": "on",
    "breaker": "on",
    "feed_stale": "on",
    "feed_reconnect": "silent",
    "lost_order": "on",
    "reconcile": "on",
    "daily_report": "silent",
    "error": "on",
    "dead_man": "on",
}
"""The level of each event kind unless ``[notifications.events]`` says otherwise."""

EVENT_KINDS: tuple[str, ...] = tuple(DEFAULT_LEVELS)
"""Every event kind the notifier knows."""


class TelegramChannelConfig(ConfigSection):
    """Telegram Bot API: ``bot_token`` (secret), ``chat_id``, ``base_url`` (a stand-in in
    tests), ``min_interval`` seconds between two messages (Telegram allows ~1/s per chat)."""

    _section_path: ClassVar[str] = "notifications.telegram"

    bot_token: SecretStr
    chat_id: str
    base_url: str = "https://api.telegram.org"
    min_interval: float = Field(default=1.0, ge=0)
    timeout: float = Field(default=10.0, gt=0)


class WebhookChannelConfig(ConfigSection):
    """A generic webhook: every alert is POSTed as JSON to ``url`` (secret: it often holds a
    token); ``min_interval`` seconds between two posts; ``headers`` added to each request
    (their values are secret too: an ``Authorization`` header is a credential, so they are
    registered with the log mask and shown masked by ``to_dict``)."""

    _section_path: ClassVar[str] = "notifications.webhook"

    url: SecretStr
    headers: dict[str, str] = Field(default_factory=dict)
    min_interval: float = Field(default=0.2, ge=0)
    timeout: float = Field(default=10.0, gt=0)

    @field_validator("headers")
    @classmethod
    def _mask_header_values(cls, value: dict[str, str]) -> dict[str, str]:
        for item in value.values():
            if item:
                register_secret(item)
        return value

    @field_serializer("headers", when_used="json")
    def _masked_headers(self, value: dict[str, str]) -> dict[str, str]:
        return {name: "**********" for name in value}


class EmailChannelConfig(ConfigSection):
    """E-mail over SMTP: ``host``/``port``, ``starttls`` or ``ssl``, optional login
    (``password`` is secret), ``sender`` and ``recipients``; ``min_interval`` between mails."""

    _section_path: ClassVar[str] = "notifications.email"

    host: str
    port: int = 587
    username: str | None = None
    password: SecretStr | None = None
    sender: str
    recipients: list[str]
    starttls: bool = True
    ssl: bool = False
    min_interval: float = Field(default=5.0, ge=0)
    timeout: float = Field(default=20.0, gt=0)

    @field_validator("recipients")
    @classmethod
    def _check_recipients(cls, value: list[str]) -> list[str]:
        if not value or not all("@" in r for r in value):
            raise ValueError("must list at least one e-mail address, e.g. ['me@example.com']")
        return value


class NotificationsConfig(ConfigSection):
    """Where alerts go and which ones (see the module docstring for a full example).

    ``events`` overrides :data:`DEFAULT_LEVELS` per kind; ``cooldown`` (s) suppresses the same
    alert (same kind and subject) repeated within it; more than ``digest_threshold`` alerts
    pending on one channel go out as one digest; ``dead_man_after`` (s, 0: off) alerts when the
    runner's heartbeat is older; ``daily_report`` sends a summary after each UTC midnight;
    ``max_backoff`` caps the wait between two attempts on a channel that is down;
    ``retention_days`` how long delivered rows stay in the outbox (pending ones stay until sent).
    """

    _section_path: ClassVar[str] = "notifications"

    enabled: bool = True
    events: dict[str, Level] = Field(default_factory=dict)
    cooldown: float = Field(default=300.0, ge=0)
    digest_threshold: int = Field(default=5, ge=1)
    dead_man_after: float = Field(default=120.0, ge=0)
    daily_report: bool = True
    max_backoff: float = Field(default=300.0, gt=0)
    retention_days: float = Field(default=30.0, gt=0)
    telegram: TelegramChannelConfig | None = None
    webhook: WebhookChannelConfig | None = None
    email: EmailChannelConfig | None = None
    apprise: list[SecretStr] = Field(default_factory=list)

    @field_validator("events")
    @classmethod
    def _check_events(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(EVENT_KINDS))
        if unknown:
            raise ValueError(
                f"unknown event kind(s) {', '.join(unknown)}; known: {', '.join(EVENT_KINDS)}"
            )
        return value

    @field_validator("apprise")
    @classmethod
    def _register_apprise(cls, value: list[SecretStr]) -> list[SecretStr]:
        for url in value:
            register_secret(url.get_secret_value())
        return value

    @property
    def configured(self) -> bool:
        """Whether notifications are enabled and at least one channel is set up."""
        return self.enabled and bool(self.channel_names)

    @property
    def channel_names(self) -> list[str]:
        """The names of the configured channels, in delivery order."""
        names = [n for n in ("telegram", "webhook", "email") if getattr(self, n) is not None]
        return names + (["apprise"] if self.apprise else [])

    def level(self, kind: str) -> Level:
        """The level of event ``kind`` (``off`` for a kind nobody knows)."""
        return self.events.get(kind, DEFAULT_LEVELS.get(kind, "off"))
