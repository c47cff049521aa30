"""The Scheduler runs tasks at intervals on its clock; a stepped SimClock makes it deterministic."""

from __future__ import annotations

import threading

import pytest

from real_trade.engine import ScheduledTask, Scheduler
from real_trade.errors import ConfigError
from real_trade.sim.clock import SimClock
from tests.support import eventually


class Counter:
    """A task that counts its calls (and raises on the calls listed in ``fail_on``)."""

    def __init__(self, fail_on: tuple[int, ...] = ()) -> None:
        self.calls = 0
        self.fail_on = fail_on

    def __call__(self) -> None:
        self.calls += 1
        if self.calls in self.fail_on:
            raise RuntimeError(f"boom on call {self.calls}")


def test_a_task_runs_once_per_interval_of_the_clock() -> None:
    clock = SimClock(stepped=True)
    scheduler = Scheduler(clock)
    task = Counter()
    handle = scheduler.schedule(task, 5.0)
    assert scheduler.run_pending() == 0  # not due before its first interval
    clock.advance(4.9)
    assert scheduler.run_pending() == 0
    clock.advance(0.1)
    assert scheduler.run_pending() == 1
    clock.advance(5.0)
    scheduler.run_pending()
    assert task.calls == 2
    assert handle.runs == 2 and handle.failures == 0


def test_run_now_runs_at_once_and_a_late_task_does_not_burst_to_catch_up() -> None:
    clock = SimClock(stepped=True)
    scheduler = Scheduler(clock)
    task = Counter()
    scheduler.schedule(task, 1.0, run_now=True)
    assert scheduler.run_pending() == 1
    clock.advance(10.0)  # ten intervals missed
    assert scheduler.run_pending() == 1
    assert scheduler.run_pending() == 0
    assert scheduler.seconds_to_next() == pytest.approx(1.0)


def test_a_failing_task_is_counted_and_never_stops_the_others() -> None:
    clock = SimClock(stepped=True)
    scheduler = Scheduler(clock)
    flaky, steady = Counter(fail_on=(1, 2)), Counter()
    bad = scheduler.schedule(flaky, 1.0, name="flaky")
    good = scheduler.schedule(steady, 1.0, name="steady")
    for _ in range(3):
        clock.advance(1.0)
        scheduler.run_pending()
    assert (bad.runs, bad.failures) == (3, 2)
    assert bad.last_error == "RuntimeError: boom on call 2"
    assert (good.runs, good.failures) == (3, 0)
    assert bad.active, "a failure keeps the task scheduled"


def test_unschedule_by_handle_or_by_task() -> None:
    clock = SimClock(stepped=True)
    scheduler = Scheduler(clock)
    first, second = Counter(), Counter()
    handle = scheduler.schedule(first, 1.0)
    scheduler.schedule(second, 1.0)
    scheduler.schedule(second, 2.0)
    assert scheduler.unschedule(handle) is True
    assert scheduler.unschedule(second) is True  # both schedules of it
    assert scheduler.unschedule(second) is False
    assert scheduler.tasks == [] and handle.active is False
    clock.advance(5.0)
    assert scheduler.run_pending() == 0
    assert first.calls == second.calls == 0


def test_bad_intervals_and_tasks_are_refused_with_the_field_named() -> None:
    scheduler = Scheduler(SimClock(stepped=True))
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError) as info:
            scheduler.schedule(Counter(), bad)
        assert info.value.field == "interval"
    with pytest.raises(TypeError):
        scheduler.schedule("not callable", 1.0)  # type: ignore[arg-type]


def test_the_thread_runs_tasks_as_the_manual_clock_moves_and_stops() -> None:
    clock = SimClock(stepped=True)
    scheduler = Scheduler(clock, name="test-scheduler").start()
    try:
        task = Counter()
        handle: ScheduledTask = scheduler.schedule(task, 10.0)
        eventually(lambda: clock.waiters > 0, message="the scheduler waits on the clock")
        assert task.calls == 0
        clock.advance(10.0)
        eventually(lambda: handle.runs == 1, message="the task ran after 10 clock seconds")
        clock.advance(10.0)
        eventually(lambda: handle.runs == 2, message="and again 10 seconds later")
        assert scheduler.is_running()
    finally:
        scheduler.stop()
    assert not scheduler.is_running()


def test_a_task_scheduled_while_the_thread_sleeps_wakes_it() -> None:
    clock = SimClock(stepped=True)
    scheduler = Scheduler(clock).start()
    try:
        eventually(lambda: clock.waiters > 0)
        ran = threading.Event()
        scheduler.schedule(ran.set, 3600.0, run_now=True)
        eventually(ran.is_set, message="a run_now task runs without the clock moving")
    finally:
        scheduler.stop()
