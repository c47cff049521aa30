"""The simulator's Binance spot faces: REST ``/api/v3``, market streams and the WebSocket API.

:func:`create_app` builds the aiohttp application that serves every face of one simulated
exchange (plus the loopback-only ``/admin/`` endpoint); :class:`BinanceFaceContext` is what
the faces share; :class:`BinanceApiError` is a refusal in Binance's words. The helper modules
``auth`` (signatures, timestamps), ``format`` (Binance's JSON shapes), ``errors`` and
``ratelimit`` are shared by the REST and WebSocket faces.
"""

from real_trade.sim.binance.app import create_app
from real_trade.sim.binance.context import BinanceFaceContext
from real_trade.sim.binance.errors import BinanceApiError

__all__ = ["BinanceApiError", "BinanceFaceContext", "create_app"]
