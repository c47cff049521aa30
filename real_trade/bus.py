"""The in-process event bus: the one publish/subscribe mechanism of real_trade.

Everything that wants to know what happened (journal, monitor, notifications, control center,
the simulator's protocol faces) subscribes here; nobody calls them from the trading path.

Topics are dotted names (``order.filled``, ``sim.trade.BTCUSDT``). Subscription patterns match
segment by segment: ``*`` matches exactly one segment, ``**`` matches any number of segments
(zero included), anything else matches literally. So ``order.*`` receives ``order.filled`` but
not ``order.fill.partial``; ``order.**`` receives both, and ``**`` receives everything.

Delivery modes:

* asynchronous (default): ``publish`` enqueues and returns at once; one dispatcher thread delivers
  events in the order they were published (so the order of each publisher is preserved), and
  ``flush()`` waits until everything published so far has been delivered.
* synchronous (``EventBus(synchronous=True)``): handlers run in the publisher's thread before
  ``publish`` returns: deterministic, for tests and for the simulator core.

A handler that raises is isolated: the exception is logged with the topic and counted in
``stats``; the publisher and the other handlers never see it.

``with bus.deferred():`` holds what the calling thread publishes inside the block and publishes
it, in order, when the block ends (other threads publish as usual): the trading path sends an
order first and wakes the dispatcher (journal writes, monitors) after, not while it sends.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BusStats", "EventBus", "Handler", "Subscription", "get_bus", "topic_matches"]

Handler = Callable[[str, Any], None]
"""A subscriber: called as ``handler(topic, event)``."""

_log = logging.getLogger("real_trade.bus")
_STOP = object()


def topic_matches(pattern: str, topic: str) -> bool:
    """Tell whether a dotted ``topic`` matches a subscription ``pattern``.

    ``*`` stands for exactly one segment and ``**`` for any number of segments (including none);
    every other segment must be equal. ``topic_matches("order.*", "order.filled")`` is True,
    ``topic_matches("order.*", "order.fill.partial")`` is False and
    ``topic_matches("order.**", "order.fill.partial")`` is True.
    """
    return _match(pattern.split("."), 0, topic.split("."), 0)


def _match(pat: list[str], i: int, top: list[str], j: int) -> bool:
    while i < len(pat):
        seg = pat[i]
        if seg == "**":
            if i == len(pat) - 1:
                return True
            return any(_match(pat, i + 1, top, k) for k in range(j, len(top) + 1))
        if j >= len(top) or (seg != "*" and seg != top[j]):
            return False
        i += 1
        j += 1
    return j == len(top)


@dataclass
class BusStats:
    """Counters of one bus: events published and delivered, and handler failures."""

    published: int = 0
    delivered: int = 0
    handler_errors: int = 0


@dataclass(eq=False)
class Subscription:
    """A handle returned by :meth:`EventBus.subscribe`; call :meth:`unsubscribe` to stop."""

    pattern: str
    handler: Handler
    _bus: EventBus | None = field(default=None, repr=False)

    def unsubscribe(self) -> None:
        """Stop delivering events to this handler; calling it twice is harmless."""
        if self._bus is not None:
            self._bus.unsubscribe(self)
            self._bus = None


class EventBus:
    """Typed events on dotted topics, published from any thread, delivered in order.

    ``subscribe(pattern, handler)`` registers ``handler(topic, event)`` for every topic the
    pattern matches (see :func:`topic_matches`); ``publish(topic, event)`` hands an event (any
    object, by convention a frozen dataclass) to every matching handler. See the module docstring
    for the asynchronous and synchronous delivery modes and for handler isolation.
    """

    def __init__(self, *, synchronous: bool = False, name: str = "bus") -> None:
        self.name = name
        self.synchronous = synchronous
        self.stats = BusStats()
        self._subs: list[Subscription] = []
        self._route_cache: dict[str, tuple[Subscription, ...]] = {}
        self._lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._closed = False
        self._queue: queue.SimpleQueue[tuple[str, Any] | object] = queue.SimpleQueue()
        self._pending = 0
        self._idle = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._held = threading.local()  # .events: what deferred() holds for this thread
        self._holding = 0  # deferred() blocks open on any thread (none: nothing is held)

    # -- subscriptions -------------------------------------------------------------------
    def subscribe(self, pattern: str, handler: Handler) -> Subscription:
        """Deliver every event whose topic matches ``pattern`` to ``handler(topic, event)``."""
        if not pattern or any(not seg for seg in pattern.split(".")):
            raise ValueError(f"bad topic pattern {pattern!r}: use dotted segments like 'order.*'")
        sub = Subscription(pattern, handler, self)
        with self._lock:
            self._subs.append(sub)
            self._route_cache.clear()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Remove a subscription; events published afterwards no longer reach its handler."""
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)
                self._route_cache.clear()

    @property
    def subscribed(self) -> bool:
        """Whether anything subscribes at all (else every publish reaches nobody)."""
        return bool(self._subs)

    def has_subscribers(self, topic: str) -> bool:
        """Whether an event published on ``topic`` now would reach any handler (a producer
        may skip building an event nobody listens to)."""
        return bool(self._routes(topic))

    def _routes(self, topic: str) -> tuple[Subscription, ...]:
        routes = self._route_cache.get(topic)  # a hit needs no lock: entries are only added
        if routes is not None:  # (under the lock) or all cleared at once
            return routes
        with self._lock:
            routes = self._route_cache.get(topic)
            if routes is None:
                routes = tuple(s for s in self._subs if topic_matches(s.pattern, topic))
                if len(self._route_cache) > 10_000:
                    self._route_cache.clear()
                self._route_cache[topic] = routes
            return routes

    # -- publishing ----------------------------------------------------------------------
    def publish(self, topic: str, event: Any) -> None:
        """Publish ``event`` on ``topic``; never raises because of a handler."""
        if self._closed:
            raise RuntimeError(f"event bus {self.name!r} is closed")
        if self._holding:  # (a thread-local miss costs more than the rest of a publish)
            held: list[tuple[str, Any]] | None = getattr(self._held, "events", None)
            if held is not None:
                held.append((topic, event))
                return
        if self.synchronous:
            self._deliver(topic, event, published=1)
            return
        with self._stats_lock:
            self.stats.published += 1
        routes = self._route_cache.get(topic)  # (see _routes: a hit needs no lock)
        if routes is None:
            routes = self._routes(topic)
        if not routes:  # nobody listens: no hop to the dispatcher thread
            return
        with self._idle:
            self._pending += 1
        self._ensure_thread()
        self._queue.put((topic, event))

    def deferred(self) -> _Deferral:
        """Hold this thread's publications until the block ends, then publish them in order
        (a nested block changes nothing; a bus closed meanwhile drops them, with a warning).
        Use as ``with bus.deferred():``."""
        return _Deferral(self)

    def _release(self, held: list[tuple[str, Any]]) -> None:
        """Publish what a :meth:`deferred` block held, in order."""
        for topic, event in held:
            try:
                self.publish(topic, event)
            except RuntimeError as exc:  # closed meanwhile (shutdown): say so
                _log.warning("could not publish %s: %s", topic, exc)

    def _deliver(self, topic: str, event: Any, published: int = 0) -> None:
        """Call the handlers of ``topic``; count ``published`` and the deliveries (one lock)."""
        delivered = 0
        for sub in self._routes(topic):
            try:
                sub.handler(topic, event)
            except Exception:
                with self._stats_lock:
                    self.stats.handler_errors += 1
                _log.exception(
                    "event handler %r for %r failed on topic %s", sub.handler, sub.pattern, topic
                )
            else:
                delivered += 1
        stats = self.stats
        with self._stats_lock:
            stats.published += published
            stats.delivered += delivered

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"real_trade-{self.name}", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, tuple)
            topic: str = item[0]
            event: Any = item[1]
            try:
                self._deliver(topic, event)
            finally:
                with self._idle:
                    self._pending -= 1
                    if self._pending == 0:
                        self._idle.notify_all()

    @property
    def backlog(self) -> int:
        """Events published and not delivered yet (0 on a synchronous bus): the queue of the
        subscribers that write on the dispatcher thread, such as the journal."""
        return self._pending

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event published so far is delivered; False if ``timeout`` ran out."""
        if self.synchronous:
            return True
        if self._thread is not None and threading.current_thread() is self._thread:
            raise RuntimeError("flush() called from inside a bus handler would wait forever")
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float | None = 5.0) -> None:
        """Deliver what is queued, stop the dispatcher thread and refuse further publishes."""
        if self._closed:
            return
        self.flush(timeout)
        self._closed = True
        if self._thread is not None:
            self._queue.put(_STOP)
            if threading.current_thread() is not self._thread:
                self._thread.join(timeout)

    def __repr__(self) -> str:
        mode = "sync" if self.synchronous else "async"
        return f"EventBus(name={self.name!r}, mode={mode}, subscriptions={len(self._subs)})"


class _Deferral:
    """The context manager of :meth:`EventBus.deferred` (one per block; a class, not a
    generator: it runs on every order the trading path submits)."""

    __slots__ = ("_bus", "_held")

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._held: list[tuple[str, Any]] | None = None

    def __enter__(self) -> None:
        bus = self._bus
        local = bus._held
        if getattr(local, "events", None) is None:  # else nested: the outer block publishes
            with bus._lock:
                bus._holding += 1
            self._held = local.events = []

    def __exit__(self, *exc: object) -> None:
        held = self._held
        if held is not None:
            bus = self._bus
            self._held = None
            bus._held.events = None
            with bus._lock:
                bus._holding -= 1
            bus._release(held)


_default_bus: EventBus | None = None
_default_lock = threading.Lock()


def get_bus() -> EventBus:
    """Return the process-wide default bus (asynchronous), creating it on first use."""
    global _default_bus
    with _default_lock:
        if _default_bus is None:
            _default_bus = EventBus(name="default")
        return _default_bus
