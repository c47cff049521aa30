"""``LifecycleManager``: keep a runner running, restarting it with backoff after a crash.

``LifecycleManager(runner).start()`` calls ``runner.run()`` on a supervisor thread. When
``run()`` returns, the run is over (stopped, or its data ended) and nothing restarts. When it
raises, the error is logged and kept (:attr:`LifecycleManager.last_error`), the manager waits a
jittered exponential backoff (a :class:`~real_trade.venues.retry.RetryPolicy`) and calls ``run()``
again, up to ``max_restarts`` crashes in a row; a run that lasted ``reset_after`` seconds resets
that count. Errors that no restart can fix (bad config, refused credentials, unknown symbol)
end the supervision at once. :meth:`LifecycleManager.run_with_retry` applies the same backoff to
one call. The waits are on an injectable :class:`~real_trade.vocabulary.clock.Clock`, so tests need
not sleep, and :meth:`LifecycleManager.stop` interrupts them.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

from real_trade.errors import (
    AuthenticationError,
    BadSymbolError,
    ConfigError,
    NotSupportedError,
    redact,
)
from real_trade.venues.retry import RetryPolicy
from real_trade.vocabulary.clock import Clock, SystemClock

__all__ = ["DEFAULT_RESTART_POLICY", "FATAL_ERRORS", "LifecycleManager", "Runnable"]

_log = logging.getLogger("real_trade.engine.lifecycle")
T = TypeVar("T")

FATAL_ERRORS: tuple[type[BaseException], ...] = (
    ConfigError,
    AuthenticationError,
    BadSymbolError,
    NotSupportedError,
)
"""Errors that a restart cannot fix: supervision and retries end at once."""

DEFAULT_RESTART_POLICY = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=60.0, jitter=0.5)
"""The backoff between restarts when none is given: 1 s, 2 s, 4 s ... up to a minute."""


@runtime_checkable
class Runnable(Protocol):
    """What a manager supervises: ``run()`` blocks until done; ``stop()`` ends it from outside."""

    def run(self) -> object:
        """Run until stopped or finished; raise on a crash."""
        ...

    def stop(self, timeout: float | None = None) -> object:
        """Ask the run to end (and wait up to ``timeout`` seconds for it)."""
        ...


class LifecycleManager:
    """Supervises a :class:`Runnable` (or a plain callable): start, stop, restart on crashes.

    ``LifecycleManager(target, *, retry=None, max_restarts=5, clock=None, rng=None,
    fatal=FATAL_ERRORS, reset_after=600.0, name="lifecycle")``: ``retry`` is the backoff
    (default :data:`DEFAULT_RESTART_POLICY`; ``max_attempts`` bounds :meth:`run_with_retry`),
    ``max_restarts`` the crashes in a row tolerated (None: no limit). :attr:`restarts`,
    :attr:`last_error`, :attr:`failed` and :attr:`state` show how it went.
    """

    def __init__(
        self,
        target: Runnable | Callable[[], object],
        *,
        retry: RetryPolicy | None = None,
        max_restarts: int | None = 5,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        fatal: tuple[type[BaseException], ...] = FATAL_ERRORS,
        reset_after: float | None = 600.0,
        name: str = "lifecycle",
    ) -> None:
        """Configure the supervision (nothing runs until :meth:`start`)."""
        if max_restarts is not None and max_restarts < 0:
            raise ConfigError(
                f"max_restarts must be >= 0 or None, got {max_restarts}",
                field="max_restarts",
                fix="e.g. max_restarts=5",
            )
        self.target = target
        self.retry = retry if retry is not None else DEFAULT_RESTART_POLICY
        self.max_restarts = max_restarts
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.rng = rng
        self.fatal = fatal
        self.reset_after = reset_after
        self.name = name
        self.restarts = 0
        self.crashes = 0
        self.last_error: BaseException | None = None
        self.failed = False
        self.state = "idle"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- one call with retries -----------------------------------------------------------
    def run_with_retry(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``func(*args, **kwargs)``; after a failure wait a backoff and call it again.

        At most ``retry.max_attempts`` calls; the last error is re-raised (at once for a
        :data:`FATAL_ERRORS` error, or when :meth:`stop` interrupts a wait).
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                return func(*args, **kwargs)
            except self.fatal:
                raise
            except Exception as exc:
                self.last_error = exc
                if attempt >= self.retry.max_attempts or self._stop.is_set():
                    raise
                delay = self.retry.delay_for(attempt, exc, self.rng)
                _log.warning(
                    "%s: %s failed (attempt %d/%d): %s; retrying in %.2f s",
                    self.name,
                    getattr(func, "__name__", "call"),
                    attempt,
                    self.retry.max_attempts,
                    _describe(exc),
                    delay,
                )
                if self.clock.wait(self._stop, delay):
                    raise

    # -- supervision ---------------------------------------------------------------------
    def start(self) -> LifecycleManager:
        """Start supervising on a background thread (idempotent while running)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return self
            self._stop.clear()
            self.failed = False
            self.state = "starting"
            self._thread = threading.Thread(target=self._supervise, name=self.name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float | None = 30.0) -> bool:
        """Stop the target and the supervision; wait up to ``timeout`` s. True when it ended."""
        self._stop.set()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        while thread.is_alive():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            stop = getattr(self.target, "stop", None)
            if callable(stop):
                stop(timeout=min(1.0, left) if left is not None else 1.0)
            thread.join(0.05)
        return not thread.is_alive()

    def is_running(self) -> bool:
        """Whether the supervisor thread is alive (running the target or waiting to restart)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` s for the supervision to end; True when it has."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.is_running()

    def _run_target(self) -> None:
        if isinstance(self.target, Runnable):
            self.target.run()
        else:
            self.target()

    def _supervise(self) -> None:
        in_a_row = 0
        while not self._stop.is_set():
            started = self.clock.now()
            self.state = "running"
            try:
                self._run_target()
            except self.fatal as exc:
                self._give_up(exc, "cannot be fixed by a restart")
                return
            except Exception as exc:
                self.last_error = exc
                self.crashes += 1
                if self._stop.is_set():
                    break
                lasted = self.clock.now() - started
                in_a_row = (
                    1
                    if self.reset_after is not None and lasted >= self.reset_after
                    else (in_a_row + 1)
                )
                if self.max_restarts is not None and in_a_row > self.max_restarts:
                    self._give_up(exc, f"{in_a_row} crashes in a row")
                    return
                delay = self.retry.delay_for(in_a_row, exc, self.rng)
                _log.error(
                    "%s: the run crashed (%s); restart %d in %.2f s",
                    self.name,
                    _describe(exc),
                    self.restarts + 1,
                    delay,
                )
                self.state = "backoff"
                if self.clock.wait(self._stop, delay):
                    break
                self.restarts += 1
                continue
            self.state = "stopped" if self._stop.is_set() else "finished"
            return
        self.state = "stopped"

    def _give_up(self, exc: BaseException, why: str) -> None:
        self.last_error = exc
        self.failed = True
        self.state = "failed"
        _log.error("%s: giving up (%s): %s", self.name, why, _describe(exc))

    def __repr__(self) -> str:
        """State, restart count and the last error's type."""
        last = type(self.last_error).__name__ if self.last_error is not None else None
        return (
            f"LifecycleManager(name={self.name!r}, state={self.state!r}, "
            f"restarts={self.restarts}, last_error={last})"
        )


def _describe(exc: BaseException) -> str:
    return redact(f"{type(exc).__name__}: {exc}")
