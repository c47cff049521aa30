"""The data watchdog of a live feed: staleness and proactive reconnects, on an injected clock.

A :class:`FeedWatchdog` watches one :class:`~real_trade.feeds.bars.BarStream` and decides when
its live source must be restarted (stopped and started again, then the gap backfilled by REST,
exactly as after a reconnect). It asks for a restart when

* **the data is stale**: no closed bar was delivered for ``stale_after`` seconds (by default the
  bar length times 1.5 plus 10 s, see :func:`default_stale_after`), counted from the last bar
  or from the last (re)start of the source, whichever is later. The source may still be
  talking (forming-bar updates, heartbeats): the event tells how long ago it last did, but a
  stream that never closes a bar is stale all the same. Logged at WARNING and published on
  ``feed.stale`` as :class:`FeedStale`;
* **the connection is old**: the source's connection has been up for ``max_connection_age``
  seconds (venues drop old connections: Binance after 24 h, so its default is 23 h, see
  :func:`default_max_connection_age`). The age restarts whenever the source reports
  ``"connected"`` (it reconnected on its own) and is not counted while it is down.

Every restart is published on ``feed.reconnect`` as :class:`FeedReconnect` with its reason.
Both bounds are measured on ``clock`` (seconds; ``time.monotonic`` by default, so wall time in
production): a test passes a fake clock, a simulator run passes market time. The watchdog
itself is a passive, thread-safe policy object: the stream's worker thread reports bars and
source states to it and calls :meth:`FeedWatchdog.check` every ``check_interval`` wall seconds.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from real_trade.bus import EventBus
from real_trade.errors import ConfigError
from real_trade.feeds.timeframes import timeframe_ms

__all__ = [
    "RECONNECT_TOPIC",
    "STALE_GRACE_S",
    "STALE_TOPIC",
    "Clock",
    "FeedReconnect",
    "FeedStale",
    "FeedWatchdog",
    "ReconnectReason",
    "default_max_connection_age",
    "default_stale_after",
]

_log = logging.getLogger("real_trade.feeds.watchdog")

Clock = Callable[[], float]
"""A clock in seconds that never goes backwards (``time.monotonic``, or market seconds)."""
ReconnectReason = Literal["stale", "max_connection_age"]
"""Why the watchdog restarted a live source."""

STALE_TOPIC = "feed.stale"
"""Bus topic of :class:`FeedStale` events."""
RECONNECT_TOPIC = "feed.reconnect"
"""Bus topic of :class:`FeedReconnect` events."""
STALE_GRACE_S = 10.0
"""Seconds added to 1.5 bar lengths in the default staleness bound."""
_AGE_MARGIN_S = 3600.0


def default_stale_after(timeframe: str) -> float:
    """The default staleness bound of ``timeframe`` in seconds: 1.5 bars plus 10 s.

    A healthy stream closes a bar every bar length, so half a bar of slack plus a grace for a
    late final update never fires on a live market: ``"1m"`` gives 100 s, ``"1h"`` 5,410 s.
    """
    return 1.5 * timeframe_ms(timeframe) / 1000.0 + STALE_GRACE_S


def default_max_connection_age(venue_limit_s: float | None) -> float | None:
    """The default proactive-reconnect age for a venue that closes connections after
    ``venue_limit_s`` seconds: one hour earlier (Binance's 24 h gives 23 h); None without a limit.

    A limit of an hour or less leaves half of it, so the reconnect still comes first.
    """
    if venue_limit_s is None or venue_limit_s <= 0:
        return None
    if venue_limit_s <= _AGE_MARGIN_S:
        return venue_limit_s / 2
    return venue_limit_s - _AGE_MARGIN_S


@dataclass(frozen=True, slots=True)
class FeedStale:
    """No closed bar of ``symbol``/``timeframe`` for ``seconds_since_bar`` (> ``stale_after``).

    ``last_bar_ms`` is the open time of the last bar delivered (None before the first);
    ``seconds_since_message`` how long ago the source last said anything at all (a bar update
    or a state), None if it never did. Seconds are on the watchdog's clock.
    """

    symbol: str
    timeframe: str
    seconds_since_bar: float
    stale_after: float
    last_bar_ms: int | None
    seconds_since_message: float | None


@dataclass(frozen=True, slots=True)
class FeedReconnect:
    """The watchdog restarted the live source of ``symbol``/``timeframe`` for ``reason``.

    ``connection_age`` is how long the replaced connection had been up (None when it was down),
    ``seconds_since_bar`` how long ago the last closed bar came; seconds on the watchdog's clock.
    """

    symbol: str
    timeframe: str
    reason: ReconnectReason
    connection_age: float | None
    seconds_since_bar: float


class FeedWatchdog:
    """Staleness and connection-age policy of one live feed (see the module docstring).

    ``timeframe`` is a ccxt string; ``stale_after`` seconds without a closed bar make the data
    stale (``"auto"``: :func:`default_stale_after`; None: never); ``max_connection_age`` seconds
    of one connection trigger a proactive reconnect (None: never). ``clock`` measures both;
    ``check_interval`` is how often, in wall seconds, the stream asks :meth:`check`. ``stales``
    and ``reconnects`` count the events; ``bus``/``symbol`` are set by :meth:`bind`.
    """

    def __init__(
        self,
        timeframe: str,
        *,
        stale_after: float | Literal["auto"] | None = "auto",
        max_connection_age: float | None = None,
        clock: Clock = time.monotonic,
        check_interval: float = 0.5,
    ) -> None:
        """Validate the bounds (ConfigError names a bad one); nothing runs until bound."""
        bound = default_stale_after(timeframe) if stale_after == "auto" else stale_after
        self.timeframe = timeframe
        self.stale_after = _seconds_or_none("stale_after", bound)
        self.max_connection_age = _seconds_or_none("max_connection_age", max_connection_age)
        self.check_interval = _seconds_or_none("check_interval", check_interval) or 0.5
        self.clock = clock
        self.bus: EventBus | None = None
        self.symbol = ""
        self.stales = 0
        self.reconnects = 0
        self._lock = threading.Lock()
        now = clock()
        self._bar_at = now
        self._message_at: float | None = None
        self._connected_at: float | None = None
        self._last_bar_ms: int | None = None

    def __repr__(self) -> str:
        """The symbol, the bounds and the counts."""
        return (
            f"FeedWatchdog({self.symbol or '?'}, {self.timeframe}, stale_after="
            f"{self.stale_after}, max_connection_age={self.max_connection_age}, "
            f"stales={self.stales}, reconnects={self.reconnects})"
        )

    @property
    def active(self) -> bool:
        """Whether either bound is set (a watchdog with neither never asks for anything)."""
        return self.stale_after is not None or self.max_connection_age is not None

    def bind(self, symbol: str, bus: EventBus | None) -> None:
        """Name the feed in events and publish them on ``bus`` (None: log only)."""
        self.symbol, self.bus = symbol, bus

    # -- reported by the stream ------------------------------------------------------------
    def source_started(self) -> None:
        """The source was (re)started: both timers start again, the connection counts as up."""
        with self._lock:
            now = self.clock()
            self._bar_at = now
            self._connected_at = now

    def bar_delivered(self, open_ms: int) -> None:
        """A closed bar (live or backfilled) reached the consumer."""
        with self._lock:
            self._bar_at = self.clock()
            self._last_bar_ms = open_ms

    def source_message(self) -> None:
        """The source said something (any bar update or state): it is at least talking."""
        with self._lock:
            self._message_at = self.clock()

    def source_state(self, state: str) -> None:
        """The source reported ``state`` (a message too): a new connection restarts the age,
        a drop stops it."""
        with self._lock:
            self._message_at = self.clock()
            if state == "connected":
                self._connected_at = self.clock()
            elif state in ("disconnected", "failed"):
                self._connected_at = None

    # -- asked by the stream ---------------------------------------------------------------
    def check(self) -> FeedReconnect | None:
        """A restart to make now (logged and published), or None while all is well.

        Staleness wins over age when both are due. Each restart starts both timers again, so
        a source that stays silent is restarted once per ``stale_after``, not in a loop.
        """
        with self._lock:
            now = self.clock()
            since_bar = now - self._bar_at
            age = None if self._connected_at is None else now - self._connected_at
            since_message = None if self._message_at is None else now - self._message_at
            reason: ReconnectReason | None = None
            if self.stale_after is not None and since_bar > self.stale_after:
                reason = "stale"
            elif age is not None and age >= (self.max_connection_age or float("inf")):
                reason = "max_connection_age"
            if reason is None:
                return None
            self._bar_at = self._connected_at = now  # the restart follows at once
            last_bar_ms = self._last_bar_ms
        if reason == "stale":
            assert self.stale_after is not None
            self.stales += 1
            stale = FeedStale(
                self.symbol, self.timeframe, since_bar, self.stale_after, last_bar_ms, since_message
            )
            _log.warning(
                "%s %s: no closed bar for %.1fs (bound %.1fs, last message %s ago); "
                "resubscribing and backfilling",
                self.symbol,
                self.timeframe,
                since_bar,
                self.stale_after,
                _seconds(since_message),
            )
            self._publish(STALE_TOPIC, stale)
        else:
            _log.info(
                "%s %s: connection up for %.1fs (limit %.1fs); reconnecting proactively",
                self.symbol,
                self.timeframe,
                age or 0.0,
                self.max_connection_age,
            )
        self.reconnects += 1
        event = FeedReconnect(self.symbol, self.timeframe, reason, age, since_bar)
        self._publish(RECONNECT_TOPIC, event)
        return event

    def _publish(self, topic: str, event: object) -> None:
        if self.bus is not None:
            with contextlib.suppress(RuntimeError):  # a closed bus: its owner is shutting down
                self.bus.publish(topic, event)


def _seconds_or_none(field: str, value: object) -> float | None:
    """``value`` as positive seconds (None stays None); anything else is a ConfigError."""
    if value is None:
        return None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = float("nan")
    if isinstance(value, bool) or not seconds > 0:
        msg = f"{field} must be a positive number of seconds or None, not {value!r}"
        raise ConfigError(msg, field=field, fix="e.g. 100, or None")
    return seconds


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}s"
