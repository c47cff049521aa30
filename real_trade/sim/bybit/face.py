"""The Bybit v5 face: REST ``/v5/...`` and the v5 websockets over the shared core.

:class:`BybitFace` is what a :class:`~real_trade.sim.server.SimExchange` serves for the name
``"bybit"``. Categories map onto the one core by instrument: a spot symbol of the core is
Bybit's ``category=spot`` symbol, a linear perpetual one its ``category=linear`` symbol (so one
simulator cannot list ``BTCUSDT`` as both; serve the perpetual under another id, or run two
simulators). Testnet and demo are the same face: :func:`ccxt_urls_for` points ccxt's ``api``,
``test`` and ``demotrading`` URL sets all at the simulator.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from real_trade.sim.bybit.rest import bybit_limiter, rest_handler
from real_trade.sim.bybit.rest_private import PRIVATE_ROUTES
from real_trade.sim.bybit.rest_public import PUBLIC_ROUTES
from real_trade.sim.bybit.ws import BybitStreams
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.ratelimit import RateLimiter, RateLimits
from real_trade.sim.plumbing.ws_conn import WsSettings

__all__ = ["BybitFace", "ccxt_urls_for"]

_REST_KEYS = ("spot", "futures", "v2", "public", "private")


def ccxt_urls_for(http_base: str) -> dict[str, Any]:
    """The ccxt ``urls`` override pointing every Bybit REST and websocket URL at ``http_base``
    (mainnet, testnet and demo sets alike)."""
    ws_base = "ws" + http_base[len("http") :] if http_base.startswith("http") else http_base
    private = ws_base + "/v5/private"
    ws = {
        "public": {c: f"{ws_base}/v5/public/{c}" for c in ("spot", "linear", "inverse", "option")},
        "private": {
            "spot": {"unified": private, "nonUnified": private},
            "contract": private,
            "usdc": private,
            "trade": ws_base + "/v5/trade",
        },
    }
    api: dict[str, Any] = {key: http_base for key in _REST_KEYS}
    api["ws"] = ws
    return {
        "api": api,
        "test": {**api},
        "demotrading": {**api},
        "www": http_base,
        "doc": http_base,
    }


class BybitFace:
    """Bybit v5's protocol over the shared core (see the module docstring).

    ``limiter`` (else one with ``rate_limits``, Bybit's by default) counts requests per IP and
    orders per account; ``ws_settings`` sets the websocket policy.
    """

    name = "bybit"

    def __init__(
        self,
        *,
        rate_limits: RateLimits | None = None,
        limiter: RateLimiter | None = None,
        ws_settings: WsSettings | None = None,
    ) -> None:
        """Configure the face (nothing is served until :meth:`register`)."""
        self.limiter: RateLimiter | None = (
            limiter if limiter is not None else bybit_limiter(rate_limits)
        )
        self.ws_settings = ws_settings
        self.streams: BybitStreams | None = None

    def register(self, app: web.Application, ctx: FaceContext) -> None:
        """Add Bybit's REST routes and websockets to ``app``."""
        limiter = self.limiter
        assert limiter is not None
        for route in (*PUBLIC_ROUTES, *PRIVATE_ROUTES):
            app.router.add_route(route.method, route.path, rest_handler(route, ctx, limiter))
        self.streams = BybitStreams(ctx, self.ws_settings or WsSettings())
        self.streams.register(app)
