"""The control API's guards: where it may listen, who may call it, from which page, how often.

- :func:`check_bind`: loopback unless TLS or ``allow_remote`` (ConfigError otherwise).
- :class:`FailedLogins`: after ``limit`` failed logins in a minute from one address, every
  request from it is refused (429) until the minute has passed.
- :func:`security_middleware`: CORS closed by default (a request whose ``Origin`` is neither
  the API's own nor listed in ``[api] cors_origins`` is refused, and no ``*`` is ever sent);
  ``/api/*`` (except the OpenAPI document) needs ``Authorization: Bearer <token>``; acting needs
  the ``trade`` scope; bodies must be JSON and small (the server's ``client_max_size``).
"""

from __future__ import annotations

import ipaddress
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from real_trade.api.tokens import TokenAuthority, TokenRecord
from real_trade.errors import ConfigError

__all__ = [
    "OPEN_PATHS",
    "TOKEN_KEY",
    "FailedLogins",
    "check_bind",
    "is_loopback",
    "security_middleware",
]

OPEN_PATHS = frozenset({"/api/openapi.json", "/api/health"})
"""API paths served without a token (nothing in them is about the account)."""
TOKEN_KEY = web.RequestKey("token", TokenRecord)
"""Where the middleware leaves the caller's :class:`TokenRecord` on the request."""
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``localhost`` counts)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, tls: bool, allow_remote: bool) -> None:
    """Refuse a non-loopback ``host`` without TLS or an explicit ``allow_remote``."""
    if is_loopback(host) or tls or allow_remote:
        return
    raise ConfigError(
        f"api.host: refusing to listen on {host} without TLS: give [api] tls_cert and tls_key, "
        "or set allow_remote = true if a tunnel or proxy protects it (an SSH tunnel to "
        "127.0.0.1 is the simple way, see the README)"
    )


class FailedLogins:
    """Failed logins per client address over a sliding minute."""

    def __init__(
        self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ):
        """Allow ``limit`` failures per ``window_s`` seconds per address."""
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)

    def _recent(self, who: str) -> deque[float]:
        times, now = self._failures[who], self.clock()
        while times and now - times[0] > self.window_s:
            times.popleft()
        return times

    def blocked(self, who: str) -> bool:
        """Whether ``who`` has used up its failures."""
        return len(self._recent(who)) >= self.limit

    def failed(self, who: str) -> None:
        """Count one failure of ``who``."""
        self._recent(who).append(self.clock())


def _refuse(status: int, reason: str, **headers: str) -> web.Response:
    return web.json_response({"error": reason, "status": status}, status=status, headers=headers)


def _own_origins(request: web.Request) -> set[str]:
    host = request.host
    return {f"http://{host}", f"https://{host}"}


def security_middleware(authority: TokenAuthority, origins: list[str], failed: FailedLogins) -> Any:
    """The aiohttp middleware enforcing the module docstring's rules."""
    allowed = set(origins)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        cross = origin is not None and origin not in _own_origins(request)
        if cross and origin not in allowed:
            return _refuse(403, "cross-origin request refused (not in [api] cors_origins)")
        if request.method == "OPTIONS":
            if not cross:
                return _refuse(404, "nothing here")
            return web.Response(
                status=204,
                headers={
                    "Access-Control-Allow-Origin": str(origin),
                    "Access-Control-Allow-Methods": "GET, POST",
                    "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key",
                    "Access-Control-Max-Age": "600",
                    "Vary": "Origin",
                },
            )
        response = await _authorised(request, handler, authority, failed)
        if cross:
            response.headers["Access-Control-Allow-Origin"] = str(origin)
            response.headers["Vary"] = "Origin"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    return guard


async def _authorised(
    request: web.Request, handler: Handler, authority: TokenAuthority, failed: FailedLogins
) -> web.StreamResponse:
    path = request.path
    if not path.startswith("/api/") or path in OPEN_PATHS:
        return await handler(request)
    who = request.remote or "?"
    if failed.blocked(who):
        return _refuse(429, "too many failed logins; wait a minute", **{"Retry-After": "60"})
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        failed.failed(who)
        return _refuse(401, "a bearer token is required", **{"WWW-Authenticate": "Bearer"})
    record = authority.verify(token.strip())
    if record is None:
        failed.failed(who)
        return _refuse(
            401, "invalid or expired token", **{"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    if request.method not in ("GET", "HEAD") and record.scope != "trade":
        return _refuse(403, "this token is read-only: acting needs a trade token")
    if request.method == "POST" and request.content_type != "application/json":
        return _refuse(415, "send the body as application/json")
    request[TOKEN_KEY] = record
    return await handler(request)
