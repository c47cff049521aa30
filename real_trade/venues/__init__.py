"""Venues as data, and the one client that talks to them.

:mod:`real_trade.venues.spec` holds one capability table per exchange (and derives one for any
ccxt id); brokers, feeds and stores look their venue up there instead of carrying per-exchange
code. :mod:`real_trade.venues.urls` decides the endpoints (live, testnet, demo, or the simulator
through ``sim_url`` / ``RT_SIM_URL``), :mod:`real_trade.venues.proxy` detects the system proxy,
and :class:`VenueClient` (:mod:`real_trade.venues.client`) is the one ccxt.pro connection of a
store: sync face, async inside, reconnecting streams (:class:`StreamHandle`). Every websocket
of real_trade (those streams and the raw venue websockets of :mod:`real_trade.feeds`) runs on an
:class:`IoLoop` and reconnects with :class:`ReconnectBackoff`.
"""

from real_trade.venues.client import StreamHandle, StreamStateChanged, VenueClient
from real_trade.venues.ioloop import IoLoop
from real_trade.venues.proxy import detect_system_proxy
from real_trade.venues.reconnect import ReconnectBackoff
from real_trade.venues.spec import (
    BINANCE,
    BYBIT,
    KNOWN_VENUES,
    OKX,
    ORDER_TYPES,
    VenueSpec,
    get_venue,
)
from real_trade.venues.urls import SIM_URL_ENV, VenueEndpoints, effective_sim_url, resolve_endpoints

__all__ = [
    "BINANCE",
    "BYBIT",
    "KNOWN_VENUES",
    "OKX",
    "ORDER_TYPES",
    "SIM_URL_ENV",
    "IoLoop",
    "ReconnectBackoff",
    "StreamHandle",
    "StreamStateChanged",
    "VenueClient",
    "VenueEndpoints",
    "VenueSpec",
    "detect_system_proxy",
    "effective_sim_url",
    "get_venue",
    "resolve_endpoints",
]
