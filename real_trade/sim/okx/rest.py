"""OKX v5's REST dispatcher: faults, rate limit, ``OK-ACCESS-*`` auth, the envelope.

:func:`rest_handler` serves one :class:`Route`; for each request, in this order: the fault
plan's delay and request faults (answered in OKX's words), the IP limit (HTTP 429 with 50011),
the signature of a private route (:func:`~real_trade.sim.okx.auth.authenticate`), the handler,
and the ``{code, msg, data}`` envelope. An order refused by the core is answered with
``code "1"`` and its per-order ``sCode`` (:class:`~real_trade.sim.okx.errors.OrderRefused`).
The demo header ``x-simulated-trading: 1`` is accepted (demo and live are the same simulator)
and counted in :class:`FaceStats`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from real_trade.sim.accounts import Account
from real_trade.sim.errors import SimError
from real_trade.sim.faults import RequestFault
from real_trade.sim.okx.auth import authenticate
from real_trade.sim.okx.errors import OkxApiError, OrderRefused, envelope, from_sim_error
from real_trade.sim.okx.markets import Instrument, Markets
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
    "Envelope",
    "FaceStats",
    "Route",
    "okx_limiter",
    "rest_handler",
]

_log = logging.getLogger("real_trade.sim.okx")


@dataclass(frozen=True)
class Envelope:
    """A handler's answer with its own envelope code (``"1"``/``"2"``: batch outcomes)."""

    data: Any
    code: str = "0"
    msg: str = ""


@dataclass
class FaceStats:
    """What the face counted: requests carrying the demo header."""

    demo_requests: int = 0


@dataclass(frozen=True)
class Call(ParamReader):
    """One REST request as a handler sees it: parameters (a list for batch bodies), the key."""

    markets: Markets
    limiter: RateLimiter
    params: dict[str, Any]
    body_list: list[Any] | None
    api_key: str | None

    def missing(self, name: str) -> Exception:
        """50014: a required parameter is absent."""
        return OkxApiError(50014, f"Parameter {name} can not be empty")

    def malformed(self, name: str) -> Exception:
        """51000: a parameter does not parse."""
        return OkxApiError(51000, f"Parameter {name} error")

    def account(self, inst: Instrument) -> Account:
        """The caller's account in the core trading ``inst``."""
        return self.account_in(inst.ctx)

    def account_in(self, ctx: FaceContext) -> Account:
        """The caller's account in ``ctx``'s core (signed routes only)."""
        assert self.api_key is not None
        acct = ctx.core.account_by_key(self.api_key)
        if acct is None:
            raise OkxApiError(50111, "Invalid OK-ACCESS-KEY", 401)
        return acct

    def with_params(self, params: dict[str, Any]) -> Call:
        """This call with other parameters (one element of a batch)."""
        return Call(self.markets, self.limiter, params, None, self.api_key)


Route = HttpRoute[Call]
"""One v5 endpoint: method, path, its handler, whether it is signed."""


def _refusal(exc: RateLimitExceeded) -> OkxApiError:
    return OkxApiError(50011, "Too Many Requests", 429)


def okx_limiter(limits: RateLimits | None = None) -> RateLimiter:
    """A limiter with OKX's limits (about 20 requests a second per IP; 60 orders / 2 s per
    account) refusing in OKX's words (HTTP 429, code 50011)."""
    if limits is None:
        limits = RateLimits(weight_per_minute=1200, orders_per_10s=300, ban_seconds=60)
    return RateLimiter(limits, refuse=_refusal)


def _fault_response(fault: RequestFault) -> web.Response:
    kind = fault.kind
    page = gateway_error(fault)
    if page is not None:
        return page
    if kind in ("429", "418"):
        headers = {"Retry-After": str(fault.retry_after or 1)}
        body = dumps(envelope([], "50011", "Too Many Requests"))
        return web.Response(body=body, status=429, headers={**headers, "Content-Type": JSON_TYPE})
    if kind == "timestamp":
        return json_response(OkxApiError(50102, "Timestamp request expired").to_json(), 401)
    return json_response(OkxApiError(50026, "System error. Try again later.").to_json(), 200)


def _params(query_raw: str, body_raw: str) -> tuple[dict[str, Any], list[Any] | None]:
    params: dict[str, Any] = dict(parse_qsl(query_raw, keep_blank_values=True))
    if not body_raw.strip():
        return params, None
    try:
        body = json.loads(body_raw)
    except ValueError:
        raise OkxApiError(50002, "Json data format error") from None
    if isinstance(body, list):
        return params, body
    if not isinstance(body, dict):
        raise OkxApiError(50002, "Json data format error")
    params.update(body)
    return params, None


def rest_handler(
    route: Route, markets: Markets, limiter: RateLimiter, passphrase: str, stats: FaceStats
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler serving ``route`` (see the module docstring)."""
    ctx = markets.spot

    async def handle(request: web.Request) -> web.StreamResponse:
        fault = await request_fault(ctx.faults, route.path)
        if fault is not None:
            return _fault_response(fault)
        try:
            query_raw, body_raw = await raw_request(request)
            limiter.charge(request.remote or "", 1)
            if request.headers.get("x-simulated-trading") == "1":
                stats.demo_requests += 1
            params, body_list = _params(query_raw, body_raw)
            key = None
            if route.private:
                tail = request.method + request.raw_path + body_raw
                key = authenticate(ctx, request.headers, tail, passphrase).api_key
            call = Call(markets, limiter, params, body_list, key)
            data = route.handler(call)
        except OkxApiError as err:
            return json_response(err.to_json(), err.http_status)
        except OrderRefused as err:
            return json_response(err.to_json(), 200)
        except SimError as err:
            code, msg = from_sim_error(err)
            return json_response(envelope([], code, msg), 200)
        except AmbiguousOutcome as amb:
            timeout = OkxApiError(50004, "Endpoint request timeout.").to_json()
            return ambiguous_response(request, amb.kind, json_response(timeout, 200))
        except Exception:  # a simulator bug: answer like OKX's system error, log it
            _log.exception("%s %s failed", route.method, route.path)
            return json_response(OkxApiError(50026, "System error.").to_json(), 200)
        if isinstance(data, Envelope):
            body = dumps(envelope(data.data, data.code, data.msg))
        else:
            body = dumps(envelope(data))
        return web.Response(body=body, headers={"Content-Type": JSON_TYPE})

    return handle
