"""The aiohttp application of one simulated exchange: its faces plus the shared plumbing.

:func:`create_exchange_app` registers each face's routes, the ``/admin/`` endpoints
(:mod:`~real_trade.sim.plumbing.admin`) and, in non-stepped modes, the market pump
(:mod:`~real_trade.sim.plumbing.pump`) on one application.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiohttp import web

from real_trade.sim.plumbing.admin import register_admin_routes
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.faces import Face
from real_trade.sim.plumbing.pump import pump_ctx

__all__ = ["CONTEXT_KEY", "create_exchange_app"]

CONTEXT_KEY = web.AppKey("sim_context", FaceContext)
"""Where the application keeps its :class:`FaceContext`."""


def create_exchange_app(
    ctx: FaceContext,
    faces: Sequence[Face],
    *,
    admin: bool = True,
    pump_interval_s: float | None = 0.05,
    contexts: Mapping[str, FaceContext] | None = None,
) -> web.Application:
    """Build the application serving ``faces`` over the exchange of ``ctx``.

    A face whose ``market_kind`` (``"spot"`` when absent) names an entry of ``contexts`` is
    served over that context instead (the USD-M face over the core of linear perpetuals); a
    face with ``register_markets`` gets every context at once (OKX: SPOT and SWAP); non-spot
    faces register first, so their routes win over a spot face's placeholders.
    ``admin=False`` leaves out ``/admin/`` (it acts on ``ctx``); ``pump_interval_s`` is how
    often the market is played in real/accelerated modes (no pump task with a stepped clock or
    ``None``), for every context's core.
    """
    if not faces:
        raise ValueError("a simulated exchange serves at least one face")
    others = dict(contexts or {})
    app = web.Application()
    app[CONTEXT_KEY] = ctx

    def kind(face: Face) -> str:
        return str(getattr(face, "market_kind", "spot"))

    for face in sorted(faces, key=lambda f: kind(f) == "spot"):
        register_markets = getattr(face, "register_markets", None)
        if register_markets is not None:  # a face of several market kinds (OKX: spot, linear)
            register_markets(app, {"spot": ctx, **others})
        else:
            face.register(app, others.get(kind(face), ctx))
    if admin:
        limiters = [f.limiter for f in faces if f.limiter is not None]
        mirrors = [c for c in others.values() if c is not ctx]
        register_admin_routes(app, ctx, limiters, mirrors)
    if pump_interval_s is not None and not ctx.clock.stepped:
        for each in [ctx, *[c for c in others.values() if c is not ctx]]:
            app.cleanup_ctx.append(pump_ctx(each, pump_interval_s))
    return app
