"""RunnerControl: heartbeats into the journal, kill requests out of it, each handled once."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from real_trade.engine import RunnerControl, Scheduler
from real_trade.engine.control import (
    HEARTBEAT_KEY,
    KILL_DONE_KEY,
    KILL_REQUEST_KEY,
    heartbeat_key,
    install_stop_signals,
)
from real_trade.persistence import Journal
from real_trade.sim.clock import SimClock
from tests.support import eventually


class RecordingKill:
    """A kill switch that records each call and accepts from call ``accept_from`` on."""

    def __init__(self, accept_from: int = 1) -> None:
        self.calls: list[tuple[bool, str]] = []
        self.accept_from = accept_from

    def __call__(self, flatten: bool, reason: str) -> bool:
        self.calls.append((flatten, reason))
        return len(self.calls) >= self.accept_from


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(f"sqlite:///{tmp_path / 'control.db'}") as j:
        yield j


def test_heartbeats_carry_pid_time_strategy_and_details(journal: Journal) -> None:
    control = RunnerControl(journal, "sma", RecordingKill(), details=lambda: {"mode": "paper"})
    control.beat()
    beat = journal.get_state(HEARTBEAT_KEY)
    assert beat["pid"] == os.getpid() and beat["strategy"] == "sma"
    assert beat["state"] == "running" and beat["mode"] == "paper" and beat["time_ms"] > 0
    assert journal.get_state(heartbeat_key("sma")) == beat
    control.beat("stopped")
    assert journal.get_state(HEARTBEAT_KEY)["state"] == "stopped"


def test_a_kill_request_is_carried_out_once_and_marked_done(journal: Journal) -> None:
    kill = RecordingKill()
    control = RunnerControl(journal, "sma", kill)
    assert control.poll_kill() is False  # nothing requested
    journal.set_state(KILL_REQUEST_KEY, {"id": "k1", "flatten": True, "reason": "drill"})
    assert control.poll_kill() is True
    assert kill.calls == [(True, "drill")]
    assert journal.get_state(KILL_DONE_KEY) == "k1"
    assert control.poll_kill() is False and len(kill.calls) == 1
    journal.set_state(KILL_REQUEST_KEY, {"id": "k2", "flatten": False, "reason": ""})
    assert control.poll_kill() is True
    assert kill.calls[-1] == (False, "kill requested")


def test_a_request_done_by_an_earlier_run_is_not_repeated(journal: Journal) -> None:
    journal.set_state(KILL_REQUEST_KEY, {"id": "old", "flatten": False, "reason": "x"})
    journal.set_state(KILL_DONE_KEY, "old")
    kill = RecordingKill()
    assert RunnerControl(journal, "sma", kill).poll_kill() is False
    assert kill.calls == []


def test_a_kill_the_runner_cannot_take_yet_is_retried_at_the_next_poll(journal: Journal) -> None:
    kill = RecordingKill(accept_from=2)  # e.g. the broker is still starting
    clock = SimClock(stepped=True)
    scheduler = Scheduler(clock)
    RunnerControl(journal, "sma", kill, heartbeat_interval=5.0, poll_interval=1.0).install(
        scheduler
    )
    journal.set_state(KILL_REQUEST_KEY, {"id": "k9", "flatten": False, "reason": "stop"})
    scheduler.run_pending()  # both tasks run at once: heartbeat + first poll (refused)
    assert len(kill.calls) == 1 and journal.get_state(KILL_DONE_KEY) is None
    assert journal.get_state(HEARTBEAT_KEY)["strategy"] == "sma"
    clock.advance(1.0)
    scheduler.run_pending()
    assert len(kill.calls) == 2 and journal.get_state(KILL_DONE_KEY) == "k9"


def test_a_first_signal_stops_gracefully_and_a_second_stops_at_once() -> None:
    requested: list[str] = []
    notes: list[str] = []
    previous = install_stop_signals(
        lambda: requested.append("stop"), lambda: bool(requested), notes.append
    )
    try:
        assert set(previous) == {signal.SIGINT, signal.SIGTERM}
        os.kill(os.getpid(), signal.SIGTERM)
        eventually(lambda: requested == ["stop"], message="the first signal asked to stop")
        assert notes == ["SIGTERM received: stopping gracefully (SIGTERM again stops at once)"]
        with pytest.raises(KeyboardInterrupt, match="SIGINT again: stopping at once"):
            os.kill(os.getpid(), signal.SIGINT)
            eventually(lambda: False, timeout=5, message="the second signal never came")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
