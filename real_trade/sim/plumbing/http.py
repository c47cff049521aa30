"""HTTP helpers every face shares: compact JSON answers, plain 5xx pages, the loopback check,
the websocket base of an HTTP base URL (:func:`ws_base_url`, for the ccxt URLs of a face).

Also the REST plumbing of faces that read requests alike: :func:`raw_request` (the raw query
string and body a signature covers) and :class:`Route`, the endpoint of a face whose routes are
public or signed (Bybit, OKX; Binance's routes carry its security levels, ``binance.rest_public``).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiohttp import web

__all__ = [
    "JSON_TYPE",
    "Route",
    "dumps",
    "is_loopback",
    "json_response",
    "plain_error",
    "raw_request",
    "ws_base_url",
]

JSON_TYPE = "application/json"
"""The content type of every JSON answer."""


def _dumps_std(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


dumps: Callable[[Any], bytes]
"""Serialise to compact JSON bytes (orjson when installed: several times faster)."""
try:
    from orjson import dumps
except ImportError:  # pragma: no cover - depends on the environment
    dumps = _dumps_std


def json_response(
    obj: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """Answer ``obj`` as compact JSON with ``status`` and ``headers``."""
    out = {"Content-Type": JSON_TYPE} if headers is None else {**headers, "Content-Type": JSON_TYPE}
    return web.Response(body=dumps(obj), status=status, headers=out)


_PLAIN_TEXTS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def plain_error(status: int) -> web.Response:
    """A gateway's plain HTML error page with ``status`` (how a venue's 5xx looks on the wire)."""
    return web.Response(
        text=_PLAIN_TEXTS.get(status, "Error"), status=status, content_type="text/html"
    )


def ws_base_url(http_base: str) -> str:
    """The websocket base of ``http_base``: ``http://h:p`` -> ``ws://h:p``, ``https://`` ->
    ``wss://`` (anything else unchanged)."""
    return "ws" + http_base[len("http") :] if http_base.startswith("http") else http_base


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


CallT = TypeVar("CallT")


@dataclass(frozen=True)
class Route(Generic[CallT]):
    """One REST endpoint: method, path, its handler (given the face's call object) and whether
    it is signed; a face names ``Route[ItsCall]``."""

    method: str
    path: str
    handler: Callable[[CallT], Any]
    private: bool = False


async def raw_request(request: web.Request) -> tuple[str, str]:
    """``request``'s raw query string (after ``?``, undecoded) and its body text ("" without)."""
    query_raw = request.raw_path.partition("?")[2]
    body_raw = (await request.text()) if request.can_read_body else ""
    return query_raw, body_raw
