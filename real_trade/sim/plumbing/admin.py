"""The ``/admin/`` endpoints of a simulated exchange: drive it from tests and tools.

POST JSON, loopback callers only: ``faults`` (arm any :class:`~real_trade.sim.faults.FaultPlan`
method by name), ``faults/reset``, ``drop-connections?code=``, ``advance`` (stepped clock),
``accounts`` (create one; the answer carries its key and secret), ``time`` (read; or set
``speed``; GET too) and ``ratelimits`` (change or reset the limits of every face). They are
the same whatever faces the exchange serves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

from aiohttp import web

from real_trade.sim.faults import FaultPlan
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.http import is_loopback, json_response
from real_trade.sim.plumbing.ratelimit import RateLimiter, RateLimits

__all__ = ["ADMIN_FAULT_METHODS", "register_admin_routes"]

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

_API_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class _AdminError(Exception):
    """A bad admin request: answered 400 with ``{"error": message}``."""


def _admin(
    fn: Callable[[web.Request, dict[str, Any]], Awaitable[Any]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        if not is_loopback(request.remote):
            return json_response({"error": "the admin endpoint answers loopback only"}, 403)
        try:
            body: Any = {}
            if request.can_read_body:
                text = await request.text()
                body = json.loads(text) if text.strip() else {}
            if not isinstance(body, dict):
                raise _AdminError("the body must be a JSON object")
            result = await fn(request, body)
        except (_AdminError, ValueError, TypeError, KeyError) as exc:
            return json_response({"error": f"{type(exc).__name__}: {exc}"}, 400)
        return json_response(result)

    return handle


def _decimal_map(raw: Any, name: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise _AdminError(f"{name} must be an object like {{'USDT': '10000'}}")
    return {str(k): str(v) for k, v in raw.items()}


def register_admin_routes(
    app: web.Application,
    ctx: FaceContext,
    limiters: Sequence[RateLimiter] = (),
    mirrors: Sequence[FaceContext] = (),
) -> None:
    """Serve ``/admin/`` on ``app`` for the exchange of ``ctx``; ``ratelimits`` acts on
    ``limiters`` (every face's; the first one's limits are reported). An account created here
    is also opened, with the same key, secret and balances, in each of ``mirrors``' cores (the
    USD-M face's core of perpetuals: one key trades spot and futures, with separate wallets);
    ``advance`` pumps those cores too, as :meth:`SimExchange.advance` does."""
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
        for other in mirrors:  # the perpetuals' core moves with the clock too
            other.core.pump()
        return {"ok": True, "ticks": ticks, "now_ms": ctx.clock.now_ms()}

    async def accounts(request: web.Request, body: dict[str, Any]) -> Any:
        balances = _decimal_map(body.get("balances", {}), "balances")
        key, secret = body.get("api_key"), body.get("secret")
        if key is not None and not _API_KEY_RE.match(str(key)):
            raise _AdminError("api_key must be 1-128 letters, digits, '_' or '-'")
        fees = {k: Decimal(str(body[k])) for k in ("maker_fee", "taker_fee") if k in body}
        acct = ctx.core.create_account(balances, api_key=key, secret=secret, **fees)
        for other in mirrors:
            other.core.create_account(
                balances,
                api_key=acct.api_key,
                secret=acct.secret,
                maker_fee=Decimal("0.0002"),
                taker_fee=Decimal("0.0005"),
            )
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
        if not limiters:
            raise _AdminError("no face of this simulator has rate limits")
        if body.pop("reset", False):
            for limiter in limiters:
                limiter.reset()
        if body:
            current = limiters[0].limits
            fields = {
                name: body.get(name, getattr(current, name))
                for name in RateLimits.__dataclass_fields__
            }
            for limiter in limiters:
                limiter.configure(RateLimits(**fields))
        lim = limiters[0].limits
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
