"""StrategyExecutor: several runners by name, each on its own thread, seed 003's names too."""

from __future__ import annotations

import threading

import pytest

from real_trade.engine import ExecutableRunner, StrategyExecutor
from real_trade.errors import ConfigError
from real_trade.venues.retry import RetryPolicy
from tests.support import eventually


class BlockingRunner:
    """A runner (the executor's protocol) that runs on a thread until stopped, optionally
    crashing on its first ``crashes`` runs; it records the thread each run used."""

    def __init__(self, name: str, crashes: int = 0, journal: object = None) -> None:
        self.name = name
        self.journal_spec = journal
        self.crashes = crashes
        self.runs = 0
        self.threads: list[str] = []
        self._stop = threading.Event()
        self._running = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        self.runs += 1
        self._running.set()
        try:
            self.threads.append(threading.current_thread().name)
            if self.runs <= self.crashes:
                raise RuntimeError(f"{self.name} crashed")
            self._stop.wait(30)
        finally:
            self._running.clear()
            self._stop.clear()

    def start(self) -> BlockingRunner:
        self._running.set()
        self._thread = threading.Thread(target=self.run, name=f"fake-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> bool:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        return not self._running.is_set()

    def is_running(self) -> bool:
        return self._running.is_set()


def test_runners_start_stop_and_list_by_name_each_on_its_own_thread() -> None:
    a, b = BlockingRunner("sma"), BlockingRunner("rsi")
    assert isinstance(a, ExecutableRunner)
    with StrategyExecutor() as executor:
        assert executor.add(a) == "sma"
        assert executor.add(b, name="rsi-eth") == "rsi-eth"
        assert executor.names == ["sma", "rsi-eth"]
        assert executor.list() == []
        assert executor.start("sma") is True
        assert executor.start("sma") is False  # already running
        assert executor.start_strategy("rsi-eth") is True
        eventually(lambda: a.runs == 1 and b.runs == 1)
        assert sorted(executor.list()) == ["rsi-eth", "sma"]
        assert executor.get_running_strategies() == executor.list()
        assert a.threads[0] != b.threads[0], "each strategy has its own thread"
        assert executor.stop("sma") is True
        assert not executor.is_running("sma") and executor.is_strategy_running("rsi-eth")
        assert executor.stop_strategy("rsi-eth") is True
        assert executor.list() == []
        assert executor.stop("sma") is False


def test_unknown_and_duplicate_names_are_clear_errors() -> None:
    executor = StrategyExecutor()
    executor.add(BlockingRunner("sma"))
    with pytest.raises(ConfigError) as info:
        executor.add(BlockingRunner("sma"))
    assert info.value.field == "name"
    with pytest.raises(KeyError, match="no strategy 'nope'; known: \\['sma'\\]"):
        executor.start("nope")


def test_a_shared_journal_goes_to_runners_without_their_own() -> None:
    shared, own = object(), "sqlite:///own.db"
    executor = StrategyExecutor(journal=shared)
    first, second = BlockingRunner("a"), BlockingRunner("b", journal=own)
    executor.add(first)
    executor.add(second)
    assert first.journal_spec is shared
    assert second.journal_spec == own, "an isolated journal is kept"


def test_supervised_strategies_restart_after_a_crash() -> None:
    flaky = BlockingRunner("flaky", crashes=2)
    quick = RetryPolicy(max_attempts=5, base_delay=0.0, max_delay=0.0)
    executor = StrategyExecutor(supervise=True, retry=quick, max_restarts=5)
    executor.add(flaky)
    executor.start("flaky")
    try:
        eventually(lambda: flaky.runs == 3 and flaky.is_running())
        manager = executor.manager("flaky")
        assert manager is not None and manager.restarts == 2
        assert executor.list() == ["flaky"]
    finally:
        executor.stop_all()
    assert executor.list() == []


def test_remove_stops_and_forgets_a_strategy() -> None:
    executor = StrategyExecutor()
    runner = BlockingRunner("gone")
    executor.add(runner)
    executor.start("gone")
    eventually(runner.is_running)
    assert executor.remove("gone") is runner
    assert not runner.is_running() and executor.names == []
