"""The control API's push channel: server-sent events read from the journal.

Any process can serve it (the journal is the bus between processes): :class:`JournalFeed`
polls the journal and turns what is new into events. ``fill`` (one per new fill), ``order``
(the open orders, when they change), ``risk`` (risk rejections, kill-switch steps, trading-state
changes, a runner's breaker changing), ``feed`` (a runner's feed health changing), ``action``
(the API's actions and the runners' answers to commands) and ``status`` (every runner's status,
when it changes). :func:`sse_frame` formats one event for the wire.
"""

from __future__ import annotations

import json
import time
from typing import Any

from real_trade.api.reads import JournalView, fill_model

__all__ = ["FILL_LOOKBACK_MS", "JournalFeed", "event_topic", "sse_frame"]

FILL_LOOKBACK_MS = 600_000
"""How far before the newest fill seen the push channel looks for fills journaled late."""


def sse_frame(event: str, data: Any, ident: int | None = None) -> bytes:
    """One server-sent event: ``event``, an optional ``id`` and ``data`` as one JSON line."""
    head = f"id: {ident}\n" if ident is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode()


def event_topic(kind: str) -> str | None:
    """The push topic of a journal event kind, or None when it is not pushed."""
    if kind.startswith(("risk.", "killswitch.")) or kind == "trading_state":
        return "risk"
    if kind == "api.action" or kind.startswith("control."):
        return "action"
    if kind.startswith("reconcile."):
        return "risk"
    return None


class JournalFeed:
    """What is new in the journal since the last :meth:`poll` (module docstring).

    Starts at ``since_ms`` (default: now): older rows are the REST endpoints' to show. Events
    and fills are looked up from :data:`FILL_LOOKBACK_MS` before the newest one seen (a row may
    be journaled a little after its time), events told apart by id, fills by (strategy, symbol,
    trade id); each poll reads a bounded window, however long the stream lives.
    """

    def __init__(self, view: JournalView, since_ms: int | None = None) -> None:
        """Follow ``view``'s journal from ``since_ms``."""
        self.view = view
        self.since_ms = time.time_ns() // 1_000_000 if since_ms is None else since_ms
        window = self.since_ms - FILL_LOOKBACK_MS
        self._event_id = max(
            (e.id for e in view.events(0, window) if e.time_ms < self.since_ms), default=0
        )
        self._event_ms = self.since_ms
        self._fill_ms = self.since_ms
        self._fills: dict[tuple[str, str, str], int] = {
            (f.strategy, f.symbol, f.trade_id): f.time_ms
            for f in view.fills_since(window)
            if f.time_ms < self.since_ms
        }
        self._orders: str | None = None
        self._runners: dict[str, tuple[Any, ...]] = {}
        self._status: str | None = None

    def poll(self) -> list[tuple[str, Any]]:
        """The new events as (topic, data), oldest first (blocking: call it on a thread)."""
        out: list[tuple[str, Any]] = []
        for event in self.view.events(self._event_id, self._event_ms - FILL_LOOKBACK_MS):
            self._event_id = max(self._event_id, event.id)
            self._event_ms = max(self._event_ms, event.time_ms)
            topic = event_topic(event.kind)
            if topic is not None:
                out.append(
                    (
                        topic,
                        {
                            "kind": event.kind,
                            "strategy": event.strategy,
                            "time_ms": event.time_ms,
                            "payload": dict(event.payload),
                        },
                    )
                )
        for fill in self.view.fills_since(self._fill_ms - FILL_LOOKBACK_MS):
            key = (fill.strategy, fill.symbol, fill.trade_id)
            if key in self._fills:
                continue
            self._fills[key] = fill.time_ms
            self._fill_ms = max(self._fill_ms, fill.time_ms)
            out.append(("fill", fill_model(fill).model_dump()))
        oldest = self._fill_ms - 2 * FILL_LOOKBACK_MS
        for key in [k for k, t in self._fills.items() if t < oldest]:
            del self._fills[key]
        orders = self.view.orders(open_only=True, limit=500)
        marker = json.dumps([(o["client_order_id"], o["state"], o["filled"]) for o in orders.items])
        if marker != self._orders:
            self._orders = marker
            out.append(("order", {"open": orders.items}))
        status = self.view.status()
        for runner in status.runners:
            before = self._runners.get(runner.strategy)
            now = (runner.feeds, runner.breaker)
            if before is not None and before[0] != now[0]:
                out.append(("feed", {"strategy": runner.strategy, "feeds": runner.feeds}))
            if before is not None and before[1] != now[1]:
                out.append(("risk", {"strategy": runner.strategy, "breaker": runner.breaker}))
            self._runners[runner.strategy] = now
        shown = status.model_dump(exclude={"now_ms"})
        for runner in shown["runners"]:
            runner.pop("heartbeat_ms", None)
            runner["checks"] = [(c["name"], c["status"]) for c in runner["checks"]]
        marker = json.dumps(shown, sort_keys=True, default=str)
        if marker != self._status:
            self._status = marker
            out.append(("status", status.model_dump()))
        return out
