"""``ReconnectBackoff``: when to reconnect a dropped websocket, for every stream of real_trade.

One policy for both websocket faces: the ccxt.pro streams (:class:`~real_trade.venues.streams.
StreamHandle`) and the raw venue websockets (:class:`~real_trade.feeds.basewebsocket.
BaseWebSocket`). It counts consecutive failures of one connection, draws the delay before the
next try from a :class:`~real_trade.venues.retry.RetryPolicy` (exponential, capped, jittered),
gives up after ``max_failures`` (0: never) and waits in a way a stop request interrupts.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

from real_trade.venues.retry import RetryPolicy

__all__ = ["ReconnectBackoff", "Sleep"]

Sleep = Callable[[float], Awaitable[Any]]
"""An async sleep (``asyncio.sleep`` by default; tests inject one that records the delays)."""


class ReconnectBackoff:
    """Consecutive failures of one connection and the wait before the next try.

    The delay after failure ``n`` is ``min(max_delay, base_delay * 2 ** (n - 1))`` shortened at
    random by up to ``jitter`` of itself (:meth:`RetryPolicy.delay_for`). Bad settings raise
    ConfigError naming the field (``base_delay``, ``max_delay``, ``jitter``).
    """

    def __init__(
        self,
        *,
        base_delay: float,
        max_delay: float,
        jitter: float = 0.5,
        max_failures: int = 0,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """Configure the policy; ``sleep`` and ``rng`` are injectable for tests."""
        self.policy = RetryPolicy(
            max_attempts=max(1, max_failures),
            base_delay=base_delay,
            multiplier=2.0,
            max_delay=max_delay,
            jitter=jitter,
        )
        self.max_failures = max_failures
        self.failures = 0
        self._sleep: Sleep = sleep or asyncio.sleep
        self._rng = rng

    def __repr__(self) -> str:
        """Failures so far and the policy."""
        return f"ReconnectBackoff(failures={self.failures}, {self.policy})"

    def delay(self, failures: int | None = None) -> float:
        """Seconds to wait after ``failures`` consecutive failures (default: the current count)."""
        return self.policy.delay_for(
            self.failures if failures is None else failures, None, self._rng
        )

    def succeeded(self) -> None:
        """A connection worked (stayed up long enough): the next failure starts over."""
        self.failures = 0

    def failed(self) -> bool:
        """Count one more failure; False once ``max_failures`` are exceeded (give up)."""
        self.failures += 1
        return self.max_failures <= 0 or self.failures <= self.max_failures

    async def wait(self, stop: asyncio.Event | None = None) -> None:
        """Sleep the current delay; a set ``stop`` event ends the wait early."""
        await self.pause(self.delay(), stop)

    async def pause(self, seconds: float, stop: asyncio.Event | None = None) -> None:
        """Sleep ``seconds`` with the injected sleep; a set ``stop`` event ends it early."""
        if stop is None:
            await self._sleep(seconds)
            return
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        stopper = asyncio.ensure_future(stop.wait())
        _, pending = await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
