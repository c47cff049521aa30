"""HTTP helpers every face shares: compact JSON answers and the loopback check."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

__all__ = ["JSON_TYPE", "dumps", "is_loopback", "json_response"]

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
