"""Exchange-side dead-man switches: countdowns that cancel an account's open orders.

Venues offer one under different names (Binance USDⓈ-M ``countdownCancelAll`` per symbol,
OKX ``cancel-all-after`` for the whole account, Bybit's disconnect protection per product);
the faces translate their parameters and this book keeps the one mechanism: per account and
scope (a symbol, or ``None`` for every symbol) a deadline, re-armed by each heartbeat, disarmed
by a zero timeout, and fired once when it passes. A venue whose switch is its private
connection (Bybit's DCP) keeps *standby* timeouts here (:meth:`CancelCountdowns.set_standby`)
that its face arms when the connection drops and disarms when it comes back. The book only
keeps time; the core (:meth:`~real_trade.sim.core.ExchangeCore.arm_cancel_countdown`) cancels
what a fired countdown covers.

A countdown is real time on a venue: the core measures it on its ``countdown_clock`` (a
running :class:`~real_trade.sim.server.SimExchange` gives the wall clock whatever its speed;
a stepped one its own clock, so :meth:`~real_trade.sim.server.SimExchange.advance` expires it).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from real_trade.vocabulary.clock import Clock

__all__ = ["CancelCountdowns", "Countdown"]


@dataclass(frozen=True)
class Countdown:
    """One armed countdown: whose, over what (``scope`` None: every symbol), and when."""

    account_id: int
    scope: str | None
    timeout_ms: int
    trigger_ms: int


class CancelCountdowns:
    """The armed countdowns of one exchange core, keyed by ``(account_id, scope)``."""

    def __init__(self, clock: Clock) -> None:
        """A book measuring deadlines on ``clock``."""
        self.clock = clock
        self._lock = threading.Lock()
        self._armed: dict[tuple[int, str | None], Countdown] = {}
        self._standby: dict[tuple[int, str | None], int] = {}
        self._fired: deque[Countdown] = deque(maxlen=1000)

    def arm(self, account_id: int, scope: str | None, timeout_ms: int) -> Countdown | None:
        """(Re)start the countdown of ``(account_id, scope)``; ``timeout_ms`` 0 disarms it
        (returns None). A negative timeout is a ``ValueError`` (the face refuses it first)."""
        if timeout_ms < 0:
            raise ValueError("a countdown cannot be negative")
        key = (account_id, scope)
        with self._lock:
            if timeout_ms == 0:
                self._armed.pop(key, None)
                return None
            countdown = Countdown(account_id, scope, timeout_ms, self.clock.now_ms() + timeout_ms)
            self._armed[key] = countdown
            return countdown

    def set_standby(self, account_id: int, scope: str | None, timeout_ms: int) -> None:
        """Keep ``timeout_ms`` for ``(account_id, scope)`` to arm on a disconnect (0 forgets)."""
        if timeout_ms < 0:
            raise ValueError("a countdown cannot be negative")
        with self._lock:
            if timeout_ms:
                self._standby[(account_id, scope)] = timeout_ms
            else:
                self._standby.pop((account_id, scope), None)

    def standby(self, account_id: int) -> dict[str | None, int]:
        """The standby timeouts of an account, by scope."""
        with self._lock:
            return {scope: ms for (aid, scope), ms in self._standby.items() if aid == account_id}

    def armed(self, account_id: int | None = None) -> list[Countdown]:
        """The armed countdowns (of one account when given), soonest first."""
        with self._lock:
            rows = [c for c in self._armed.values() if account_id in (None, c.account_id)]
        return sorted(rows, key=lambda c: (c.trigger_ms, c.account_id, c.scope or ""))

    @property
    def fired(self) -> list[Countdown]:
        """The last 1000 countdowns that expired, oldest first (a copy; for tests)."""
        with self._lock:
            return list(self._fired)

    def take_expired(self) -> list[Countdown]:
        """Remove and return the countdowns whose deadline has passed (each fires once)."""
        with self._lock:
            if not self._armed:
                return []
            now = self.clock.now_ms()
            due = [c for c in self._armed.values() if c.trigger_ms <= now]
            for c in due:
                del self._armed[(c.account_id, c.scope)]
            self._fired.extend(due)
        return due
