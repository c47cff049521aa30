"""``BaseWebSocket``: one self-healing exchange websocket (its typed updates: ``ws_updates``).

A :class:`BaseWebSocket` owns one aiohttp websocket on the venue client's I/O loop: the loop it is
given (``start(channels, loop=client.loop)``) or, used without a store, an
:class:`~real_trade.venues.ioloop.IoLoop` of its own (the class that runs every venue
connection's loop); ``start``/``stop``/``send`` are safe from any thread. It keeps the
connection alive:

* heartbeat: protocol pings (aiohttp ``heartbeat``; server pings are answered automatically) or,
  for venues that want one, a text ping (:meth:`~BaseWebSocket._heartbeat_message`) every
  ``ping_interval`` seconds, the connection being declared dead when nothing at all (not even the
  pong) arrives for two intervals;
* reconnects with exponential backoff and jitter (``reconnect_delay`` doubled per consecutive
  failure, capped at ``max_reconnect_delay``): the
  :class:`~real_trade.venues.reconnect.ReconnectBackoff` the ccxt.pro streams use too;
  the count resets once a connection stayed up ``stable_after`` seconds; after
  ``max_reconnect_attempts`` failed reconnects (0: never give up) it emits ``max_reconnect`` and
  stops;
* resubscribes (:meth:`~BaseWebSocket._handshake_messages`) on every connection, and reconnects
  at once, without backoff, before ``max_connection_age`` (venues drop old connections) or when
  :meth:`~BaseWebSocket.request_reconnect` is called (a venue's shutdown notice).

Malformed frames (bad JSON, unexpected shapes, non-finite numbers) are logged, counted in
``stats['malformed']``, reported as an ``error`` event carrying an ExchangeProtocolError, and
skipped. Events go through the event bus (:class:`real_trade.bus.EventBus`): ``on(event, cb)``
subscribes to the topic ``ws.<client id>.<event>`` and emitting publishes there, on a
synchronous bus of the client's own unless one is given (``bus=``). Events: ``connected``
(url), ``disconnected`` (:class:`DisconnectInfo`), ``error`` (an exception), ``max_reconnect``
(attempts), ``message`` (every decoded data payload) and the typed events subclasses emit:
``kline`` (:class:`KlineUpdate`), ``trade``/``agg_trade`` (:class:`TradeUpdate`), ``depth``
(:class:`DepthUpdate`), ``book_ticker`` (:class:`BookTickerUpdate`), ``ticker``
(:class:`TickerUpdate`). Callbacks run on the I/O loop thread (on the bus's dispatcher thread
with an asynchronous bus) and must not block.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from real_trade.bus import EventBus, Subscription
from real_trade.errors import ConfigError, ExchangeProtocolError, NetworkError
from real_trade.feeds.ws_updates import (
    BookTickerUpdate,
    DepthUpdate,
    KlineUpdate,
    PriceLevels,
    TickerUpdate,
    TradeUpdate,
    finite_number,
    level_rows,
    price_levels,
)
from real_trade.venues.ioloop import IoLoop
from real_trade.venues.reconnect import ReconnectBackoff, Sleep

__all__ = [
    "BaseWebSocket",
    "BookTickerUpdate",
    "DepthUpdate",
    "DisconnectInfo",
    "KlineUpdate",
    "PriceLevels",
    "TickerUpdate",
    "TradeUpdate",
    "decode_json",
    "finite_number",
    "level_rows",
    "price_levels",
]

_log = logging.getLogger("real_trade.feeds.ws")

Callback = Callable[[Any], None]
"""An event handler: called with the event's data on the I/O loop thread."""
_ids = itertools.count(1)

_MALFORMED = (ValueError, KeyError, TypeError, IndexError, AttributeError)


@dataclass(frozen=True, slots=True)
class DisconnectInfo:
    """Why a connection ended: websocket ``code`` (None when unknown), a readable ``reason``,
    whether the client ``will_reconnect``, and how long the connection had been up."""

    code: int | None
    reason: str
    will_reconnect: bool
    connected_seconds: float


@dataclass(frozen=True, slots=True)
class _Ending:
    connected: bool
    code: int | None = None
    reason: str = ""
    proactive: bool = False
    lasted: float = 0.0


# -- the client -------------------------------------------------------------------------------
class BaseWebSocket:
    """A self-healing websocket client with typed events (see the module docstring).

    Subclasses implement :meth:`_get_ws_url`, :meth:`_build_subscribe_msg` and
    :meth:`_on_message`; they may override :meth:`_handshake_messages`,
    :meth:`_heartbeat_message` and :meth:`_is_heartbeat_reply`. ``sleep`` and ``rng`` are
    injectable so that backoff is testable without waiting; ``bus`` carries the events (default:
    a synchronous bus of its own, so callbacks run on the I/O thread). Bad settings raise
    ConfigError.
    """

    #: Send protocol ping frames (aiohttp heartbeat); venues with text pings turn this off.
    use_protocol_ping: bool = True

    def __init__(
        self,
        *,
        ping_interval: float = 20.0,
        reconnect_delay: float = 1.0,
        max_reconnect_delay: float = 60.0,
        max_reconnect_attempts: int = 10,
        reconnect_jitter: float = 0.2,
        stable_after: float = 30.0,
        max_connection_age: float | None = None,
        connect_timeout: float = 10.0,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
        bus: EventBus | None = None,
    ) -> None:
        """Configure the client; nothing connects until :meth:`start`."""
        if not ping_interval > 0:
            raise ConfigError(
                f"ping_interval must be > 0, not {ping_interval!r}",
                field="ping_interval",
                fix="use seconds, e.g. 20",
            )
        self.ping_interval = ping_interval
        self.reconnect_delay = reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        self.max_reconnect_attempts = max_reconnect_attempts
        self.reconnect_jitter = reconnect_jitter
        self.stable_after = stable_after
        self.max_connection_age = max_connection_age
        self.connect_timeout = connect_timeout
        self._sleep: Sleep | None = sleep
        self._rng = rng
        self._new_backoff()  # validates the reconnect settings now, naming a bad field
        self.channels: list[Any] = []
        self.stats: dict[str, int] = dict.fromkeys(
            (
                "messages",
                "malformed",
                "connects",
                "disconnects",
                "reconnect_attempts",
                "sent",
                "heartbeats",
                "callback_errors",
            ),
            0,
        )
        self.bus = bus or EventBus(synchronous=True, name=type(self).__name__)
        self.topic_prefix = f"ws.{type(self).__name__.lower()}-{next(_ids)}"
        self._topics: dict[str, str] = {}
        self._bus_subs: dict[tuple[str, Callback], list[Subscription]] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._own_io: IoLoop | None = None
        self._run_future: concurrent.futures.Future[None] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._connecting: asyncio.Future[aiohttp.ClientWebSocketResponse] | None = None
        self._stop_event: asyncio.Event | None = None
        self._stopping = False
        self._reconnect_now = False
        self._tasks: set[asyncio.Task[None]] = set()

    # -- events -----------------------------------------------------------------------------
    def topic(self, event: str) -> str:
        """The bus topic of ``event`` for this client: ``ws.<client id>.<event>``."""
        topic = self._topics.get(event)
        if topic is None:
            topic = self._topics[event] = f"{self.topic_prefix}.{event}"
        return topic

    def on(self, event: str, callback: Callback) -> None:
        """Call ``callback(data)`` whenever ``event`` is emitted: a subscription to the event's
        bus topic (any thread may register)."""
        sub = self.bus.subscribe(self.topic(event), lambda _topic, data: callback(data))
        with self._lock:
            self._bus_subs.setdefault((event, callback), []).append(sub)

    def off(self, event: str, callback: Callback) -> None:
        """Stop calling ``callback`` for ``event`` (an unknown pair is ignored)."""
        with self._lock:
            subs = self._bus_subs.get((event, callback))
            sub = subs.pop() if subs else None
            if subs == []:
                del self._bus_subs[(event, callback)]
        if sub is not None:
            sub.unsubscribe()

    def emit(self, event: str, data: Any = None) -> None:
        """Publish ``data`` on the event's bus topic. A callback that raises is logged by the bus
        and, on a synchronous bus, counted (``stats['callback_errors']``); it stops neither the
        others nor the connection."""
        bus = self.bus
        before = bus.stats.handler_errors
        try:
            bus.publish(self._topics.get(event) or self.topic(event), data)
        except RuntimeError:  # a closed bus: its owner is shutting down
            return
        if bus.synchronous and bus.stats.handler_errors != before:
            self.stats["callback_errors"] += bus.stats.handler_errors - before

    # -- lifecycle (any thread) -------------------------------------------------------------
    @property
    def is_connected(self) -> bool:
        """Whether a websocket connection is open right now."""
        ws = self._ws
        return ws is not None and not ws.closed

    @property
    def is_running(self) -> bool:
        """Whether the client runs (connected, connecting or waiting to reconnect)."""
        future = self._run_future
        return future is not None and not future.done()

    def start(
        self, channels: Sequence[Any] | None = None, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        """Connect and subscribe to ``channels`` on ``loop`` (a store's I/O loop), or on an
        :class:`~real_trade.venues.ioloop.IoLoop` of its own.

        Returns at once; ``connected`` is emitted when the connection is up. Starting a client
        that runs raises RuntimeError; a configuration without a valid URL raises ConfigError.
        """
        if self.is_running:
            raise RuntimeError(f"{type(self).__name__} is already running; stop() it first")
        self.channels = list(channels or [])
        self._get_ws_url()  # a bad configuration fails here, in the caller's thread
        self._stopping = False
        if loop is None:
            self._own_io = IoLoop(f"{type(self).__name__}-io")
            loop = self._own_io.start()
        else:
            self._own_io = None
        self._loop = loop
        self._run_future = asyncio.run_coroutine_threadsafe(self._run(), loop)

    def stop(self, timeout: float = 10.0) -> None:
        """Close the connection, stop reconnecting and wait (up to ``timeout``) until done.

        Idempotent. Called on the I/O loop thread (from a callback) it only requests the stop:
        ``await`` :meth:`aclose` there to wait for it.
        """
        loop, future, own_io = self._loop, self._run_future, self._own_io
        self._stopping = True
        if loop is not None and future is not None and not future.done() and not loop.is_closed():
            if _on_loop_thread(loop):
                self._track(loop.create_task(self._request_stop()))
                return
            with contextlib.suppress(RuntimeError, concurrent.futures.TimeoutError):
                asyncio.run_coroutine_threadsafe(self._request_stop(), loop).result(timeout)
            with contextlib.suppress(Exception):
                future.result(timeout)
        if own_io is not None and not own_io.on_loop_thread():
            own_io.stop(timeout)  # its loop ends with the client: join the thread

    async def aclose(self) -> None:
        """Stop from a coroutine on the I/O loop and wait until the client has finished."""
        await self._request_stop()
        future = self._run_future
        if future is not None:
            await asyncio.wrap_future(future)

    async def _request_stop(self) -> None:
        self._stopping = True
        if self._stop_event is not None:
            self._stop_event.set()
        if self._connecting is not None:
            self._connecting.cancel()
        await _close_quietly(self._ws)

    def request_reconnect(self) -> None:
        """Close the current connection and reconnect at once, without backoff (any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            self._reconnect_now = True
            loop.call_soon_threadsafe(lambda: self._track(loop.create_task(self._request_close())))

    async def _request_close(self) -> None:
        await _close_quietly(self._ws)

    # -- sending (any thread) ---------------------------------------------------------------
    def send(self, msg: str | dict[str, Any] | list[Any]) -> bool:
        """Send ``msg`` (a string, else JSON-encoded) on the open connection, from any thread.

        Messages from one thread go out in order. Returns False, and logs, when no connection
        is open (the message is dropped, not queued: subscriptions belong in :attr:`channels`).
        """
        text = msg if isinstance(msg, str) else json.dumps(msg, separators=(",", ":"))
        loop = self._loop
        if loop is None or loop.is_closed() or not self.is_connected:
            _log.warning("%s: not connected; message not sent", type(self).__name__)
            return False
        if _on_loop_thread(loop):
            self._track(loop.create_task(self._send_text(text)))
        else:
            loop.call_soon_threadsafe(lambda: self._track(loop.create_task(self._send_text(text))))
        return True

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_text(self, text: str) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            return
        try:
            await ws.send_str(text)
            self.stats["sent"] += 1
        except (ConnectionError, RuntimeError, aiohttp.ClientError) as exc:
            self.emit("error", NetworkError(f"send failed: {exc}"))

    # -- hooks ------------------------------------------------------------------------------
    def _get_ws_url(self) -> str:
        """The URL to connect to (subclasses: from the venue, mode and channels)."""
        raise NotImplementedError

    def _build_subscribe_msg(self, channels: Sequence[Any]) -> str | dict[str, Any] | None:
        """The message that subscribes to ``channels`` (None: nothing to send)."""
        raise NotImplementedError

    def _on_message(self, msg: Any) -> None:
        """Handle one decoded payload by emitting events. Raise ValueError/KeyError/TypeError on
        an unexpected shape: the frame is then counted as malformed and skipped."""
        raise NotImplementedError

    def _handshake_messages(self, channels: Sequence[Any]) -> list[Any]:
        """The messages sent on every (re)connection, in order: by default one subscribe."""
        msg = self._build_subscribe_msg(channels) if channels else None
        return [] if msg is None else [msg]

    def _heartbeat_message(self) -> str | None:
        """A text ping sent every ``ping_interval`` (None: protocol pings only)."""
        return None

    def _is_heartbeat_reply(self, text: str) -> bool:
        """Whether a raw text frame is only the venue's answer to a text ping."""
        return False

    # -- the connection loop (on the I/O loop) ----------------------------------------------
    def _new_backoff(self) -> ReconnectBackoff:
        return ReconnectBackoff(
            base_delay=self.reconnect_delay,
            max_delay=self.max_reconnect_delay,
            jitter=self.reconnect_jitter,
            max_failures=self.max_reconnect_attempts,
            sleep=self._sleep,
            rng=self._rng,
        )

    def backoff_delay(self, failures: int) -> float:
        """Seconds to wait before reconnecting after ``failures`` consecutive failures."""
        return self._new_backoff().delay(failures)

    async def _run(self) -> None:
        self._stop_event = asyncio.Event()
        backoff = self._new_backoff()
        try:
            timeout = aiohttp.ClientTimeout(total=self.connect_timeout)  # the handshake only
            async with aiohttp.ClientSession(timeout=timeout) as session:
                while not self._stopping:
                    ending = await self._connect_once(session)
                    if ending.proactive or ending.lasted >= self.stable_after:
                        backoff.succeeded()
                    keep_trying = ending.proactive or backoff.failed()
                    give_up = not self._stopping and not keep_trying
                    self._report_end(ending, will_reconnect=not (give_up or self._stopping))
                    if self._stopping:
                        break
                    if give_up:
                        limit = self.max_reconnect_attempts
                        _log.error(
                            "%s: giving up after %d reconnect attempts", type(self).__name__, limit
                        )
                        self.emit("max_reconnect", limit)
                        break
                    if backoff.failures:
                        await backoff.wait(self._stop_event)
                    self.stats["reconnect_attempts"] += 0 if self._stopping else 1
        finally:
            self._stopping = True
            for task in list(self._tasks):
                if task is not asyncio.current_task():
                    task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._own_io is not None:
                self._own_io.stop_soon()

    def _report_end(self, ending: _Ending, *, will_reconnect: bool) -> None:
        if not ending.connected:
            return
        self.stats["disconnects"] += 1
        _log.info(
            "%s disconnected (%s, code %s)%s",
            type(self).__name__,
            ending.reason,
            ending.code,
            "; reconnecting" if will_reconnect else "",
        )
        info = DisconnectInfo(ending.code, ending.reason, will_reconnect, ending.lasted)
        self.emit("disconnected", info)

    async def _connect_once(self, session: aiohttp.ClientSession) -> _Ending:
        url = self._get_ws_url()
        self._connecting = asyncio.ensure_future(
            session.ws_connect(
                url,
                heartbeat=self.ping_interval if self.use_protocol_ping else None,
                timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
                max_msg_size=16 << 20,
            )
        )
        try:
            ws = await self._connecting
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            _log.warning("%s: cannot connect to %s: %s", type(self).__name__, url, exc)
            self.emit("error", NetworkError(f"cannot connect to {url}: {exc}"))
            return _Ending(connected=False)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._stopping and task is not None and not task.cancelling():
                return _Ending(connected=False)  # stop() interrupted the connection attempt
            raise
        finally:
            self._connecting = None
        if self._stopping:
            await _close_quietly(ws)
            return _Ending(connected=False)
        started = time.monotonic()
        self._ws, self._reconnect_now = ws, False
        self.stats["connects"] += 1
        heartbeat: asyncio.Task[None] | None = None
        try:
            for msg in self._handshake_messages(self.channels):
                await ws.send_str(msg if isinstance(msg, str) else json.dumps(msg))
            if self._heartbeat_message() is not None:
                heartbeat = asyncio.create_task(self._text_heartbeat(ws))
            _log.info("%s connected to %s", type(self).__name__, url)
            self.emit("connected", url)
            code, reason, proactive = await self._read_until_closed(ws, started)
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
            code, reason, proactive = ws.close_code, f"connection failed: {exc}", False
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
                await asyncio.gather(heartbeat, return_exceptions=True)
            await _close_quietly(ws)
            self._ws = None
        return _Ending(True, code, reason, proactive, time.monotonic() - started)

    async def _read_until_closed(
        self, ws: aiohttp.ClientWebSocketResponse, started: float
    ) -> tuple[int | None, str, bool]:
        # No timeout per receive (aiohttp would arm and cancel a timer for every frame): a
        # guard task closes the connection when it gets too old or, with text heartbeats, when
        # nothing arrived for two ping intervals; the reader then returns the guard's reason.
        idle = None if self._heartbeat_message() is None else 2 * self.ping_interval
        age = self.max_connection_age
        ending: list[tuple[int | None, str, bool]] = []
        received = [time.monotonic()]
        guard = None
        if idle is not None or age is not None:
            guard = asyncio.create_task(self._guard(ws, started, idle, age, received, ending))
        try:
            while True:
                msg = await ws.receive()
                if msg.type is aiohttp.WSMsgType.TEXT:
                    if idle is not None:
                        received[0] = time.monotonic()
                    self._handle_text(msg.data)
                    continue
                if ending:
                    return ending[0]
                if msg.type is aiohttp.WSMsgType.BINARY:
                    self._malformed("unexpected binary frame", repr(msg.data[:80]))
                elif msg.type is aiohttp.WSMsgType.ERROR:
                    return ws.close_code or 1006, f"connection error: {ws.exception()}", False
                elif self._reconnect_now:  # CLOSE / CLOSING / CLOSED from here on
                    return ws.close_code, "reconnect requested", True
                else:
                    return ws.close_code, "stopped" if self._stopping else "closed by peer", False
        finally:
            if guard is not None:
                guard.cancel()
                await asyncio.gather(guard, return_exceptions=True)

    async def _guard(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        started: float,
        idle: float | None,
        age: float | None,
        received: list[float],
        ending: list[tuple[int | None, str, bool]],
    ) -> None:
        """Close ``ws`` at ``started + age`` or after ``idle`` seconds without a frame."""
        while not ws.closed:
            now = time.monotonic()
            if age is not None and now >= started + age:
                ending.append((1000, "maximum connection age reached", True))
                break
            if idle is not None and now >= received[0] + idle:
                ending.append((None, f"nothing received for {idle}s: stale connection", False))
                break
            wake = min(
                started + age if age is not None else math.inf,
                received[0] + idle if idle is not None else math.inf,
            )
            await asyncio.sleep(max(0.0, wake - now))
        await _close_quietly(ws)

    async def _text_heartbeat(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while not ws.closed:
            await asyncio.sleep(self.ping_interval)
            text = self._heartbeat_message()
            if text is None or ws.closed:
                return
            with contextlib.suppress(ConnectionError, RuntimeError, aiohttp.ClientError):
                await ws.send_str(text)
                self.stats["heartbeats"] += 1

    def _handle_text(self, text: str) -> None:
        self.stats["messages"] += 1
        if self._is_heartbeat_reply(text):
            return
        try:
            payload = decode_json(text)
        except ValueError as exc:
            self._malformed(f"invalid JSON ({exc})", text)
            return
        try:
            self._on_message(payload)
        except _MALFORMED as exc:
            self._malformed(f"unexpected shape ({type(exc).__name__}: {exc})", text)

    def _malformed(self, why: str, text: str) -> None:
        self.stats["malformed"] += 1
        shown = text if len(text) <= 200 else text[:200] + "..."
        _log.warning("%s: skipping a malformed frame: %s: %s", type(self).__name__, why, shown)
        self.emit("error", ExchangeProtocolError(f"malformed frame skipped: {why}: {shown}"))


# What json.loads runs (the C scanner): an attribute JSONDecoder sets, absent from typeshed.
_scan_json: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def decode_json(text: str) -> Any:
    """``json.loads(text)`` without its Python layers for the usual frame: the C scanner reads
    the text from its first character; leading whitespace, trailing text or an error goes to
    ``json.loads``, which reads it (or raises ValueError) exactly as before."""
    try:
        value, end = _scan_json(text, 0)
    except (StopIteration, ValueError):
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


async def _close_quietly(ws: aiohttp.ClientWebSocketResponse | None) -> None:
    if ws is not None and not ws.closed:
        with contextlib.suppress(Exception):
            await ws.close()
