"""The dashboard's files: ``index.html`` (with its content security policy) and the assets
under ``/static/``, read from the package (``real_trade/api/static``): plain HTML, CSS and
JavaScript, no build step, nothing loaded from elsewhere.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

__all__ = ["CONTENT_SECURITY_POLICY", "add_dashboard_routes"]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'"
)
"""The page's policy: its own files only."""


async def _index(request: web.Request) -> web.StreamResponse:
    return web.Response(
        body=_static("index.html"),
        content_type="text/html",
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Cache-Control": "no-store",
        },
    )


_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}


async def _asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    suffix = name[name.rfind(".") :] if "." in name else ""
    if "/" in name or name.startswith(".") or suffix not in _TYPES:
        raise web.HTTPNotFound(text="no such file") from None
    try:
        body = _static(name)
    except FileNotFoundError:
        raise web.HTTPNotFound(text="no such file") from None
    return web.Response(body=body, content_type=_TYPES[suffix])


def _static(name: str) -> bytes:
    return resources.files("real_trade.api").joinpath("static", name).read_bytes()


def add_dashboard_routes(app: web.Application) -> None:
    """Serve the dashboard at ``/`` and its assets at ``/static/{name}``."""
    app.router.add_get("/", _index)
    app.router.add_get("/static/{name}", _asset)
