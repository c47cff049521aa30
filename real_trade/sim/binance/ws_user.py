"""Binance spot user-data events: formatting and fan-out to every subscriber of an account.

:class:`UserStreamHub` turns the core's ``sim.order.<account>`` :class:`OrderEvent` and
``sim.balance.<account>`` :class:`BalanceEvent` into ``executionReport``,
``outboundAccountPosition`` and ``balanceUpdate`` events (every documented field, see
``user-data-stream.md``) and delivers each to every subscription of that account: WebSocket API
subscriptions get ``{"subscriptionId": n, "event": {...}}``, legacy ``/ws/<listenKey>``
connections get the event unwrapped. Bus events arrive on any thread and hop to the server loop;
while the fault plan pauses the user stream they are held and then delivered in order.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiohttp import web

from real_trade.bus import EventBus, Subscription
from real_trade.sim.binance.vocab import (
    EXECUTION_OUT,
    ORDER_TYPE_OUT,
    SIDE_OUT,
    STATUS_OUT,
    TIF_OUT,
)
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.ws_conn import WsConnection, json_frame
from real_trade.sim.rules import STOP_TYPES
from real_trade.sim.types import BalanceEvent, ExecutionType, OrderEvent

__all__ = [
    "USER_HUB_KEY",
    "UserStreamHub",
    "balance_update_event",
    "execution_report",
    "outbound_account_position",
]


def _d(x: Decimal | None) -> str:
    return "0.00000000" if x is None else f"{x:.8f}"


def execution_report(
    ev: OrderEvent, execution_id: int, cancel_client_id: str = ""
) -> dict[str, Any]:
    """Return the ``executionReport`` event of one order change (every documented field).

    For a cancellation ``c`` is the cancel request's client id (``cancel_client_id``, or a new
    one) and ``C`` the order's own, as Binance sends them; ``W`` (working time) appears only when
    the order has worked on the book, as documented.
    """
    o = ev.order
    canceled = ev.execution_type is ExecutionType.CANCELED
    client_id = o.client_order_id
    orig_client_id = ""
    if canceled:
        orig_client_id = client_id
        client_id = cancel_client_id or secrets.token_urlsafe(16)[:22].replace("-", "_")
    out: dict[str, Any] = {
        "e": "executionReport",
        "E": ev.time_ms,
        "s": o.symbol,
        "c": client_id,
        "S": SIDE_OUT[o.side],
        "o": ORDER_TYPE_OUT[o.type],
        "f": TIF_OUT[o.tif] if o.tif is not None else "GTC",
        "q": _d(o.orig_qty),
        "p": _d(o.price),
        "P": _d(o.stop_price),
        "F": "0.00000000",
        "g": -1,
        "C": orig_client_id,
        "x": EXECUTION_OUT[ev.execution_type],
        "X": STATUS_OUT[o.status],
        "r": "NONE" if ev.reject_reason is None else ev.reject_reason.name,
        "i": o.order_id,
        "l": _d(ev.last_qty),
        "z": _d(o.executed_qty),
        "L": _d(ev.last_price),
        "n": _d(ev.commission) if ev.commission_asset is not None else "0",
        "N": ev.commission_asset,
        "T": ev.time_ms,
        "t": ev.trade_id,
        "I": execution_id,
        "w": o.is_working,
        "m": ev.is_maker,
        "M": False,
        "O": o.time_ms,
        "Z": _d(o.cummulative_quote_qty),
        "Y": _d(ev.last_quote_qty),
        "Q": _d(o.orig_quote_order_qty),
    }
    if o.working_time_ms >= 0 and (o.type not in STOP_TYPES or o.is_working or o.executed_qty):
        out["W"] = o.working_time_ms
    out["V"] = "NONE"
    return out


def outbound_account_position(ev: BalanceEvent) -> dict[str, Any]:
    """Return the ``outboundAccountPosition`` event: the changed assets' free and locked."""
    return {
        "e": "outboundAccountPosition",
        "E": ev.time_ms,
        "u": ev.time_ms,
        "B": [
            {"a": asset, "f": _d(free), "l": _d(locked)}
            for asset, (free, locked) in sorted(ev.balances.items())
        ],
    }


def balance_update_event(ev: BalanceEvent) -> dict[str, Any] | None:
    """Return the ``balanceUpdate`` event of a deposit/withdrawal, or ``None`` for trading."""
    if ev.delta_asset is None or ev.delta is None:
        return None
    return {
        "e": "balanceUpdate",
        "E": ev.time_ms,
        "a": ev.delta_asset,
        "d": _d(ev.delta),
        "T": ev.time_ms,
    }


@dataclass(eq=False)
class _Sink:
    conn: WsConnection
    account_id: int
    subscription_id: int | None  # None: a legacy listenKey stream
    listen_key: str | None = None
    prefix: str = ""  # the frame is prefix + event + suffix ("" "": the event unwrapped)
    suffix: str = ""


class UserStreamHub:
    """Delivers each account's user-data events to its WebSocket API and listenKey subscribers.

    Call :meth:`start` on the server loop (it subscribes to the core's bus) and :meth:`stop` at
    shutdown. :meth:`subscribe` / :meth:`unsubscribe` / :meth:`forget` manage subscriptions of a
    connection; :meth:`tick` (called by a pacer) releases events held during a pause.
    """

    def __init__(self, ctx: FaceContext, bus: EventBus) -> None:
        """Serve the accounts of ``ctx.core``, whose events are published on ``bus``."""
        self.ctx = ctx
        self.bus = bus
        self.loop: asyncio.AbstractEventLoop | None = None
        self._sinks: dict[int, list[_Sink]] = {}
        self._held: deque[Any] = deque()
        self._exec_ids = itertools.count(1)
        self._bus_subs: list[Subscription] = []
        self._cancel_ids: dict[int, str] = {}
        self.delivered = 0

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Subscribe to the core's order and balance events, delivered on ``loop``."""
        self.loop = loop
        self._bus_subs = [
            self.bus.subscribe("sim.order.*", self._on_bus),
            self.bus.subscribe("sim.balance.*", self._on_bus),
        ]

    def stop(self) -> None:
        """Unsubscribe from the bus."""
        for sub in self._bus_subs:
            sub.unsubscribe()
        self._bus_subs = []

    def _on_bus(self, topic: str, event: Any) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._dispatch, event)

    # -- subscriptions --------------------------------------------------------------------
    def subscribe(self, conn: WsConnection, account_id: int, subscription_id: int) -> None:
        """Deliver ``account_id``'s events to ``conn`` as ``{"subscriptionId", "event"}``."""
        prefix = f'{{"subscriptionId":{subscription_id},"event":'
        sink = _Sink(conn, account_id, subscription_id, None, prefix, "}")
        self._sinks.setdefault(account_id, []).append(sink)

    def subscribe_listen_key(
        self, conn: WsConnection, account_id: int, listen_key: str, *, combined: bool
    ) -> None:
        """Deliver ``account_id``'s events to ``conn`` for a legacy ``listen_key`` stream:
        unwrapped, or ``{"stream": listenKey, "data": event}`` on a combined connection."""
        prefix, suffix = ("", "")
        if combined:
            prefix, suffix = f'{{"stream":{json.dumps(listen_key)},"data":', "}"
        sink = _Sink(conn, account_id, None, listen_key, prefix, suffix)
        self._sinks.setdefault(account_id, []).append(sink)

    def unsubscribe_listen_key(self, conn: WsConnection, listen_key: str) -> None:
        """Stop ``conn``'s stream of ``listen_key``."""
        for account_id, sinks in list(self._sinks.items()):
            self._sinks[account_id] = [
                s for s in sinks if not (s.conn is conn and s.listen_key == listen_key)
            ]

    def send_to_listen_key(self, conn: WsConnection, listen_key: str, payload: str) -> None:
        """Send one event of ``listen_key``'s stream to ``conn``, wrapped as its sink wants."""
        for sinks in self._sinks.values():
            for s in sinks:
                if s.conn is conn and s.listen_key == listen_key:
                    conn.send(s.prefix + payload + s.suffix)
                    return

    def unsubscribe(self, conn: WsConnection, subscription_id: int | None = None) -> list[int]:
        """Stop one subscription of ``conn`` (or all when ``subscription_id`` is None); returns
        the ids stopped."""
        stopped: list[int] = []
        for account_id, sinks in list(self._sinks.items()):
            keep = []
            for s in sinks:
                hit = (
                    s.conn is conn
                    and s.subscription_id is not None
                    and (subscription_id is None or s.subscription_id == subscription_id)
                )
                if hit and s.subscription_id is not None:
                    stopped.append(s.subscription_id)
                else:
                    keep.append(s)
            self._sinks[account_id] = keep
        return stopped

    def forget(self, conn: WsConnection) -> None:
        """Drop every subscription of a closed connection."""
        for account_id, sinks in list(self._sinks.items()):
            self._sinks[account_id] = [s for s in sinks if s.conn is not conn]

    def subscriptions_of(self, conn: WsConnection) -> list[tuple[int, int]]:
        """Return ``(subscription_id, account_id)`` of ``conn``'s WebSocket API subscriptions."""
        return sorted(
            (s.subscription_id, s.account_id)
            for sinks in self._sinks.values()
            for s in sinks
            if s.conn is conn and s.subscription_id is not None
        )

    def new_cancel_id(self) -> str:
        """A fresh 22-character client id for a cancel request that sent none."""
        return secrets.token_urlsafe(16)[:22].replace("-", "_")

    def note_cancel(self, order_id: int, cancel_client_id: str) -> None:
        """Remember the cancel request's client id, sent as ``c`` in the CANCELED report."""
        if len(self._cancel_ids) > 10_000:
            self._cancel_ids.clear()
        self._cancel_ids[order_id] = cancel_client_id

    # -- delivery -------------------------------------------------------------------------
    def _dispatch(self, event: Any) -> None:
        if self.ctx.faults.user_stream_paused():
            self._held.append(event)
            return
        while self._held:
            self._deliver(self._held.popleft())
        self._deliver(event)

    def tick(self) -> None:
        """Release the events held while the user stream was paused, in order."""
        if self._held and not self.ctx.faults.user_stream_paused():
            while self._held:
                self._deliver(self._held.popleft())

    def _deliver(self, event: Any) -> None:
        if isinstance(event, OrderEvent):
            cancel_id = ""
            if event.execution_type is ExecutionType.CANCELED:
                cancel_id = self._cancel_ids.pop(event.order.order_id, "")
            sinks = self._sinks.get(event.order.account_id)
            if not sinks:
                return
            payloads = [execution_report(event, next(self._exec_ids), cancel_id)]
        elif isinstance(event, BalanceEvent):
            account_id = event.account_id
            sinks = self._sinks.get(account_id)
            if not sinks:
                return
            update = balance_update_event(event)
            payloads = [update] if update is not None else []
            payloads.append(outbound_account_position(event))
        else:
            return
        for payload in payloads:
            raw = json_frame(payload)
            frames: dict[str, str] = {}
            for sink in sinks:
                if sink.conn.closed:
                    continue
                if not sink.prefix:
                    sink.conn.send(raw)
                else:
                    text = frames.get(sink.prefix)
                    if text is None:
                        text = frames[sink.prefix] = sink.prefix + raw + sink.suffix
                    sink.conn.send(text)
                self.delivered += 1


USER_HUB_KEY = web.AppKey("rt_ws_user_hub", UserStreamHub)
"""Where the WebSocket API face keeps its :class:`UserStreamHub`."""
