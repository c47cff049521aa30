"""The market pump of a running simulator: play the market every few milliseconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from real_trade.sim.plumbing.context import FaceContext

__all__ = ["pump_ctx"]

_log = logging.getLogger("real_trade.sim")


def pump_ctx(
    ctx: FaceContext, interval_s: float
) -> Callable[[web.Application], AsyncIterator[None]]:
    """An aiohttp cleanup context running ``ctx.core.pump()`` every ``interval_s`` seconds."""

    async def pump(app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(interval_s)
                try:
                    ctx.core.pump()
                except Exception:  # keep serving; a pump bug must not stop the exchange
                    _log.exception("market pump failed")

        task = asyncio.get_running_loop().create_task(loop(), name="sim-market-pump")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return pump
