"""The trading state of the risk engine: ACTIVE, REDUCING (only exposure-reducing orders) or HALTED.

:class:`TradingStateHolder` keeps the current state and the reason it was set behind a lock, so
the control center (or an operator) can switch it from any thread while the trading path reads it.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass

__all__ = ["TradingState", "TradingStateHolder", "TradingStateSnapshot"]


class TradingState(enum.Enum):
    """ACTIVE lets every order through to the checks; REDUCING only orders that shrink exposure;
    HALTED none."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


@dataclass(frozen=True)
class TradingStateSnapshot:
    """The state and the reason given when it was set, read together."""

    state: TradingState
    reason: str


class TradingStateHolder:
    """A thread-safe, switchable :class:`TradingState` with the reason for the last switch.

    ``set(state, reason)`` switches (a state name such as ``"halted"`` is accepted too);
    ``halt``, ``reduce`` and ``resume`` are shorthands. ``state`` and ``snapshot()`` read it.
    """

    def __init__(self, state: TradingState = TradingState.ACTIVE, reason: str = "") -> None:
        """Start in ``state`` (ACTIVE by default) with ``reason``."""
        self._lock = threading.Lock()
        self._snapshot = TradingStateSnapshot(TradingState(state), reason)

    @property
    def state(self) -> TradingState:
        """The current state."""
        with self._lock:
            return self._snapshot.state

    def snapshot(self) -> TradingStateSnapshot:
        """The current state and its reason, read atomically."""
        with self._lock:
            return self._snapshot

    def set(self, state: TradingState | str, reason: str = "") -> TradingStateSnapshot:
        """Switch to ``state`` (an enum member or its value) and return the previous snapshot."""
        new = TradingState(state.lower() if isinstance(state, str) else state)
        with self._lock:
            previous = self._snapshot
            self._snapshot = TradingStateSnapshot(new, reason)
        return previous

    def halt(self, reason: str = "") -> TradingStateSnapshot:
        """Switch to HALTED: no order passes."""
        return self.set(TradingState.HALTED, reason)

    def reduce(self, reason: str = "") -> TradingStateSnapshot:
        """Switch to REDUCING: only exposure-reducing orders pass."""
        return self.set(TradingState.REDUCING, reason)

    def resume(self, reason: str = "") -> TradingStateSnapshot:
        """Switch back to ACTIVE."""
        return self.set(TradingState.ACTIVE, reason)
