"""The simulator's Binance spot face: REST ``/api/v3``, market streams and the WebSocket API.

:class:`BinanceFace` is the face a :class:`~real_trade.sim.server.SimExchange` serves as
``"binance"``; :func:`create_app` builds an application with it alone (plus the shared
``/admin/`` endpoint); :class:`BinanceApiError` is a refusal in Binance's words. The helper
modules ``auth`` (signatures, timestamps), ``format`` (Binance's JSON shapes), ``vocab``
(Binance's words for the core's enums), ``errors`` (codes and texts, including the core's
neutral reasons) and ``ratelimit`` (weights) are shared by the REST and WebSocket parts. The
plumbing every face shares (context, websockets, admin, faults, rate-limit accounting) is in
:mod:`real_trade.sim.plumbing`.
"""

from real_trade.sim.binance.app import create_app
from real_trade.sim.binance.errors import BinanceApiError
from real_trade.sim.binance.face import BinanceFace

__all__ = ["BinanceApiError", "BinanceFace", "create_app"]
