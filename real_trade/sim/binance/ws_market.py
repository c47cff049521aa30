"""Binance spot market streams on the simulator: routes, the control protocol, ccxt URLs.

Endpoints, as on ``stream.binance.com`` (``web-socket-streams.md``):

* raw streams: ``/ws`` (then ``SUBSCRIBE``) and ``/ws/<stream>[/<stream>...]``; combined
  streams: ``/stream?streams=<a>/<b>`` with payloads wrapped ``{"stream":..,"data":..}``.
* ``/stream/ws[/...]`` serves raw streams too: ccxt.pro decides that a connection is *spot* by
  finding ``/stream`` in its URL (on Binance that is the host name), so :func:`ws_urls` gives it
  this path.
* ``/ws/<listenKey>`` (also under ``/stream/ws/``) is a legacy user-data stream; a listenKey
  can also be named in ``/stream?streams=`` or in a ``SUBSCRIBE`` (binance-connector does so).
  Those are served by :class:`~real_trade.sim.binance.ws_listen_key.ListenKeys`.

Control messages: ``SUBSCRIBE`` / ``UNSUBSCRIBE`` / ``LIST_SUBSCRIPTIONS`` / ``SET_PROPERTY`` /
``GET_PROPERTY`` answered ``{"result": ..., "id": N}``; bad requests get Binance's error codes
(0 unknown property, 1 bad value type, 2 invalid request, 3 invalid JSON) as
``{"error": {"code", "msg"}, "id"}``, the shape ccxt.pro recognises. A stream name that does
not exist is ignored in a URL (ccxt connects to ``/ws/<n>``) and refused in a ``SUBSCRIBE``.
Server pings, pong timeouts, the lifetime limit and ``drop_connections`` come from
:mod:`~real_trade.sim.plumbing.ws_conn`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Protocol

from aiohttp import web

from real_trade.bus import EventBus
from real_trade.sim.binance.ws_listen_key import LISTEN_KEYS_KEY, ListenKeys
from real_trade.sim.binance.ws_market_feed import MarketFeed, StreamClient
from real_trade.sim.binance.ws_streams import StreamSpec, parse_stream
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.http import ws_base_url
from real_trade.sim.plumbing.ws_conn import (
    ConnectionRegistry,
    WsConnection,
    WsSettings,
    json_frame,
)

__all__ = [
    "MARKET_FEED_KEY",
    "MARKET_REGISTRY_KEY",
    "MAX_STREAMS_PER_CONNECTION",
    "WS_SETTINGS_KEY",
    "ListenKeyStreams",
    "core_bus",
    "register_usdm_market_routes",
    "register_ws_market_routes",
    "ws_urls",
]

MAX_STREAMS_PER_CONNECTION = 1024
"""Binance's limit of streams on one connection."""

WS_SETTINGS_KEY = web.AppKey("rt_ws_settings", WsSettings)
"""Where the websocket faces of one app keep their shared :class:`WsSettings`."""
MARKET_FEED_KEY = web.AppKey("rt_ws_market_feed", MarketFeed)
"""Where the market-stream face keeps its :class:`MarketFeed` (benchmarks read ``sent``)."""
MARKET_REGISTRY_KEY = web.AppKey("rt_ws_market_conns", ConnectionRegistry)
"""Where the market-stream face keeps its live connections."""

_METHODS = "`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`"
_BAD_ID = "Invalid request: request ID must be an unsigned integer"
_OTHER_TYPES = ("linear", "inverse", "stock", "option", "optionMarket", "optionPrivate", "papi")


def ws_urls(http_base: str) -> dict[str, object]:
    """Return the websocket entries of ccxt's ``urls['api']`` for a simulator at ``http_base``.

    ``{'ws': {'spot': ..., 'margin': ..., 'ws-api': {'spot': ...}, ...}}``: spot and margin
    market streams on ``/stream/ws`` (ccxt.pro needs ``/stream`` in a spot URL), the WebSocket
    API on ``/ws-api/v3``. Market types the simulator does not serve point at loopback paths
    that answer 404, so a client can never reach a real exchange by mistake.
    """
    ws = ws_base_url(http_base.rstrip("/"))
    stream = f"{ws}/stream/ws"
    urls: dict[str, object] = {"spot": stream, "margin": stream}
    for kind in _OTHER_TYPES:
        urls[kind] = f"{ws}/unsupported/{kind}/ws"
    urls["linear"] = f"{ws}/fapi-ws/ws"  # the USD-M face (ccxt.pro adds /public, /market...)
    urls["ws-api"] = {
        "spot": f"{ws}/ws-api/v3",
        "linear": f"{ws}/unsupported/ws-fapi/v1",
        "inverse": f"{ws}/unsupported/ws-dapi/v1",
    }
    return {"ws": urls}


def core_bus(ctx: FaceContext) -> EventBus:
    """Return the event bus the core publishes on (``ctx.core.bus``).

    Raises ``RuntimeError`` when the core publishes nowhere: the streams would stay silent.
    """
    bus = ctx.core.bus
    if isinstance(bus, EventBus):
        return bus
    raise RuntimeError(
        "the simulator core has no EventBus; create ExchangeCore(..., bus=EventBus(...)) "
        "so that the websocket faces can stream its events"
    )


def settings_of(app: web.Application) -> WsSettings:
    """Return the app's shared :class:`WsSettings`, creating the defaults on first use."""
    settings = app.get(WS_SETTINGS_KEY)
    if settings is None:
        settings = WsSettings()
        app[WS_SETTINGS_KEY] = settings
    return settings


def register_ws_market_routes(
    app: web.Application, ctx: FaceContext, settings: WsSettings | None = None
) -> None:
    """Serve Binance's market streams on ``app`` (see the module docstring for the paths).

    ``settings`` (shared with the WebSocket API face through the app) sets ping interval, pong
    timeout, lifetime and queue limits; Binance's values by default. The feed subscribes to the
    core's bus when the app starts and registers a dropper with ``ctx.faults``.
    """
    if settings is not None:
        app[WS_SETTINGS_KEY] = settings
    face = _MarketFace(ctx, settings_of(app))
    app[MARKET_FEED_KEY] = face.feed
    app[MARKET_REGISTRY_KEY] = face.registry
    app.router.add_get("/ws", face.handle_raw)
    app.router.add_get("/ws/{streams:.+}", face.handle_raw)
    app.router.add_get("/stream", face.handle_combined)
    app.router.add_get("/stream/ws", face.handle_raw)
    app.router.add_get("/stream/ws/{streams:.+}", face.handle_raw)
    app.on_startup.append(face.on_startup)
    app.on_shutdown.append(face.on_shutdown)
    app.on_cleanup.append(face.on_cleanup)


class ListenKeyStreams(Protocol):
    """What the market-stream face needs of a face's listen keys (spot's :class:`ListenKeys`,
    the USD-M face's user-data streams): a listen key may be named as a stream."""

    def is_listen_key(self, key: str) -> bool:
        """Whether ``key`` is a live listen key."""
        ...

    def attach(self, key: str, conn: WsConnection, *, combined: bool) -> bool:
        """Stream the key's account events to ``conn``; False when the key is unknown."""
        ...

    def detach(self, key: str, conn: WsConnection) -> None:
        """Stop streaming the key's events to ``conn``."""
        ...

    async def serve(
        self, request: web.Request, key: str, registry: ConnectionRegistry, settings: WsSettings
    ) -> web.WebSocketResponse:
        """Serve a connection dedicated to the key (``/ws/<listenKey>``)."""
        ...


def register_usdm_market_routes(
    app: web.Application,
    ctx: FaceContext,
    base: str,
    settings: WsSettings | None = None,
    listen_keys: ListenKeyStreams | None = None,
) -> MarketFeed:
    """Serve USDⓈ-M's market streams of ``ctx``'s core under ``base`` (e.g. ``/fapi-ws``):
    ``<base>/{public,market}/ws[/<streams>]``, ``<base>/{public,market}/stream?streams=`` and
    the legacy ``<base>/ws[/<streams>]``, with the spot control protocol and USDⓈ-M's depth
    diffs (``pu``, ``T``); a ``listen_keys`` key may be named as a stream (in the path or a
    ``SUBSCRIBE``), as Binance's futures SDK does. Returns the feed."""
    face = _MarketFace(ctx, settings or settings_of(app), usdm=True, listen_keys=listen_keys)
    for prefix in (f"{base}/public", f"{base}/market", base):
        app.router.add_get(f"{prefix}/ws", face.handle_raw)
        app.router.add_get(f"{prefix}/ws/{{streams:.+}}", face.handle_raw)
        app.router.add_get(f"{prefix}/stream", face.handle_combined)
    app.on_startup.append(face.on_startup)
    app.on_shutdown.append(face.on_shutdown)
    app.on_cleanup.append(face.on_cleanup)
    return face.feed


class _MarketFace:
    """The aiohttp handlers and lifecycle hooks of the market-stream face."""

    def __init__(
        self,
        ctx: FaceContext,
        settings: WsSettings,
        *,
        usdm: bool = False,
        listen_keys: ListenKeyStreams | None = None,
    ) -> None:
        self.ctx = ctx
        self._own_keys = listen_keys
        self.settings = settings
        self.feed = MarketFeed(ctx, core_bus(ctx), settings, usdm=usdm)
        self.registry = ConnectionRegistry()
        self._unregister: Any = None

    def _keys(self, app: web.Application) -> ListenKeyStreams | None:
        return self._own_keys if self._own_keys is not None else _listen_keys(app)

    async def on_startup(self, app: web.Application) -> None:
        loop = asyncio.get_running_loop()
        self.registry.attach(loop)
        self.feed.start(loop)
        self._unregister = self.ctx.faults.register_dropper(self.registry.drop_threadsafe)

    async def on_shutdown(self, app: web.Application) -> None:
        self.registry.close_all(1001)

    async def on_cleanup(self, app: web.Application) -> None:
        if self._unregister is not None:
            self._unregister()
            self._unregister = None
        await self.feed.stop()

    # -- handlers -------------------------------------------------------------------------
    async def handle_raw(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info.get("streams", "")
        names = [n for n in tail.split("/") if n]
        if len(names) == 1:
            keys = self._keys(request.app)
            if keys is not None and keys.is_listen_key(names[0]):
                return await keys.serve(request, names[0], self.registry, self.settings)
        return await self._serve(request, names, combined=False)

    async def handle_combined(self, request: web.Request) -> web.StreamResponse:
        names = [n for n in request.query.get("streams", "").split("/") if n]
        return await self._serve(request, names, combined=True)

    async def _serve(
        self, request: web.Request, names: list[str], *, combined: bool
    ) -> web.StreamResponse:
        conn = await WsConnection.open(request, self.settings)
        client = StreamClient(conn, combined)
        keys = self._keys(request.app)
        for name in names:
            if keys is not None and keys.attach(name, conn, combined=combined):
                client.listen_keys.append(name)
        usdm = self.feed.usdm
        specs = [s for s in (parse_stream(n, usdm=usdm) for n in names) if s is not None]
        self.feed.add(client, specs[:MAX_STREAMS_PER_CONNECTION])
        self.registry.add(conn)
        try:
            await conn.serve(lambda text: self._on_text(client, keys, text))
        finally:
            self.registry.discard(conn)
            self.feed.remove_all(client)
            for key in client.listen_keys:
                if keys is not None:
                    keys.detach(key, conn)
        return conn.ws

    # -- control protocol -----------------------------------------------------------------
    def _on_text(self, client: StreamClient, keys: ListenKeyStreams | None, text: str) -> None:
        reply = self._control(client, keys, text)
        client.conn.send(json_frame(reply))

    def _control(
        self, client: StreamClient, keys: ListenKeyStreams | None, text: str
    ) -> dict[str, Any]:
        try:
            req = json.loads(text)
        except json.JSONDecodeError as exc:
            return _error(
                3, f"Invalid JSON: {_serde_reason(exc)} at line {exc.lineno} column {exc.colno}"
            )
        if not isinstance(req, dict):
            return _error(2, "Invalid request: expected a JSON object")
        if "method" not in req:
            return _error(
                2, f"Invalid request: missing field `method` at line 1 column {len(text)}"
            )
        method = req["method"]
        rid = req.get("id", _MISSING)
        if rid is _MISSING or not _valid_id(rid):
            return _error(2, _BAD_ID)
        params = req.get("params")
        if method == "SUBSCRIBE":
            return self._subscribe(client, keys, rid, params)
        if method == "UNSUBSCRIBE":
            names = _names(params)
            if names is None:
                return _error(2, "Invalid request: params must be an array of stream names", rid)
            for name in names:
                if name in client.listen_keys and keys is not None:
                    client.listen_keys.remove(name)
                    keys.detach(name, client.conn)
            self.feed.remove(client, names)
            return {"result": None, "id": rid}
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": [*client.streams, *client.listen_keys], "id": rid}
        if method in ("SET_PROPERTY", "GET_PROPERTY"):
            return _property(client, method, rid, params)
        shown = json.dumps(method) if not isinstance(method, str) else method
        col = text.find(json.dumps(method)) + len(json.dumps(method))
        return _error(
            2,
            f"Invalid request: unknown variant `{shown}`, expected one of "
            f"{_METHODS} at line 1 column {col}",
            rid,
        )

    def _subscribe(
        self, client: StreamClient, keys: ListenKeyStreams | None, rid: Any, params: Any
    ) -> dict[str, Any]:
        names = _names(params)
        if names is None:
            return _error(2, "Invalid request: params must be an array of stream names", rid)
        specs: list[StreamSpec] = []
        listen_keys: list[str] = []
        symbols = set(self.ctx.core.symbols())
        for name in names:
            if keys is not None and keys.is_listen_key(name):
                listen_keys.append(name)
                continue
            spec = parse_stream(name, usdm=self.feed.usdm)
            if spec is None or (spec.symbol and spec.symbol not in symbols):
                return _error(2, "Invalid request: invalid stream", rid)
            specs.append(spec)
        new = {s.name for s in specs} - set(client.streams)
        if len(client.streams) + len(new) > MAX_STREAMS_PER_CONNECTION:
            return _error(2, "Invalid request: too many streams", rid)
        self.feed.add(client, specs)
        for key in listen_keys:
            attached = keys is not None and keys.attach(key, client.conn, combined=client.combined)
            if attached and key not in client.listen_keys:
                client.listen_keys.append(key)
        return {"result": None, "id": rid}


_MISSING: Any = object()


def _error(code: int, msg: str, rid: Any = _MISSING) -> dict[str, Any]:
    out: dict[str, Any] = {"error": {"code": code, "msg": msg}}
    if rid is not _MISSING:
        out["id"] = rid
    return out


def _valid_id(rid: Any) -> bool:
    if rid is None:
        return True
    if isinstance(rid, bool):
        return False
    if isinstance(rid, int):
        return -(2**63) <= rid < 2**63
    return isinstance(rid, str) and 0 < len(rid) <= 36 and rid.isalnum()


def _names(params: Any) -> list[str] | None:
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        return None
    return list(params)


def _property(client: StreamClient, method: str, rid: Any, params: Any) -> dict[str, Any]:
    if not isinstance(params, list) or not params:
        return _error(2, "Invalid request: property name must be a string", rid)
    if not isinstance(params[0], str):
        return _error(2, "Invalid request: property name must be a string", rid)
    if params[0] != "combined":
        return _error(0, "Unknown property", rid)
    if method == "GET_PROPERTY":
        if len(params) != 1:
            return _error(2, "Invalid request: too many parameters", rid)
        return {"result": client.combined, "id": rid}
    if len(params) != 2:
        return _error(2, "Invalid request: too many parameters", rid)
    if not isinstance(params[1], bool):
        return _error(1, "Invalid value type: expected Boolean", rid)
    client.combined = params[1]
    return {"result": None, "id": rid}


def _serde_reason(exc: json.JSONDecodeError) -> str:
    if exc.msg.startswith("Expecting value"):
        return "expected value"
    if exc.msg.startswith("Extra data"):
        return "trailing characters"
    return exc.msg.lower()


def _listen_keys(app: web.Application) -> ListenKeys | None:
    return app.get(LISTEN_KEYS_KEY)
