"""Bounded label values: free text (a venue's reject reason, an error class) to a fixed set.

A label with unbounded values (an order id, a reject message with numbers in it) makes a new
time series per value and can take a Prometheus server down, so every text label goes through
one of these functions first. Each returns a value from its ``..._LABELS`` tuple.
"""

from __future__ import annotations

import re

__all__ = [
    "ALERT_CHANNELS",
    "ALERT_RESULTS",
    "ERROR_KINDS",
    "REJECTION_REASONS",
    "alert_channel",
    "alert_result",
    "error_kind",
    "identifier",
    "rejection_reason",
]

REJECTION_REASONS = (
    "risk",
    "insufficient_funds",
    "invalid_order",
    "rate_limit",
    "margin",
    "lost",
    "other",
)
"""The ``reason`` values of ``realtrade_orders_rejected_total``."""

ERROR_KINDS = (
    "NetworkError",
    "RequestTimeoutError",
    "RateLimitError",
    "ClockSkewError",
    "ExchangeUnavailableError",
    "AmbiguousOutcomeError",
    "AuthenticationError",
    "PermissionDeniedError",
    "InsufficientFundsError",
    "InvalidOrderError",
    "OrderNotFoundError",
    "DuplicateOrderError",
    "BadSymbolError",
    "NotSupportedError",
    "ExchangeProtocolError",
    "ExchangeError",
    "other",
)
"""The ``kind`` values of ``realtrade_exchange_errors_total``: the real_trade.errors classes."""

ALERT_CHANNELS = ("telegram", "webhook", "email", "apprise", "other")
"""The ``channel`` values of ``realtrade_alerts_total``."""
ALERT_RESULTS = ("sent", "failed", "dropped", "other")
"""The ``result`` values of ``realtrade_alerts_total``."""

_RULES = [
    ("risk", ("risk", "halted", "reducing", "breaker", "trading state", "kill switch")),
    ("insufficient_funds", ("insufficient", "not enough", "balance")),
    ("rate_limit", ("rate limit", "too many", "throttle")),
    ("margin", ("margin",)),
    ("lost", ("lost", "unknown outcome", "ambiguous")),
    (
        "invalid_order",
        (
            "invalid",
            "notional",
            "lot size",
            "precision",
            "minimum",
            "filter",
            "price",
            "amount",
            "quantity",
        ),
    ),
]
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,47}$")


def rejection_reason(text: str | None, state: str = "rejected") -> str:
    """The reason class of a rejection: ``state`` ``margin`` is ``margin``; else by keywords."""
    if state == "margin":
        return "margin"
    lowered = (text or "").lower()
    for label, words in _RULES:
        if any(word in lowered for word in words):
            return label
    return "other"


def error_kind(name: str) -> str:
    """``name`` when it is one of :data:`ERROR_KINDS`, else ``other``."""
    return name if name in ERROR_KINDS else "other"


def alert_channel(name: object) -> str:
    """The channel label of a notifier's event (``other`` for anything unknown)."""
    text = str(name or "").lower()
    return text if text in ALERT_CHANNELS else "other"


def alert_result(name: object) -> str:
    """The result label of a notifier's event (``other`` for anything unknown)."""
    text = str(name or "").lower()
    return text if text in ALERT_RESULTS else "other"


def identifier(text: object, *, fallback: str = "other") -> str:
    """``text`` when it is a short identifier (a risk rule, a reconcile kind), else ``fallback``.

    Rules and kinds are names written in our code, so they are few; the check keeps a
    malformed value from becoming a label.
    """
    value = str(text or "")
    return value if _IDENT.match(value) else fallback
