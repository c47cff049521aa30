"""The Binance spot face: REST ``/api/v3``, market streams and the WebSocket API, as one face.

:class:`BinanceFace` is what a :class:`~real_trade.sim.server.SimExchange` serves for the name
``"binance"``: it registers the REST routes (:func:`~real_trade.sim.binance.app.rest_handler`),
the market-stream face and the WebSocket API face on the exchange's application, all sharing one
rate limiter with Binance's limits and words.
"""

from __future__ import annotations

from aiohttp import web

from real_trade.sim.binance.app import LIMITER_KEY, rest_handler
from real_trade.sim.binance.ratelimit import binance_limiter
from real_trade.sim.binance.rest_private import PRIVATE_ROUTES
from real_trade.sim.binance.rest_public import PUBLIC_ROUTES
from real_trade.sim.binance.ws_api import register_ws_api_routes
from real_trade.sim.binance.ws_market import register_ws_market_routes
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.faces import FaceBase

__all__ = ["BinanceFace"]


class BinanceFace(FaceBase):
    """Binance spot's protocol over the shared core (see the module docstring).

    ``limiter`` (else one with ``rate_limits``, Binance's by default) counts request weight and
    orders across REST and the WebSocket API; ``ws_settings`` sets the websocket policy.
    """

    name = "binance"

    default_limiter = staticmethod(binance_limiter)

    def register(self, app: web.Application, ctx: FaceContext) -> None:
        """Add Binance's REST routes and websocket faces to ``app`` (a route another face already
        serves, such as the USD-M face's ``/fapi/v1/exchangeInfo``, is left to it)."""
        limiter = self.limiter
        assert limiter is not None
        app[LIMITER_KEY] = limiter
        served = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource}
        for route in (*PUBLIC_ROUTES, *PRIVATE_ROUTES):
            if (route.method, route.path) in served:  # e.g. /fapi/v1/exchangeInfo of the USD-M
                continue  # face, registered first, wins over spot's empty placeholder
            app.router.add_route(route.method, route.path, rest_handler(route, ctx, limiter))
        register_ws_market_routes(app, ctx, self.ws_settings)
        register_ws_api_routes(app, ctx)
