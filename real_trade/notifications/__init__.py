"""Alerts that arrive and never block trading: outbox, delivery worker, channels.

The trading path never calls this package: a :class:`Notifier` subscribes to the bus (fills,
rejections, risk denials, kill switch, breaker, feed stale/reconnect, lost orders, reconcile
findings, daily report, errors), writes each alert as a row of the journal database's outbox,
and a :class:`DeliveryWorker` thread sends the rows to Telegram, a webhook, e-mail or Apprise
with per-channel rate limits, Retry-After and backoff, de-duplication, digests and a dead-man
alert. ``[notifications]`` in the config (:class:`NotificationsConfig`) sets it up; see
``docs/notifications.md``.

Names resolve lazily (``real_trade.config`` imports the config section from here, and the rest
of the package imports the journal, which imports the config).
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from real_trade.notifications.channels import (
        AppriseChannel,
        Channel,
        EmailChannel,
        Message,
        TelegramChannel,
        WebhookChannel,
        build_channels,
    )
    from real_trade.notifications.config import (
        DEFAULT_LEVELS,
        EVENT_KINDS,
        EmailChannelConfig,
        NotificationsConfig,
        TelegramChannelConfig,
        WebhookChannelConfig,
    )
    from real_trade.notifications.events import TOPICS, Alert, alert_for
    from real_trade.notifications.notifier import ErrorLogPublisher, Notifier
    from real_trade.notifications.outbox import Outbox, OutboxRow
    from real_trade.notifications.worker import CRITICAL_KINDS, DeliveryWorker

__all__ = [
    "CRITICAL_KINDS",
    "DEFAULT_LEVELS",
    "EVENT_KINDS",
    "TOPICS",
    "Alert",
    "AppriseChannel",
    "Channel",
    "DeliveryWorker",
    "EmailChannel",
    "EmailChannelConfig",
    "ErrorLogPublisher",
    "Message",
    "NotificationsConfig",
    "Notifier",
    "Outbox",
    "OutboxRow",
    "TelegramChannel",
    "TelegramChannelConfig",
    "WebhookChannel",
    "WebhookChannelConfig",
    "alert_for",
    "build_channels",
]

_WHERE = {
    **dict.fromkeys(
        (
            "AppriseChannel",
            "Channel",
            "EmailChannel",
            "Message",
            "TelegramChannel",
            "WebhookChannel",
            "build_channels",
        ),
        "channels",
    ),
    **dict.fromkeys(
        (
            "DEFAULT_LEVELS",
            "EVENT_KINDS",
            "EmailChannelConfig",
            "NotificationsConfig",
            "TelegramChannelConfig",
            "WebhookChannelConfig",
        ),
        "config",
    ),
    **dict.fromkeys(("TOPICS", "Alert", "alert_for"), "events"),
    **dict.fromkeys(("ErrorLogPublisher", "Notifier"), "notifier"),
    **dict.fromkeys(("Outbox", "OutboxRow"), "outbox"),
    **dict.fromkeys(("CRITICAL_KINDS", "DeliveryWorker"), "worker"),
}


def __getattr__(name: str) -> _typing.Any:
    """Import a public name from its module on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'real_trade.notifications' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f"real_trade.notifications.{module}"), name)
    globals()[name] = value
    return value
