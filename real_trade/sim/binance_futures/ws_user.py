"""USDⓈ-M user data over the listen key: ``ORDER_TRADE_UPDATE``, ``ALGO_UPDATE``,
``ACCOUNT_UPDATE``.

A client connects to ``<base>/private/ws?listenKey=K`` (ccxt.pro's path) or
``<base>/ws/<listenKey>``-style ``<base>/private/ws/<K>``; no subscribe message. The face
listens to the futures core's bus: ``sim.order.<id>`` becomes ``ORDER_TRADE_UPDATE`` (or
``ALGO_UPDATE`` for a conditional order not yet triggered), ``sim.position.<id>`` an
``ACCOUNT_UPDATE`` with the position (``P``) and the settle asset's wallet (``B``),
``sim.funding.<id>`` an ``ACCOUNT_UPDATE`` with reason ``FUNDING_FEE``, ``sim.liquidation.<id>``
the ``ORDER_TRADE_UPDATE`` of the liquidation order (client id ``autoclose-<ms>``, type
``LIQUIDATION``, filled at the liquidation price), as Binance reports a forced close. Events
are built on the server loop (bus events may come from any thread). While the fault plan pauses
the user stream the events are held and then delivered in order, as on the spot face.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from aiohttp import web

from real_trade.bus import EventBus, Subscription
from real_trade.sim.binance.format import dec
from real_trade.sim.binance.vocab import EXECUTION_OUT, SIDE_OUT, STATUS_OUT
from real_trade.sim.binance_futures.format import (
    POSITION_SIDE_OUT,
    TYPE_OUT,
    WORKING_OUT,
    tif_word,
)
from real_trade.sim.binance_futures.rest import ListenKeyBook
from real_trade.sim.derivatives.types import (
    FundingEvent,
    LiquidationEvent,
    MarginMode,
    PositionView,
)
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.ws_conn import (
    ConnectionRegistry,
    WsConnection,
    WsSettings,
    json_frame,
)
from real_trade.sim.plumbing.ws_hub import event_account_id
from real_trade.sim.types import OrderEvent

__all__ = ["UserDataFace"]


def order_trade_update(ev: OrderEvent) -> dict[str, Any]:
    """The ``ORDER_TRADE_UPDATE`` event of an order change."""
    o = ev.order
    avg = o.cummulative_quote_qty / o.executed_qty if o.executed_qty else None
    return {
        "e": "ORDER_TRADE_UPDATE",
        "E": ev.time_ms,
        "T": ev.time_ms,
        "o": {
            "s": o.symbol,
            "c": o.client_order_id,
            "S": SIDE_OUT[o.side],
            "o": TYPE_OUT[o.type],
            "f": tif_word(o),
            "q": dec(o.orig_qty),
            "p": dec(o.price),
            "ap": dec(avg),
            "sp": dec(o.stop_price),
            "x": EXECUTION_OUT[ev.execution_type],
            "X": STATUS_OUT[o.status],
            "i": o.order_id,
            "l": dec(ev.last_qty),
            "z": dec(o.executed_qty),
            "L": dec(ev.last_price),
            "N": ev.commission_asset or "USDT",
            "n": dec(ev.commission),
            "T": ev.time_ms,
            "t": max(ev.trade_id, 0),
            "b": "0",
            "a": "0",
            "m": ev.is_maker,
            "R": o.reduce_only,
            "wt": WORKING_OUT[o.working_type],
            "ot": TYPE_OUT[o.type],
            "ps": POSITION_SIDE_OUT[o.position_side],
            "cp": o.close_position,
            "rp": "0",
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "EXPIRE_MAKER",
            "pm": "NONE",
            "gtd": 0,
        },
    }


def liquidation_update(ev: LiquidationEvent) -> dict[str, Any]:
    """The ``ORDER_TRADE_UPDATE`` of the order that closed a liquidated position."""
    qty, px = dec(abs(ev.qty)), dec(ev.price)
    return {
        "e": "ORDER_TRADE_UPDATE",
        "E": ev.time_ms,
        "T": ev.time_ms,
        "o": {
            "s": ev.symbol,
            "c": f"autoclose-{ev.time_ms}",
            "S": "SELL" if ev.qty > 0 else "BUY",
            "o": "LIQUIDATION",
            "f": "IOC",
            "q": qty,
            "p": px,
            "ap": px,
            "sp": "0",
            "x": "TRADE",
            "X": "FILLED",
            "i": ev.time_ms,
            "l": qty,
            "z": qty,
            "L": px,
            "N": "USDT",
            "n": "0",
            "T": ev.time_ms,
            "t": 0,
            "b": "0",
            "a": "0",
            "m": False,
            "R": False,
            "wt": "CONTRACT_PRICE",
            "ot": "LIQUIDATION",
            "ps": POSITION_SIDE_OUT[ev.position_side],
            "cp": False,
            "rp": "0",
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "NONE",
            "pm": "NONE",
            "gtd": 0,
        },
    }


_ALGO_STATUS = {"NEW": "NEW", "CANCELED": "CANCELED", "EXPIRED": "EXPIRED"}


def algo_update(ev: OrderEvent) -> dict[str, Any]:
    """The ``ALGO_UPDATE`` event of a conditional order not yet triggered."""
    o = ev.order
    status = STATUS_OUT[o.status]
    return {
        "e": "ALGO_UPDATE",
        "T": ev.time_ms,
        "E": ev.time_ms,
        "o": {
            "caid": o.client_order_id,
            "aid": o.order_id,
            "at": "CONDITIONAL",
            "o": TYPE_OUT[o.type],
            "s": o.symbol,
            "S": SIDE_OUT[o.side],
            "ps": POSITION_SIDE_OUT[o.position_side],
            "f": tif_word(o),
            "q": dec(o.orig_qty),
            "X": _ALGO_STATUS.get(status, "TRIGGERED"),
            "ai": "",
            "tp": dec(o.stop_price),
            "p": dec(o.price),
            "V": "EXPIRE_MAKER",
            "wt": WORKING_OUT[o.working_type],
            "pm": "NONE",
            "cp": o.close_position,
            "pP": False,
            "R": o.reduce_only,
            "tt": 0,
            "gtd": 0,
        },
    }


def _position_row(p: PositionView) -> dict[str, Any]:
    isolated = p.margin_mode is MarginMode.ISOLATED
    return {
        "s": p.symbol,
        "pa": dec(p.qty),
        "ep": dec(p.entry_price),
        "bep": dec(p.entry_price),
        "cr": dec(p.realized_pnl),
        "up": dec(p.unrealized_pnl),
        "mt": "isolated" if isolated else "cross",
        "iw": dec(p.isolated_margin if isolated else None),
        "ps": POSITION_SIDE_OUT[p.position_side],
    }


class UserDataFace:
    """Serves the futures user-data streams of one face (see the module docstring)."""

    def __init__(
        self, ctx: FaceContext, bus: EventBus, keys: ListenKeyBook, settings: WsSettings
    ) -> None:
        """Stream ``ctx.core``'s events published on ``bus`` to holders of ``keys``."""
        self.ctx = ctx
        self.bus = bus
        self.keys = keys
        self.settings = settings
        self.registry = ConnectionRegistry()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._sinks: dict[int, list[tuple[WsConnection, str | None]]] = {}
        self._subs: list[Subscription] = []
        self._unregister: Any = None
        self._held: deque[Any] = deque()
        self._pacer: asyncio.Task[None] | None = None

    def register(self, app: web.Application, base: str) -> None:
        """Add ``<base>/private/ws`` (``?listenKey=``) and ``<base>/private/ws/<key>``."""
        app.router.add_get(f"{base}/private/ws", self.handle)
        app.router.add_get(f"{base}/private/ws/{{key}}", self.handle)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        app.on_cleanup.append(self._on_cleanup)

    async def _on_startup(self, app: web.Application) -> None:
        self.loop = asyncio.get_running_loop()
        self.registry.attach(self.loop)
        self._unregister = self.ctx.faults.register_dropper(self.registry.drop_threadsafe)
        self._subs = [
            self.bus.subscribe("sim.order.*", self._on_bus),
            self.bus.subscribe("sim.position.*", self._on_bus),
            self.bus.subscribe("sim.funding.*", self._on_bus),
            self.bus.subscribe("sim.liquidation.*", self._on_bus),
        ]
        self._pacer = asyncio.get_running_loop().create_task(self._pace())

    async def _pace(self) -> None:
        """Release what a paused stream held once the fault plan resumes it."""
        while True:
            await asyncio.sleep(self.settings.pacer_interval_s)
            self.tick()

    def tick(self) -> None:
        """Deliver the events held while the user stream was paused, in order."""
        if self._held and not self.ctx.faults.user_stream_paused():
            while self._held:
                self._deliver(self._held.popleft())

    async def _on_shutdown(self, app: web.Application) -> None:
        self.registry.close_all(1001)

    async def _on_cleanup(self, app: web.Application) -> None:
        if self._pacer is not None:
            self._pacer.cancel()
            self._pacer = None
        if self._unregister is not None:
            self._unregister()
            self._unregister = None
        for sub in self._subs:
            sub.unsubscribe()
        self._subs = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """One user-data connection: its listen key names the account."""
        key = request.match_info.get("key") or request.query.get("listenKey", "")
        account_id = self.keys.account_of(key)
        if account_id is None:
            return web.json_response(
                {"code": -1125, "msg": "This listenKey does not exist."}, status=400
            )
        return await self.serve(request, key, self.registry, self.settings)

    # -- listen keys named as streams (the market-stream face calls these) ------------------
    def is_listen_key(self, key: str) -> bool:
        """Whether ``key`` is a live listen key of this face."""
        return self.keys.account_of(key) is not None

    def attach(self, key: str, conn: WsConnection, *, combined: bool) -> bool:
        """Stream the key's account events to ``conn`` (wrapped as stream ``key`` when
        ``combined``); False for an unknown key."""
        account_id = self.keys.account_of(key)
        if account_id is None:
            return False
        self._sinks.setdefault(account_id, []).append((conn, key if combined else None))
        return True

    def detach(self, key: str, conn: WsConnection) -> None:
        """Stop streaming to ``conn``."""
        for sinks in self._sinks.values():
            sinks[:] = [s for s in sinks if s[0] is not conn]

    async def serve(
        self, request: web.Request, key: str, registry: ConnectionRegistry, settings: WsSettings
    ) -> web.WebSocketResponse:
        """A connection dedicated to ``key``'s account events, until it closes."""
        conn = await WsConnection.open(request, settings)
        registry.add(conn)
        if not self.attach(key, conn, combined=False):
            conn.close(1008)
        try:
            await conn.serve(lambda text: None)
        finally:
            registry.discard(conn)
            self.detach(key, conn)
        return conn.ws

    def _on_bus(self, topic: str, event: Any) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._dispatch, event)

    def _dispatch(self, event: Any) -> None:
        if self.ctx.faults.user_stream_paused():
            self._held.append(event)
            return
        self.tick()
        self._deliver(event)

    def _deliver(self, event: Any) -> None:
        account_id = event_account_id(event)
        sinks = self._sinks.get(account_id) if account_id is not None else None
        if not sinks:
            return
        payload = json_frame(self._event(event))
        for conn, stream in list(sinks):
            conn.send(payload if stream is None else f'{{"stream":"{stream}","data":{payload}}}')

    def _event(self, event: Any) -> dict[str, Any]:
        if isinstance(event, OrderEvent):
            o = event.order
            if o.stop_price is not None and o.working_time_ms < 0:
                return algo_update(event)
            return order_trade_update(event)
        if isinstance(event, LiquidationEvent):
            return liquidation_update(event)
        if isinstance(event, FundingEvent):
            return self._account_update(
                event.account_id, event.asset, [], "FUNDING_FEE", event.time_ms
            )
        assert isinstance(event, PositionView)
        return self._account_update(
            event.account_id, event.settle_asset, [_position_row(event)], "ORDER", event.time_ms
        )

    def _account_update(
        self, account_id: int, asset: str, rows: list[dict[str, Any]], reason: str, now: int
    ) -> dict[str, Any]:
        core = self.ctx.core
        account = next((a for a in core.accounts() if a.account_id == account_id), None)
        wallet = "0"
        if account is not None:
            wallet = dec(core.margin_summary(account, asset).wallet_balance)
        return {
            "e": "ACCOUNT_UPDATE",
            "E": now,
            "T": now,
            "a": {
                "m": reason,
                "B": [{"a": asset, "wb": wallet, "cw": wallet, "bc": "0"}],
                "P": rows,
            },
        }
