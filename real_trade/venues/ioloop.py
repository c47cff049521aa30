"""``IoLoop``: an asyncio loop in a daemon thread, the I/O loop of real_trade's venue traffic.

A :class:`~real_trade.venues.connection.VenueConnection` runs its ccxt.pro exchange, its streams
and the raw venue websockets of its feeds on one. A raw websocket used without a store
(``BinanceWebSocket().start(...)``) gets one of its own from the same class, so there is one
way to own an I/O loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

__all__ = ["IoLoop"]


class IoLoop:
    """One asyncio loop run forever by a daemon thread named ``name``; start and stop it.

    :meth:`start` is idempotent and returns the loop; :meth:`stop` ends the thread and closes
    the loop (the owner cancels its own tasks first). Neither may be called on the loop thread.
    """

    def __init__(self, name: str) -> None:
        """Configure the thread name; nothing runs until :meth:`start`."""
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """Thread name and whether it runs."""
        return f"IoLoop({self.name!r}, running={self.is_running})"

    @property
    def is_running(self) -> bool:
        """Whether the loop thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The running loop, None before :meth:`start` and after :meth:`stop`."""
        return self._loop

    @property
    def thread(self) -> threading.Thread | None:
        """The loop thread, None before :meth:`start` and after :meth:`stop`."""
        return self._thread

    def on_loop_thread(self) -> bool:
        """Whether the caller runs on the loop thread."""
        return self._thread is not None and threading.current_thread() is self._thread

    def start(self) -> asyncio.AbstractEventLoop:
        """Start the thread (idempotent) and return its loop."""
        with self._lock:
            if self._loop is not None and not self._loop.is_closed():
                return self._loop
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=_run_forever, args=(loop,), name=self.name, daemon=True
            )
            thread.start()
            self._loop, self._thread = loop, thread
            return loop

    def stop_soon(self) -> None:
        """Ask the loop to stop, from any thread (the loop thread too); it closes itself."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # already closed
                loop.call_soon_threadsafe(loop.stop)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the loop and join its thread (up to ``timeout``); idempotent.

        The thread closes the loop once it has stopped. Raises RuntimeError on the loop thread,
        which cannot wait for itself: use :meth:`stop_soon` there.
        """
        with self._lock:
            thread = self._thread
            if thread is None:
                return
            if threading.current_thread() is thread:
                raise RuntimeError(f"{self.name}: stop() called on the loop's own thread")
            self.stop_soon()
            self._loop = self._thread = None
        thread.join(timeout)


def _run_forever(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        with contextlib.suppress(RuntimeError):
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
