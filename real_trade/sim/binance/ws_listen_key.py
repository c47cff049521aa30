"""Binance spot's legacy user-data streams: listenKeys and ``/ws/<listenKey>``.

Older clients open a user-data stream with ``POST /api/v3/userDataStream`` (``X-MBX-APIKEY``),
keep it alive with ``PUT`` and close it with ``DELETE`` (``listenKey`` parameter), then read the
account's events, unwrapped, from ``/ws/<listenKey>`` on the market-stream host
(``user-data-stream.md`` before its 2026 retirement). A listenKey lives 60 minutes of wall time
after creation or its last keepalive; a ``POST`` while one is active returns it, extended. On
expiry its streams get ``listenKeyExpired`` and are closed; ``DELETE`` closes them at once.
Events come from the same :class:`~real_trade.sim.binance.ws_user.UserStreamHub` as the
WebSocket API's subscriptions.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from aiohttp import web

from real_trade.sim.binance.auth import authenticate
from real_trade.sim.binance.errors import BinanceApiError, mandatory_missing
from real_trade.sim.binance.ws_user import UserStreamHub
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.ratelimit import RateLimiter
from real_trade.sim.plumbing.ws_conn import (
    GOING_AWAY,
    ConnectionRegistry,
    WsConnection,
    WsSettings,
    json_frame,
)

__all__ = ["LISTEN_KEYS_KEY", "LISTEN_KEY_VALIDITY_S", "ListenKeys"]

LISTEN_KEY_VALIDITY_S = 3600.0
"""Seconds a listenKey lives after creation or its last keepalive (Binance: 60 minutes)."""
_WEIGHT = 2


@dataclass(eq=False)
class _ListenKey:
    key: str
    account_id: int
    expires: float
    conns: set[WsConnection] = field(default_factory=set)  # streaming this key
    dedicated: set[WsConnection] = field(default_factory=set)  # opened as /ws/<key>


class ListenKeys:
    """The live listenKeys of one simulated exchange, their REST endpoints and their streams.

    :meth:`handle_rest` serves ``POST/PUT/DELETE /api/v3/userDataStream``;
    :meth:`is_listen_key` tells the market-stream face that ``/ws/<name>`` is a user stream and
    :meth:`serve` serves it; :meth:`tick` (called by a pacer on the server loop) expires keys.
    """

    def __init__(self, ctx: FaceContext, hub: UserStreamHub) -> None:
        """Keep listenKeys of ``ctx.core``'s accounts; events come from ``hub``."""
        self.ctx = ctx
        self.hub = hub
        self._keys: dict[str, _ListenKey] = {}

    def create(self, account_id: int) -> str:
        """Return the account's active listenKey (extended) or a new one (``POST``)."""
        for lk in self._keys.values():
            if lk.account_id == account_id:
                lk.expires = time.monotonic() + LISTEN_KEY_VALIDITY_S
                return lk.key
        key = secrets.token_hex(32)
        self._keys[key] = _ListenKey(key, account_id, time.monotonic() + LISTEN_KEY_VALIDITY_S)
        return key

    def keepalive(self, key: str, account_id: int) -> bool:
        """Extend ``key`` by 60 minutes (``PUT``); False when it is not the account's."""
        lk = self._keys.get(key)
        if lk is None or lk.account_id != account_id:
            return False
        lk.expires = time.monotonic() + LISTEN_KEY_VALIDITY_S
        return True

    def close(self, key: str, account_id: int) -> bool:
        """Invalidate ``key`` and close its streams (``DELETE``); False when unknown."""
        lk = self._keys.get(key)
        if lk is None or lk.account_id != account_id:
            return False
        del self._keys[key]
        self._end(lk, None)
        return True

    def _end(self, lk: _ListenKey, last_event: str | None) -> None:
        """Stop ``lk``'s streams (after ``last_event``); close the ``/ws/<key>`` connections."""
        for conn in list(lk.conns):
            if last_event is not None:
                self.hub.send_to_listen_key(conn, lk.key, last_event)
            self.hub.unsubscribe_listen_key(conn, lk.key)
            if conn in lk.dedicated:
                conn.close(GOING_AWAY, flush=True)
        lk.conns.clear()
        lk.dedicated.clear()

    def attach(self, key: str, conn: WsConnection, *, combined: bool) -> bool:
        """Stream ``key``'s events on ``conn`` (a ``SUBSCRIBE`` to the key, or ``/stream``
        with it); False when the key is not live."""
        lk = self._keys.get(key)
        if lk is None:
            return False
        if conn not in lk.conns:
            lk.conns.add(conn)
            self.hub.subscribe_listen_key(conn, lk.account_id, key, combined=combined)
        return True

    def detach(self, key: str, conn: WsConnection) -> None:
        """Stop streaming ``key`` on ``conn`` (``UNSUBSCRIBE`` or the connection closed)."""
        lk = self._keys.get(key)
        if lk is not None:
            lk.conns.discard(conn)
            lk.dedicated.discard(conn)
        self.hub.unsubscribe_listen_key(conn, key)

    def is_listen_key(self, key: str) -> bool:
        """Whether ``key`` is a live listenKey (so ``/ws/<key>`` is a user-data stream)."""
        return key in self._keys

    def expire_all(self) -> None:
        """Make every listenKey expire at the next :meth:`tick` (tests of the expiry path)."""
        for lk in self._keys.values():
            lk.expires = 0.0

    def tick(self) -> None:
        """Expire the listenKeys not kept alive: ``listenKeyExpired``, then close."""
        if not self._keys:
            return
        now = time.monotonic()
        for lk in [lk for lk in self._keys.values() if lk.expires <= now]:
            del self._keys[lk.key]
            text = json_frame(
                {"e": "listenKeyExpired", "E": self.ctx.clock.now_ms(), "listenKey": lk.key}
            )
            self._end(lk, text)

    async def serve(
        self,
        request: web.Request,
        key: str,
        registry: ConnectionRegistry,
        settings: WsSettings,
    ) -> web.WebSocketResponse:
        """Serve ``/ws/<listenKey>``: the account's events, unwrapped, until the key dies."""
        conn = await WsConnection.open(request, settings)
        lk = self._keys.get(key)
        if lk is None or not self.attach(key, conn, combined=False):
            conn.close(GOING_AWAY)
        else:
            lk.dedicated.add(conn)
        registry.add(conn)
        try:
            await conn.serve(_ignore)
        finally:
            registry.discard(conn)
            self.detach(key, conn)
        return conn.ws

    async def handle_rest(self, request: web.Request, limiter: RateLimiter) -> web.Response:
        """``POST``/``PUT``/``DELETE /api/v3/userDataStream`` with Binance's answers."""
        try:
            query_raw = request.raw_path.partition("?")[2]
            body_raw = (await request.text()) if request.can_read_body else ""
            params = dict(request.query)
            if body_raw:
                form = await request.post()
                params.update({k: str(v) for k, v in form.items()})
            limiter.charge(request.remote or "", _WEIGHT)
            api_key = request.headers.get("X-MBX-APIKEY", "")
            account = authenticate(self.ctx, api_key, params, query_raw, body_raw, signed=False)
            if request.method == "POST":
                return web.json_response({"listenKey": self.create(account.account_id)})
            key = params.get("listenKey")
            if not key:
                raise mandatory_missing("listenKey")
            if request.method == "PUT":
                ok = self.keepalive(key, account.account_id)
            else:
                ok = self.close(key, account.account_id)
            if not ok:
                raise BinanceApiError(-1125, "This listenKey does not exist.")
            return web.json_response({})
        except BinanceApiError as err:
            return web.json_response(err.to_json(), status=err.http_status)


def _ignore(text: str) -> None:
    """Frames a client sends on a listenKey stream are not answered."""


LISTEN_KEYS_KEY = web.AppKey("rt_ws_listen_keys", ListenKeys)
"""Where the WebSocket API face keeps its :class:`ListenKeys` (the market face asks it whether
``/ws/<name>`` is a listenKey)."""
