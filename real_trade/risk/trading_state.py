"""``TradingStateStore``: the one reader and writer of the trading state kept in the journal.

The journal's ``trading_state`` key holds ``{"state": "active"|"reducing"|"halted", "reason",
"time_ms"}``: what a restarted runner starts in, what ``real-trade kill``/``resume``/``status``
set and show, and what a running session follows. Every write also appends a
``trading_state`` event row (the history). Nothing else in the tree names the key.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from real_trade.risk.state import TradingState, TradingStateSnapshot

__all__ = ["TRADING_STATE_KEY", "StateJournal", "TradingStateStore"]

TRADING_STATE_KEY = "trading_state"
"""Journal state key (and event kind) of the trading state."""


class StateJournal(Protocol):
    """The part of :class:`real_trade.persistence.Journal` the store uses."""

    def record_event(
        self, kind: str, payload: Any, *, strategy: str | None = None, time_ms: int | None = None
    ) -> Any:
        """Append one event row."""
        ...

    def set_state(self, key: str, value: Any) -> Any:
        """Set a JSON state value."""
        ...

    def get_state(self, key: str, default: Any = None) -> Any:
        """Read a JSON state value."""
        ...


class TradingStateStore:
    """The trading state of one journal (module docstring)."""

    def __init__(self, journal: StateJournal) -> None:
        """Read and write the trading state of ``journal``."""
        self.journal = journal

    def write(
        self,
        state: TradingState | str,
        reason: str = "",
        *,
        strategy: str | None = None,
        time_ms: int | None = None,
    ) -> dict[str, Any]:
        """Journal ``state``: the key and a ``trading_state`` event; returns the value."""
        stamp = int(time.time() * 1000) if time_ms is None else time_ms
        value = {"state": TradingState(state).value, "reason": reason, "time_ms": stamp}
        self.journal.set_state(TRADING_STATE_KEY, value)
        self.journal.record_event(TRADING_STATE_KEY, value, strategy=strategy, time_ms=stamp)
        return value

    def read(self) -> TradingStateSnapshot | None:
        """The journaled state and its reason, or None when none was ever written."""
        value = self.raw()
        if not isinstance(value, dict) or "state" not in value:
            return None
        return TradingStateSnapshot(
            TradingState(str(value["state"]).lower()), str(value.get("reason") or "")
        )

    def raw(self) -> Any:
        """The stored value as it is (a dict with ``state``, ``reason``, ``time_ms``, or None)."""
        return self.journal.get_state(TRADING_STATE_KEY)
