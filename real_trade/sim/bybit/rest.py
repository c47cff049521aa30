"""Bybit v5's REST dispatcher: faults, rate limit, ``X-BAPI-*`` auth, the envelope.

:func:`rest_handler` serves one :class:`Route`; for each request, in this order: the fault
plan's delay and request faults (answered in Bybit's words), the IP limit (HTTP 403 with the
plain text "access too frequent", no v5 envelope, as Bybit's 600 requests / 5 s gate answers:
ccxt's ``httpExceptions`` read it as ``RateLimitExceeded``), the signature of a private route
(:func:`~real_trade.sim.bybit.auth.authenticate`), the handler, and the
``{retCode, retMsg, result, retExtInfo, time}`` envelope. Core refusals become retCodes
(:func:`~real_trade.sim.bybit.errors.from_sim_error`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from aiohttp import web

from real_trade.sim.accounts import Account
from real_trade.sim.bybit.auth import authenticate
from real_trade.sim.bybit.errors import BybitApiError, envelope, from_sim_error
from real_trade.sim.errors import SimError
from real_trade.sim.faults import RequestFault
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.fault_dispatch import (
    AmbiguousOutcome,
    ambiguous_response,
    gateway_error,
    request_fault,
)
from real_trade.sim.plumbing.http import JSON_TYPE, dumps, json_response, raw_request
from real_trade.sim.plumbing.http import Route as HttpRoute
from real_trade.sim.plumbing.params import ParamReader
from real_trade.sim.plumbing.ratelimit import RateLimiter, RateLimitExceeded, RateLimits

__all__ = [
    "Call",
    "Route",
    "bybit_limiter",
    "cursor_page",
    "rest_handler",
]

_log = logging.getLogger("real_trade.sim.bybit")

ItemT = TypeVar("ItemT")


@dataclass(frozen=True)
class Call(ParamReader):
    """One REST request as a handler sees it: parameters, the account (private routes)."""

    ctx: FaceContext
    limiter: RateLimiter
    params: dict[str, Any]
    account: Account | None
    contexts: Mapping[str, FaceContext] = field(default_factory=dict)
    """Every context the face serves (``spot``, and ``linear`` with a futures core)."""

    def missing(self, name: str) -> Exception:
        """10001: a required parameter is absent."""
        return BybitApiError(10001, f"params error: {name} is required")

    def malformed(self, name: str) -> Exception:
        """10001: a parameter does not parse."""
        return BybitApiError(10001, f"params error: {name} invalid")

    @property
    def user(self) -> Account:
        """The authenticated account (private routes only)."""
        assert self.account is not None
        return self.account


Route = HttpRoute[Call]
"""One v5 endpoint: method, path, its handler, whether it is signed."""


def cursor_page(items: list[ItemT], call: Call, default: int, cap: int) -> tuple[list[ItemT], str]:
    """One page of ``items`` by Bybit's cursor (an offset; ``limit`` brought into ``1..cap``,
    ``default`` when absent) and the next page's ``nextPageCursor`` (``""`` on the last)."""
    limit = call.clamped_int("limit", default, cap)
    start = call.int_param("cursor", 0)
    cursor = str(start + limit) if start + limit < len(items) else ""
    return items[start : start + limit], cursor


def _refusal(exc: RateLimitExceeded) -> BybitApiError:
    if exc.scope == "orders":
        return BybitApiError(10006, "Too many visits. Exceeded the API Rate Limit.")
    return BybitApiError(403, "access too frequent", 403)


def bybit_limiter(limits: RateLimits | None = None) -> RateLimiter:
    """A limiter with Bybit's limits (600 requests / 5 s per IP, about 7200 a minute; 20 spot
    orders a second per account) refusing in Bybit's words (HTTP 403; retCode 10006)."""
    if limits is None:
        limits = RateLimits(weight_per_minute=7200, orders_per_10s=200, ban_seconds=600)
    return RateLimiter(limits, refuse=_refusal)


def _too_frequent(headers: Mapping[str, str] | None = None) -> web.Response:
    """Bybit's answer to an IP over its limit: HTTP 403, plain words, no v5 envelope."""
    return web.Response(
        text="access too frequent", status=403, headers=headers, content_type="text/html"
    )


def _fault_response(fault: RequestFault, now_ms: int) -> web.Response:
    kind = fault.kind
    page = gateway_error(fault)
    if page is not None:
        return page
    if kind in ("429", "418"):
        return _too_frequent({"Retry-After": str(fault.retry_after or 1)})
    if kind == "timestamp":
        err = BybitApiError(
            10002, "invalid request, please check your server timestamp or recv_window param"
        )
        return json_response(err.to_json(now_ms), 200)
    err = BybitApiError(10016, "Internal system error.")
    return json_response(err.to_json(now_ms), 200)


def _params(query_raw: str, body_raw: str) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_qsl(query_raw, keep_blank_values=True))
    if body_raw.strip():
        try:
            body = json.loads(body_raw)
        except ValueError:
            raise BybitApiError(10001, "params error: request body is not JSON") from None
        if not isinstance(body, dict):
            raise BybitApiError(10001, "params error: request body is not an object")
        params.update(body)
    return params


def rest_handler(
    route: Route, contexts: Mapping[str, FaceContext], limiter: RateLimiter
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler serving ``route`` (see the module docstring); a request with
    ``category=linear`` is served by ``contexts["linear"]`` when there is one."""
    spot_ctx = contexts["spot"]
    linear_ctx = contexts.get("linear")

    async def handle(request: web.Request) -> web.StreamResponse:
        ctx = spot_ctx
        now = ctx.server_time_ms()
        fault = await request_fault(ctx.faults, route.path)
        if fault is not None:
            return _fault_response(fault, now)
        params: dict[str, Any] = {}
        try:
            query_raw, body_raw = await raw_request(request)
            limiter.charge(request.remote or "", 1)
            params = _params(query_raw, body_raw)
            if linear_ctx is not None and params.get("category") == "linear":
                ctx = linear_ctx
            account = None
            if route.private:
                payload = body_raw if route.method == "POST" else query_raw
                account = authenticate(ctx, request.headers, payload)
            call = Call(ctx, limiter, params, account, contexts)
            result = route.handler(call)
        except BybitApiError as err:
            if err.http_status == 403:  # the IP limit (see _refusal)
                return _too_frequent()
            return json_response(err.to_json(now), err.http_status)
        except SimError as err:
            spot = params.get("category") != "linear"
            return json_response(from_sim_error(err, spot=spot).to_json(now), 200)
        except AmbiguousOutcome as amb:
            timeout = BybitApiError(10016, "Request timeout").to_json(now)
            return ambiguous_response(request, amb.kind, json_response(timeout, 200))
        except Exception:  # a simulator bug: answer like Bybit's internal error, log it
            _log.exception("%s %s failed", route.method, route.path)
            return json_response(BybitApiError(10016, "Internal system error.").to_json(now), 200)
        body = dumps(envelope(result, ctx.server_time_ms()))
        return web.Response(body=body, headers={"Content-Type": JSON_TYPE})

    return handle
