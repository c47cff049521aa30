"""Websocket streams over ccxt.pro watchers: one task each, reconnecting, with visible state.

A :class:`StreamHandle` runs one asyncio task on the venue client's I/O loop. The task calls a
ccxt.pro watcher (:func:`watcher_for`) in a loop and hands every item to ``on_event``. Its state,
one of :data:`STREAM_STATES`, moves ``connecting`` -> ``connected`` (a websocket of the exchange
opened, or the first item arrived) -> ``disconnected`` (the watcher failed: the socket dropped,
the venue closed it) -> ``connected`` again after a reconnect, and ends ``stopped`` (stopped by its
owner) or ``failed`` (a final error: bad symbol, refused credentials, unsupported stream). Between
reconnects it waits a capped exponential backoff with jitter (:class:`~real_trade.venues.reconnect.
ReconnectBackoff`, the policy the raw venue websockets use too). Every change goes to ``on_state``
and, when a bus is given, is published as :class:`StreamStateChanged` on ``venue.stream.<kind>``.

Callbacks run on the I/O thread: keep them short (put into a queue). An exception in one is
logged and the stream goes on.

ccxt.pro resolves a watch only for a caller waiting at that moment: an order or fill that lands
between two ``watch_orders()`` calls stays in its cache until the *next* message, which on a quiet
account may never come. The ``orders`` and ``my_trades`` streams therefore read what the cache
holds unread (:func:`unread_updates`) once the next watch is waiting, and every second while it
waits, and deliver each order state and each fill once (:class:`_Once`). The ``balance`` stream
does the same with the balance ccxt.pro keeps (:class:`_LatestBalance`): a newer one than it
delivered last is delivered (a second fill's balance arriving right after the first's was held
until the next balance message, or the 30 s safety poll).

On a venue whose private streams need a subscription after the socket opens (OKX's login and
``subscribe``, Bybit's ``auth`` and ``subscribe``, Binance spot's ``userDataStream.subscribe``;
the venue's ``private_channels`` quirk names the channel of each kind), an open socket is not
yet a stream: what the venue pushes before it confirms the subscription is lost (an exchange's
liquidation order is pushed once and no REST poll of our orders finds it). Such a stream is
``connected`` only once an open socket carries the venue's confirmation of its channel
(:class:`SubscriptionAcks`); :meth:`StreamHandle.wait_up`
lets its owner wait for that before trading.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from real_trade.bus import EventBus
from real_trade.errors import (
    AuthenticationError,
    BadSymbolError,
    ClockSkewError,
    ConfigError,
    NotSupportedError,
    RealTradeError,
    redact,
)
from real_trade.venues.ccxt_errors import translate_ccxt_error
from real_trade.venues.reconnect import ReconnectBackoff

__all__ = [
    "STREAM_KINDS",
    "STREAM_STATES",
    "EventCallback",
    "StateCallback",
    "StreamHandle",
    "StreamKind",
    "StreamState",
    "StreamStateChanged",
    "SubscriptionAcks",
    "acknowledged_channels",
    "unread_updates",
    "watcher_for",
]

StreamKind = Literal["trades", "ohlcv", "ticker", "order_book", "orders", "my_trades", "balance"]
StreamState = Literal["connecting", "connected", "disconnected", "stopped", "failed"]
STREAM_KINDS: tuple[str, ...] = StreamKind.__args__  # type: ignore[attr-defined]
STREAM_STATES: tuple[str, ...] = StreamState.__args__  # type: ignore[attr-defined]

_log = logging.getLogger("real_trade.venues.streams")
_FINAL_STREAM_ERRORS = (AuthenticationError, BadSymbolError, NotSupportedError, ConfigError)
_LIST_KINDS = frozenset({"trades", "ohlcv", "orders", "my_trades"})
_CONNECT_POLL_S = 0.02
_UNREAD_POLL_S = 1.0
_CACHES = {"orders": "orders", "my_trades": "myTrades"}  # kind -> ccxt.pro's cache attribute
_ONCE_MAX = 20_000  # order states / fill ids remembered for de-duplication


@dataclass(frozen=True)
class StreamStateChanged:
    """A stream changed state: published on ``venue.stream.<kind>`` and given to ``on_state``.

    ``error`` is the (redacted) reason of a ``disconnected`` or ``failed`` state, else None.
    """

    venue: str
    kind: str
    symbol: str | None
    state: str
    error: str | None = None


EventCallback = Callable[[Any], None]
"""``on_event(item)``: one trade, candle, order or fill, or a whole balance / ticker / book."""

StateCallback = Callable[[StreamStateChanged], None]
"""``on_state(change)``: called on every state change of a stream."""

Watch = Callable[[], Awaitable[Any]]


def watcher_for(
    exchange: Any, kind: str, symbol: str | None, timeframe: str = "1m", limit: int | None = None
) -> Watch:
    """The zero-argument coroutine function that waits for the next update of a stream.

    ``kind`` is one of :data:`STREAM_KINDS`; the market-data kinds need a ``symbol``. Raises
    ConfigError naming ``kind`` or ``symbol`` when they do not fit.
    """
    if kind not in STREAM_KINDS:
        raise ConfigError(
            f"unknown stream kind {kind!r}", field="kind", fix=f"use one of {list(STREAM_KINDS)}"
        )
    if kind in ("trades", "ohlcv", "ticker", "order_book") and not symbol:
        raise ConfigError(f"the {kind} stream needs a symbol", field="symbol")
    watchers: dict[str, Watch] = {
        "trades": lambda: exchange.watch_trades(symbol),
        "ohlcv": lambda: exchange.watch_ohlcv(symbol, timeframe),
        "ticker": lambda: exchange.watch_ticker(symbol),
        "order_book": lambda: exchange.watch_order_book(symbol, limit),
        "orders": lambda: exchange.watch_orders(symbol),
        "my_trades": lambda: exchange.watch_my_trades(symbol),
        "balance": lambda: exchange.watch_balance(),
    }
    return watchers[kind]


def unread_updates(exchange: Any, kind: str, symbol: str | None) -> list[Any]:
    """What ccxt.pro cached for an ``orders`` or ``my_trades`` watch while no caller waited.

    ccxt.pro counts the updates since a watch last read its cache (``getLimit``) and hands them to
    the next watch only when another message resolves it; this reads them now, as that watch
    would, and marks them read. Empty for other kinds, an empty cache, or nothing unread.
    """
    cache = getattr(exchange, _CACHES.get(kind, ""), None) if kind in _CACHES else None
    if cache is None or not hasattr(cache, "getLimit"):
        return []
    if symbol is None:
        count = getattr(cache, "_all_new_updates", 0) or 0
        read = getattr(cache, "_clear_all_updates", True)
    else:
        count = (getattr(cache, "_new_updates_by_symbol", None) or {}).get(symbol, 0) or 0
        read = (getattr(cache, "_clear_updates_by_symbol", None) or {}).get(symbol, False)
    if read or count <= 0:
        return []
    count = cache.getLimit(symbol, None) or 0
    items = [item for item in cache if symbol is None or item.get("symbol") == symbol]
    return items[-count:] if count > 0 else []


class _Once:
    """Passes each order state (status, filled, remaining, update time) and each fill once.

    A watch and :func:`unread_updates` may both hand over the same update; the broker should see
    it once. Other kinds pass unchanged. Remembers the last ``_ONCE_MAX`` keys.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._seen: dict[tuple[Any, Any], tuple[Any, ...]] = {}

    def fresh(self, item: Any) -> bool:
        """Whether ``item`` is new (and remember it)."""
        if self.kind not in _CACHES or not isinstance(item, dict) or item.get("id") is None:
            return True
        key = (item.get("symbol"), item["id"])
        if self.kind == "orders":
            trades = item.get("trades")
            state: tuple[Any, ...] = (
                item.get("status"),
                item.get("filled"),
                item.get("remaining"),
                item.get("lastUpdateTimestamp") or item.get("timestamp"),
                len(trades) if isinstance(trades, list) else None,
            )
        else:
            state = ()
        if self._seen.get(key) == state:
            return False
        self._seen.pop(key, None)
        self._seen[key] = state
        if len(self._seen) > _ONCE_MAX:
            del self._seen[next(iter(self._seen))]
        return True


class _LatestBalance:
    """The balance ccxt.pro holds now, when it is newer than the one a watch returned last.

    ccxt.pro keeps the balance in ``exchange.balance`` (or one of its values per account type)
    and on each update either replaces that dict or refills it in place with a new ``info`` (the
    venue's message) and ``timestamp``: another dict there, or the same one with another
    ``info`` or ``timestamp``, is an update no watch returned yet.
    """

    def __init__(self) -> None:
        self._key: Any = None
        self._found = False
        self._seen: tuple[Any, Any, Any] = (None, None, None)

    @staticmethod
    def _state(balance: Any) -> tuple[Any, Any, Any]:
        # the objects themselves (held, so none is freed and its id reused), not their ids
        return (balance, balance.get("info"), balance.get("timestamp"))

    def delivered(self, exchange: Any, balance: Any) -> None:
        """A watch returned ``balance``: remember it and where ccxt.pro keeps it."""
        self._found = False
        if not isinstance(balance, dict):
            return
        self._seen = self._state(balance)
        held = getattr(exchange, "balance", None)
        if held is balance:
            self._key, self._found = None, True
        elif isinstance(held, dict):
            for key, value in held.items():
                if value is balance:
                    self._key, self._found = key, True
                    break

    def unread(self, exchange: Any) -> Any:
        """A newer balance than the last delivered (and mark it delivered), else None."""
        if not self._found:
            return None
        held = getattr(exchange, "balance", None)
        current = held if self._key is None else (held or {}).get(self._key)
        if not isinstance(current, dict):
            return None
        state = self._state(current)
        if all(a is b for a, b in zip(state, self._seen, strict=True)):
            return None
        self._seen = state
        return current


def _is_open(client: Any) -> bool:
    """Whether a ccxt.pro websocket client's connection is open."""
    connected = getattr(client, "connected", None)
    return (
        connected is not None
        and connected.done()
        and not connected.cancelled()
        and connected.exception() is None
    )


def _open_clients(exchange: Any) -> set[tuple[str, int]]:
    """(url, client identity) of every ccxt.pro websocket client whose connection is open."""
    clients = (getattr(exchange, "clients", None) or {}).items()
    return {(url, id(client)) for url, client in list(clients) if _is_open(client)}


def acknowledged_channels(client: Any, message: Any) -> list[str]:
    """The channels a venue's websocket message confirms a subscription to (else empty).

    Binance spot's WebSocket API: ``{"status": 200, "result": {"subscriptionId": ...}}``
    (channel ``userDataStream``). OKX: ``{"event": "subscribe", "arg": {"channel": ...}}``.
    Bybit: ``{"op": "subscribe", "success": true, "req_id": ...}``, whose topics are those
    ccxt.pro recorded with that request id in the client's subscriptions (a topic
    ``order.linear`` is channel ``order``).
    """
    if not isinstance(message, Mapping):
        return []
    result = message.get("result")
    if message.get("status") == 200 and isinstance(result, Mapping) and "subscriptionId" in result:
        return ["userDataStream"]
    arg = message.get("arg")
    if message.get("event") == "subscribe" and isinstance(arg, Mapping) and arg.get("channel"):
        return [str(arg["channel"])]
    if message.get("op") != "subscribe" or message.get("success") is not True:
        return []
    req_id = message.get("req_id")
    out: list[str] = []
    for sub in list((getattr(client, "subscriptions", None) or {}).values()):
        if isinstance(sub, Mapping) and req_id is not None and str(sub.get("id")) == str(req_id):
            out += [str(topic).split(".")[0] for topic in sub.get("topics") or []]
    return out


class SubscriptionAcks:
    """The subscriptions a venue confirmed on each of a ccxt.pro exchange's websocket clients.

    Wraps the exchange's ``handle_message`` (each client calls it with every decoded message)
    to note :func:`acknowledged_channels` against the client; a reconnect is a new client, so
    its channels count only once confirmed again. Install it before the first watch.
    """

    def __init__(self, exchange: Any) -> None:
        """Follow ``exchange``'s websocket messages from now on."""
        self._exchange = exchange
        self._channels: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
        handle = exchange.handle_message

        def on_message(client: Any, message: Any) -> Any:
            channels = acknowledged_channels(client, message)
            if channels:
                self._channels.setdefault(client, set()).update(channels)
            return handle(client, message)

        exchange.handle_message = on_message
        for client in list((getattr(exchange, "clients", None) or {}).values()):
            client.on_message_callback = on_message

    def confirmed(self, channel: str) -> bool:
        """Whether an open websocket of the exchange carries a confirmed ``channel``."""
        clients = (getattr(self._exchange, "clients", None) or {}).values()
        return any(
            channel in self._channels.get(client, ()) and _is_open(client)
            for client in list(clients)
        )


class StreamHandle:
    """One running stream (see the module docstring); stop it with :meth:`stop`.

    ``kind``, ``symbol``, ``state``, ``last_error``, ``reconnects`` (completed reconnections)
    and ``events`` (items delivered) describe it; ``confirmed_by_venue``: it is ``connected``
    once the venue confirmed its subscription (``subscribed()`` tells), not when a socket opens.
    After a timestamp refusal it awaits ``resync_clock()`` (the connection's) before retrying.
    Created by ``VenueClient.stream``.
    """

    def __init__(
        self,
        *,
        venue: str,
        kind: str,
        symbol: str | None,
        watch: Watch,
        on_event: EventCallback,
        on_state: StateCallback | None,
        bus: EventBus | None,
        base_delay: float,
        max_delay: float,
        loop: asyncio.AbstractEventLoop,
        on_done: Callable[[StreamHandle], None] | None = None,
        exchange: Any = None,
        subscribed: Callable[[], bool] | None = None,
        resync_clock: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.venue, self.kind, self.symbol = venue, kind, symbol
        self._subscribed = subscribed
        self.confirmed_by_venue = subscribed is not None
        self._watch, self._on_event, self._on_state = watch, on_event, on_state
        self._bus = bus
        self.base_delay, self.max_delay = base_delay, max_delay
        self._loop, self._on_done, self._exchange = loop, on_done, exchange
        self._resync_clock = resync_clock
        self.state: str = "connecting"
        self.last_error: str | None = None
        self.reconnects = 0
        self.events = 0
        self._once = _Once(kind)
        self._balance = _LatestBalance()
        self._up = threading.Event()  # connected, or ended: nothing more to wait for
        self._task: asyncio.Task[None] | None = None
        self._loop_thread: int | None = None
        self._backoff = ReconnectBackoff(
            base_delay=base_delay, max_delay=max(base_delay, max_delay), rng=random.Random()
        )

    def __repr__(self) -> str:
        """Kind, symbol and state."""
        return f"StreamHandle({self.venue}:{self.kind}:{self.symbol or '-'}, {self.state})"

    @property
    def is_running(self) -> bool:
        """Whether the stream's task is alive."""
        return self._task is not None and not self._task.done()

    def wait_up(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the stream to be ``connected`` (any thread but the I/O
        loop's); returns whether it is. A stream that ended (stopped, failed) is not waited for.
        """
        self._up.wait(timeout)
        return self.state == "connected"

    async def start_async(self) -> None:
        """Start the stream's task on the running loop (the client's I/O loop)."""
        self._loop_thread = threading.get_ident()
        if self._task is None:
            self._publish(StreamStateChanged(self.venue, self.kind, self.symbol, self.state))
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"rt-stream-{self.venue}-{self.kind}-{self.symbol or 'all'}"
            )

    async def stop_async(self) -> None:
        """Cancel the task and wait for it to end (on the I/O loop)."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.state not in ("stopped", "failed"):
            self._set_state("stopped")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the stream from any thread (idempotent); the final state is ``stopped``."""
        if self._loop.is_closed() or not self._loop.is_running():
            return
        future = asyncio.run_coroutine_threadsafe(self.stop_async(), self._loop)
        if threading.get_ident() != self._loop_thread:  # on the I/O thread: cannot wait
            future.result(timeout)

    def _set_state(self, state: str, error: str | None = None) -> None:
        if state == self.state and error is None:
            return
        self.state = state
        if state in ("connected", "stopped", "failed"):
            self._up.set()
        else:
            self._up.clear()
        if error is not None:
            self.last_error = error
        self._publish(StreamStateChanged(self.venue, self.kind, self.symbol, state, error))

    def _publish(self, change: StreamStateChanged) -> None:
        state, error = change.state, change.error
        _log.info(
            "stream %s:%s:%s %s%s",
            self.venue,
            self.kind,
            self.symbol,
            state,
            f" ({error})" if error else "",
        )
        if self._on_state is not None:
            try:
                self._on_state(change)
            except Exception:
                _log.exception("on_state callback of %r failed", self)
        if self._bus is not None:
            # a closed bus raises RuntimeError: its owner is shutting down
            with contextlib.suppress(RuntimeError):
                self._bus.publish(f"venue.stream.{self.kind}", change)

    def _deliver(self, result: Any) -> None:
        items = result if self.kind in _LIST_KINDS and isinstance(result, list) else [result]
        for item in items:
            if not self._once.fresh(item):
                continue
            self.events += 1
            try:
                self._on_event(item)
            except Exception:
                _log.exception("on_event callback of %r failed", self)

    async def _next(self) -> Any:
        """Await the next update, flagging ``connected`` as soon as a new socket opens, and
        delivering what ccxt.pro cached unread once the watch waits (and every second after)."""
        before = _open_clients(self._exchange) if self._exchange is not None else set()
        task = asyncio.ensure_future(self._watch())
        unread = (self.kind in _CACHES or self.kind == "balance") and self._exchange is not None
        try:
            await asyncio.sleep(0)  # the watch now waits in ccxt.pro: later updates reach it
            while not task.done():
                connecting = self.state != "connected" and self._exchange is not None
                if connecting and self._opened(before):
                    self._connected()
                    connecting = False
                if unread and (cached := self._unread()):
                    self._deliver(cached)
                if not connecting and not unread:
                    break
                await asyncio.wait(
                    {task}, timeout=_CONNECT_POLL_S if connecting else _UNREAD_POLL_S
                )
            return await task
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    def _opened(self, before: set[tuple[str, int]]) -> bool:
        """Whether this stream now flows: the venue confirmed its subscription on an open
        socket, or (a venue without subscriptions) a new socket opened."""
        if self._subscribed is not None:
            return self._subscribed()
        return bool(_open_clients(self._exchange) - before)

    def _unread(self) -> Any:
        """What ccxt.pro holds that no watch returned: cached orders / fills, or a balance."""
        if self.kind == "balance":
            return self._balance.unread(self._exchange)
        return unread_updates(self._exchange, self.kind, self.symbol)

    def _connected(self) -> None:
        if self.state == "disconnected":
            self.reconnects += 1
        self._set_state("connected")

    async def _run(self) -> None:
        backoff = self._backoff
        try:
            while True:
                try:
                    result = await self._next()
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise
                    # another watcher of the same ccxt future was cancelled: watch again
                    await asyncio.sleep(0)
                    continue
                except Exception as exc:  # every failure is translated and decided on below
                    error: RealTradeError = translate_ccxt_error(exc)
                else:
                    backoff.succeeded()
                    if self.state != "connected":
                        self._connected()
                    if self.kind == "balance":
                        self._balance.delivered(self._exchange, result)
                    self._deliver(result)
                    continue
                message = redact(f"{type(error).__name__}: {error}")
                if isinstance(error, _FINAL_STREAM_ERRORS):
                    self._set_state("failed", message)
                    return
                backoff.failed()
                self._set_state("disconnected", message)
                if isinstance(error, ClockSkewError) and self._resync_clock is not None:
                    with contextlib.suppress(Exception):  # resync; a failure shows on the retry
                        await self._resync_clock()
                await backoff.wait()
        finally:
            if self._on_done is not None:
                self._on_done(self)
