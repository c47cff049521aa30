"""``Notifier``: the bus subscriptions, the outbox and the delivery worker of one run.

``Notifier(config, journal_url, bus=bus, strategy="sma").start()`` subscribes to the topics of
:mod:`real_trade.notifications.events` (only those that can make an alert whose level is not
``off``); each handler (on the bus's dispatcher thread, never the
trading thread) turns the event into an alert and, unless its level is ``off``, writes one
outbox row per channel. ERROR log lines of ``real_trade`` loggers reach the bus as ``log.error``
events through a logging handler that only publishes. The worker thread delivers (see
:mod:`real_trade.notifications.worker`). :meth:`Notifier.stop` unsubscribes, tries a few
seconds to send what is due, and leaves the rest in the outbox for the next start.

``clock``/``now_ms``/``rng`` are injected into the worker; ``channels`` replaces the channels
the config builds (a test's instrumented channel); ``start_thread=False`` leaves delivery to
explicit :meth:`DeliveryWorker.step` calls; ``standby`` makes the worker a watcher that
delivers only while the runner is not alive (``real-trade notify``).
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from real_trade.bus import EventBus, Subscription
from real_trade.errors import redact
from real_trade.notifications.channels import Channel, build_channels
from real_trade.notifications.config import NotificationsConfig
from real_trade.notifications.events import ERROR_TOPIC, TOPIC_KINDS, TOPICS, Alert, alert_for
from real_trade.notifications.outbox import Outbox
from real_trade.notifications.worker import DeliveryWorker

__all__ = ["ErrorLogPublisher", "Notifier"]

_log = logging.getLogger("real_trade.notifications")
_QUIET_LOGGERS = ("real_trade.notifications", "real_trade.bus")


class ErrorLogPublisher(logging.Handler):
    """A logging handler publishing ERROR records of ``real_trade`` loggers as ``log.error``
    bus events (masked); never the notifier's or the bus's own, which would loop."""

    def __init__(self, bus: EventBus, strategy: str = "") -> None:
        """Publish on ``bus``; the events carry ``strategy``."""
        super().__init__(logging.ERROR)
        self.bus, self.strategy = bus, strategy

    def emit(self, record: logging.LogRecord) -> None:
        """Publish the record's masked message; never raises."""
        if record.name.startswith(_QUIET_LOGGERS):
            return
        try:
            message = redact(record.getMessage())
            self.bus.publish(
                ERROR_TOPIC, {"logger": record.name, "message": message, "strategy": self.strategy}
            )
        except Exception:  # a closed bus, a bad format string: never break the logger
            return


class Notifier:
    """Alerts of one run: subscriptions, outbox and worker (see the module docstring)."""

    def __init__(
        self,
        config: NotificationsConfig,
        journal_url: str,
        *,
        bus: EventBus,
        strategy: str = "",
        heartbeat_key: str | None = None,
        channels: Sequence[Channel] | None = None,
        clock: Callable[[], float] = time.monotonic,
        now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        rng: random.Random | None = None,
        start_thread: bool = True,
        standby: bool = False,
    ) -> None:
        """Build the channels and open the outbox (no subscription or thread yet)."""
        self.config, self.bus, self.strategy = config, bus, strategy
        self.now_ms = now_ms
        self.channels = list(channels) if channels is not None else build_channels(config)
        self.channel_names = [c.name for c in self.channels]
        self.outbox = Outbox(journal_url)
        self.worker = DeliveryWorker(
            self.outbox,
            self.channels,
            config,
            alert=self.raise_alert,
            heartbeat_key=heartbeat_key,
            clock=clock,
            now_ms=now_ms,
            rng=rng,
            standby=standby,
            strategy=strategy or None,
            on_result=self._published_result,
        )
        self.start_thread = start_thread
        self.enqueued = 0
        self._subs: list[Subscription] = []
        self._log_handler: ErrorLogPublisher | None = None

    def _published_result(self, channel: str, result: str, alerts: int) -> None:
        """A delivery outcome on the bus (``notification.sent|failed|dropped``), for metrics."""
        self.bus.publish(
            f"notification.{result}", {"channel": channel, "result": result, "alerts": alerts}
        )

    def __repr__(self) -> str:
        """The channels and strategy; never a secret."""
        return f"Notifier(channels={self.channel_names!r}, strategy={self.strategy!r})"

    def start(self) -> Notifier:
        """Subscribe, hook the ERROR log lines, start the worker thread; return self."""
        for pattern in TOPICS:
            if any(self.config.level(kind) != "off" for kind in TOPIC_KINDS[pattern]):
                self._subs.append(self.bus.subscribe(pattern, self._on_event))
        self._log_handler = ErrorLogPublisher(self.bus, self.strategy)
        logging.getLogger("real_trade").addHandler(self._log_handler)
        if self.start_thread:
            self.worker.start()
        _log.info("notifications on: %s", ", ".join(self.channel_names) or "no channel")
        return self

    def _on_event(self, topic: str, event: Any) -> None:
        alert = alert_for(topic, event)
        if alert is None:
            return
        if self.strategy and alert.strategy and alert.strategy != self.strategy:
            return  # another run of this process: its own notifier tells about it
        self.raise_alert(alert)

    def raise_alert(self, alert: Alert) -> None:
        """Queue ``alert`` for every channel unless its level is ``off`` (thread-safe)."""
        level = self.config.level(alert.kind)
        if level == "off":
            return
        if not alert.strategy and self.strategy:
            alert = Alert(alert.kind, alert.title, alert.body, alert.dedup_key, self.strategy)
        self.enqueued += self.outbox.enqueue(alert, level, self.channel_names, self.now_ms())
        self.worker.wake()

    def stop(self, grace: float = 5.0) -> None:
        """Flush the bus, unsubscribe, try ``grace`` s to send what is due, stop the worker,
        close the outbox (what is left waits there for the next start)."""
        with contextlib.suppress(RuntimeError):  # closed, or called from a bus handler
            self.bus.flush(10.0)
        for sub in self._subs:
            sub.unsubscribe()
        self._subs.clear()
        if self._log_handler is not None:
            logging.getLogger("real_trade").removeHandler(self._log_handler)
            self._log_handler = None
        self.worker.stop(grace if self.start_thread else 0.0)
        self.outbox.close()
