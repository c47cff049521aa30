"""Fault injection for the simulator: the failures real exchanges produce, on demand.

A :class:`FaultPlan` is shared by every protocol face of one simulated exchange. Tests (or the
admin HTTP endpoint) arm faults; the faces consult the plan at well-defined points
(:mod:`real_trade.sim.plumbing.fault_dispatch`) and answer each neutral kind in their own words:

* REST, before handling a request: :meth:`FaultPlan.take_request_fault` returns the failure to
  answer with or ``None``: an HTTP ``"500"``/``"502"``/``"503"``/``"504"``, ``"429"`` (rate
  limited), ``"418"`` (banned), ``"timestamp"`` (the request's timestamp refused: Binance
  -1021) or ``"internal"`` (an internal error: Binance -1001); :meth:`FaultPlan.request_delay`
  the delay.
* REST/WS order placement: :meth:`FaultPlan.take_ambiguous` says "accept the order, then answer
  with a ``"500"``/``"503"``, a ``"timeout"`` (Binance -1007) or a ``"disconnect"``", so the
  client cannot know the outcome; :meth:`FaultPlan.take_order_rejection` rejects an order
  outright with a message (the face's generic rejection code: Binance -2010).
* Time: :attr:`FaultPlan.clock_skew_ms` shifts the server time the faces report and check.
* Websockets: :meth:`FaultPlan.drop_connections` closes every registered websocket with a chosen
  close code; :meth:`FaultPlan.depth_action` decides, per depth diff, send / drop / duplicate /
  reorder; :meth:`FaultPlan.user_stream_paused` holds back user-data events.

Every random decision comes from one ``random.Random(seed)``, so a run with the same seed and the
same sequence of calls injects the same faults. Thread-safe: tests arm faults from their thread
while the server consults them from its event loop.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "AmbiguousKind",
    "DepthAction",
    "FaultPlan",
    "RequestFault",
    "RequestFaultKind",
]

RequestFaultKind = Literal["500", "502", "503", "504", "429", "418", "timestamp", "internal"]
AmbiguousKind = Literal["500", "503", "timeout", "disconnect"]
DepthAction = Literal["send", "drop", "duplicate", "reorder"]

_REQUEST_FAULT_KINDS: frozenset[str] = frozenset(RequestFaultKind.__args__)  # type: ignore[attr-defined]
_AMBIGUOUS_KINDS: frozenset[str] = frozenset(AmbiguousKind.__args__)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class RequestFault:
    """One armed request failure: what to answer and, for rate limits, the Retry-After seconds."""

    kind: RequestFaultKind
    retry_after: int | None = None
    path_prefix: str | None = None


class FaultPlan:
    """The faults armed on one simulated exchange, consulted by its protocol faces.

    Arm faults with the ``fail_next``/``delay_next``/``ambiguous_next``/``reject_next_orders``/
    ``set_clock_skew``/``set_depth_faults``/``pause_user_stream`` methods; clear everything with
    :meth:`reset`. The faces call the ``take_*`` methods, which consume armed faults one by one.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._request_faults: list[RequestFault] = []
        self._delays: list[float] = []
        self._ambiguous: list[AmbiguousKind] = []
        self._rejections: list[str] = []
        self.clock_skew_ms = 0
        self._depth_drop = 0.0
        self._depth_duplicate = 0.0
        self._depth_reorder = 0.0
        self._user_stream_paused = False
        self._droppers: list[Callable[[int], None]] = []
        self.injected: dict[str, int] = {}

    # -- arming --------------------------------------------------------------------------
    def fail_next(
        self,
        n: int = 1,
        kind: RequestFaultKind = "503",
        *,
        retry_after: int | None = None,
        path_prefix: str | None = None,
    ) -> None:
        """Answer the next ``n`` requests (optionally only those under ``path_prefix``) with
        ``kind``: an HTTP 5xx, 429/418 (with ``retry_after`` seconds), ``"timestamp"`` or
        ``"internal"`` (see the module docstring)."""
        if kind not in _REQUEST_FAULT_KINDS:
            allowed = sorted(_REQUEST_FAULT_KINDS)
            raise ValueError(f"unknown request fault {kind!r}; use one of {allowed}")
        if n < 0:
            raise ValueError("n must be >= 0")
        with self._lock:
            self._request_faults.extend([RequestFault(kind, retry_after, path_prefix)] * n)

    def delay_next(self, n: int, seconds: float) -> None:
        """Delay the next ``n`` responses by ``seconds`` each (a slow exchange)."""
        if n < 0 or seconds < 0:
            raise ValueError("n and seconds must be >= 0")
        with self._lock:
            self._delays.extend([seconds] * n)

    def ambiguous_next(self, n: int = 1, kind: AmbiguousKind = "503") -> None:
        """Accept the next ``n`` orders, then answer as if they failed (``kind``), so the client
        cannot tell whether they exist: the case that must never produce a duplicate order."""
        if kind not in _AMBIGUOUS_KINDS:
            allowed = sorted(_AMBIGUOUS_KINDS)
            raise ValueError(f"unknown ambiguous fault {kind!r}; use one of {allowed}")
        with self._lock:
            self._ambiguous.extend([kind] * n)

    def reject_next_orders(self, n: int = 1, msg: str = "Order rejected by the simulator.") -> None:
        """Reject the next ``n`` orders with ``msg`` (under the face's generic rejection code)."""
        with self._lock:
            self._rejections.extend([msg] * n)

    def set_clock_skew(self, ms: int) -> None:
        """Shift the server clock the faces report and check against by ``ms`` milliseconds."""
        with self._lock:
            self.clock_skew_ms = int(ms)

    def set_depth_faults(
        self, *, drop: float = 0.0, duplicate: float = 0.0, reorder: float = 0.0
    ) -> None:
        """Drop, duplicate or reorder depth diff messages with these probabilities (seeded)."""
        for name, p in (("drop", drop), ("duplicate", duplicate), ("reorder", reorder)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} probability must be within [0, 1], got {p}")
        if drop + duplicate + reorder > 1.0:
            raise ValueError("drop + duplicate + reorder probabilities must not exceed 1")
        with self._lock:
            self._depth_drop, self._depth_duplicate, self._depth_reorder = drop, duplicate, reorder

    def pause_user_stream(self, paused: bool = True) -> None:
        """Hold back (True) or release (False) user-data stream events."""
        with self._lock:
            self._user_stream_paused = paused

    def drop_connections(self, code: int = 1006) -> int:
        """Close every registered websocket connection with ``code``; returns how many droppers
        were called (each face registers one dropper for its connections)."""
        with self._lock:
            droppers = list(self._droppers)
            self._count("drop_connections")
        for dropper in droppers:
            dropper(code)
        return len(droppers)

    def reset(self) -> None:
        """Disarm every fault (armed counts, skew, depth faults, pause)."""
        with self._lock:
            self._request_faults.clear()
            self._delays.clear()
            self._ambiguous.clear()
            self._rejections.clear()
            self.clock_skew_ms = 0
            self._depth_drop = self._depth_duplicate = self._depth_reorder = 0.0
            self._user_stream_paused = False

    # -- consulted by the faces ----------------------------------------------------------
    def register_dropper(self, dropper: Callable[[int], None]) -> Callable[[], None]:
        """Register a face's "close all my websockets with this code" callback (thread-safe
        callers: it must hand the work to its own loop). Returns an unregister function."""
        with self._lock:
            self._droppers.append(dropper)

        def unregister() -> None:
            with self._lock:
                if dropper in self._droppers:
                    self._droppers.remove(dropper)

        return unregister

    def take_request_fault(self, path: str) -> RequestFault | None:
        """Consume and return the next armed request fault that applies to ``path``, if any."""
        with self._lock:
            for i, fault in enumerate(self._request_faults):
                if fault.path_prefix is None or path.startswith(fault.path_prefix):
                    del self._request_faults[i]
                    self._count(f"request:{fault.kind}")
                    return fault
        return None

    def request_delay(self) -> float:
        """Consume and return the next armed response delay in seconds (0.0 when none)."""
        with self._lock:
            if self._delays:
                self._count("delay")
                return self._delays.pop(0)
        return 0.0

    def take_ambiguous(self) -> AmbiguousKind | None:
        """Consume the next armed ambiguous-outcome fault for an order placement, if any."""
        with self._lock:
            if self._ambiguous:
                kind = self._ambiguous.pop(0)
                self._count(f"ambiguous:{kind}")
                return kind
        return None

    def take_order_rejection(self) -> str | None:
        """Consume the next armed order rejection's message, if any."""
        with self._lock:
            if self._rejections:
                self._count("reject_order")
                return self._rejections.pop(0)
        return None

    def depth_action(self) -> DepthAction:
        """Decide what happens to the next depth diff message: send, drop, duplicate, reorder."""
        with self._lock:
            total = self._depth_drop + self._depth_duplicate + self._depth_reorder
            if total == 0.0:
                return "send"
            x = self._rng.random()
            if x < self._depth_drop:
                action: DepthAction = "drop"
            elif x < self._depth_drop + self._depth_duplicate:
                action = "duplicate"
            elif x < total:
                action = "reorder"
            else:
                return "send"
            self._count(f"depth:{action}")
            return action

    def user_stream_paused(self) -> bool:
        """True while user-data events are held back."""
        with self._lock:
            return self._user_stream_paused

    def _count(self, key: str) -> None:
        self.injected[key] = self.injected.get(key, 0) + 1
