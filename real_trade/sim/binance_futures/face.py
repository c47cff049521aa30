"""The Binance USDⓈ-M face: REST ``/fapi`` over a core of linear perpetuals.

:class:`BinanceFuturesFace` serves the name ``"binance_futures"``. Its ``market_kind`` is
``"linear"``: a :class:`~real_trade.sim.server.SimExchange` serving it builds a second core whose
symbols are linear perpetuals (the same market source and clock as the spot core, so
``BTCUSDT`` exists as spot and as a perpetual side by side, each with its own book, accounts
and bus) and hands this face that core's context. The routes go through spot's dispatcher
(signing, faults, weights) with USDⓈ-M's error table and limits.
"""

from __future__ import annotations

from functools import cached_property

from aiohttp import web

from real_trade.sim.binance.app import rest_handler
from real_trade.sim.binance.ws_market import core_bus, register_usdm_market_routes, settings_of
from real_trade.sim.binance_futures.errors import from_sim_error
from real_trade.sim.binance_futures.ratelimit import fapi_limiter, fapi_weight
from real_trade.sim.binance_futures.rest import ListenKeyBook, fapi_routes
from real_trade.sim.binance_futures.ws_user import UserDataFace
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.faces import FaceBase

__all__ = ["WS_BASE", "BinanceFuturesFace"]

WS_BASE = "/fapi-ws"
"""Where the futures websockets live: ``/fapi-ws/{public,market,private}/ws`` (ccxt.pro rewrites
``urls['api']['ws']['linear']`` = ``<host>/fapi-ws/ws`` into those paths, as for fstream)."""


class BinanceFuturesFace(FaceBase):
    """Binance USDⓈ-M's protocol over a core of linear perpetuals (see the module docstring).

    ``limiter`` (else one with ``rate_limits``, USDⓈ-M's by default) counts request weight and
    orders; ``ws_settings`` sets the websocket policy.
    """

    name = "binance_futures"
    market_kind = "linear"

    default_limiter = staticmethod(fapi_limiter)

    @cached_property
    def listen_keys(self) -> ListenKeyBook:
        """The face's listen keys (one book per face)."""
        return ListenKeyBook()

    def register(self, app: web.Application, ctx: FaceContext) -> None:
        """Add the ``/fapi`` routes (and the futures websockets) to ``app``, over ``ctx``."""
        limiter = self.limiter
        assert limiter is not None
        for route in fapi_routes(self.listen_keys):
            handler = rest_handler(route, ctx, limiter, translate=from_sim_error, weigh=fapi_weight)
            app.router.add_route(route.method, route.path, handler)
        settings = self.ws_settings or settings_of(app)
        user = UserDataFace(ctx, core_bus(ctx), self.listen_keys, settings)
        user.register(app, WS_BASE)
        register_usdm_market_routes(app, ctx, WS_BASE, settings, listen_keys=user)
