"""Binance spot's REST dispatcher, and the application of a simulator serving only Binance.

:func:`rest_handler` serves one REST route; for each request and in this order it: applies the
fault plan's delay and request faults (answered in Binance's words), parses the parameters
(query string and form body; duplicates are -1101), charges the request weight (-1003 with
429/418 when over), authenticates (``X-MBX-APIKEY``, HMAC-SHA256 signature,
``timestamp``/``recvWindow``), runs the handler and answers in Binance's JSON with the
``X-MBX-USED-WEIGHT-1M`` header. :class:`~real_trade.sim.binance.face.BinanceFace` registers
these routes and the websocket faces; :func:`create_app` builds an application with the Binance
face alone plus the shared plumbing (``/admin/``, the market pump:
:func:`~real_trade.sim.plumbing.app.create_exchange_app`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from aiohttp import web

from real_trade.sim.binance.auth import authenticate
from real_trade.sim.binance.errors import (
    AMBIGUOUS_MSG,
    BinanceApiError,
    from_sim_error,
    rate_limited,
)
from real_trade.sim.binance.ratelimit import request_weight
from real_trade.sim.binance.rest_public import RestCall, Route
from real_trade.sim.errors import SimError
from real_trade.sim.faults import RequestFault
from real_trade.sim.plumbing.app import create_exchange_app
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.fault_dispatch import AmbiguousOutcome, abort_connection, request_fault
from real_trade.sim.plumbing.http import JSON_TYPE, dumps, json_response, raw_request
from real_trade.sim.plumbing.ratelimit import RateLimiter

if TYPE_CHECKING:
    from real_trade.sim.plumbing.ws_conn import WsSettings

__all__ = ["LIMITER_KEY", "create_app", "rest_handler"]

_log = logging.getLogger("real_trade.sim.binance")

LIMITER_KEY = web.AppKey("binance_rate_limiter", RateLimiter)
"""Where the application keeps its :class:`RateLimiter` (the WebSocket API may share it)."""

_UNKNOWN_MSG = "An unknown error occurred while processing the request."
_INTERNAL_MSG = "Internal error; unable to process your request. Please try again."
_PLAIN_5XX = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable.",
    504: "Gateway Timeout",
}


def _error_response(err: BinanceApiError, headers: dict[str, str]) -> web.Response:
    if err.retry_after is not None:
        headers["Retry-After"] = str(err.retry_after)
    return json_response(err.to_json(), err.http_status, headers)


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
    if kind == "429":
        return _error_response(rate_limited(6000, "1 MINUTE", retry), headers)
    if kind == "418":
        until = int(time.time() * 1000) + retry * 1000
        return _error_response(rate_limited(6000, "1 MINUTE", retry, banned_until=until), headers)
    if kind == "timestamp":
        err = BinanceApiError(-1021, "Timestamp for this request is outside of the recvWindow.")
        return _error_response(err, headers)
    return _error_response(BinanceApiError(-1001, _INTERNAL_MSG, http_status=500), headers)


async def _ambiguous_response(request: web.Request, kind: str) -> web.StreamResponse:
    if kind == "disconnect":
        abort_connection(request)
    if kind == "timeout":
        return json_response({"code": -1007, "msg": AMBIGUOUS_MSG}, 408)
    if kind == "503":
        body = {"msg": "Unknown error, please check your request or try again later."}
        return json_response(body, 503)
    return web.Response(text=_PLAIN_5XX[500], status=500, content_type="text/html")


# -- the REST dispatcher -------------------------------------------------------------------
def rest_handler(
    route: Route,
    ctx: FaceContext,
    limiter: RateLimiter,
    *,
    translate: Callable[..., BinanceApiError] = from_sim_error,
    weigh: Callable[[str, str, dict[str, str]], int] = request_weight,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler serving Binance REST ``route`` (see the module docstring).

    ``translate`` turns the core's errors into the face's codes (spot's by default; the USD-M
    face passes its own) and ``weigh`` gives a request's weight.
    """
    method, path = route.method, route.path

    async def handle(request: web.Request) -> web.StreamResponse:
        fault = await request_fault(ctx.faults, path)
        if fault is not None:
            return _fault_response(fault)
        headers: dict[str, str] = {}
        try:
            query_raw, body_raw = await raw_request(request)
            params = _parse_params(query_raw, body_raw)
            used = limiter.charge(request.remote or "", weigh(method, path, params))
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
            return _error_response(translate(err, for_query=route.query), headers)
        except AmbiguousOutcome as amb:
            return await _ambiguous_response(request, amb.kind)
        except Exception:  # a simulator bug: answer like Binance's internal error, log it
            _log.exception("%s %s failed", method, path)
            unknown = BinanceApiError(-1000, _UNKNOWN_MSG, http_status=500)
            return _error_response(unknown, headers)
        headers["Content-Type"] = JSON_TYPE
        return web.Response(body=dumps(result), headers=headers)

    return handle


# -- the application -------------------------------------------------------------------------
def create_app(
    ctx: FaceContext,
    *,
    limiter: RateLimiter | None = None,
    admin: bool = True,
    pump_interval_s: float | None = 0.05,
    ws_settings: WsSettings | None = None,
) -> web.Application:
    """Build the application of a simulator serving the Binance spot face alone.

    ``limiter`` defaults to Binance's limits; ``admin=False`` leaves out ``/admin/``;
    ``pump_interval_s`` is how often the market is played in real/accelerated modes (no pump
    task with a stepped clock or ``None``). The websocket faces (market streams and the
    WebSocket API) are served by the same application, with ``ws_settings`` (ping interval,
    pong timeout, connection lifetime) or Binance's defaults.
    """
    from real_trade.sim.binance.face import BinanceFace  # the face imports this module

    face = BinanceFace(limiter=limiter, ws_settings=ws_settings)
    return create_exchange_app(ctx, [face], admin=admin, pump_interval_s=pump_interval_s)
