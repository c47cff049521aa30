"""What every protocol face of a simulated exchange shares, whatever its venue.

* :class:`FaceContext` (core, clock, faults, loop); the :class:`Face` protocol with the faces
  known by name and :class:`FaceBase`, the configuration every face takes;
  :func:`create_exchange_app`, which puts faces and plumbing on one aiohttp application
  (:func:`real_trade.utils.tls.server_tls_context` serves it over TLS); the ``/admin/`` routes;
  the market pump.
* HTTP: JSON answers (numbers in :func:`plain_decimal` for the faces that write them so), plain
  5xx pages, :func:`raw_request`, the public-or-signed
  :class:`Route` and :func:`ws_base_url`; :class:`RateLimiter` (request weight and order counts,
  refusing with a neutral :class:`RateLimitExceeded` the face words); the fault-plan
  consultation points (:func:`request_fault`, :func:`gateway_error`, :class:`AmbiguousOutcome`
  and :func:`ambiguous_response`); the signatures faces check (:func:`hmac_hex`,
  :func:`hmac_base64`) against :meth:`FaceContext.server_time_ms` or
  :meth:`FaceContext.wall_time_ms`; :func:`fills_with_orders`, an execution list before a face
  words its rows.
* Websockets: :class:`WsConnection` and :class:`ConnectionRegistry` (server-side connections and
  their drops; :func:`json_frame` writes their frames); :class:`StreamHub` and
  :class:`HeldEvents` (connections, bus, pacer, paused user stream around a face's words;
  :func:`event_account_id`);
  :class:`DepthFaultGate`, :class:`KlineCatchUp` and :func:`last_bar_open` for market topics.
"""

from real_trade.sim.plumbing.admin import ADMIN_FAULT_METHODS, register_admin_routes
from real_trade.sim.plumbing.app import CONTEXT_KEY, create_exchange_app
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.faces import FACES, Face, FaceBase, make_face
from real_trade.sim.plumbing.fault_dispatch import (
    AmbiguousOutcome,
    abort_connection,
    ambiguous_response,
    gateway_error,
    request_fault,
)
from real_trade.sim.plumbing.http import (
    Route,
    dumps,
    is_loopback,
    json_response,
    plain_error,
    raw_request,
    ws_base_url,
)
from real_trade.sim.plumbing.market_push import DepthFaultGate, KlineCatchUp, last_bar_open
from real_trade.sim.plumbing.numbers import plain_decimal
from real_trade.sim.plumbing.pump import pump_ctx
from real_trade.sim.plumbing.queries import FILLS_LIMIT, fills_with_orders
from real_trade.sim.plumbing.ratelimit import (
    OrderCounts,
    RateLimiter,
    RateLimitExceeded,
    RateLimits,
)
from real_trade.sim.plumbing.signing import hmac_base64, hmac_hex
from real_trade.sim.plumbing.ws_conn import (
    ConnectionRegistry,
    WsConnection,
    WsSettings,
    json_frame,
)
from real_trade.sim.plumbing.ws_hub import (
    ACCOUNT_TOPICS,
    MARKET_TOPICS,
    HeldEvents,
    StreamHub,
    event_account_id,
)

__all__ = [
    "ACCOUNT_TOPICS",
    "ADMIN_FAULT_METHODS",
    "CONTEXT_KEY",
    "FACES",
    "FILLS_LIMIT",
    "MARKET_TOPICS",
    "AmbiguousOutcome",
    "ConnectionRegistry",
    "DepthFaultGate",
    "Face",
    "FaceBase",
    "FaceContext",
    "HeldEvents",
    "KlineCatchUp",
    "OrderCounts",
    "RateLimitExceeded",
    "RateLimiter",
    "RateLimits",
    "Route",
    "StreamHub",
    "WsConnection",
    "WsSettings",
    "abort_connection",
    "ambiguous_response",
    "create_exchange_app",
    "dumps",
    "event_account_id",
    "fills_with_orders",
    "gateway_error",
    "hmac_base64",
    "hmac_hex",
    "is_loopback",
    "json_frame",
    "json_response",
    "last_bar_open",
    "make_face",
    "plain_decimal",
    "plain_error",
    "pump_ctx",
    "raw_request",
    "register_admin_routes",
    "request_fault",
    "ws_base_url",
]
