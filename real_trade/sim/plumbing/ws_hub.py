"""The machinery around a venue's websocket face: connections, the bus, the pacer, held events.

A face that serves its venue's market and private topics from the cores' buses (Bybit v5, OKX
v5) keeps only its words (paths, requests, topics, frames) and hands the rest to a
:class:`StreamHub`:

* connections: :meth:`StreamHub.serve` opens a :class:`~.ws_conn.WsConnection` and keeps the
  face's client object in :attr:`StreamHub.clients` (and the connection in the
  :class:`~.ws_conn.ConnectionRegistry` the fault plan drops) until it closes;
* the bus: at startup it subscribes to the given topic patterns on each source's bus and hands
  every event to the face on the server loop as ``on_event(source, kind, event)`` (``kind`` is
  the topic's second word: ``trade``, ``depth``, ``order``...);
* the pacer: every ``WsSettings.pacer_interval_s`` it calls ``on_tick``;
* lifecycle: connections closed with 1001 at shutdown, subscriptions, fault-plan dropper and
  pacer undone at cleanup.

:func:`event_account_id` names the account a private event is for.
:class:`HeldEvents` is the paused user stream: while the fault plan pauses it (and until what
it held has gone out) private events wait, then go out in order at the next
:meth:`HeldEvents.release` (the pacer's tick).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Generic, TypeVar

from aiohttp import web

from real_trade.bus import EventBus, Subscription
from real_trade.sim.faults import FaultPlan
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.ws_conn import ConnectionRegistry, WsConnection, WsSettings
from real_trade.sim.types import OrderEvent

__all__ = ["ACCOUNT_TOPICS", "MARKET_TOPICS", "HeldEvents", "StreamHub", "event_account_id"]

MARKET_TOPICS = ("sim.trade.*", "sim.depth.*", "sim.kline.*")
"""The core's market-data topics a face's public streams follow."""
ACCOUNT_TOPICS = ("sim.order.*", "sim.balance.*", "sim.position.*")
"""The core's account topics every private stream follows (a face adds its venue's others)."""

ClientT = TypeVar("ClientT")
SourceT = TypeVar("SourceT")
ItemT = TypeVar("ItemT")


def event_account_id(event: Any) -> int | None:
    """The account a private bus event concerns: an order event's order's, else the event's
    ``account_id`` (None for an event of no account)."""
    account_id: int | None = getattr(event, "account_id", None)
    if account_id is None and isinstance(event, OrderEvent):
        account_id = event.order.account_id
    return account_id


class HeldEvents(Generic[ItemT]):
    """Private events held while the fault plan pauses the user stream (module docstring)."""

    def __init__(self, faults: FaultPlan, deliver: Callable[[ItemT], None]) -> None:
        """Hold by ``faults``' pause; ``deliver`` sends one event."""
        self._faults = faults
        self._deliver = deliver
        self._held: deque[ItemT] = deque()

    def offer(self, item: ItemT) -> None:
        """Deliver ``item`` now, or hold it while the stream is paused or others wait."""
        if self._faults.user_stream_paused() or self._held:
            self._held.append(item)
        else:
            self._deliver(item)

    def release(self) -> None:
        """Deliver what was held, in order, once the stream is no longer paused."""
        if self._held and not self._faults.user_stream_paused():
            while self._held:
                self._deliver(self._held.popleft())


class StreamHub(Generic[SourceT, ClientT]):
    """Connections, bus subscriptions, pacer and lifecycle of one websocket face.

    ``sources`` are ``(tag, context)`` pairs: the buses of those contexts' cores are followed
    for ``patterns`` and each event reaches ``on_event(tag, kind, event)`` on the server loop.
    ``on_tick`` runs every ``settings.pacer_interval_s``. The fault plan is the first
    context's (every context of one simulator shares it).
    """

    def __init__(
        self,
        settings: WsSettings,
        sources: Iterable[tuple[SourceT, FaceContext]],
        patterns: Iterable[str],
        on_event: Callable[[SourceT, str, Any], None],
        on_tick: Callable[[], None],
    ) -> None:
        """Serve connections with ``settings``; follow ``sources``' buses (class docstring)."""
        self.settings = settings
        self.sources = list(sources)
        self.faults = self.sources[0][1].faults
        self.patterns = tuple(patterns)
        self.registry = ConnectionRegistry()
        self.clients: set[ClientT] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._on_event = on_event
        self._on_tick = on_tick
        self._subs: list[Subscription] = []
        self._pacer: asyncio.Task[None] | None = None
        self._unregister: Callable[[], None] | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def register(self, app: web.Application) -> None:
        """Add the startup, shutdown and cleanup hooks to ``app`` (the face adds its routes)."""
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        app.on_cleanup.append(self._on_cleanup)

    async def _on_startup(self, app: web.Application) -> None:
        loop = asyncio.get_running_loop()
        self.loop = loop
        self.registry.attach(loop)
        self._unregister = self.faults.register_dropper(self.registry.drop_threadsafe)
        for tag, ctx in self.sources:
            bus = ctx.core.bus
            if not isinstance(bus, EventBus):
                continue
            for pattern in self.patterns:
                self._subs.append(bus.subscribe(pattern, self._bus_handler(tag)))
        self._pacer = asyncio.create_task(self._run_pacer())

    async def _on_shutdown(self, app: web.Application) -> None:
        self.registry.close_all(1001)

    async def _on_cleanup(self, app: web.Application) -> None:
        for sub in self._subs:
            sub.unsubscribe()
        self._subs.clear()
        if self._unregister is not None:
            self._unregister()
            self._unregister = None
        if self._pacer is not None:
            self._pacer.cancel()
            await asyncio.gather(self._pacer, return_exceptions=True)

    def _bus_handler(self, tag: SourceT) -> Callable[[str, Any], None]:
        def on_bus(topic: str, event: Any) -> None:
            loop = self.loop
            if loop is None or loop.is_closed():
                return
            loop.call_soon_threadsafe(self._on_event, tag, topic.split(".")[1], event)

        return on_bus

    async def _run_pacer(self) -> None:
        while True:
            await asyncio.sleep(self.settings.pacer_interval_s)
            self._on_tick()

    # -- connections ------------------------------------------------------------------------
    async def serve(
        self,
        request: web.Request,
        client_of: Callable[[WsConnection], ClientT],
        on_text: Callable[[ClientT, str], Awaitable[None] | None],
        on_closed: Callable[[ClientT], None] | None = None,
    ) -> web.StreamResponse:
        """Serve one connection of ``request`` until it closes: ``client_of(conn)`` is the
        face's client, kept in :attr:`clients`; each text frame goes to ``on_text``; at the end
        the client is forgotten, then ``on_closed(client)``."""
        conn = await WsConnection.open(request, self.settings)
        client = client_of(conn)
        self.clients.add(client)
        self.registry.add(conn)
        try:
            await conn.serve(lambda text: on_text(client, text))
        finally:
            self.clients.discard(client)
            self.registry.discard(conn)
            if on_closed is not None:
                on_closed(client)
        return conn.ws
