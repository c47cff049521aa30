"""The runner's side of the journal's control state: heartbeats out, kill requests in.

While a :class:`~real_trade.engine.runner.TradingRunner` runs with a journal, its
:class:`RunnerControl` writes a heartbeat every few seconds (``runner_heartbeat``, and
``runner_heartbeat:<name>`` for databases several strategies share) so ``real-trade status``
and ``real-trade kill`` can tell a live runner from a dead one, and polls ``kill_request`` every
second: a request ``{"id", "flatten", "reason"}`` whose id it has not handled yet is passed to
the runner's kill switch, and ``kill_done`` is set to that id once the kill is under way. Both
are tasks of the runner's :class:`~real_trade.engine.scheduler.Scheduler`.
:func:`install_stop_signals` (from :mod:`real_trade.utils.stop_signals`) is the operator's
other way in: SIGINT and SIGTERM.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from real_trade.engine.scheduler import Scheduler
from real_trade.utils.stop_signals import install_stop_signals

__all__ = [
    "HEARTBEAT_KEY",
    "KILL_DONE_KEY",
    "KILL_REQUEST_KEY",
    "RunnerControl",
    "heartbeat_key",
    "install_stop_signals",
]

HEARTBEAT_KEY = "runner_heartbeat"
"""Control-state key of the newest runner heartbeat of the database."""
KILL_REQUEST_KEY = "kill_request"
"""Control-state key of the operator's kill request (``real-trade kill``)."""
KILL_DONE_KEY = "kill_done"
"""Control-state key of the id of the last kill request a runner carried out."""

_log = logging.getLogger("real_trade.engine")

KillSwitch = Callable[[bool, str], bool]
"""``kill(flatten, reason) -> accepted``: the runner's kill switch."""


def heartbeat_key(strategy: str) -> str:
    """The per-strategy heartbeat key, ``runner_heartbeat:<strategy>``."""
    return f"{HEARTBEAT_KEY}:{strategy}"


class RunnerControl:
    """Heartbeat and kill-request polling of one run against one journal.

    ``RunnerControl(journal, strategy, kill, *, details=None, heartbeat_interval=5.0,
    poll_interval=1.0)``: ``journal`` has ``get_state``/``set_state``; ``kill(flatten,
    reason)`` returns whether the kill was accepted (False: try again at the next poll);
    ``details`` (a callable returning a dict) adds fields to each heartbeat.
    """

    def __init__(
        self,
        journal: Any,
        strategy: str,
        kill: KillSwitch,
        *,
        details: Callable[[], dict[str, Any]] | None = None,
        heartbeat_interval: float = 5.0,
        poll_interval: float = 1.0,
    ) -> None:
        """Bind the control to a journal and a kill switch (nothing runs until installed)."""
        self.journal = journal
        self.strategy = strategy
        self.kill = kill
        self.details = details
        self.heartbeat_interval = heartbeat_interval
        self.poll_interval = poll_interval
        self.handled: list[str] = []
        self.heartbeats = 0

    def install(self, scheduler: Scheduler) -> None:
        """Schedule the heartbeat and the kill poll (both run at once, then at intervals)."""
        scheduler.schedule(self.beat, self.heartbeat_interval, name="heartbeat", run_now=True)
        scheduler.schedule(self.poll_kill, self.poll_interval, name="kill-poll", run_now=True)

    def beat(self, state: str = "running") -> None:
        """Write one heartbeat: pid, time, strategy, ``state`` and the runner's details."""
        value: dict[str, Any] = {
            "pid": os.getpid(),
            "time_ms": time.time_ns() // 1_000_000,
            "strategy": self.strategy,
            "state": state,
        }
        if self.details is not None:
            value.update(self.details())
        self.journal.set_state(HEARTBEAT_KEY, value)
        self.journal.set_state(heartbeat_key(self.strategy), value)
        self.heartbeats += 1

    def poll_kill(self) -> bool:
        """Carry out a new kill request, if any; return whether one was handled now."""
        request = self.journal.get_state(KILL_REQUEST_KEY)
        if not isinstance(request, dict) or not request.get("id"):
            return False
        ident = str(request["id"])
        if ident in self.handled or self.journal.get_state(KILL_DONE_KEY) == ident:
            return False
        flatten = bool(request.get("flatten", False))
        reason = str(request.get("reason") or "kill requested")
        _log.warning("kill request %s from the journal (flatten=%s): %s", ident, flatten, reason)
        if not self.kill(flatten, reason):
            return False
        self.handled.append(ident)
        self.journal.set_state(KILL_DONE_KEY, ident)
        return True
