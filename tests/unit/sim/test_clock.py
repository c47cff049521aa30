"""Tests for real_trade.sim.clock.SimClock: real-time, accelerated and stepped modes."""

from __future__ import annotations

import math
import threading

import pytest

from real_trade.sim.clock import SimClock
from tests.support import eventually

START = 1_700_000_000_000


class FakeWall:
    """A wall clock the test moves by hand (seconds since the epoch)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_real_time_default_start_is_the_wall_clock() -> None:
    wall = FakeWall(1_700_000_000.5)
    clock = SimClock(wall=wall)
    assert clock.now_ms() == 1_700_000_000_500
    assert clock.start_ms == 1_700_000_000_500
    wall.now += 2.25
    assert clock.now_ms() == 1_700_000_002_750


def test_real_time_with_start_moves_at_wall_pace() -> None:
    wall = FakeWall(1_000.0)
    clock = SimClock(start_ms=START, wall=wall)
    assert clock.now_ms() == START
    wall.now += 10.0
    assert clock.now_ms() == START + 10_000


def test_accelerated_clock_runs_speed_times_faster() -> None:
    wall = FakeWall(50.0)
    clock = SimClock(start_ms=START, speed=60, wall=wall)
    assert clock.now_ms() == START
    wall.now += 1.0
    assert clock.now_ms() == START + 60_000  # one market minute per wall second
    wall.now += 0.5
    assert clock.now_ms() == START + 90_000
    assert clock.to_wall_seconds(60_000) == pytest.approx(1.0)
    assert clock.to_wall_seconds(-5) == 0.0


def test_changing_speed_keeps_time_continuous() -> None:
    wall = FakeWall(0.0)
    clock = SimClock(start_ms=START, speed=10, wall=wall)
    wall.now = 1.0
    assert clock.now_ms() == START + 10_000
    clock.speed = 100
    assert clock.speed == 100
    assert clock.now_ms() == START + 10_000
    wall.now = 2.0
    assert clock.now_ms() == START + 110_000


def test_now_never_goes_backwards_when_the_wall_does() -> None:
    wall = FakeWall(100.0)
    clock = SimClock(start_ms=START, wall=wall)
    wall.now = 105.0
    assert clock.now_ms() == START + 5_000
    wall.now = 101.0  # NTP step backwards
    assert clock.now_ms() == START + 5_000
    wall.now = 106.0
    assert clock.now_ms() == START + 6_000


def test_stepped_clock_moves_only_on_advance() -> None:
    wall = FakeWall(0.0)
    clock = SimClock(start_ms=START, stepped=True, wall=wall)
    assert clock.stepped
    wall.now = 1_000.0
    assert clock.now_ms() == START
    clock.advance(1.5)
    assert clock.now_ms() == START + 1_500
    clock.advance(0)
    assert clock.now_ms() == START + 1_500


def test_stepped_small_advances_do_not_drift() -> None:
    clock = SimClock(start_ms=START, stepped=True)
    for _ in range(1_000):
        clock.advance(0.001)
    assert clock.now_ms() == START + 1_000


@pytest.mark.parametrize("seconds", [-0.001, math.nan, math.inf])
def test_advance_rejects_bad_amounts(seconds: float) -> None:
    clock = SimClock(start_ms=START, stepped=True)
    with pytest.raises(ValueError, match="seconds"):
        clock.advance(seconds)
    assert clock.now_ms() == START


def test_advance_needs_a_stepped_clock() -> None:
    clock = SimClock(start_ms=START, wall=FakeWall(0.0))
    with pytest.raises(ValueError, match="stepped"):
        clock.advance(1.0)


@pytest.mark.parametrize("speed", [0, -1.0, math.nan, math.inf])
def test_bad_speed_is_rejected(speed: float) -> None:
    with pytest.raises(ValueError, match="speed"):
        SimClock(start_ms=START, speed=speed)
    clock = SimClock(start_ms=START)
    with pytest.raises(ValueError, match="speed"):
        clock.speed = speed


def test_concurrent_advances_are_all_counted() -> None:
    clock = SimClock(start_ms=START, stepped=True)

    def worker() -> None:
        for _ in range(500):
            clock.advance(0.002)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.now_ms() == START + 4 * 500 * 2


def test_repr_names_the_mode() -> None:
    assert "stepped" in repr(SimClock(start_ms=START, stepped=True))
    assert "speed=60" in repr(SimClock(start_ms=START, speed=60, wall=FakeWall(0.0)))


def test_now_is_the_same_time_in_seconds() -> None:
    stepped = SimClock(start_ms=START, stepped=True)
    assert stepped.now() == START / 1000
    assert stepped.advance(4.9) == pytest.approx(START / 1000 + 4.9)
    assert stepped.advance(0.1) == START / 1000 + 5.0  # ns steps: exact, no float drift
    assert stepped.now_ms() == START + 5_000
    wall = FakeWall(10.0)
    running = SimClock(start_ms=START, speed=2, wall=wall)
    wall.now += 1.5
    assert running.now() == (START + 3_000) / 1000


def test_a_waiter_on_a_stepped_clock_wakes_when_advance_passes_its_end() -> None:
    clock = SimClock(start_ms=START, stepped=True)
    wakeup, woke = threading.Event(), threading.Event()
    result: list[bool] = []

    def waiter() -> None:
        result.append(clock.wait(wakeup, 10.0))
        woke.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    eventually(lambda: clock.waiters == 1, message="the waiter waits on the clock")
    clock.advance(9.9)
    assert not woke.wait(0.1)  # 9.9 of 10 market seconds: still waiting
    clock.advance(0.1)
    thread.join(timeout=5)
    assert result == [False] and clock.waiters == 0


def test_setting_the_event_ends_a_wait_on_a_stepped_clock() -> None:
    clock = SimClock(start_ms=START, stepped=True)
    wakeup = threading.Event()
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(clock.wait(wakeup, 3600.0)))
    thread.start()
    eventually(lambda: clock.waiters == 1)
    wakeup.set()
    thread.join(timeout=5)
    assert result == [True]
    assert clock.now_ms() == START  # nothing moved the clock


def test_a_running_clock_waits_its_market_seconds() -> None:
    wakeup = threading.Event()
    clock = SimClock(start_ms=START, speed=1_000)  # 1000 market seconds per wall second
    assert clock.wait(wakeup, 50.0) is False  # 50 ms of wall time
    assert clock.now_ms() >= START + 50_000
    wakeup.set()
    assert clock.wait(wakeup, 3600.0) is True
