"""The control API's aiohttp application: routes, their models, and the OpenAPI document.

:func:`build_app` wires a :class:`~real_trade.api.reads.JournalView`, an
:class:`~real_trade.api.actions.ActionDesk`, the :class:`~real_trade.api.tokens.TokenAuthority`
and the guards of :mod:`real_trade.api.security` into one ``aiohttp.web.Application``. Every
route is declared once in :data:`ROUTES` with its scope and pydantic models; the OpenAPI
document (``/api/openapi.json``, :mod:`real_trade.api.openapi`) is generated from that table.
The dashboard's files are served at ``/`` (:mod:`real_trade.api.dashboard`). Journal reads
block, so handlers run them on a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from real_trade._version import __version__
from real_trade.api import models as m
from real_trade.api.actions import ActionDesk, ActionRefusedError
from real_trade.api.dashboard import add_dashboard_routes
from real_trade.api.openapi import Handler, Route, openapi_document
from real_trade.api.push import JournalFeed, sse_frame
from real_trade.api.reads import JournalView
from real_trade.api.security import TOKEN_KEY, FailedLogins, security_middleware
from real_trade.api.tokens import TokenAuthority, TokenRecord

__all__ = ["PUSH_INTERVAL_S", "ROUTES", "build_app"]

PUSH_INTERVAL_S = 0.5
"""How often the push channel looks for news in the journal."""
_VIEW: web.AppKey[JournalView] = web.AppKey("view", JournalView)
_DESK: web.AppKey[ActionDesk] = web.AppKey("desk", ActionDesk)
_STOPPING: web.AppKey[asyncio.Event] = web.AppKey("stopping", asyncio.Event)


async def _blocking(work: Callable[[], Any]) -> Any:
    return await asyncio.to_thread(work)


def _json(value: Any, status: int = 200) -> web.Response:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    return web.json_response(value, status=status, dumps=lambda v: json.dumps(v, default=str))


def _error(status: int, reason: str) -> web.Response:
    return _json(m.ErrorBody(error=reason, status=status), status)


def _int(request: web.Request, name: str, default: int) -> int:
    try:
        return int(request.query.get(name, default))
    except ValueError as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"{name} must be an integer", "status": 400}),
            content_type="application/json",
        ) from exc


def _strategy(request: web.Request) -> str | None:
    return request.query.get("strategy") or None


# -- reads ---------------------------------------------------------------------------------
async def _status(request: web.Request) -> web.StreamResponse:
    return _json(await _blocking(request.app[_VIEW].status))


async def _balances(request: web.Request) -> web.StreamResponse:
    view = request.app[_VIEW]
    return _json(await _blocking(lambda: view.balances(_strategy(request))))


async def _positions(request: web.Request) -> web.StreamResponse:
    view = request.app[_VIEW]
    return _json(await _blocking(lambda: view.positions(_strategy(request))))


async def _orders(request: web.Request) -> web.StreamResponse:
    view = request.app[_VIEW]
    open_only = request.query.get("open", "").lower() in ("1", "true", "yes")
    offset, limit = _int(request, "offset", 0), _int(request, "limit", 100)
    return _json(await _blocking(lambda: view.orders(_strategy(request), open_only, offset, limit)))


async def _fills(request: web.Request) -> web.StreamResponse:
    view = request.app[_VIEW]
    offset, limit = _int(request, "offset", 0), _int(request, "limit", 100)
    return _json(await _blocking(lambda: view.fills(_strategy(request), offset, limit)))


async def _trades(request: web.Request) -> web.StreamResponse:
    view = request.app[_VIEW]
    offset, limit = _int(request, "offset", 0), _int(request, "limit", 100)
    return _json(await _blocking(lambda: view.trades(_strategy(request), offset, limit)))


async def _equity(request: web.Request) -> web.StreamResponse:
    view = request.app[_VIEW]
    points = _int(request, "points", 1000)
    return _json(await _blocking(lambda: view.equity(_strategy(request), points)))


async def _metrics(request: web.Request) -> web.StreamResponse:
    view = request.app[_VIEW]
    return _json(await _blocking(lambda: view.metrics(_strategy(request))))


async def _reports(request: web.Request) -> web.StreamResponse:
    return _json(m.ReportList(reports=["html", "json"]))


async def _report(request: web.Request) -> web.StreamResponse:
    from real_trade.monitor.report import render_html, report_to_dict

    view, kind = request.app[_VIEW], request.match_info["kind"]
    if kind not in ("html", "json"):
        return _error(404, "reports are html or json")
    try:
        data = await _blocking(lambda: view.report(_strategy(request)))
    except ValueError as exc:
        return _error(404, f"nothing to report yet: {exc}")
    if kind == "json":
        return _json(report_to_dict(data))
    return web.Response(text=render_html(data), content_type="text/html")


async def _logs(request: web.Request) -> web.StreamResponse:
    view = request.app[_VIEW]
    lines = _int(request, "lines", 200)
    return _json(await _blocking(lambda: view.log_tail(lines)))


async def _config(request: web.Request) -> web.StreamResponse:
    return _json(request.app[_VIEW].config_masked())


async def _health(request: web.Request) -> web.StreamResponse:
    return _json({"ok": True, "version": __version__})


async def _openapi(request: web.Request) -> web.StreamResponse:
    return _json(openapi_document(ROUTES))


async def _events(request: web.Request) -> web.StreamResponse:
    """The push channel: server-sent events until the client leaves or the server stops."""
    view, stopping = request.app[_VIEW], request.app[_STOPPING]
    since = request.query.get("since_ms")
    feed = JournalFeed(view, int(since) if since and since.isdigit() else None)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    ident = 0
    try:
        await response.write(b": connected\n\n")
        while not stopping.is_set():
            for topic, data in await _blocking(feed.poll):
                ident += 1
                await response.write(sse_frame(topic, data, ident))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stopping.wait(), PUSH_INTERVAL_S)
    except ConnectionResetError:  # the client went away (aiohttp's reset error is one)
        pass
    return response


# -- actions -------------------------------------------------------------------------------
def _action(name: str, body_model: type[m.ActionBody]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            raw = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "the body is not valid JSON")
        try:
            body = body_model.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
            )
            if any(e["loc"] == ("mode",) for e in exc.errors()):
                problems += (
                    ' (say which account you mean to act on: "paper", "testnet" or "live"; '
                    "GET /api/status shows it; a mismatch is refused)"
                )
            return _error(422, problems)
        token: TokenRecord = request[TOKEN_KEY]
        who = f"token {token.id}" + (f" ({token.label})" if token.label else "")
        who += f" from {request.remote or '?'}"
        desk = request.app[_DESK]
        key = request.headers.get("Idempotency-Key")
        try:
            result = await _blocking(lambda: desk.perform(name, body, who, key))
        except ActionRefusedError as exc:
            return _error(exc.status, exc.reason)
        return _json(result, 200 if result.replayed else 202)

    handler.__name__ = f"action_{name}"
    return handler


ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/health", "Liveness (no token needed)", "none", _health),
    Route("GET", "/api/openapi.json", "This document (no token needed)", "none", _openapi),
    Route(
        "GET", "/api/status", "Mode, venue, trading state, runners", "read", _status, None, m.Status
    ),
    Route(
        "GET",
        "/api/balances",
        "Balances of the latest snapshots",
        "read",
        _balances,
        None,
        m.Balance,
        True,
        ("strategy",),
    ),
    Route(
        "GET",
        "/api/positions",
        "Open positions with unrealized P&L",
        "read",
        _positions,
        None,
        m.Position,
        True,
        ("strategy",),
    ),
    Route(
        "GET",
        "/api/orders",
        "Orders, newest first (open=1: open only)",
        "read",
        _orders,
        None,
        m.Page,
        False,
        ("strategy", "open", "offset", "limit"),
    ),
    Route(
        "GET",
        "/api/fills",
        "Fills, newest first",
        "read",
        _fills,
        None,
        m.Page,
        False,
        ("strategy", "offset", "limit"),
    ),
    Route(
        "GET",
        "/api/trades",
        "Round trips, newest first",
        "read",
        _trades,
        None,
        m.Page,
        False,
        ("strategy", "offset", "limit"),
    ),
    Route(
        "GET",
        "/api/equity",
        "Equity curve with drawdown",
        "read",
        _equity,
        None,
        m.EquityPoint,
        True,
        ("strategy", "points"),
    ),
    Route(
        "GET",
        "/api/metrics",
        "The report's figures",
        "read",
        _metrics,
        None,
        m.Metrics,
        False,
        ("strategy",),
    ),
    Route("GET", "/api/reports", "The report formats", "read", _reports, None, m.ReportList),
    Route(
        "GET",
        "/api/reports/{kind}",
        "The whole-journal report (html or json)",
        "read",
        _report,
        None,
        None,
        False,
        ("strategy",),
    ),
    Route(
        "GET",
        "/api/logs",
        "The log file's tail, secrets masked",
        "read",
        _logs,
        None,
        m.LogTail,
        False,
        ("lines",),
    ),
    Route("GET", "/api/config", "The config, secrets masked", "read", _config),
    Route(
        "GET",
        "/api/events",
        "Server-sent events: fill, order, risk, feed, action, status",
        "read",
        _events,
        None,
        None,
        False,
        ("since_ms",),
    ),
    Route(
        "POST",
        "/api/actions/pause",
        "Pause new entries (REDUCING)",
        "trade",
        _action("pause", m.ActionBody),
        m.ActionBody,
        m.ActionResult,
    ),
    Route(
        "POST",
        "/api/actions/resume",
        "Resume trading (ACTIVE)",
        "trade",
        _action("resume", m.ActionBody),
        m.ActionBody,
        m.ActionResult,
    ),
    Route(
        "POST",
        "/api/actions/cancel",
        "Cancel one open order",
        "trade",
        _action("cancel", m.CancelBody),
        m.CancelBody,
        m.ActionResult,
    ),
    Route(
        "POST",
        "/api/actions/cancel_all",
        "Cancel every open order",
        "trade",
        _action("cancel_all", m.ActionBody),
        m.ActionBody,
        m.ActionResult,
    ),
    Route(
        "POST",
        "/api/actions/kill",
        "Kill switch: cancel all, flatten, HALT",
        "trade",
        _action("kill", m.KillBody),
        m.KillBody,
        m.ActionResult,
    ),
    Route(
        "POST",
        "/api/actions/reload_risk",
        "Reload the risk limits from the config file",
        "trade",
        _action("reload_risk", m.ActionBody),
        m.ActionBody,
        m.ActionResult,
    ),
)


def build_app(
    view: JournalView,
    desk: ActionDesk,
    authority: TokenAuthority,
    *,
    cors_origins: list[str] | None = None,
    max_body_bytes: int = 16 * 1024,
    failed_logins_per_minute: int = 10,
) -> web.Application:
    """The control API and dashboard as an aiohttp application (module docstring)."""
    failed = FailedLogins(failed_logins_per_minute)
    app = web.Application(
        middlewares=[security_middleware(authority, list(cors_origins or []), failed)],
        client_max_size=max_body_bytes,
    )
    app[_VIEW], app[_DESK] = view, desk
    app[_STOPPING] = asyncio.Event()

    async def stop_streams(app: web.Application) -> None:
        app[_STOPPING].set()

    app.on_shutdown.append(stop_streams)
    for route in ROUTES:
        app.router.add_route(route.method, route.path, route.handler)
    add_dashboard_routes(app)
    return app
