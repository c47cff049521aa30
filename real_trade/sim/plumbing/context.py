"""What every protocol face of one simulated exchange shares: core, clock, faults, loop."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from real_trade.sim.faults import FaultPlan

if TYPE_CHECKING:
    from real_trade.sim.clock import SimClock
    from real_trade.sim.core import ExchangeCore

__all__ = ["FaceContext"]


@dataclass
class FaceContext:
    """The state every face (REST, market streams, WebSocket API, of any venue) of one simulator
    shares.

    ``core`` does the trading, ``clock`` tells market time, ``faults`` holds the armed faults, and
    ``loop`` is the server's event loop (set when the server starts), which faces use to hand
    bus events published on other threads over to their websockets with
    ``loop.call_soon_threadsafe``.
    """

    core: ExchangeCore
    clock: SimClock
    faults: FaultPlan = field(default_factory=FaultPlan)
    loop: asyncio.AbstractEventLoop | None = None

    def server_time_ms(self) -> int:
        """The time the server reports and checks requests against, clock skew included."""
        return self.clock.now_ms() + self.faults.clock_skew_ms

    def wall_time_ms(self) -> int:
        """The wall clock plus the fault plan's skew: what clients sign with when they do not
        follow the server's (stepped, accelerated or replayed) market time."""
        return int(time.time() * 1000) + self.faults.clock_skew_ms
