"""From bus events to alerts: which topics the notifier hears and what it says about them.

:data:`TOPICS` lists the patterns the notifier subscribes to and :func:`alert_for` turns one
``(topic, event)`` into an :class:`Alert` (or None: not worth a message). The topics are the
ones the house publishes:

=====================  =====================================================  ==============
event kind             bus topic (publisher)                                  dedup subject
=====================  =====================================================  ==============
``fill``               ``fill`` (order manager, :class:`FillEvent`)             trade id
``rejection``          ``order.rejected`` of a sent order, ``order.margin``     client order id
``lost_order``         ``order.canceled`` with a reason starting ``lost``;      client order id
                       ``reconcile.intent_lost``, ``reconcile.order_missing``
``risk_denial``        ``risk.decision`` refused (risk engine)                  rule + symbol
``breaker``            ``risk.breaker`` (broker risk gate: opened / closed),    (one subject)
                       ``risk.decision`` refused by ``circuit_breaker``
``kill_switch``        ``killswitch.engaged``, ``killswitch.halted``            topic
``feed_stale``         ``feed.stale`` (feed watchdog)                           symbol
``feed_reconnect``     ``feed.reconnect`` (feed watchdog)                       symbol
``reconcile``          every other ``reconcile.*`` (reconciliation)             kind + order
``daily_report``       ``report.daily`` (anyone), or the notifier's own summary  the day
``error``              ``log.error`` (ERROR log lines of ``real_trade``)        logger + text
``dead_man``           the notifier's heartbeat watch                           strategy
=====================  =====================================================  ==============
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ERROR_TOPIC", "REPORT_TOPIC", "TOPICS", "TOPIC_KINDS", "Alert", "alert_for"]

ERROR_TOPIC = "log.error"
"""Where the notifier's log handler publishes ERROR records of ``real_trade`` loggers."""
REPORT_TOPIC = "report.daily"
"""Where a daily report (``{"title", "body"}`` or a string) may be published for delivery."""

TOPICS: tuple[str, ...] = (
    "fill",
    "order.rejected",
    "order.margin",
    "order.canceled",
    "risk.decision",
    "risk.breaker",
    "killswitch.engaged",
    "killswitch.halted",
    "feed.stale",
    "feed.reconnect",
    "reconcile.**",
    REPORT_TOPIC,
    ERROR_TOPIC,
)
"""The bus patterns the notifier subscribes to."""

TOPIC_KINDS: dict[str, frozenset[str]] = {
    "fill": frozenset({"fill"}),
    "order.rejected": frozenset({"rejection"}),
    "order.margin": frozenset({"rejection"}),
    "order.canceled": frozenset({"lost_order"}),
    "risk.decision": frozenset({"risk_denial", "breaker"}),
    "risk.breaker": frozenset({"breaker"}),
    "killswitch.engaged": frozenset({"kill_switch"}),
    "killswitch.halted": frozenset({"kill_switch"}),
    "feed.stale": frozenset({"feed_stale"}),
    "feed.reconnect": frozenset({"feed_reconnect"}),
    "reconcile.**": frozenset({"lost_order", "reconcile"}),
    REPORT_TOPIC: frozenset({"daily_report"}),
    ERROR_TOPIC: frozenset({"error"}),
}
"""The alert kinds :func:`alert_for` can make of each pattern of :data:`TOPICS`: the notifier
does not subscribe to a pattern whose kinds are all ``off`` (no work at all for them)."""

_LOST_RECONCILE = ("intent_lost", "order_missing")


@dataclass(frozen=True)
class Alert:
    """One message to send: its event ``kind``, a one-line ``title``, a ``body``, the
    ``dedup_key`` that makes two alerts "the same" for the cooldown, and the ``strategy``."""

    kind: str
    title: str
    body: str
    dedup_key: str
    strategy: str = ""


def _get(event: Any, name: str, default: Any = None) -> Any:
    if isinstance(event, Mapping):
        return event.get(name, default)
    return getattr(event, name, default)


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def alert_for(topic: str, event: Any) -> Alert | None:
    """The alert for one bus event, or None when the event is not one to tell anyone about."""
    strategy = str(_get(event, "strategy", "") or "")
    if topic == "fill":
        side, symbol = str(_get(event, "side", "?")).upper(), _get(event, "symbol", "?")
        text = f"{side} {_num(_get(event, 'amount'))} {symbol} @ {_num(_get(event, 'price'))}"
        fee = _get(event, "fee_in_quote")
        body = f"{text}\norder {_get(event, 'client_order_id', '')}" + (
            f", fee {_num(fee)}" if fee else ""
        )
        return Alert("fill", f"Fill: {text}", body, f"fill:{_get(event, 'trade_id')}", strategy)
    if topic.startswith("order."):
        return _order_alert(topic, event, strategy)
    if topic == "risk.breaker":
        reason = str(_get(event, "reason", "") or "")
        if _get(event, "state") == "open":
            wait = _get(event, "reset_timeout")
            body = f"{reason}; orders refused for {_num(wait)} s" if wait else reason
            return Alert(
                "breaker", "Circuit breaker OPEN: orders refused", body, "breaker", strategy
            )
        return Alert(
            "breaker",
            "Circuit breaker closed: orders go out again",
            reason,
            "breaker:closed",
            strategy,
        )
    if topic == "risk.decision":
        if _get(event, "allowed", True):
            return None
        rule = str(_get(event, "rule") or "unknown")
        order = _get(event, "order")
        symbol = _get(order, "symbol", "") if order is not None else ""
        reason = str(_get(event, "reason", "") or rule)
        if rule == "circuit_breaker":
            return Alert(
                "breaker", "Circuit breaker open: orders refused", reason, "breaker", strategy
            )
        return Alert(
            "risk_denial",
            f"Risk denied {symbol}: {rule}",
            reason,
            f"risk:{rule}:{symbol}",
            strategy,
        )
    if topic.startswith("killswitch."):
        reason = str(_get(event, "reason", "") or "kill switch")
        if topic == "killswitch.engaged":
            body = f"{reason} (flatten={bool(_get(event, 'flatten', False))})"
            return Alert("kill_switch", "KILL SWITCH engaged", body, topic, strategy)
        summary = _get(event, "summary")
        text = summary() if callable(summary) else reason
        return Alert("kill_switch", "Kill switch: trading halted", str(text), topic, strategy)
    if topic.startswith("feed."):
        return _feed_alert(topic, event, strategy)
    if topic.startswith("reconcile."):
        kind = topic.split(".", 1)[1]
        message = str(_get(event, "message", "") or kind)
        cid = _get(event, "client_order_id", "") or ""
        if kind in _LOST_RECONCILE:
            return Alert("lost_order", f"Lost order {cid}", message, f"lost:{cid}", strategy)
        return Alert(
            "reconcile",
            f"Reconcile: {kind.replace('_', ' ')}",
            message,
            f"reconcile:{kind}:{cid}",
            strategy,
        )
    if topic == REPORT_TOPIC:
        title = (
            str(_get(event, "title", "") or "Daily report")
            if not isinstance(event, str)
            else ("Daily report")
        )
        body = event if isinstance(event, str) else str(_get(event, "body", "") or "")
        return Alert("daily_report", title, body, f"report:{title}", strategy)
    if topic == ERROR_TOPIC:
        logger, message = str(_get(event, "logger", "")), str(_get(event, "message", ""))
        first = message.splitlines()[0] if message else "error"
        return Alert(
            "error", f"Error: {first[:120]}", message, f"error:{logger}:{first[:200]}", strategy
        )
    return None


def _order_alert(topic: str, event: Any, strategy: str) -> Alert | None:
    sent_id = str(_get(event, "client_order_id", "") or "")
    if topic == "order.rejected" and not sent_id:
        return None  # refused before it was sent: the risk denial (or the error log) tells it
    cid = sent_id or str(_get(event, "local_id", ""))
    side, symbol = str(_get(event, "side", "?")).upper(), _get(event, "symbol", "?")
    what = f"{side} {_num(_get(event, 'amount'))} {symbol}"
    reason = str(_get(event, "reason", "") or "")
    if topic in ("order.rejected", "order.margin"):
        label = "Rejected" if topic == "order.rejected" else "Margin call / insufficient margin"
        return Alert("rejection", f"{label}: {what}", reason or label, f"rejected:{cid}", strategy)
    if topic == "order.canceled" and reason.lower().startswith("lost"):
        return Alert("lost_order", f"Lost order: {what}", reason, f"lost:{cid}", strategy)
    return None


def _feed_alert(topic: str, event: Any, strategy: str) -> Alert | None:
    symbol = str(_get(event, "symbol", "?"))
    since = _get(event, "seconds_since_bar")
    if topic == "feed.stale":
        bound = _num(_get(event, "stale_after"))
        body = f"no bar for {_num(round(float(since or 0), 1))} s (bound {bound} s)"
        return Alert("feed_stale", f"Feed stale: {symbol}", body, f"stale:{symbol}", strategy)
    if topic == "feed.reconnect":
        body = f"reconnected ({_get(event, 'reason', '?')})"
        return Alert(
            "feed_reconnect", f"Feed reconnect: {symbol}", body, f"reconnect:{symbol}", strategy
        )
    return None
