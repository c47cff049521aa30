"""The OKX v5 face: REST ``/api/v5/...`` and the v5 websockets over the shared cores.

:class:`OKXFace` is what a :class:`~real_trade.sim.server.SimExchange` serves for the name
``"okx"``. Its ``market_kinds`` are spot and linear: the exchange builds its futures core (as
for Binance USDⓈ-M) and hands the face both contexts (:meth:`OKXFace.register_markets`), so
``BTC-USDT`` (SPOT, the main core) and ``BTC-USDT-SWAP`` (the linear core) trade side by side
under one key. Every key's passphrase is the face's (``passphrase``, default
:data:`~real_trade.sim.okx.auth.DEFAULT_PASSPHRASE`). Demo trading is the same face: ccxt's
sandbox mode adds the ``x-simulated-trading: 1`` header (counted in :attr:`OKXFace.stats`) and
moves websockets to the ``test`` URLs, which :func:`ccxt_urls_for` also points here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from real_trade.sim.okx.auth import DEFAULT_PASSPHRASE
from real_trade.sim.okx.bills import FundingBills
from real_trade.sim.okx.markets import Markets
from real_trade.sim.okx.rest import FaceStats, okx_limiter, rest_handler
from real_trade.sim.okx.rest_private import PRIVATE_ROUTES
from real_trade.sim.okx.rest_public import PUBLIC_ROUTES
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.faces import FaceBase
from real_trade.sim.plumbing.http import ws_base_url
from real_trade.sim.plumbing.ratelimit import RateLimiter, RateLimits
from real_trade.sim.plumbing.ws_conn import WsSettings

__all__ = ["OKXFace", "ccxt_urls_for"]


def ccxt_urls_for(http_base: str) -> dict[str, Any]:
    """The ccxt ``urls`` override pointing every OKX REST and websocket URL (live and sandbox)
    at ``http_base``."""
    ws_base = ws_base_url(http_base)
    api = {"rest": http_base, "ws": ws_base + "/ws/v5"}
    return {"api": api, "test": dict(api), "www": http_base, "doc": http_base}


class OKXFace(FaceBase):
    """OKX v5's protocol over the spot and linear cores (see the module docstring).

    ``limiter`` (else one with ``rate_limits``, OKX's by default) counts requests per IP and
    orders per account; ``ws_settings`` sets the websocket policy.
    """

    name = "okx"
    market_kinds = ("spot", "linear")
    default_limiter = staticmethod(okx_limiter)

    def __init__(
        self,
        *,
        rate_limits: RateLimits | None = None,
        limiter: RateLimiter | None = None,
        ws_settings: WsSettings | None = None,
        passphrase: str = DEFAULT_PASSPHRASE,
    ) -> None:
        """Configure the face (nothing is served until :meth:`register_markets`)."""
        super().__init__(rate_limits=rate_limits, limiter=limiter, ws_settings=ws_settings)
        self.passphrase = passphrase
        self.stats = FaceStats()
        self.markets: Markets | None = None
        self.streams: Any = None

    def register(self, app: web.Application, ctx: FaceContext) -> None:
        """Serve SPOT only, over ``ctx`` (an application without a linear context)."""
        self.register_markets(app, {"spot": ctx})

    def register_markets(self, app: web.Application, contexts: Mapping[str, FaceContext]) -> None:
        """Add OKX's REST routes and websockets to ``app``: SPOT over ``contexts["spot"]``, SWAP
        over ``contexts["linear"]`` when present."""
        limiter = self.limiter
        assert limiter is not None
        self.markets = Markets(contexts["spot"], contexts.get("linear"))
        self.markets.bills = FundingBills(contexts.get("linear"))
        for route in (*PUBLIC_ROUTES, *PRIVATE_ROUTES):
            handler = rest_handler(route, self.markets, limiter, self.passphrase, self.stats)
            app.router.add_route(route.method, route.path, handler)
        from real_trade.sim.okx.ws import OKXStreams

        self.streams = OKXStreams(self.markets, self.ws_settings or WsSettings(), self.passphrase)
        self.streams.register(app)
