"""``JournalControl``: the one loop reading the operator's requests from the journal.

``real-trade kill`` writes ``kill_request`` (``{"id", "flatten", "reason"}``) and ``real-trade
kill``/``resume`` write the trading state (through the
:class:`~real_trade.risk.trading_state.TradingStateStore`). :meth:`JournalControl.poll` reads
both: a kill request whose id was not handled yet goes to ``on_kill(flatten, reason)`` (False:
not taken, asked again at the next poll) and ``kill_done`` is set to its id once taken; a change
of the trading state goes to ``on_state(state, reason)``. A process polls one such object at
one interval: the runner's scheduler (:class:`~real_trade.engine.control.RunnerControl`), or,
without a runner, the trading session on its cycle (:meth:`poll_if_due`).

A kill request may name a ``strategy``: then only the control of that strategy takes it; one
with ``"all": true`` (and its ``time_ms``) is taken by every runner sharing the journal
(each marks ``kill_done:<strategy>``). The
control API's other requests (cancel an order, cancel all, reload the risk limits) are
``control.command`` journal events (``{"id", "action", "args", "who", "reason"}``, the
strategy column naming the runner); :meth:`JournalControl.poll_commands` hands each one not yet
answered and younger than :data:`COMMAND_MAX_AGE_MS` to ``on_command(action, args)``, which
returns a line saying what it did (or raises), and answers with a ``control.done`` event
(``{"id", "ok", "detail"}``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from real_trade.risk.state import TradingState
from real_trade.risk.trading_state import TradingStateStore

__all__ = [
    "COMMAND_DONE_KIND",
    "COMMAND_KIND",
    "COMMAND_MAX_AGE_MS",
    "KILL_DONE_KEY",
    "KILL_REQUEST_KEY",
    "POLL_INTERVAL_S",
    "JournalControl",
]

KILL_REQUEST_KEY = "kill_request"
"""Control-state key of the operator's kill request (``real-trade kill``)."""
KILL_DONE_KEY = "kill_done"
"""Control-state key of the id of the last kill request carried out."""
POLL_INTERVAL_S = 1.0
"""How often the journal's requests are read."""
COMMAND_KIND = "control.command"
"""Journal event kind of an operator's command to a runner (the control API's)."""
COMMAND_DONE_KIND = "control.done"
"""Journal event kind of a runner's answer to a command."""
COMMAND_MAX_AGE_MS = 120_000
"""A command older than this when first seen is not carried out (a restarted runner does not
replay yesterday's cancels)."""

_log = logging.getLogger("real_trade.session")

OnKill = Callable[[bool, str], bool]
OnState = Callable[[TradingState, str], None]
OnCommand = Callable[[str, dict[str, Any]], str]


class JournalControl:
    """The journal's kill requests and trading state, read at one interval (module docstring).

    ``journal`` has ``get_state``/``set_state`` (and ``events``/``record_event`` for
    commands); ``on_kill``, ``on_state`` and ``on_command`` may be set later (a session attaches
    its own); ``strategy`` is the runner's name (a request naming another is left to it);
    ``clock`` times :meth:`poll_if_due`.
    """

    def __init__(
        self,
        journal: Any,
        *,
        on_kill: OnKill | None = None,
        on_state: OnState | None = None,
        on_command: OnCommand | None = None,
        strategy: str = "",
        interval: float = POLL_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Read ``journal``'s requests for ``on_kill``/``on_state`` every ``interval`` s."""
        self.journal = journal
        self.on_kill = on_kill
        self.on_state = on_state
        self.on_command = on_command
        self.strategy = strategy
        self._command_since = time.time_ns() // 1_000_000 - COMMAND_MAX_AGE_MS
        self._commands_done: set[str] = set()
        self.interval = interval
        self.handled: list[str] = []
        self._store = TradingStateStore(journal)
        self._state: TradingState | None = None
        self._clock = clock
        self._last: float | None = None

    def poll_if_due(self) -> bool:
        """:meth:`poll` when ``interval`` has passed since the last one; its answer, or False."""
        now = self._clock()
        if self._last is not None and now - self._last < self.interval:
            return False
        self._last = now
        return self.poll()

    def poll(self) -> bool:
        """Read both requests and pass them on; True when a kill request was taken now."""
        taken = self.poll_kill()
        self.poll_state()
        self.poll_commands()
        return taken

    def poll_kill(self) -> bool:
        """Carry out a new kill request, if any; True when one was taken now."""
        request = self.journal.get_state(KILL_REQUEST_KEY)
        if self.on_kill is None or not isinstance(request, dict) or not request.get("id"):
            return False
        ident = str(request["id"])
        target = str(request.get("strategy") or "")
        if target and self.strategy and target != self.strategy:
            return False
        if ident in self.handled or not self._kill_is_new(request, ident):
            return False
        flatten = bool(request.get("flatten", False))
        reason = str(request.get("reason") or "kill requested")
        _log.warning("kill request %s from the journal (flatten=%s): %s", ident, flatten, reason)
        if not self.on_kill(flatten, reason):
            return False
        self.handled.append(ident)
        self.journal.set_state(KILL_DONE_KEY, ident)
        if self.strategy:
            self.journal.set_state(f"{KILL_DONE_KEY}:{self.strategy}", ident)
        return True

    def _kill_is_new(self, request: dict[str, Any], ident: str) -> bool:
        """Whether this runner has still to carry out ``request``: not taken by any runner, or,
        for a request to every runner (``"all": true``, the control API's), not taken by this
        one and younger than :data:`COMMAND_MAX_AGE_MS` (a runner started later ignores it)."""
        if not (request.get("all") and self.strategy):
            return bool(self.journal.get_state(KILL_DONE_KEY) != ident)
        if self.journal.get_state(f"{KILL_DONE_KEY}:{self.strategy}") == ident:
            return False
        age_ms = time.time_ns() // 1_000_000 - int(request.get("time_ms") or 0)
        return age_ms <= COMMAND_MAX_AGE_MS

    def poll_state(self) -> None:
        """Pass a change of the journal's trading state to ``on_state``."""
        if self.on_state is None:
            return
        try:
            saved = self._store.read()
        except Exception as exc:  # the journal may be busy: ask again next time
            _log.warning("could not read the trading state from the journal: %s", exc)
            return
        if saved is None or saved.state is self._state:
            return
        self._state = saved.state
        self.on_state(saved.state, saved.reason or "set in the journal")

    def seen(self, state: TradingState) -> None:
        """The state as this process last wrote or followed it (not passed on again)."""
        self._state = state

    def poll_commands(self) -> int:
        """Carry out the commands addressed to this runner not answered yet; how many."""
        if self.on_command is None:
            return 0
        try:
            rows = self.journal.events("control.*", self._command_since)
        except Exception as exc:  # the journal may be busy: ask again next time
            _log.warning("could not read the commands from the journal: %s", exc)
            return 0
        answered = {
            str(e.payload.get("id")) for e in rows if e.kind == COMMAND_DONE_KIND
        } | self._commands_done
        count = 0
        for event in rows:
            ident = str(event.payload.get("id") or "")
            if event.kind != COMMAND_KIND or not ident or ident in answered:
                continue
            if self.strategy and event.strategy and event.strategy != self.strategy:
                continue
            self._commands_done.add(ident)
            action = str(event.payload.get("action") or "")
            args = dict(event.payload.get("args") or {})
            try:
                detail, ok = self.on_command(action, args), True
            except Exception as exc:
                detail, ok = f"{type(exc).__name__}: {exc}", False
            _log.warning("command %s (%s) from the journal: %s", ident, action, detail)
            self.journal.record_event(
                COMMAND_DONE_KIND,
                {"id": ident, "action": action, "ok": ok, "detail": detail},
                strategy=event.strategy or self.strategy or None,
            )
            count += 1
        return count
