"""Binance spot WebSocket API (``/ws-api/v3``) and the legacy listenKey REST endpoints.

A request ``{"id", "method", "params"}`` gets ``{"id", "status", "result" | "error",
"rateLimits"}`` (``web-socket-api.md``). Methods:

* ``ping``, ``time``; ``session.logon`` (HMAC-signed; the simulator accepts the same keys as
  REST) / ``session.status`` / ``session.logout``;
* ``userDataStream.subscribe`` (after logon), ``userDataStream.subscribe.signature`` (what
  ccxt.pro uses for spot), ``userDataStream.unsubscribe``, ``session.subscriptions``; events
  then arrive on the connection as ``{"subscriptionId": n, "event": {...}}``; and the retired
  listenKey methods ``userDataStream.start`` / ``.ping`` / ``.stop`` (binance-connector 3);
* trading and account methods served by the REST face's own handlers, so both transports share
  one implementation (parameters, filters, error codes, faults, order-rate limits):
  ``order.place``, ``order.test``, ``order.status``, ``order.cancel``, ``openOrders.status``,
  ``openOrders.cancelAll``, ``allOrders``, ``myTrades``, ``account.status``,
  ``account.rateLimits.orders``; and market data: ``depth``, ``trades.recent``,
  ``trades.historical``, ``trades.aggregate``, ``klines``, ``uiKlines``, ``avgPrice``,
  ``ticker.24hr``, ``ticker.price``, ``ticker.book``, ``exchangeInfo``.

Signed requests carry ``apiKey``, ``timestamp`` (``recvWindow``) and ``signature``: the HMAC of
every other parameter sorted by name as ``key=value&...``; errors are ``{"code","msg"}`` with
the REST codes (-1022 bad signature, -1021 stale timestamp, -2015 unknown key, ...).
``POST/PUT/DELETE /api/v3/userDataStream`` (``X-MBX-APIKEY``) manage legacy listenKeys whose
stream is ``/ws/<listenKey>`` (served through the market-stream routes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiohttp import web

from real_trade.sim.accounts import Account
from real_trade.sim.binance.app import LIMITER_KEY
from real_trade.sim.binance.errors import (
    AMBIGUOUS_MSG,
    BinanceApiError,
    from_sim_error,
    illegal_chars,
    mandatory_missing,
)
from real_trade.sim.binance.ratelimit import binance_limiter, request_weight
from real_trade.sim.binance.rest_private import PRIVATE_ROUTES
from real_trade.sim.binance.rest_public import PUBLIC_ROUTES, RestCall, Route
from real_trade.sim.binance.ws_api_auth import authenticate_request, param_str
from real_trade.sim.binance.ws_listen_key import LISTEN_KEYS_KEY, ListenKeys
from real_trade.sim.binance.ws_market import core_bus, settings_of
from real_trade.sim.binance.ws_user import USER_HUB_KEY, UserStreamHub
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.fault_dispatch import AmbiguousOutcome
from real_trade.sim.plumbing.ratelimit import RateLimiter
from real_trade.sim.plumbing.ws_conn import (
    ABNORMAL_CLOSURE,
    ConnectionRegistry,
    WsConnection,
    json_frame,
)
from real_trade.sim.types import SimError

_log = logging.getLogger("real_trade.sim.binance.ws_api")

__all__ = ["API_REGISTRY_KEY", "REST_METHODS", "register_ws_api_routes"]

API_REGISTRY_KEY = web.AppKey("rt_ws_api_conns", ConnectionRegistry)
"""Where the WebSocket API face keeps its live connections."""

REST_METHODS: dict[str, tuple[str, str]] = {
    "order.place": ("POST", "/api/v3/order"),
    "order.test": ("POST", "/api/v3/order/test"),
    "order.status": ("GET", "/api/v3/order"),
    "order.cancel": ("DELETE", "/api/v3/order"),
    "openOrders.status": ("GET", "/api/v3/openOrders"),
    "openOrders.cancelAll": ("DELETE", "/api/v3/openOrders"),
    "allOrders": ("GET", "/api/v3/allOrders"),
    "myTrades": ("GET", "/api/v3/myTrades"),
    "account.status": ("GET", "/api/v3/account"),
    "account.rateLimits.orders": ("GET", "/api/v3/rateLimit/order"),
    "depth": ("GET", "/api/v3/depth"),
    "trades.recent": ("GET", "/api/v3/trades"),
    "trades.historical": ("GET", "/api/v3/historicalTrades"),
    "trades.aggregate": ("GET", "/api/v3/aggTrades"),
    "klines": ("GET", "/api/v3/klines"),
    "uiKlines": ("GET", "/api/v3/uiKlines"),
    "avgPrice": ("GET", "/api/v3/avgPrice"),
    "ticker.24hr": ("GET", "/api/v3/ticker/24hr"),
    "ticker.price": ("GET", "/api/v3/ticker/price"),
    "ticker.book": ("GET", "/api/v3/ticker/bookTicker"),
    "exchangeInfo": ("GET", "/api/v3/exchangeInfo"),
}
"""WebSocket API methods answered by the REST handler of the same Binance endpoint."""

_SESSION_WEIGHT = 2
_CONNECT_WEIGHT = 2
_NOT_SUPPORTED = BinanceApiError(-1020, "This operation is not supported.")
_NOT_LOGGED_ON = BinanceApiError(-1002, "You are not authorized to execute this request.")
_ID_LEGAL = "^[0-9]{1,20}$"
_OVERLOADED_MSG = (
    "Server is currently overloaded with other requests. Please try again in a few minutes."
)
_INTERNAL_MSG = "Internal error; unable to process your request. Please try again."
_STRIPPED = frozenset({"apiKey", "signature", "returnRateLimits"})
_LISTEN_KEY_METHODS = frozenset(
    {"userDataStream.start", "userDataStream.ping", "userDataStream.stop"}
)


@dataclass(eq=False)
class _Session:
    conn: WsConnection
    ip: str
    connected_since: int
    return_rate_limits: bool
    account: Account | None = None
    authorized_since: int | None = None
    logon_subscription: int | None = None
    next_subscription: int = 0


def register_ws_api_routes(app: web.Application, ctx: FaceContext) -> None:
    """Serve the WebSocket API at ``/ws-api/v3`` and the listenKey REST endpoints on ``app``.

    Shares the app's :class:`~real_trade.sim.binance.ratelimit.RateLimiter` (``LIMITER_KEY``)
    with REST, so request weight is counted per IP across both transports.
    """
    face = _ApiFace(ctx, app)
    app[USER_HUB_KEY] = face.hub
    app[LISTEN_KEYS_KEY] = face.listen_keys
    app[API_REGISTRY_KEY] = face.registry
    app.router.add_get("/ws-api/v3", face.handle_ws)
    for method in ("POST", "PUT", "DELETE"):
        app.router.add_route(method, "/api/v3/userDataStream", face.handle_listen_key)
    app.on_startup.append(face.on_startup)
    app.on_shutdown.append(face.on_shutdown)
    app.on_cleanup.append(face.on_cleanup)


class _ApiFace:
    """Handlers and lifecycle of the WebSocket API face."""

    def __init__(self, ctx: FaceContext, app: web.Application) -> None:
        self.ctx = ctx
        self.app = app
        self.settings = settings_of(app)
        self.hub = UserStreamHub(ctx, core_bus(ctx))
        self.listen_keys = ListenKeys(ctx, self.hub)
        self.registry = ConnectionRegistry()
        self.routes: dict[tuple[str, str], Route] = {
            (r.method, r.path): r for r in (*PUBLIC_ROUTES, *PRIVATE_ROUTES)
        }
        self._limiter: RateLimiter | None = None
        self._unregister: Any = None
        self._pacer: asyncio.Task[None] | None = None

    @property
    def limiter(self) -> RateLimiter:
        if self._limiter is None:
            self._limiter = self.app.get(LIMITER_KEY) or binance_limiter()
        return self._limiter

    async def on_startup(self, app: web.Application) -> None:
        loop = asyncio.get_running_loop()
        self.registry.attach(loop)
        self.hub.start(loop)
        self._unregister = self.ctx.faults.register_dropper(self.registry.drop_threadsafe)
        self._pacer = loop.create_task(self._run_pacer())

    async def on_shutdown(self, app: web.Application) -> None:
        self.registry.close_all(1001)

    async def on_cleanup(self, app: web.Application) -> None:
        if self._unregister is not None:
            self._unregister()
            self._unregister = None
        self.hub.stop()
        if self._pacer is not None:
            self._pacer.cancel()
            await asyncio.gather(self._pacer, return_exceptions=True)

    async def _run_pacer(self) -> None:
        while True:
            await asyncio.sleep(self.settings.pacer_interval_s)
            try:
                self.hub.tick()
                self.listen_keys.tick()
            except Exception:  # keep serving; the failure is logged with its traceback
                _log.exception("user-data stream pacer failed")

    async def handle_listen_key(self, request: web.Request) -> web.StreamResponse:
        return await self.listen_keys.handle_rest(request, self.limiter)

    # -- the WebSocket API ----------------------------------------------------------------
    async def handle_ws(self, request: web.Request) -> web.StreamResponse:
        conn = await WsConnection.open(request, self.settings)
        rrl = request.query.get("returnRateLimits", "true").lower() != "false"
        ip = request.remote or ""
        session = _Session(conn, ip, self.ctx.server_time_ms(), rrl)
        with contextlib.suppress(BinanceApiError):  # the next request gets the 429/418 answer
            self.limiter.charge(ip, _CONNECT_WEIGHT)
        self.registry.add(conn)
        try:
            await conn.serve(lambda text: self._on_text(session, text))
        finally:
            self.registry.discard(conn)
            self.hub.forget(conn)
        return conn.ws

    def _on_text(self, session: _Session, text: str) -> None:
        reply = self._request(session, text)
        if reply is not None:
            session.conn.send(json_frame(reply))

    def _request(self, session: _Session, text: str) -> dict[str, Any] | None:
        try:
            req = json.loads(text, parse_float=Decimal)
        except ValueError:
            return self._error(session, None, BinanceApiError(-1135, "Invalid JSON Request"))
        if not isinstance(req, dict) or "id" not in req or not _valid_id(req["id"]):
            rid = req.get("id") if isinstance(req, dict) and _valid_id(req.get("id")) else None
            return self._error(session, rid, mandatory_missing("id"))
        rid = req["id"]
        method = req.get("method")
        if not isinstance(method, str) or not method:
            return self._error(session, rid, mandatory_missing("method"))
        method = method.removeprefix("v3/")
        params = req.get("params", {})
        if params is None:
            params = {}
        if not isinstance(params, dict):
            return self._error(session, rid, mandatory_missing("params"))
        rrl = params.get("returnRateLimits", session.return_rate_limits)
        rrl = rrl if isinstance(rrl, bool) else session.return_rate_limits
        try:
            return self._dispatch(session, rid, method, params, rrl)
        except BinanceApiError as err:
            return self._error(session, rid, err, rrl)
        except SimError as err:
            return self._error(session, rid, from_sim_error(err), rrl)

    def _dispatch(
        self, session: _Session, rid: Any, method: str, params: dict[str, Any], rrl: bool
    ) -> dict[str, Any] | None:
        if method in REST_METHODS:
            return self._rest(session, rid, method, params, rrl)
        if method in ("ping", "time"):
            used = self.limiter.charge(session.ip, 1)
            result = {} if method == "ping" else {"serverTime": self.ctx.server_time_ms()}
            return self._ok(rid, result, used, rrl)
        used = self.limiter.charge(session.ip, _SESSION_WEIGHT)
        if method == "session.logon":
            account = self._authenticate(session, params, explicit=True)
            session.account = account
            session.authorized_since = self.ctx.server_time_ms()
            return self._ok(rid, self._status(session), used, rrl)
        if method == "session.status":
            return self._ok(rid, self._status(session), used, rrl)
        if method == "session.logout":
            if session.logon_subscription is not None:
                self.hub.unsubscribe(session.conn, session.logon_subscription)
                session.logon_subscription = None
            session.account = None
            session.authorized_since = None
            return self._ok(rid, self._status(session), used, rrl)
        if method == "userDataStream.subscribe":
            if session.account is None:
                raise _NOT_LOGGED_ON
            sub_id = self._subscribe(session, session.account)
            session.logon_subscription = sub_id
            return self._ok(rid, {"subscriptionId": sub_id}, used, rrl)
        if method == "userDataStream.subscribe.signature":
            account = self._authenticate(session, params, explicit=True)
            return self._ok(rid, {"subscriptionId": self._subscribe(session, account)}, used, rrl)
        if method == "userDataStream.unsubscribe":
            wanted = params.get("subscriptionId")
            if wanted is not None and (isinstance(wanted, bool) or not isinstance(wanted, int)):
                raise illegal_chars("subscriptionId", _ID_LEGAL)
            for sub_id in self.hub.unsubscribe(session.conn, wanted):
                if sub_id == session.logon_subscription:
                    session.logon_subscription = None
            return self._ok(rid, {}, used, rrl)
        if method == "session.subscriptions":
            subs = self.hub.subscriptions_of(session.conn)
            return self._ok(rid, [{"subscriptionId": s} for s, _ in subs], used, rrl)
        if method in _LISTEN_KEY_METHODS:
            return self._ok(rid, self._listen_key(session, method, params), used, rrl)
        raise _NOT_SUPPORTED

    def _listen_key(self, session: _Session, method: str, params: dict[str, Any]) -> Any:
        """The retired ``userDataStream.start/ping/stop`` (listenKey over the WebSocket API)."""
        account = self._authenticate(session, params, explicit=False, signed=False)
        if method == "userDataStream.start":
            return {"listenKey": self.listen_keys.create(account.account_id)}
        key = params.get("listenKey")
        if not isinstance(key, str) or not key:
            raise mandatory_missing("listenKey")
        keys = self.listen_keys
        done = keys.keepalive if method == "userDataStream.ping" else keys.close
        if not done(key, account.account_id):
            raise BinanceApiError(-1125, "This listenKey does not exist.")
        return {}

    def _subscribe(self, session: _Session, account: Account) -> int:
        """One subscription per account and connection: a second request returns the first."""
        for sub_id, account_id in self.hub.subscriptions_of(session.conn):
            if account_id == account.account_id:
                return sub_id
        sub_id = session.next_subscription
        session.next_subscription += 1
        self.hub.subscribe(session.conn, account.account_id, sub_id)
        return sub_id

    def _rest(
        self, session: _Session, rid: Any, method: str, params: dict[str, Any], rrl: bool
    ) -> dict[str, Any] | None:
        verb, path = REST_METHODS[method]
        route = self.routes[(verb, path)]
        sparams = {k: param_str(v) for k, v in params.items() if k not in _STRIPPED}
        used = self.limiter.charge(session.ip, request_weight(verb, path, sparams))
        account = None
        if route.security != "NONE":
            account = self._authenticate(
                session, params, explicit=False, signed=route.security == "SIGNED"
            )
        if method == "order.cancel" and not sparams.get("newClientOrderId"):
            sparams["newClientOrderId"] = self.hub.new_cancel_id()
        headers: dict[str, str] = {}
        call = RestCall(self.ctx, self.limiter, verb, path, sparams, account, headers)
        try:
            result = route.handler(call)
        except SimError as err:
            raise from_sim_error(err, for_query=route.query) from None
        except AmbiguousOutcome as amb:
            return self._ambiguous(session, rid, amb.kind)
        if method == "order.cancel" and isinstance(result, dict):
            self.hub.note_cancel(int(result["orderId"]), str(result["clientOrderId"]))
        counts = None
        if "X-MBX-ORDER-COUNT-10S" in headers:
            counts = (int(headers["X-MBX-ORDER-COUNT-10S"]), int(headers["X-MBX-ORDER-COUNT-1D"]))
        return self._ok(rid, result, used, rrl, counts)

    def _ambiguous(self, session: _Session, rid: Any, kind: str) -> dict[str, Any] | None:
        if kind == "disconnect":
            session.conn.close(ABNORMAL_CLOSURE)
            return None
        if kind == "timeout":
            err = BinanceApiError(-1007, AMBIGUOUS_MSG, http_status=408)
        elif kind == "503":
            err = BinanceApiError(-1008, _OVERLOADED_MSG, http_status=503)
        else:
            err = BinanceApiError(-1001, _INTERNAL_MSG, http_status=500)
        return self._error(session, rid, err, False)

    def _authenticate(
        self, session: _Session, params: dict[str, Any], *, explicit: bool, signed: bool = True
    ) -> Account:
        """The account a request acts for: its own ``apiKey`` + ``signature``, or the session's."""
        try:
            return authenticate_request(
                self.ctx, params, session.account, explicit=explicit, signed=signed
            )
        except BinanceApiError as err:
            if err.code == -2015 and not explicit:
                session.account = None  # the logged-on key is gone: the session is revoked
            raise

    # -- answers --------------------------------------------------------------------------
    def _status(self, session: _Session) -> dict[str, Any]:
        return {
            "apiKey": session.account.api_key if session.account is not None else None,
            "authorizedSince": session.authorized_since,
            "connectedSince": session.connected_since,
            "returnRateLimits": session.return_rate_limits,
            "serverTime": self.ctx.server_time_ms(),
            "userDataStream": bool(self.hub.subscriptions_of(session.conn)),
        }

    def _rate_limits(self, used: int, counts: tuple[int, int] | None) -> list[dict[str, Any]]:
        lim = self.limiter.limits
        out: list[dict[str, Any]] = []
        if counts is not None:
            out.append(
                {
                    "rateLimitType": "ORDERS",
                    "interval": "SECOND",
                    "intervalNum": 10,
                    "limit": lim.orders_per_10s,
                    "count": counts[0],
                }
            )
            out.append(
                {
                    "rateLimitType": "ORDERS",
                    "interval": "DAY",
                    "intervalNum": 1,
                    "limit": lim.orders_per_day,
                    "count": counts[1],
                }
            )
        out.append(
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": lim.weight_per_minute,
                "count": used,
            }
        )
        return out

    def _ok(
        self, rid: Any, result: Any, used: int, rrl: bool, counts: tuple[int, int] | None = None
    ) -> dict[str, Any]:
        reply: dict[str, Any] = {"id": rid, "status": 200, "result": result}
        if rrl:
            reply["rateLimits"] = self._rate_limits(used, counts)
        return reply

    def _error(
        self, session: _Session, rid: Any, err: BinanceApiError, rrl: bool | None = None
    ) -> dict[str, Any]:
        error: dict[str, Any] = err.to_json()
        if err.retry_after is not None:
            now = self.ctx.server_time_ms()
            error["data"] = {"serverTime": now, "retryAfter": now + err.retry_after * 1000}
        reply: dict[str, Any] = {"id": rid, "status": err.http_status, "error": error}
        if session.return_rate_limits if rrl is None else rrl:
            reply["rateLimits"] = self._rate_limits(self.limiter.used_weight(session.ip), None)
        return reply


def _valid_id(rid: Any) -> bool:
    if rid is None or isinstance(rid, str):
        return rid is None or len(rid) <= 36
    return isinstance(rid, int) and not isinstance(rid, bool)
