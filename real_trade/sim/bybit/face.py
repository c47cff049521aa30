"""The Bybit v5 face: REST ``/v5/...`` and the v5 websockets over the shared core.

:class:`BybitFace` is what a :class:`~real_trade.sim.server.SimExchange` serves for the name
``"bybit"``. Its ``market_kinds`` are spot and linear, as OKX's: ``category=spot`` is served
by the exchange's main core and ``category=linear`` by its futures core of linear perpetuals
(:meth:`BybitFace.register_markets`), so ``BTCUSDT`` trades in both under one unified key.
Without a linear context (``register``) linear symbols of the main core (``perpetuals=``) are
its ``category=linear``. Testnet and demo are the same face: :func:`ccxt_urls_for` points
ccxt's ``api``, ``test`` and ``demotrading`` URL sets all at the simulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from real_trade.sim.bybit.rest import bybit_limiter, rest_handler
from real_trade.sim.bybit.rest_private import PRIVATE_ROUTES
from real_trade.sim.bybit.rest_public import PUBLIC_ROUTES
from real_trade.sim.bybit.ws import BybitStreams
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.faces import FaceBase
from real_trade.sim.plumbing.http import ws_base_url
from real_trade.sim.plumbing.ws_conn import WsSettings

__all__ = ["BybitFace", "ccxt_urls_for"]

_REST_KEYS = ("spot", "futures", "v2", "public", "private")


def ccxt_urls_for(http_base: str) -> dict[str, Any]:
    """The ccxt ``urls`` override pointing every Bybit REST and websocket URL at ``http_base``
    (mainnet, testnet and demo sets alike)."""
    ws_base = ws_base_url(http_base)
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


class BybitFace(FaceBase):
    """Bybit v5's protocol over the shared core (see the module docstring).

    ``limiter`` (else one with ``rate_limits``, Bybit's by default) counts requests per IP and
    orders per account; ``ws_settings`` sets the websocket policy.
    """

    name = "bybit"
    market_kinds = ("spot", "linear")

    default_limiter = staticmethod(bybit_limiter)
    streams: BybitStreams | None = None
    """The websockets, once registered."""

    def register(self, app: web.Application, ctx: FaceContext) -> None:
        """Serve every category over ``ctx`` (an application without a linear context)."""
        self.register_markets(app, {"spot": ctx})

    def register_markets(self, app: web.Application, contexts: Mapping[str, FaceContext]) -> None:
        """Add Bybit's REST routes and websockets to ``app``: ``category=spot`` over
        ``contexts["spot"]``, ``category=linear`` over ``contexts["linear"]`` when present."""
        limiter = self.limiter
        assert limiter is not None
        for route in (*PUBLIC_ROUTES, *PRIVATE_ROUTES):
            app.router.add_route(route.method, route.path, rest_handler(route, contexts, limiter))
        ws = self.ws_settings or WsSettings()
        self.streams = BybitStreams(contexts["spot"], ws, linear=contexts.get("linear"))
        self.streams.register(app)
