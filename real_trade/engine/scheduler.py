"""``Scheduler``: periodic tasks on one thread, on an injectable clock.

``schedule(task, interval)`` runs ``task()`` every ``interval`` seconds of the scheduler's
:class:`~real_trade.vocabulary.clock.Clock` (the system clock unless one is given, e.g. a
stepped :class:`~real_trade.sim.clock.SimClock` in tests) and returns a :class:`ScheduledTask`
handle with its run and failure counts; ``unschedule`` takes the handle or the task itself.
One thread runs every task in turn (:meth:`Scheduler.start`), or a caller drives it with
:meth:`Scheduler.run_pending`. A task that raises is logged and counted on its handle; it keeps
its schedule and never stops the others. A task running late is not run several times to catch
up: its next run is one interval after the late one.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from real_trade.errors import ConfigError, redact
from real_trade.vocabulary.clock import Clock, SystemClock

__all__ = ["ScheduledTask", "Scheduler"]

_log = logging.getLogger("real_trade.engine.scheduler")
_IDLE_WAIT_S = 3600.0  # how long the thread sleeps with nothing scheduled (woken on schedule)

Task = Callable[[], object]


@dataclass(eq=False)
class ScheduledTask:
    """One scheduled task: what runs, how often, when next, and how it went so far.

    ``runs`` counts every call (failed ones too), ``failures`` the calls that raised, and
    ``last_error`` holds the latest failure's text (secrets redacted). ``active`` turns False
    once unscheduled.
    """

    task: Task
    interval: float
    name: str
    next_due: float
    runs: int = 0
    failures: int = 0
    last_error: str | None = None
    active: bool = field(default=True)


def _name_of(task: Task) -> str:
    return str(getattr(task, "__qualname__", None) or getattr(task, "__name__", None) or task)


class Scheduler:
    """Runs tasks at fixed intervals on one thread (see the module docstring).

    ``Scheduler(clock=None, *, name="scheduler")``: ``clock`` is any
    :class:`~real_trade.vocabulary.clock.Clock` (default :class:`SystemClock`); ``name`` names the
    thread. Thread-safe: tasks may be scheduled and unscheduled from any thread, also while
    running, and from inside a task.
    """

    def __init__(self, clock: Clock | None = None, *, name: str = "scheduler") -> None:
        """Create an idle scheduler (nothing runs until :meth:`start` or :meth:`run_pending`)."""
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.name = name
        self._tasks: list[ScheduledTask] = []
        self._lock = threading.Lock()
        self._wakeup = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- scheduling ----------------------------------------------------------------------
    def schedule(
        self, task: Task, interval: float, *, name: str | None = None, run_now: bool = False
    ) -> ScheduledTask:
        """Run ``task()`` every ``interval`` seconds (> 0); first at once when ``run_now``.

        Returns the handle; ConfigError (naming ``interval``) for a bad interval, TypeError when
        ``task`` is not callable.
        """
        if not callable(task):
            raise TypeError(f"task must be callable, got {task!r}")
        if isinstance(interval, bool) or not isinstance(interval, int | float):
            raise ConfigError(
                f"interval must be a number of seconds, got {interval!r}",
                field="interval",
                fix="e.g. schedule(task, 5.0)",
            )
        if not math.isfinite(interval) or interval <= 0:
            raise ConfigError(
                f"interval must be a finite number of seconds > 0, got {interval}",
                field="interval",
                fix="e.g. schedule(task, 5.0)",
            )
        now = self.clock.now()
        handle = ScheduledTask(
            task, float(interval), name or _name_of(task), now if run_now else now + float(interval)
        )
        with self._lock:
            self._tasks.append(handle)
        self._wakeup.set()
        return handle

    def unschedule(self, task_or_handle: ScheduledTask | Task) -> bool:
        """Stop running a task: its handle, or the callable (every schedule of it).

        Returns whether anything was unscheduled. A run in progress finishes.
        """
        with self._lock:
            if isinstance(task_or_handle, ScheduledTask):
                doomed = [h for h in self._tasks if h is task_or_handle]
            else:
                doomed = [h for h in self._tasks if h.task == task_or_handle]
            for handle in doomed:
                handle.active = False
                self._tasks.remove(handle)
        if doomed:
            self._wakeup.set()
        return bool(doomed)

    @property
    def tasks(self) -> list[ScheduledTask]:
        """The scheduled tasks (handles), in the order they were scheduled."""
        with self._lock:
            return list(self._tasks)

    # -- running -------------------------------------------------------------------------
    def run_pending(self) -> int:
        """Run every task that is due now, earliest first; return how many ran."""
        ran = 0
        now = self.clock.now()
        with self._lock:
            due = sorted((h for h in self._tasks if h.next_due <= now), key=lambda h: h.next_due)
        for handle in due:
            if not handle.active:
                continue
            self._run_one(handle)
            ran += 1
            handle.next_due += handle.interval
            if handle.next_due <= self.clock.now():  # late: no burst of catch-up runs
                handle.next_due = self.clock.now() + handle.interval
        return ran

    def _run_one(self, handle: ScheduledTask) -> None:
        handle.runs += 1
        try:
            handle.task()
        except Exception as exc:
            handle.failures += 1
            handle.last_error = redact(f"{type(exc).__name__}: {exc}")
            _log.error(
                "scheduled task %s failed (%d of %d runs): %s",
                handle.name,
                handle.failures,
                handle.runs,
                handle.last_error,
            )

    def seconds_to_next(self) -> float | None:
        """Clock seconds until the next task is due (0 when one is due), None when idle."""
        with self._lock:
            if not self._tasks:
                return None
            first = min(h.next_due for h in self._tasks)
        return max(0.0, first - self.clock.now())

    def start(self) -> Scheduler:
        """Start the scheduler's thread (idempotent while running); return the scheduler."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return self
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop the thread after the task in progress (if any); wait up to ``timeout`` s."""
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._wakeup.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def is_running(self) -> bool:
        """Whether the scheduler's thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _loop(self) -> None:
        while True:
            self._wakeup.clear()
            if self._stopping:
                return
            self.run_pending()
            if self._stopping:
                return
            wait = self.seconds_to_next()
            self.clock.wait(self._wakeup, _IDLE_WAIT_S if wait is None else wait)

    def __repr__(self) -> str:
        """Name, clock, task count and whether the thread runs."""
        state = "running" if self.is_running() else "idle"
        count = len(self.tasks)
        return f"Scheduler(name={self.name!r}, clock={self.clock!r}, tasks={count}, {state})"
