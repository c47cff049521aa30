"""``HealthChecker``: is the bot fit to trade? Feeds, streams, journal, clock, breaker, trading
state and memory, each checked to ``ok``, ``warn``, ``fail`` or ``unknown``.

Live, :meth:`HealthChecker.attach` follows the bus: ``feed.bar.**`` and ``feed.state.**`` (each
feed's last closed bar and state), ``feed.stale`` (the feed watchdog's verdict),
``venue.stream.*`` (websocket stream states) and ``killswitch.**``. The other checks ask the
objects handed to the constructor: a journal (a control-state write and read back, and its
write-error count), a venue clock (``venue_time()`` in epoch ms, e.g. a ccxt client's
``fetch_time``), a circuit breaker (``get_state()``), a trading-state holder (``state``).
What was not handed over is ``unknown``, never ``fail``.

After the fact, :func:`journal_health` reads what the journal knows (the runner's heartbeat and
its age, the health summary the runner puts in it, the trading state and a pending kill
request): ``real-trade status`` prints it without keys or network.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from real_trade.bus import EventBus, Subscription
from real_trade.risk.trading_state import TradingStateStore

__all__ = [
    "HEALTH_PROBE_KEY",
    "HealthCheck",
    "HealthChecker",
    "HealthReport",
    "HealthStatus",
    "journal_health",
]

HealthStatus = Literal["ok", "warn", "fail", "unknown"]
"""The outcome of one check."""

HEALTH_PROBE_KEY = "health_probe"
"""The control-state key :meth:`HealthChecker.check_journal` writes and reads back."""

_RANK = {"ok": 0, "unknown": 1, "warn": 2, "fail": 3}
_STATUSES: dict[str, HealthStatus] = {
    "ok": "ok",
    "unknown": "unknown",
    "warn": "warn",
    "fail": "fail",
}
_STREAM_STATUS: dict[str, HealthStatus] = {"connected": "ok", "stopped": "ok", "failed": "fail"}
_BREAKER_STATUS: dict[str, HealthStatus] = {"closed": "ok", "half_open": "warn", "open": "fail"}
_TRADING_STATUS: dict[str, HealthStatus] = {"halted": "fail", "reducing": "warn"}


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """One check: its ``name``, ``status``, a sentence, and the measured ``value`` if any."""

    name: str
    status: HealthStatus
    detail: str
    value: float | None = None


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Every check at ``time_ms``; :attr:`status` is the worst of them (``unknown`` ranks
    below ``warn``)."""

    time_ms: int
    checks: tuple[HealthCheck, ...]

    @property
    def status(self) -> HealthStatus:
        """The worst status among the checks (``ok`` without checks)."""
        worst: HealthStatus = "ok"
        for check in self.checks:
            if _RANK[check.status] > _RANK[worst]:
                worst = check.status
        return worst

    @property
    def healthy(self) -> bool:
        """No check failed."""
        return all(c.status != "fail" for c in self.checks)

    def problems(self) -> list[str]:
        """One line per check that warned or failed: ``"FAIL feeds: ..."``."""
        return [
            f"{c.status.upper()} {c.name}: {c.detail}"
            for c in self.checks
            if c.status in ("warn", "fail")
        ]

    def get(self, name: str) -> HealthCheck | None:
        """The check named ``name``, or None."""
        return next((c for c in self.checks if c.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: time, overall status and the checks."""
        return {
            "time_ms": self.time_ms,
            "status": self.status,
            "checks": [asdict(c) for c in self.checks],
        }

    def summary(self) -> dict[str, list[str]]:
        """Compact ``{name: [status, detail]}``: what the runner puts in its heartbeat."""
        return {c.name: [c.status, c.detail] for c in self.checks}


@dataclass
class _Feed:
    state: str | None = None
    last_bar_ms: int | None = None
    last_bar_wall: float | None = None
    stale_wall: float | None = None
    stale_detail: str = ""


class HealthChecker:
    """The health checks of one process (see the module docstring).

    ``stale_after_s``: a feed without a closed bar for longer fails (None: trust the feed
    watchdog's ``feed.stale`` events); ``max_clock_skew_ms``: warn above it, fail above ten
    times it; ``max_memory_mb``: warn above it (None: report only); ``clock``: wall seconds.
    """

    def __init__(
        self,
        bus: EventBus | None = None,
        *,
        journal: Any = None,
        venue_time: Callable[[], float] | None = None,
        breaker: Any = None,
        trading_state: Any = None,
        stale_after_s: float | None = None,
        max_clock_skew_ms: float = 1000.0,
        max_memory_mb: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Bind the checks to what is known (all optional); subscribe to ``bus`` if given."""
        self.journal = journal
        self.venue_time = venue_time
        self.breaker = breaker
        self.trading_state = trading_state
        self.stale_after_s = stale_after_s
        self.max_clock_skew_ms = max_clock_skew_ms
        self.max_memory_mb = max_memory_mb
        self.clock = clock
        self.feeds: dict[str, _Feed] = {}
        self.streams: dict[str, tuple[str, str | None]] = {}
        self.halted: str | None = None
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []
        if bus is not None:
            self.attach(bus)

    def __repr__(self) -> str:
        """What it watches."""
        return f"HealthChecker(feeds={sorted(self.feeds)}, streams={sorted(self.streams)})"

    # -- the bus -------------------------------------------------------------------------
    def attach(self, bus: EventBus) -> HealthChecker:
        """Follow the bus topics of the module docstring."""
        if self._subs:
            raise RuntimeError(f"{self!r} is already attached; detach() first")
        self._subs = [
            bus.subscribe("feed.bar.**", self._on_bar),
            bus.subscribe("feed.state.**", self._on_feed_state),
            bus.subscribe("feed.stale", self._on_stale),
            bus.subscribe("venue.stream.*", self._on_stream),
            bus.subscribe("killswitch.**", self._on_kill),
        ]
        return self

    def detach(self) -> None:
        """Stop following the bus; harmless twice."""
        for sub in self._subs:
            sub.unsubscribe()
        self._subs = []

    def _feed(self, name: str) -> _Feed:
        return self.feeds.setdefault(name, _Feed())

    def _on_bar(self, topic: str, event: Any) -> None:
        if getattr(event, "closed", True):
            with self._lock:
                feed = self._feed(topic.split(".", 2)[-1])
                feed.last_bar_ms = getattr(event, "open_ms", None)
                feed.last_bar_wall = self.clock()

    def _on_feed_state(self, topic: str, event: Any) -> None:
        state = getattr(event, "state", None)
        with self._lock:
            self._feed(topic.split(".", 2)[-1]).state = getattr(state, "value", str(state))

    def _on_stale(self, topic: str, event: Any) -> None:
        name = str(getattr(event, "symbol", "?")).replace(".", "_")
        seconds = float(getattr(event, "seconds_since_bar", 0.0))
        with self._lock:
            feed = self._feed(name)
            feed.stale_wall = self.clock()
            feed.stale_detail = f"no closed bar for {seconds:.0f} s (watchdog)"

    def _on_stream(self, topic: str, event: Any) -> None:
        key = f"{getattr(event, 'venue', '?')} {getattr(event, 'kind', '?')}"
        symbol = getattr(event, "symbol", None)
        if symbol:
            key += f" {symbol}"
        with self._lock:
            self.streams[key] = (str(getattr(event, "state", "?")), getattr(event, "error", None))

    def _on_kill(self, topic: str, event: Any) -> None:
        reason = getattr(event, "reason", None)
        if reason is None and isinstance(event, Mapping):
            reason = event.get("reason")
        with self._lock:
            self.halted = f"{topic}: {reason or 'kill switch'}"

    # -- the checks ----------------------------------------------------------------------
    def check_feeds(self) -> HealthCheck:
        """Each feed's state and the age of its last closed bar."""
        now = self.clock()
        with self._lock:
            feeds = {k: _Feed(**vars(v)) for k, v in self.feeds.items()}
        if not feeds:
            return HealthCheck("feeds", "unknown", "no feed seen on the bus")
        worst: HealthStatus = "ok"
        parts, oldest = [], 0.0
        for name, feed in sorted(feeds.items()):
            age = None if feed.last_bar_wall is None else now - feed.last_bar_wall
            oldest = max(oldest, age or 0.0)
            status: HealthStatus = "ok"
            words = f"{name} {feed.state or '?'}"
            words += f", last bar {age:.0f} s ago" if age is not None else ", no bar yet"
            stale_now = feed.stale_wall is not None and (
                feed.last_bar_wall is None or feed.stale_wall >= feed.last_bar_wall
            )
            if stale_now:
                status, words = "fail", f"{words}: STALE, {feed.stale_detail}"
            elif self.stale_after_s is not None and age is not None and age > self.stale_after_s:
                status, words = "fail", f"{words}: STALE (limit {self.stale_after_s:g} s)"
            elif feed.state in ("CONNBROKEN", "DISCONNECTED", "NOTSUBSCRIBED"):
                status = "fail"
            elif feed.state == "DELAYED":
                status = "warn"
            if _RANK[status] > _RANK[worst]:
                worst = status
            parts.append(words)
        return HealthCheck("feeds", worst, "; ".join(parts), oldest)

    def check_streams(self) -> HealthCheck:
        """Each websocket stream's state: connected is ok, connecting warns, failed fails."""
        with self._lock:
            streams = dict(self.streams)
        if not streams:
            return HealthCheck("streams", "unknown", "no stream state seen on the bus")
        worst: HealthStatus = "ok"
        parts = []
        for key, (state, error) in sorted(streams.items()):
            status = _STREAM_STATUS.get(state, "warn")
            if _RANK[status] > _RANK[worst]:
                worst = status
            parts.append(f"{key} {state}" + (f" ({error})" if error else ""))
        return HealthCheck("streams", worst, "; ".join(parts))

    def check_journal(self) -> HealthCheck:
        """Write a probe to the journal's control state and read it back; its write errors."""
        if self.journal is None:
            return HealthCheck("journal", "unknown", "no journal given")
        stamp = int(self.clock() * 1000)
        started = time.perf_counter()
        try:
            self.journal.set_state(HEALTH_PROBE_KEY, {"time_ms": stamp, "pid": os.getpid()})
            back = self.journal.get_state(HEALTH_PROBE_KEY)
        except Exception as exc:
            return HealthCheck("journal", "fail", f"not writable: {type(exc).__name__}: {exc}")
        took_ms = (time.perf_counter() - started) * 1000
        if not isinstance(back, dict) or back.get("time_ms") != stamp:
            return HealthCheck("journal", "fail", "a probe written was not read back")
        stats = getattr(self.journal, "stats", None)
        errors = int(getattr(stats, "errors", 0) or 0)
        if errors:
            last = getattr(stats, "last_error", "") or ""
            return HealthCheck(
                "journal", "warn", f"writable, but {errors} bus writes failed: {last}", took_ms
            )
        return HealthCheck("journal", "ok", f"writable (probe {took_ms:.0f} ms)", took_ms)

    def check_clock_skew(self) -> HealthCheck:
        """The venue's clock against ours (midpoint of the request); warn above the limit."""
        if self.venue_time is None:
            return HealthCheck("clock", "unknown", "no venue clock given")
        before = self.clock()
        try:
            venue_ms = float(self.venue_time())
        except Exception as exc:
            return HealthCheck("clock", "unknown", f"venue time unavailable: {exc}")
        after = self.clock()
        skew = venue_ms - (before + after) / 2 * 1000
        limit = self.max_clock_skew_ms
        status: HealthStatus = (
            "ok" if abs(skew) <= limit else "warn" if abs(skew) <= 10 * limit else "fail"
        )
        return HealthCheck("clock", status, f"venue clock {skew:+.0f} ms from ours", skew)

    def check_breaker(self) -> HealthCheck:
        """The order circuit breaker: closed ok, half-open warns, open fails."""
        if self.breaker is None:
            return HealthCheck("breaker", "unknown", "no circuit breaker given")
        state = self.breaker.get_state()
        name = str(getattr(state, "value", state)).lower()
        status = _BREAKER_STATUS.get(name, "unknown")
        return HealthCheck("breaker", status, f"circuit breaker {name}")

    def check_trading_state(self) -> HealthCheck:
        """Trading state: active ok, reducing warns, halted (or a kill seen) fails."""
        with self._lock:
            halted = self.halted
        state = None
        if self.trading_state is not None:
            raw = getattr(self.trading_state, "state", self.trading_state)
            state = str(getattr(raw, "value", raw)).lower()
        elif self.journal is not None:
            saved = TradingStateStore(self.journal).raw()
            if isinstance(saved, dict):
                state = str(saved.get("state") or "active").lower()
        if state is None and halted is None:
            return HealthCheck("trading", "unknown", "no trading state known")
        if state == "halted" or (state is None and halted):
            return HealthCheck("trading", "fail", f"HALTED ({halted or 'trading state'})")
        if state == "reducing":
            return HealthCheck("trading", "warn", "REDUCING: only orders that reduce exposure")
        return HealthCheck("trading", "ok", "ACTIVE")

    def check_memory(self) -> HealthCheck:
        """This process's resident memory; warns above ``max_memory_mb``."""
        try:
            import psutil

            rss_mb = psutil.Process().memory_info().rss / 1_048_576
        except Exception as exc:  # psutil missing or the platform refuses
            return HealthCheck("memory", "unknown", f"memory unknown: {exc}")
        limit = self.max_memory_mb
        status: HealthStatus = "warn" if limit is not None and rss_mb > limit else "ok"
        words = f"{rss_mb:.0f} MB resident" + (f" (limit {limit:g} MB)" if limit else "")
        return HealthCheck("memory", status, words, rss_mb)

    def check(self) -> HealthReport:
        """Run every check."""
        return HealthReport(
            int(self.clock() * 1000),
            (
                self.check_feeds(),
                self.check_streams(),
                self.check_journal(),
                self.check_clock_skew(),
                self.check_breaker(),
                self.check_trading_state(),
                self.check_memory(),
            ),
        )

    def check_system_health(self) -> list[str]:
        """Seed 000's ``SystemMonitor`` name: the problems found (empty when all is well)."""
        return self.check().problems()


def journal_health(
    journal: Any,
    strategy: str | None = None,
    *,
    alive_within_s: float = 20.0,
    now: Callable[[], float] = time.time,
) -> HealthReport:
    """What the journal tells of a run's health (no keys, no network): the runner's heartbeat
    age, the trading state, a pending kill request and the runner's own last checks (the
    ``health`` summary of its heartbeat)."""
    from real_trade.engine.control import (
        HEARTBEAT_KEY,
        KILL_DONE_KEY,
        KILL_REQUEST_KEY,
        heartbeat_key,
    )

    checks: list[HealthCheck] = []
    beat = journal.get_state(heartbeat_key(strategy) if strategy else HEARTBEAT_KEY)
    if not isinstance(beat, dict) or not beat.get("time_ms"):
        checks.append(HealthCheck("heartbeat", "unknown", "no runner heartbeat in the journal"))
    else:
        age = now() - float(beat["time_ms"]) / 1000
        if beat.get("state") == "stopped":
            checks.append(HealthCheck("heartbeat", "ok", f"runner stopped {age:.0f} s ago", age))
        elif age <= alive_within_s:
            checks.append(HealthCheck("heartbeat", "ok", f"runner alive, {age:.0f} s ago", age))
        else:
            checks.append(
                HealthCheck(
                    "heartbeat", "fail", f"no heartbeat for {age:.0f} s (runner dead?)", age
                )
            )
        own = beat.get("health") if beat.get("state") != "stopped" else None
        for name, value in (own or {}).items():
            if isinstance(value, list | tuple) and len(value) == 2 and value[0] in _STATUSES:
                checks.append(HealthCheck(str(name), _STATUSES[value[0]], f"{value[1]} (runner)"))
    trading = TradingStateStore(journal).raw()
    state = str(trading.get("state") or "active") if isinstance(trading, dict) else "active"
    reason = trading.get("reason") if isinstance(trading, dict) else None
    status = _TRADING_STATUS.get(state.lower(), "ok")
    if not any(c.name == "trading" for c in checks):
        checks.append(
            HealthCheck("trading", status, state.upper() + (f": {reason}" if reason else ""))
        )
    request = journal.get_state(KILL_REQUEST_KEY)
    if isinstance(request, dict) and request.get("id"):
        done = journal.get_state(KILL_DONE_KEY) == request["id"]
        checks.append(
            HealthCheck(
                "kill",
                "ok" if done else "warn",
                f"kill request {request['id']} " + ("carried out" if done else "PENDING"),
            )
        )
    return HealthReport(int(now() * 1000), tuple(checks))
