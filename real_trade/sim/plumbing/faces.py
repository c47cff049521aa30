"""Protocol faces: what a face is, and the faces a :class:`~real_trade.sim.server.SimExchange`
can serve by name.

A face is only a venue's protocol over the shared core: its paths, fields, signing and codes.
It registers its routes on the exchange's one aiohttp application (:meth:`Face.register`) and
owns its :class:`~real_trade.sim.plumbing.ratelimit.RateLimiter` (its venue's limits and
words). Connections, admin, faults and the market pump are shared plumbing
(:mod:`real_trade.sim.plumbing`). :class:`FaceBase` is the configuration every face takes (a
limiter, else one of its venue's limits, and a websocket policy).
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from aiohttp import web

from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.ratelimit import RateLimiter, RateLimits
from real_trade.sim.plumbing.ws_conn import WsSettings

__all__ = ["FACES", "Face", "FaceBase", "make_face"]

FACES: dict[str, str] = {
    "binance": "real_trade.sim.binance.face:BinanceFace",
    "binance_futures": "real_trade.sim.binance_futures.face:BinanceFuturesFace",
    "bybit": "real_trade.sim.bybit.face:BybitFace",
    "okx": "real_trade.sim.okx.face:OKXFace",
}
"""The faces served by name: ``name -> "module:class"`` (imported on first use)."""


class Face(Protocol):
    """One venue's protocol served by a simulated exchange."""

    name: str
    limiter: RateLimiter | None

    def register(self, app: web.Application, ctx: FaceContext) -> None:
        """Add the face's routes and lifecycle hooks to ``app``, serving the exchange ``ctx``."""
        ...


class FaceBase:
    """What every face is configured with: its rate limiter and its websocket policy.

    ``limiter`` (else :meth:`default_limiter` with ``rate_limits``: the venue's limits and
    words) counts requests and orders; ``ws_settings`` (None: the exchange's or the default
    policy) is for its websockets. Nothing is served until the face registers.
    """

    name: str

    def __init__(
        self,
        *,
        rate_limits: RateLimits | None = None,
        limiter: RateLimiter | None = None,
        ws_settings: WsSettings | None = None,
    ) -> None:
        """Configure the face (see the class docstring)."""
        self.limiter: RateLimiter | None = (
            limiter if limiter is not None else self.default_limiter(rate_limits)
        )
        self.ws_settings = ws_settings

    @staticmethod
    def default_limiter(limits: RateLimits | None) -> RateLimiter:
        """A limiter with the venue's limits (``limits`` overriding them) and words."""
        raise NotImplementedError


def make_face(name: str, **options: Any) -> Face:
    """Build the face called ``name`` with ``options`` (``rate_limits``, ``ws_settings``...).

    ``ValueError`` for a name not in :data:`FACES`.
    """
    target = FACES.get(name)
    if target is None:
        raise ValueError(f"unknown simulator face {name!r}; known: {sorted(FACES)}")
    module, _, cls = target.partition(":")
    face: Face = getattr(importlib.import_module(module), cls)(**options)
    return face
