"""The kill switch: cancel every open order, optionally flatten every position, then HALT.

:meth:`KillSwitch.engage` switches the :class:`TradingStateHolder` to REDUCING (unless already
HALTED), cancels every open order of its :class:`KillTarget` and waits (bounded) until the target
no longer lists them, closes every position with reduce-only market orders when ``flatten=True``
(below the exchange minimum: reported as dust, never attempted) and waits (bounded) until it is
flat, then switches to HALTED. A failing cancel or close never stops the others; all of it is in
the :class:`KillReport`. Each step is published on the bus (``killswitch.engaged``,
``.order_canceled``, ``.cancel_failed``, ``.flattened``, ``.dust``, ``.flatten_failed``,
``.halted``) and journaled. A second engage finds nothing to do and stays HALTED.

:class:`~real_trade.risk.killswitch_venue.VenueKillTarget` is the target of a testnet or live
account. :func:`write_trading_state` / :func:`read_trading_state` keep the journal's
``trading_state`` (which a runner follows and a restarted runner starts in).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

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
from real_trade.utils.logger import mask_secrets

__all__ = [
    "TRADING_STATE_KEY",
    "CancelOutcome",
    "FlattenOutcome",
    "KillEngaged",
    "KillJournal",
    "KillOrder",
    "KillPosition",
    "KillReport",
    "KillSwitch",
    "KillTarget",
    "read_trading_state",
    "write_trading_state",
]

TRADING_STATE_KEY = "trading_state"
"""Journal state key: ``{"state": "active"|"reducing"|"halted", "reason", "time_ms"}``."""
_log = logging.getLogger("real_trade.risk")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _error_text(exc: BaseException) -> str:
    return mask_secrets(f"{type(exc).__name__}: {exc}")


class KillJournal(Protocol):
    """The part of :class:`real_trade.persistence.Journal` the kill switch uses."""

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


def write_trading_state(
    journal: KillJournal,
    state: TradingState | str,
    reason: str = "",
    *,
    strategy: str | None = None,
    time_ms: int | None = None,
) -> dict[str, Any]:
    """Journal the trading state: the ``trading_state`` key and a ``trading_state`` event."""
    stamp = _now_ms() if time_ms is None else time_ms
    value = {"state": TradingState(state).value, "reason": reason, "time_ms": stamp}
    journal.set_state(TRADING_STATE_KEY, value)
    journal.record_event(TRADING_STATE_KEY, value, strategy=strategy, time_ms=stamp)
    return value


def read_trading_state(journal: KillJournal) -> tuple[TradingState, str] | None:
    """The journaled trading state and its reason, or None when none was ever written."""
    value = journal.get_state(TRADING_STATE_KEY)
    if not isinstance(value, dict) or "state" not in value:
        return None
    return TradingState(str(value["state"]).lower()), str(value.get("reason") or "")


@dataclass
class _Run:
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
        """Wire the switch; nothing happens until :meth:`engage`."""
        self.target, self.state, self.bus, self.journal = target, state, bus, journal
        self.strategy, self.journal_events = strategy, journal_events
        self.confirm_timeout, self.poll_interval = confirm_timeout, poll_interval
        self._clock, self._sleep, self._now_ms = clock, sleep, now_ms
        self._lock = threading.Lock()

    def engage(self, *, flatten: bool = False, reason: str = "") -> KillReport:
        """Run the kill switch (see the module docstring); return its :class:`KillReport`."""
        reason = reason or "kill switch"
        with self._lock:
            started, run = self._now_ms(), _Run()
            previous = self.state.snapshot().state
            if previous is not TradingState.HALTED:
                self.state.reduce(reason)
                self._journal_state(run, TradingState.REDUCING, reason)
            engaged = KillEngaged(reason, flatten, self.strategy, previous.value, started)
            _log.warning("kill switch engaged (%s), flatten=%s", reason, flatten)
            self._emit(run, "killswitch.engaged", engaged)
            still_open = self._cancel_all(run)
            remaining = self._flatten_all(run) if flatten else []
            self.state.halt(reason)
            self._journal_state(run, TradingState.HALTED, reason)
            report = KillReport(
                reason,
                flatten,
                self.strategy,
                previous.value,
                started,
                self._now_ms(),
                tuple(run.cancels),
                tuple(run.flattens),
                tuple(still_open),
                tuple(remaining),
                tuple(run.errors),
                tuple(run.warnings),
            )
            (_log.info if report.ok else _log.error)("kill switch: %s", report.summary())
            self._emit(run, "killswitch.halted", report)
            return report

    # -- steps ---------------------------------------------------------------------------
    def _cancel_all(self, run: _Run) -> list[KillOrder]:
        orders = self._read(run, self.target.open_orders, "reading open orders")
        asked: list[KillOrder] = []
        for order in orders or []:
            try:
                self.target.cancel(order)
                asked.append(order)
                continue
            except OrderNotFoundError:
                outcome = CancelOutcome(order, "already_closed")
            except Exception as exc:  # one failure must not stop the others
                outcome = CancelOutcome(order, "failed", _error_text(exc))
            self._cancel_outcome(run, outcome)
        ids = {o.id for o in asked}
        left = {o.id for o in self._wait(run, self.target.open_orders, lambda o: o.id in ids)}
        for order in asked:
            if order.id in left:
                outcome = CancelOutcome(order, "unconfirmed", "still open after the bounded wait")
            else:
                outcome = CancelOutcome(order, "canceled")
            self._cancel_outcome(run, outcome)
        return self._read(run, self.target.open_orders, "reading open orders") or []

    def _cancel_outcome(self, run: _Run, outcome: CancelOutcome) -> None:
        run.cancels.append(outcome)
        topic = "killswitch.cancel_failed" if outcome.error else "killswitch.order_canceled"
        self._emit(run, topic, outcome)

    def _flatten_all(self, run: _Run) -> list[KillPosition]:
        positions = [p for p in self._read(run, self.target.positions, "reading positions") or []]
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
            return [p for p in positions if _needs_close(p)]
        return self._wait(run, self.target.positions, _needs_close)

    def _wait(
        self, run: _Run, read: Callable[[], list[Any]], pending: Callable[[Any], bool]
    ) -> list[Any]:
        deadline = self._clock() + self.confirm_timeout
        while True:
            items = self._read(run, read, "confirming")
            left = [i for i in items or [] if pending(i)]
            if not left or items is None or self._clock() >= deadline:
                return left
            self._sleep(self.poll_interval)

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
            self.bus.publish(topic, event)
        if isinstance(event, CancelOutcome | FlattenOutcome):
            what = event.order if isinstance(event, CancelOutcome) else event.position
            _log.info("kill switch: %s %s %s", topic, what.symbol, event.error)
        if self.journal is not None and self.journal_events:
            payload = event.to_dict() if isinstance(event, KillReport) else asdict(event)
            self._journaled(run, self.journal.record_event, topic, payload)

    def _journal_state(self, run: _Run, state: TradingState, reason: str) -> None:
        if self.journal is not None:
            self._journaled(run, write_trading_state, self.journal, state, reason)

    def _journaled(self, run: _Run, write: Callable[..., Any], *args: Any) -> None:
        try:
            write(*args, strategy=self.strategy or None, time_ms=self._now_ms())
        except Exception as exc:  # journaling must never stop the kill
            run.warnings.append(f"journal write failed: {_error_text(exc)}")
            _log.warning("kill switch: %s", run.warnings[-1])
