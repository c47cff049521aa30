"""The runner's side of the journal's control state: heartbeats out, kill requests in.

While a :class:`~real_trade.engine.runner.TradingRunner` runs with a journal, its
:class:`RunnerControl` writes a heartbeat every few seconds (``runner_heartbeat``, and
``runner_heartbeat:<name>`` for databases several strategies share) so ``real-trade status``
and ``real-trade kill`` can tell a live runner from a dead one, and polls the journal's requests
every second through the one :class:`~real_trade.session.control.JournalControl` of the run: a
``kill_request`` goes to the runner's kill switch, a change of the trading state to the run's
trading session. Both are tasks of the runner's :class:`~real_trade.engine.scheduler.Scheduler`.
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
from real_trade.session.control import (
    KILL_DONE_KEY,
    KILL_REQUEST_KEY,
    POLL_INTERVAL_S,
    JournalControl,
)
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

_log = logging.getLogger("real_trade.engine")

KillSwitch = Callable[[bool, str], bool]
"""``kill(flatten, reason) -> accepted``: the runner's kill switch."""


def heartbeat_key(strategy: str) -> str:
    """The per-strategy heartbeat key, ``runner_heartbeat:<strategy>``."""
    return f"{HEARTBEAT_KEY}:{strategy}"


class RunnerControl:
    """Heartbeat of one run, and the one poll of the journal's requests.

    ``RunnerControl(journal, strategy, kill, *, details=None, heartbeat_interval=5.0,
    poll_interval=1.0)``: ``journal`` has ``get_state``/``set_state``; ``kill(flatten,
    reason)`` returns whether the kill was accepted (False: try again at the next poll);
    ``details`` (a callable returning a dict) adds fields to each heartbeat; ``command(action,
    args)`` carries out the control API's commands (:mod:`real_trade.session.control`).
    :attr:`requests` is the :class:`~real_trade.session.control.JournalControl` the scheduler
    polls (the run's trading session follows the trading state through it).
    """

    def __init__(
        self,
        journal: Any,
        strategy: str,
        kill: KillSwitch,
        *,
        details: Callable[[], dict[str, Any]] | None = None,
        command: Callable[[str, dict[str, Any]], str] | None = None,
        heartbeat_interval: float = 5.0,
        poll_interval: float = POLL_INTERVAL_S,
    ) -> None:
        """Bind the control to a journal and a kill switch (nothing runs until installed)."""
        self.journal = journal
        self.strategy = strategy
        self.details = details
        self.heartbeat_interval = heartbeat_interval
        self.requests = JournalControl(
            journal, on_kill=kill, on_command=command, strategy=strategy, interval=poll_interval
        )
        self.heartbeats = 0

    @property
    def handled(self) -> list[str]:
        """The ids of the kill requests carried out."""
        return self.requests.handled

    def install(self, scheduler: Scheduler) -> None:
        """Schedule the heartbeat and the journal poll (both run at once, then at intervals)."""
        scheduler.schedule(self.beat, self.heartbeat_interval, name="heartbeat", run_now=True)
        interval = self.requests.interval
        scheduler.schedule(self.requests.poll, interval, name="journal-poll", run_now=True)

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
        """Poll the journal's requests now; True when a kill request was taken."""
        return self.requests.poll()
