"""One server-side websocket of the simulator's faces: queue, pings, lifetime, drops.

:class:`WsConnection` wraps an aiohttp ``WebSocketResponse`` the way exchange servers treat a
connection (Binance's policy by default, see :class:`WsSettings`): messages go out in order
through one writer task (publishers only enqueue, so a bus event never waits on a socket); the
server sends a ping frame every ``WsSettings.ping_interval_s`` and closes the connection when no
pong answering one of its pings arrived within ``pong_timeout_s`` (unsolicited pongs do not
count); a client ping is answered with a pong carrying the same payload; the connection is
closed after ``max_lifetime_s``; a client that cannot keep up (more than ``max_queue`` messages
waiting) is disconnected.

:class:`ConnectionRegistry` keeps the live connections of one face so the fault plan's
``drop_connections(code)`` can close them all from any thread. Code 1006 (abnormal closure,
which no close frame may carry) aborts the TCP connection, the way a network failure looks to the
client; any other code is sent in a close frame.

:func:`json_frame` writes a message as compact JSON text, as every face's frames are written.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

__all__ = ["ConnectionRegistry", "WsConnection", "WsSettings", "json_frame"]

_log = logging.getLogger("real_trade.sim.ws")

ABNORMAL_CLOSURE = 1006
"""The close code that means "the connection just died": sent as a TCP abort, not a frame."""
GOING_AWAY = 1001
"""Close code of a server closing on shutdown or at the end of a connection's lifetime."""
POLICY_VIOLATION = 1008
"""Close code of a server closing a client that missed its pongs or could not keep up."""


def json_frame(obj: Any) -> str:
    """``obj`` as one compact JSON text frame (no spaces after separators)."""
    return json.dumps(obj, separators=(",", ":"))


@dataclass
class WsSettings:
    """Connection policy of the simulator's websocket faces (Binance's values by default).

    ``ping_interval_s``: seconds between server ping frames (Binance: 20). ``pong_timeout_s``:
    a connection with no pong to a server ping for this long is closed (Binance: 60).
    ``max_lifetime_s``: every connection is closed after this long (Binance: 24 h).
    ``max_queue``: messages allowed to wait for a slow client before it is disconnected.
    ``pacer_interval_s``: wall seconds between checks for periodic streams (tickers, partial
    depth, kline updates) and for a resumed user-data stream. All are wall-clock seconds and may
    be changed while the server runs; they apply to connections opened afterwards.
    """

    ping_interval_s: float = 20.0
    pong_timeout_s: float = 60.0
    max_lifetime_s: float = 86_400.0
    max_queue: int = 50_000
    pacer_interval_s: float = 0.05


class WsConnection:
    """A server-side websocket with an exchange's connection policy (see the module docstring).

    Create it inside an aiohttp handler with :meth:`open`, then ``await`` :meth:`serve` with the
    function that handles each text frame; :meth:`send` enqueues a text frame (call it on the
    server's loop), :meth:`close` closes with a code. ``closed`` tells whether it is finished.
    """

    def __init__(
        self, request: web.Request, ws: web.WebSocketResponse, settings: WsSettings
    ) -> None:
        """Wrap the prepared ``ws`` of ``request``; use :meth:`open` rather than this."""
        self.request = request
        self.ws = ws
        self.settings = settings
        self.closed = False
        self.close_code: int | None = None
        self.connected_ms = int(time.time() * 1000)
        self._queue: deque[str] = deque()
        self._wakeup = asyncio.Event()
        self._pings: deque[bytes] = deque(maxlen=16)
        self._last_pong = time.monotonic()
        self._tasks: list[asyncio.Task[None]] = []
        self._done = asyncio.Event()
        self._close_after: int | None = None
        self._closer: asyncio.Future[None] | None = None

    @classmethod
    async def open(cls, request: web.Request, settings: WsSettings) -> WsConnection:
        """Accept the websocket upgrade of ``request`` and return the connection."""
        ws = web.WebSocketResponse(
            autoping=False, compress=False, timeout=5.0, max_msg_size=1 << 20
        )
        await ws.prepare(request)
        return cls(request, ws, settings)

    # -- sending --------------------------------------------------------------------------
    def send(self, text: str) -> None:
        """Queue one text frame for the client (loop thread only; never blocks)."""
        if self.closed:
            return
        if len(self._queue) >= self.settings.max_queue:
            _log.warning("websocket client too slow (%d queued); disconnecting", len(self._queue))
            self.close(POLICY_VIOLATION)
            return
        self._queue.append(text)
        self._wakeup.set()

    async def _writer(self) -> None:
        queue = self._queue
        while not self.closed:
            await self._wakeup.wait()
            self._wakeup.clear()
            while queue and not self.closed:
                text = queue.popleft()
                try:
                    await self.ws.send_str(text)
                except (ConnectionError, RuntimeError):
                    self.close(ABNORMAL_CLOSURE)
                    return
            if self._close_after is not None and not queue:
                self.close(self._close_after)
                return

    # -- keepalive and lifetime -----------------------------------------------------------
    async def _pinger(self) -> None:
        interval = self.settings.ping_interval_s
        timeout = self.settings.pong_timeout_s
        while not self.closed:
            await asyncio.sleep(min(interval, timeout))
            if self.closed:
                return
            if time.monotonic() - self._last_pong > timeout:
                _log.info("websocket client missed its pongs for %.1fs; disconnecting", timeout)
                self.close(POLICY_VIOLATION)
                return
            payload = os.urandom(8).hex().encode()
            self._pings.append(payload)
            try:
                await self.ws.ping(payload)
            except (ConnectionError, RuntimeError):
                self.close(ABNORMAL_CLOSURE)
                return

    async def _lifetime(self) -> None:
        await asyncio.sleep(self.settings.max_lifetime_s)
        self.close(GOING_AWAY)

    # -- reading --------------------------------------------------------------------------
    async def serve(self, on_text: Callable[[str], Awaitable[None] | None]) -> None:
        """Run the connection until it closes, handing every text frame to ``on_text``.

        ``on_text`` may be a plain function or a coroutine function; a coroutine is awaited
        before the next frame is read, so requests on one connection are answered in order.
        """
        self._tasks = [
            asyncio.create_task(self._writer()),
            asyncio.create_task(self._pinger()),
            asyncio.create_task(self._lifetime()),
        ]
        try:
            async for msg in self.ws:
                if msg.type is WSMsgType.TEXT:
                    result = on_text(msg.data)
                    if result is not None:
                        await result
                elif msg.type is WSMsgType.PING:
                    await self.ws.pong(msg.data)
                elif msg.type is WSMsgType.PONG:
                    if msg.data in self._pings:
                        self._last_pong = time.monotonic()
                        self._pings.clear()
                elif msg.type is WSMsgType.BINARY:
                    continue
                else:
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.closed = True
            self._wakeup.set()
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if not self.ws.closed:
                with contextlib.suppress(Exception):
                    await self.ws.close(code=self.close_code or GOING_AWAY)
            self._done.set()

    def close(self, code: int = GOING_AWAY, *, flush: bool = False) -> None:
        """Close the connection with ``code`` (1006: abort the TCP connection, no frame).

        With ``flush=True`` the frames already queued are sent first.
        """
        if self.closed:
            return
        if flush and self._queue:
            self._close_after = code
            self._wakeup.set()
            return
        self.closed = True
        self.close_code = code
        self._wakeup.set()
        transport = self.request.transport
        if code == ABNORMAL_CLOSURE and transport is not None:
            transport.abort()
            return
        self._closer = asyncio.ensure_future(self._close_frame(code))

    async def _close_frame(self, code: int) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close(code=code)

    async def wait_closed(self) -> None:
        """Wait until :meth:`serve` has finished."""
        await self._done.wait()


class ConnectionRegistry:
    """The live connections of one face, closable all at once from any thread.

    :meth:`attach` registers the registry's dropper with the fault plan (call it on the server
    loop at startup); the fault plan then calls :meth:`drop_threadsafe` with a close code.
    """

    def __init__(self) -> None:
        """Start empty; the loop is learnt at :meth:`attach`."""
        self.connections: set[WsConnection] = set()
        self.loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the server loop that owns every connection of this registry."""
        self.loop = loop

    def add(self, conn: WsConnection) -> None:
        """Track ``conn`` until :meth:`discard`."""
        self.connections.add(conn)

    def discard(self, conn: WsConnection) -> None:
        """Stop tracking ``conn``."""
        self.connections.discard(conn)

    def close_all(self, code: int) -> None:
        """Close every tracked connection with ``code`` (loop thread only)."""
        for conn in list(self.connections):
            conn.close(code)

    def drop_threadsafe(self, code: int) -> None:
        """Close every connection with ``code``; callable from any thread (the fault plan's)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self.close_all, code)
