"""The kill switch: cancel every open order, optionally flatten every position, then HALT.

One :class:`KillSwitch` over a :class:`KillTarget`, two ways to drive it. :meth:`KillSwitch.request`
(any thread) queues a kill and returns a future of its :class:`KillReport`; :meth:`KillSwitch.step`
advances it as far as it can without waiting and is called on the trading cycle, so nothing races
the order manager (a trading session's kill). :meth:`KillSwitch.engage` drives one kill to the end
itself, sleeping ``poll_interval`` between steps (``real-trade kill`` against a venue account).

A kill switches the :class:`TradingStateHolder` to REDUCING (unless already HALTED), cancels
every open order of the target and waits (bounded) until the target no longer lists them, closes
every position with reduce-only market orders when ``flatten=True`` (below the exchange minimum:
reported as dust, never attempted) and waits (bounded) until it is flat, then switches to HALTED.
A failing cancel or close never stops the others; all of it is in the :class:`KillReport`. Each
step is published on the bus (``killswitch.engaged``, ``.order_canceled``, ``.cancel_failed``,
``.flattened``, ``.dust``, ``.flatten_failed``, ``.halted``) and journaled; the trading state goes
through the :class:`~real_trade.risk.trading_state.TradingStateStore`. A second kill finds
nothing to do and stays HALTED.

:class:`~real_trade.risk.killswitch_venue.VenueKillTarget` is the target of a testnet or live
account; :class:`~real_trade.session.kill_target.SessionKillTarget` that of a trading session.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from real_trade.bus import EventBus
from real_trade.errors import OrderNotFoundError
from real_trade.risk.killswitch_types import (
    CancelOutcome,
    FlattenOutcome,
    KillEngaged,
    KillOrder,
    KillPosition,
    KillReport,
    KillTarget,
)
from real_trade.risk.state import TradingState, TradingStateHolder
from real_trade.risk.trading_state import StateJournal, TradingStateStore
from real_trade.utils.logger import mask_secrets

__all__ = [
    "CancelOutcome",
    "FlattenOutcome",
    "KillEngaged",
    "KillJournal",
    "KillOrder",
    "KillPosition",
    "KillReport",
    "KillSwitch",
    "KillTarget",
]

KillJournal = StateJournal
"""The part of :class:`real_trade.persistence.Journal` the kill switch uses."""
_log = logging.getLogger("real_trade.risk")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _error_text(exc: BaseException) -> str:
    return mask_secrets(f"{type(exc).__name__}: {exc}")


@dataclass
class _Run:
    """One kill in progress: its request, phase, pending waits and outcomes so far."""

    flatten: bool
    reason: str
    future: concurrent.futures.Future[KillReport]
    phase: str = "start"
    previous: TradingState = TradingState.ACTIVE
    started_ms: int = 0
    deadline: float = 0.0
    asked: list[KillOrder] = field(default_factory=list)
    still_open: list[KillOrder] = field(default_factory=list)
    remaining: list[KillPosition] = field(default_factory=list)
    cancels: list[CancelOutcome] = field(default_factory=list)
    flattens: list[FlattenOutcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _needs_close(position: KillPosition) -> bool:
    return bool(position.amount) and position.dust_reason() is None


class KillSwitch:
    """Cancel all, optionally flatten, then HALT; idempotent, thread-safe, journaled.

    ``target`` is the :class:`KillTarget`, ``state`` the :class:`TradingStateHolder` the risk
    engine reads, ``bus``/``journal`` optional receivers of every step, ``strategy`` the name on
    journal rows. The trading state always goes to ``journal.set_state``; each step goes to
    ``journal.record_event`` unless ``journal_events=False`` (for a journal attached to ``bus``,
    which records ``killswitch.*`` itself). ``confirm_timeout`` bounds each wait for
    confirmation, polled every ``poll_interval`` seconds on ``clock``/``sleep`` (injectable).
    """

    def __init__(
        self,
        target: KillTarget,
        *,
        state: TradingStateHolder,
        bus: EventBus | None = None,
        journal: KillJournal | None = None,
        strategy: str = "",
        journal_events: bool = True,
        confirm_timeout: float = 10.0,
        poll_interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now_ms: Callable[[], int] = _now_ms,
    ) -> None:
        """Wire the switch; nothing happens until :meth:`request` or :meth:`engage`."""
        self.target, self.state, self.bus, self.journal = target, state, bus, journal
        self.strategy, self.journal_events = strategy, journal_events
        self.confirm_timeout, self.poll_interval = confirm_timeout, poll_interval
        self._clock, self._sleep, self._now_ms = clock, sleep, now_ms
        self._lock = threading.Lock()
        self._pending: collections.deque[_Run] = collections.deque()
        self._current: _Run | None = None

    def request(
        self, *, flatten: bool = False, reason: str = ""
    ) -> concurrent.futures.Future[KillReport]:
        """Queue a kill (any thread); REDUCING starts now, the work on :meth:`step`. The future
        receives the :class:`KillReport`."""
        future: concurrent.futures.Future[KillReport] = concurrent.futures.Future()
        reason = reason or "kill switch"
        run = _Run(flatten, reason, future, previous=self.state.snapshot().state)
        if run.previous is TradingState.ACTIVE:
            self.state.reduce(reason)
        self._pending.append(run)  # deque.append is atomic
        return future

    @property
    def active(self) -> bool:
        """Whether a kill is being worked or waiting."""
        return self._current is not None or bool(self._pending)

    def step(self) -> bool:
        """Advance the kill in progress as far as it goes without waiting (call it from one
        thread, the trading cycle); True when no kill is left to work."""
        while True:
            if self._current is None:
                if not self._pending:
                    return True
                self._current = self._pending.popleft()
            run = self._current
            try:
                self._advance(run)
            except Exception as exc:  # a kill must end: halt, and report the error
                _log.exception("kill switch failed")
                run.errors.append(_error_text(exc))
                self._halt(run)
            if run.phase != "done":
                return False
            self._current = None

    def engage(self, *, flatten: bool = False, reason: str = "") -> KillReport:
        """Run one kill to the end here (module docstring); return its :class:`KillReport`."""
        with self._lock:
            future = self.request(flatten=flatten, reason=reason)
            while not self.step():
                self._sleep(self.poll_interval)
            return future.result(0)

    # -- phases --------------------------------------------------------------------------
    def _advance(self, run: _Run) -> None:
        if run.phase == "start":
            self._start(run)
        if run.phase == "canceling" and self._waited(run, self.target.open_orders, run.asked):
            self._canceled(run)
        if run.phase == "flatten":
            self._flatten(run)
        if run.phase == "flattening":
            left = self._pending_closes(run)
            if left is not None:
                run.remaining, run.phase = left, "halt"
        if run.phase == "halt":
            self._halt(run)

    def _start(self, run: _Run) -> None:
        run.started_ms = self._now_ms()
        if self.state.state is TradingState.HALTED:  # e.g. a kill queued behind another
            run.previous = TradingState.HALTED
        if run.previous is not TradingState.HALTED:
            self.state.reduce(run.reason)
            self._journal_state(run, TradingState.REDUCING, run.reason)
        engaged = KillEngaged(
            run.reason, run.flatten, self.strategy, run.previous.value, run.started_ms
        )
        _log.warning("kill switch engaged (%s), flatten=%s", run.reason, run.flatten)
        self._emit(run, "killswitch.engaged", engaged)
        for order in self._read(run, self.target.open_orders, "reading open orders") or []:
            try:
                self.target.cancel(order)
                run.asked.append(order)
                continue
            except OrderNotFoundError:
                outcome = CancelOutcome(order, "already_closed")
            except Exception as exc:  # one failure must not stop the others
                outcome = CancelOutcome(order, "failed", _error_text(exc))
            self._cancel_outcome(run, outcome)
        run.deadline, run.phase = self._clock() + self.confirm_timeout, "canceling"

    def _waited(self, run: _Run, read: Callable[[], list[Any]], pending: list[KillOrder]) -> bool:
        """Whether the wait for ``pending`` orders to leave ``read()`` is over (gone, unreadable
        or timed out); the ones still listed are kept in ``run.still_open``."""
        ids = {o.id for o in pending}
        items = self._read(run, read, "confirming")
        left = [o for o in items or [] if o.id in ids]
        run.still_open = left
        return not left or items is None or self._clock() >= run.deadline

    def _canceled(self, run: _Run) -> None:
        left = {o.id for o in run.still_open}
        for order in run.asked:
            if order.id in left:
                outcome = CancelOutcome(order, "unconfirmed", "still open after the bounded wait")
            else:
                outcome = CancelOutcome(order, "canceled")
            self._cancel_outcome(run, outcome)
        run.still_open = self._read(run, self.target.open_orders, "reading open orders") or []
        run.phase = "flatten" if run.flatten else "halt"

    def _cancel_outcome(self, run: _Run, outcome: CancelOutcome) -> None:
        run.cancels.append(outcome)
        topic = "killswitch.cancel_failed" if outcome.error else "killswitch.order_canceled"
        self._emit(run, topic, outcome)

    def _flatten(self, run: _Run) -> None:
        positions = self._read(run, self.target.positions, "reading positions") or []
        placed = False
        for position in (p for p in positions if p.amount):
            amount, side, dust = position.tradable, position.close_side, position.dust_reason()
            if dust is not None:
                outcome, topic = FlattenOutcome(position, side, amount, "dust", error=dust), "dust"
            else:
                try:
                    order_id = self.target.close_position(position, amount)
                    outcome = FlattenOutcome(position, side, amount, "closed", order_id)
                    topic, placed = "flattened", True
                except Exception as exc:  # one failure must not stop the others
                    error = _error_text(exc)
                    outcome = FlattenOutcome(position, side, amount, "failed", None, error)
                    topic = "flatten_failed"
            run.flattens.append(outcome)
            self._emit(run, f"killswitch.{topic}", outcome)
        if not placed:
            run.remaining, run.phase = [p for p in positions if _needs_close(p)], "halt"
        else:
            run.deadline, run.phase = self._clock() + self.confirm_timeout, "flattening"

    def _pending_closes(self, run: _Run) -> list[KillPosition] | None:
        """The positions still to close once the wait is over, else None (keep waiting)."""
        items = self._read(run, self.target.positions, "confirming")
        left = [p for p in items or [] if _needs_close(p)]
        if not left or items is None or self._clock() >= run.deadline:
            return left
        return None

    def _halt(self, run: _Run) -> None:
        self.state.halt(run.reason)
        self._journal_state(run, TradingState.HALTED, run.reason)
        report = KillReport(
            run.reason,
            run.flatten,
            self.strategy,
            run.previous.value,
            run.started_ms or self._now_ms(),
            self._now_ms(),
            tuple(run.cancels),
            tuple(run.flattens),
            tuple(run.still_open),
            tuple(run.remaining),
            tuple(run.errors),
            tuple(run.warnings),
        )
        (_log.info if report.ok else _log.error)("kill switch: %s", report.summary())
        self._emit(run, "killswitch.halted", report)
        run.phase = "done"
        if not run.future.done():
            run.future.set_result(report)

    def _read(self, run: _Run, read: Callable[[], list[Any]], what: str) -> list[Any] | None:
        try:
            return read()
        except Exception as exc:  # the halt must happen even when the account cannot be read
            run.errors.append(f"{what} failed: {_error_text(exc)}")
            _log.error("kill switch: %s", run.errors[-1])
            return None

    # -- publishing ----------------------------------------------------------------------
    def _emit(self, run: _Run, topic: str, event: Any) -> None:
        if self.bus is not None:
            try:
                self.bus.publish(topic, event)
            except RuntimeError as exc:  # a closed bus at shutdown: the kill goes on
                run.warnings.append(f"could not publish {topic}: {exc}")
        if isinstance(event, CancelOutcome | FlattenOutcome):
            what = event.order if isinstance(event, CancelOutcome) else event.position
            _log.info("kill switch: %s %s %s", topic, what.symbol, event.error)
        if self.journal is not None and self.journal_events:
            payload = event.to_dict() if isinstance(event, KillReport) else asdict(event)
            self._journaled(run, self.journal.record_event, topic, payload)

    def _journal_state(self, run: _Run, state: TradingState, reason: str) -> None:
        if self.journal is not None:
            self._journaled(run, TradingStateStore(self.journal).write, state, reason)

    def _journaled(self, run: _Run, write: Callable[..., Any], *args: Any) -> None:
        try:
            write(*args, strategy=self.strategy or None, time_ms=self._now_ms())
        except Exception as exc:  # journaling must never stop the kill
            run.warnings.append(f"journal write failed: {_error_text(exc)}")
            _log.warning("kill switch: %s", run.warnings[-1])
