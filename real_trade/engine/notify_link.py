"""The runner's link to :mod:`real_trade.notifications`: started when ``[notifications]`` is
configured, stopped (after a crash alert, if any) when the run ends.

The notifier keeps its outbox in the run's journal database, so it needs a journal: without
one the run says so in the log and trades without alerts.
"""

from __future__ import annotations

import logging
from typing import Any

from real_trade.bus import EventBus
from real_trade.config import RealTradeConfig
from real_trade.engine.control import heartbeat_key
from real_trade.errors import redact

__all__ = ["start_notifier", "stop_notifier"]

_log = logging.getLogger("real_trade.engine")


def _journal_url(spec: Any) -> str | None:
    if spec is None or spec is False:
        return None
    if isinstance(spec, str):
        return spec
    url = getattr(spec, "url", None)
    if url is None:
        return None
    render = getattr(url, "render_as_string", None)
    return render(hide_password=False) if callable(render) else str(url)


def start_notifier(config: RealTradeConfig, journal: Any, bus: EventBus, name: str) -> Any:
    """Start the notifier of a run when ``config.notifications`` is configured (else None)."""
    section = config.notifications
    if not section.configured:
        return None
    url = _journal_url(journal)
    if url is None:
        _log.warning("%s: [notifications] needs a journal for its outbox; no alerts", name)
        return None
    from real_trade.notifications import Notifier

    return Notifier(section, url, bus=bus, strategy=name, heartbeat_key=heartbeat_key(name)).start()


def stop_notifier(notifier: Any, name: str, error: BaseException | None) -> None:
    """Queue a crash alert when the run ended with ``error``, then stop the notifier."""
    if error is not None and not isinstance(error, KeyboardInterrupt):
        from real_trade.notifications import Alert

        text = redact(f"{type(error).__name__}: {error}")
        notifier.raise_alert(
            Alert(
                "error",
                f"{name} stopped after an error",
                text,
                f"crash:{name}:{type(error).__name__}",
                name,
            )
        )
    notifier.stop()
