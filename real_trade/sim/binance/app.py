"""The aiohttp application of one simulated Binance spot exchange: REST, websockets, admin.

:func:`create_app` wires every REST route (public and signed) through one dispatcher that, for
each request and in this order: applies the fault plan's delay and request faults, parses the
parameters (query string and form body; duplicates are -1101), charges the request weight
(-1003 with 429/418 when over), authenticates (``X-MBX-APIKEY``, HMAC-SHA256 signature,
``timestamp``/``recvWindow``), runs the handler and answers in Binance's JSON with the
``X-MBX-USED-WEIGHT-1M`` header. The websocket faces (market streams, WebSocket API, legacy
listenKey endpoints) are registered on the same app. In non-stepped modes a pump task plays
the market every ``pump_interval_s``.

The ``/admin/`` endpoints (POST JSON, loopback callers only) drive the simulator from tests and
tools: ``faults`` (arm any :class:`~real_trade.sim.faults.FaultPlan` method by name),
``faults/reset``, ``drop-connections?code=``, ``advance`` (stepped clock), ``accounts`` (create
one; the answer carries its key and secret), ``time`` (read; or set ``speed``) and
``ratelimits`` (change or reset the limits).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web

from real_trade.sim.binance.auth import API_KEY_RE, authenticate
from real_trade.sim.binance.context import BinanceFaceContext
from real_trade.sim.binance.errors import (
    AMBIGUOUS_MSG,
    BinanceApiError,
    from_sim_error,
    rate_limited,
)
from real_trade.sim.binance.ratelimit import RateLimiter, RateLimits, request_weight
from real_trade.sim.binance.rest_private import PRIVATE_ROUTES
from real_trade.sim.binance.rest_public import PUBLIC_ROUTES, AmbiguousOutcome, RestCall, Route
from real_trade.sim.errors import SimError
from real_trade.sim.faults import FaultPlan, RequestFault

if TYPE_CHECKING:
    from real_trade.sim.binance.ws_conn import WsSettings

__all__ = [
    "ADMIN_FAULT_METHODS",
    "CONTEXT_KEY",
    "LIMITER_KEY",
    "create_app",
    "is_loopback",
]

_log = logging.getLogger("real_trade.sim.binance")

CONTEXT_KEY = web.AppKey("binance_context", BinanceFaceContext)
"""Where the application keeps its :class:`BinanceFaceContext`."""
LIMITER_KEY = web.AppKey("binance_rate_limiter", RateLimiter)
"""Where the application keeps its :class:`RateLimiter` (the WebSocket API may share it)."""

ADMIN_FAULT_METHODS = frozenset(
    {
        "fail_next",
        "delay_next",
        "ambiguous_next",
        "reject_next_orders",
        "set_clock_skew",
        "set_depth_faults",
        "pause_user_stream",
        "drop_connections",
        "reset",
    }
)
"""The :class:`FaultPlan` methods ``POST /admin/faults`` may call."""

_JSON = "application/json"
_UNKNOWN_MSG = "An unknown error occurred while processing the request."
_INTERNAL_MSG = "Internal error; unable to process your request. Please try again."
_PLAIN_5XX = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable.",
    504: "Gateway Timeout",
}


def is_loopback(host: str | None) -> bool:
    """Tell whether ``host`` (an address or ``localhost``) is a loopback address."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _dumps_std(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


_dumps: Callable[[Any], bytes]
try:  # orjson, when installed, serialises our all-string answers several times faster
    from orjson import dumps as _dumps
except ImportError:  # pragma: no cover - depends on the environment
    _dumps = _dumps_std


def _json_response(
    obj: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    out = {"Content-Type": _JSON} if headers is None else {**headers, "Content-Type": _JSON}
    return web.Response(body=_dumps(obj), status=status, headers=out)


def _error_response(err: BinanceApiError, headers: dict[str, str]) -> web.Response:
    if err.retry_after is not None:
        headers["Retry-After"] = str(err.retry_after)
    return _json_response(err.to_json(), err.http_status, headers)


# -- parameters and authentication ---------------------------------------------------------
def _parse_part(raw: str) -> dict[str, str]:
    """Parse ``a=1&b=2`` (form encoding); a name given twice is -1101."""
    out: dict[str, str] = {}
    if not raw:
        return out
    if "%" in raw or "+" in raw:
        pairs: list[tuple[str, str]] = parse_qsl(raw, keep_blank_values=True)
    else:  # the common case: nothing to decode
        pairs = [(k, v) for k, _, v in (part.partition("=") for part in raw.split("&") if part)]
    for key, value in pairs:
        if key in out:
            raise BinanceApiError(-1101, "Duplicate values for a parameter detected.")
        out[key] = value
    return out


def _parse_params(query_raw: str, body_raw: str) -> dict[str, str]:
    """Merge query string and body; on Binance the query string wins for a repeated name."""
    params = _parse_part(body_raw)
    params.update(_parse_part(query_raw))
    return params


# -- faults ----------------------------------------------------------------------------------
def _fault_response(fault: RequestFault) -> web.Response:
    kind = fault.kind
    if kind in ("500", "502", "503", "504"):
        status = int(kind)
        return web.Response(text=_PLAIN_5XX[status], status=status, content_type="text/html")
    headers: dict[str, str] = {}
    retry = fault.retry_after if fault.retry_after is not None else 1
    if kind in ("429", "-1003"):
        return _error_response(rate_limited(6000, "1 MINUTE", retry), headers)
    if kind == "418":
        until = int(time.time() * 1000) + retry * 1000
        return _error_response(rate_limited(6000, "1 MINUTE", retry, banned_until=until), headers)
    if kind == "-1021":
        err = BinanceApiError(-1021, "Timestamp for this request is outside of the recvWindow.")
        return _error_response(err, headers)
    return _error_response(BinanceApiError(-1001, _INTERNAL_MSG, http_status=500), headers)


async def _ambiguous_response(request: web.Request, kind: str) -> web.StreamResponse:
    if kind == "disconnect":
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise asyncio.CancelledError
    if kind == "-1007":
        return _json_response({"code": -1007, "msg": AMBIGUOUS_MSG}, 408)
    if kind == "503":
        body = {"msg": "Unknown error, please check your request or try again later."}
        return _json_response(body, 503)
    return web.Response(text=_PLAIN_5XX[500], status=500, content_type="text/html")


# -- the REST dispatcher -------------------------------------------------------------------
def _route_handler(
    route: Route, ctx: BinanceFaceContext, limiter: RateLimiter
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    method, path = route.method, route.path

    async def handle(request: web.Request) -> web.StreamResponse:
        faults = ctx.faults
        delay = faults.request_delay()
        if delay > 0:
            await asyncio.sleep(delay)
        fault = faults.take_request_fault(path)
        if fault is not None:
            return _fault_response(fault)
        headers: dict[str, str] = {}
        try:
            query_raw = request.raw_path.partition("?")[2]
            body_raw = (await request.text()) if request.can_read_body else ""
            params = _parse_params(query_raw, body_raw)
            used = limiter.charge(request.remote or "", request_weight(method, path, params))
            headers["X-MBX-USED-WEIGHT-1M"] = str(used)
            account = None
            if route.security != "NONE":
                key = request.headers.get("X-MBX-APIKEY", "")
                signed = route.security == "SIGNED"
                account = authenticate(ctx, key, params, query_raw, body_raw, signed=signed)
            call = RestCall(ctx, limiter, method, path, params, account, headers)
            result = route.handler(call)
        except BinanceApiError as err:
            return _error_response(err, headers)
        except SimError as err:
            return _error_response(from_sim_error(err, for_query=route.query), headers)
        except AmbiguousOutcome as amb:
            return await _ambiguous_response(request, amb.kind)
        except Exception:  # a simulator bug: answer like Binance's internal error, log it
            _log.exception("%s %s failed", method, path)
            unknown = BinanceApiError(-1000, _UNKNOWN_MSG, http_status=500)
            return _error_response(unknown, headers)
        headers["Content-Type"] = _JSON
        return web.Response(body=_dumps(result), headers=headers)

    return handle


# -- admin -----------------------------------------------------------------------------------
class _AdminError(Exception):
    """A bad admin request: answered 400 with ``{"error": message}``."""


def _admin(
    fn: Callable[[web.Request, dict[str, Any]], Awaitable[Any]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        if not is_loopback(request.remote):
            return _json_response({"error": "the admin endpoint answers loopback only"}, 403)
        try:
            body: Any = {}
            if request.can_read_body:
                text = await request.text()
                body = json.loads(text) if text.strip() else {}
            if not isinstance(body, dict):
                raise _AdminError("the body must be a JSON object")
            result = await fn(request, body)
        except (_AdminError, ValueError, TypeError, KeyError) as exc:
            return _json_response({"error": f"{type(exc).__name__}: {exc}"}, 400)
        return _json_response(result)

    return handle


def _decimal_map(raw: Any, name: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise _AdminError(f"{name} must be an object like {{'USDT': '10000'}}")
    return {str(k): str(v) for k, v in raw.items()}


def _admin_routes(app: web.Application, ctx: BinanceFaceContext, limiter: RateLimiter) -> None:
    faults: FaultPlan = ctx.faults

    async def arm(request: web.Request, body: dict[str, Any]) -> Any:
        name = body.get("method") or body.get("name")
        if name not in ADMIN_FAULT_METHODS:
            raise _AdminError(f"method must be one of {sorted(ADMIN_FAULT_METHODS)}, got {name!r}")
        kwargs = body.get("kwargs", {})
        if not isinstance(kwargs, dict):
            raise _AdminError("kwargs must be an object")
        result = getattr(faults, name)(**kwargs)
        return {"ok": True, "result": result, "injected": dict(faults.injected)}

    async def reset(request: web.Request, body: dict[str, Any]) -> Any:
        faults.reset()
        return {"ok": True}

    async def drop(request: web.Request, body: dict[str, Any]) -> Any:
        code = int(request.query.get("code", body.get("code", 1006)))
        return {"ok": True, "dropped": faults.drop_connections(code)}

    async def advance(request: web.Request, body: dict[str, Any]) -> Any:
        seconds = float(body.get("seconds", request.query.get("seconds", 0)))
        if not ctx.clock.stepped:
            raise _AdminError("advance needs a stepped clock (start the simulator stepped)")
        ctx.clock.advance(seconds)
        ticks = ctx.core.pump()
        return {"ok": True, "ticks": ticks, "now_ms": ctx.clock.now_ms()}

    async def accounts(request: web.Request, body: dict[str, Any]) -> Any:
        balances = _decimal_map(body.get("balances", {}), "balances")
        key, secret = body.get("api_key"), body.get("secret")
        if key is not None and not API_KEY_RE.match(str(key)):
            raise _AdminError("api_key must be 1-128 letters, digits, '_' or '-'")
        fees = {k: Decimal(str(body[k])) for k in ("maker_fee", "taker_fee") if k in body}
        acct = ctx.core.create_account(balances, api_key=key, secret=secret, **fees)
        return {"account_id": acct.account_id, "api_key": acct.api_key, "secret": acct.secret}

    async def time_(request: web.Request, body: dict[str, Any]) -> Any:
        if "speed" in body:
            ctx.clock.speed = float(body["speed"])
        return {
            "now_ms": ctx.clock.now_ms(),
            "server_time_ms": ctx.server_time_ms(),
            "stepped": ctx.clock.stepped,
            "speed": ctx.clock.speed,
        }

    async def ratelimits(request: web.Request, body: dict[str, Any]) -> Any:
        if body.pop("reset", False):
            limiter.reset()
        if body:
            current = limiter.limits
            fields = {
                name: body.get(name, getattr(current, name))
                for name in RateLimits.__dataclass_fields__
            }
            limiter.configure(RateLimits(**fields))
        lim = limiter.limits
        return {name: getattr(lim, name) for name in RateLimits.__dataclass_fields__}

    for path, fn in (
        ("faults", arm),
        ("faults/reset", reset),
        ("drop-connections", drop),
        ("advance", advance),
        ("accounts", accounts),
        ("time", time_),
        ("ratelimits", ratelimits),
    ):
        app.router.add_post(f"/admin/{path}", _admin(fn))
    app.router.add_get("/admin/time", _admin(time_))


# -- the application -------------------------------------------------------------------------
def _pump_ctx(
    ctx: BinanceFaceContext, interval_s: float
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def pump(app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(interval_s)
                try:
                    ctx.core.pump()
                except Exception:  # keep serving; a pump bug must not stop the exchange
                    _log.exception("market pump failed")

        task = asyncio.get_running_loop().create_task(loop(), name="sim-market-pump")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return pump


def create_app(
    ctx: BinanceFaceContext,
    *,
    limiter: RateLimiter | None = None,
    admin: bool = True,
    pump_interval_s: float | None = 0.05,
    ws_settings: WsSettings | None = None,
) -> web.Application:
    """Build the application serving one simulated Binance spot exchange.

    ``limiter`` defaults to Binance's limits; ``admin=False`` leaves out ``/admin/``;
    ``pump_interval_s`` is how often the market is played in real/accelerated modes (no pump
    task with a stepped clock or ``None``). The websocket faces (market streams and the
    WebSocket API) are served by the same application, with ``ws_settings`` (ping interval,
    pong timeout, connection lifetime) or Binance's defaults.
    """
    app = web.Application()
    lim = limiter if limiter is not None else RateLimiter()
    app[CONTEXT_KEY] = ctx
    app[LIMITER_KEY] = lim
    for route in (*PUBLIC_ROUTES, *PRIVATE_ROUTES):
        app.router.add_route(route.method, route.path, _route_handler(route, ctx, lim))
    if admin:
        _admin_routes(app, ctx, lim)
    _register_ws_faces(app, ctx, ws_settings)
    if pump_interval_s is not None and not ctx.clock.stepped:
        app.cleanup_ctx.append(_pump_ctx(ctx, pump_interval_s))
    return app


def _register_ws_faces(
    app: web.Application, ctx: BinanceFaceContext, settings: WsSettings | None
) -> None:
    # Imported here: the websocket faces import this module (for LIMITER_KEY) at load time.
    from real_trade.sim.binance.ws_api import register_ws_api_routes
    from real_trade.sim.binance.ws_market import register_ws_market_routes

    register_ws_market_routes(app, ctx, settings)
    register_ws_api_routes(app, ctx)
