"""LifecycleManager restarts a crashing target with backoff, gives up at its limit, stops."""

from __future__ import annotations

import random
import threading

import pytest

from real_trade.engine import LifecycleManager
from real_trade.errors import ConfigError, NetworkError
from real_trade.sim.clock import SimClock
from real_trade.venues.retry import RetryPolicy
from tests.support import eventually

NO_WAIT = RetryPolicy(max_attempts=4, base_delay=0.0, max_delay=0.0, jitter=0.0)


class CrashingTarget:
    """A runnable whose ``run()`` raises ``error`` on its first ``crashes`` calls, then
    blocks until ``stop()`` (or returns at once when ``block`` is False)."""

    def __init__(self, crashes: int, error: Exception | None = None, block: bool = True) -> None:
        self.crashes = crashes
        self.error = error or RuntimeError("strategy loop crashed")
        self.block = block
        self.calls = 0
        self.stops = 0
        self._stopped = threading.Event()

    def run(self) -> None:
        self.calls += 1
        if self.calls <= self.crashes:
            raise self.error
        if self.block:
            self._stopped.wait(30)

    def stop(self, timeout: float | None = None) -> bool:
        self.stops += 1
        self._stopped.set()
        return True


def test_a_crashed_target_is_restarted_until_it_runs_then_stops_on_request() -> None:
    target = CrashingTarget(crashes=2)
    manager = LifecycleManager(target, retry=NO_WAIT, max_restarts=5).start()
    try:
        eventually(lambda: target.calls == 3 and manager.state == "running")
        assert manager.restarts == 2 and manager.crashes == 2
        assert isinstance(manager.last_error, RuntimeError)
        assert manager.is_running() and not manager.failed
    finally:
        assert manager.stop(timeout=10)
    assert not manager.is_running()
    assert target.stops >= 1 and manager.state == "stopped"


def test_it_gives_up_after_max_restarts_crashes_in_a_row() -> None:
    target = CrashingTarget(crashes=100)
    manager = LifecycleManager(target, retry=NO_WAIT, max_restarts=3).start()
    assert manager.wait(timeout=10)
    assert target.calls == 4  # the first run and three restarts
    assert manager.failed and manager.state == "failed"
    assert manager.restarts == 3
    assert str(manager.last_error) == "strategy loop crashed"


def test_an_error_no_restart_can_fix_ends_supervision_at_once() -> None:
    target = CrashingTarget(crashes=5, error=ConfigError("bad symbol", field="symbol"))
    manager = LifecycleManager(target, retry=NO_WAIT).start()
    assert manager.wait(timeout=10)
    assert target.calls == 1 and manager.restarts == 0 and manager.failed


def test_a_target_that_returns_is_not_restarted() -> None:
    target = CrashingTarget(crashes=1, block=False)
    manager = LifecycleManager(target, retry=NO_WAIT).start()
    assert manager.wait(timeout=10)
    assert target.calls == 2 and manager.state == "finished" and not manager.failed


def test_stop_interrupts_the_backoff_wait() -> None:
    clock = SimClock(stepped=True)  # never advanced: the backoff would wait forever
    slow = RetryPolicy(max_attempts=3, base_delay=60.0, max_delay=60.0)
    target = CrashingTarget(crashes=1)
    manager = LifecycleManager(target, retry=slow, clock=clock).start()
    eventually(lambda: manager.state == "backoff" and clock.waiters > 0)
    assert manager.stop(timeout=10)
    assert target.calls == 1 and manager.restarts == 0 and manager.state == "stopped"


def test_the_backoff_grows_exponentially_on_the_clock() -> None:
    clock = SimClock(stepped=True)
    policy = RetryPolicy(
        max_attempts=5, base_delay=10.0, multiplier=2.0, max_delay=100.0, jitter=0.0
    )
    target = CrashingTarget(crashes=2)
    manager = LifecycleManager(target, retry=policy, clock=clock).start()
    try:
        eventually(lambda: manager.state == "backoff" and clock.waiters > 0)
        clock.advance(9.9)
        assert target.calls == 1
        clock.advance(0.1)  # 10 s after the first crash
        eventually(lambda: target.calls == 2 and clock.waiters > 0)
        clock.advance(19.9)
        assert target.calls == 2
        clock.advance(0.1)  # 20 s after the second
        eventually(lambda: target.calls == 3 and manager.state == "running")
    finally:
        manager.stop(timeout=10)


def test_run_with_retry_retries_then_returns_the_result() -> None:
    attempts: list[int] = []

    def flaky(value: int) -> int:
        attempts.append(value)
        if len(attempts) < 3:
            raise NetworkError("connection reset")
        return value * 2

    manager = LifecycleManager(lambda: None, retry=NO_WAIT, rng=random.Random(1))
    assert manager.run_with_retry(flaky, 21) == 42
    assert attempts == [21, 21, 21]


def test_run_with_retry_reraises_after_the_limit_and_at_once_for_fatal_errors() -> None:
    calls: list[str] = []

    def always(kind: str) -> None:
        calls.append(kind)
        raise (ValueError("still broken") if kind == "plain" else ConfigError("bad", field="x"))

    manager = LifecycleManager(lambda: None, retry=NO_WAIT)
    with pytest.raises(ValueError, match="still broken"):
        manager.run_with_retry(always, "plain")
    assert calls.count("plain") == NO_WAIT.max_attempts
    with pytest.raises(ConfigError):
        manager.run_with_retry(always, "fatal")
    assert calls.count("fatal") == 1


def test_a_plain_callable_can_be_supervised() -> None:
    runs: list[int] = []

    def job() -> None:
        runs.append(1)
        if len(runs) < 2:
            raise RuntimeError("first run fails")

    manager = LifecycleManager(job, retry=NO_WAIT).start()
    assert manager.wait(timeout=10)
    assert len(runs) == 2 and manager.restarts == 1 and manager.state == "finished"
