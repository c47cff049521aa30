"""Where a face consults the fault plan around a request (the face renders the answer).

:func:`request_fault` applies an armed delay and takes the armed request fault for a path;
:func:`abort_connection` drops a request's TCP connection (the ``disconnect`` ambiguous outcome).
The kinds are neutral (:mod:`real_trade.sim.faults`); each face answers them in its own words.
"""

from __future__ import annotations

import asyncio
from typing import NoReturn

from aiohttp import web

from real_trade.sim.faults import FaultPlan, RequestFault

__all__ = ["abort_connection", "request_fault"]


async def request_fault(faults: FaultPlan, path: str) -> RequestFault | None:
    """Wait out the next armed delay, then take the next armed request fault for ``path``."""
    delay = faults.request_delay()
    if delay > 0:
        await asyncio.sleep(delay)
    return faults.take_request_fault(path)


def abort_connection(request: web.Request) -> NoReturn:
    """Drop ``request``'s connection without an answer, then stop the handler."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise asyncio.CancelledError
