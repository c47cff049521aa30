"""Where a face consults the fault plan around a request (the face renders the answer).

:func:`request_fault` applies an armed delay and takes the armed request fault for a path;
:func:`gateway_error` is the plain 5xx page of a ``500``..``504`` request fault;
:class:`AmbiguousOutcome` is what an order handler raises after the core accepted an order the
fault plan wants answered as failed, and :func:`ambiguous_response` the answer of the faces
that word it as a gateway does (plain 503/500, or the connection dropped);
:func:`abort_connection` drops a request's TCP connection (the ``disconnect`` ambiguous outcome).
The kinds are neutral (:mod:`real_trade.sim.faults`); each face answers them in its own words.
"""

from __future__ import annotations

import asyncio
from typing import NoReturn

from aiohttp import web

from real_trade.sim.faults import FaultPlan, RequestFault
from real_trade.sim.plumbing.http import plain_error

__all__ = [
    "AmbiguousOutcome",
    "abort_connection",
    "ambiguous_response",
    "gateway_error",
    "request_fault",
]

_GATEWAY_KINDS = frozenset({"500", "502", "503", "504"})


class AmbiguousOutcome(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by an order endpoint after the order was accepted, to answer as if it failed.

    ``kind`` is the fault plan's ambiguous kind: ``"500"``, ``"503"``, ``"timeout"`` or
    ``"disconnect"``.
    """

    def __init__(self, kind: str) -> None:
        """Remember which ambiguous answer to give."""
        super().__init__(kind)
        self.kind = kind


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


def gateway_error(fault: RequestFault) -> web.Response | None:
    """The gateway's plain page of a ``500``/``502``/``503``/``504`` request fault, else None
    (the face words the other kinds)."""
    if fault.kind in _GATEWAY_KINDS:
        return plain_error(int(fault.kind))
    return None


def ambiguous_response(request: web.Request, kind: str, timeout: web.Response) -> web.Response:
    """The answer to an :class:`AmbiguousOutcome` of ``kind``: the connection dropped
    (``disconnect``), the venue's own ``timeout`` answer, else a gateway's plain 503 or 500."""
    if kind == "disconnect":
        abort_connection(request)
    if kind == "timeout":
        return timeout
    return plain_error(503 if kind == "503" else 500)
