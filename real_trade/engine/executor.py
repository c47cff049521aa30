"""``StrategyExecutor``: several strategies at once, by name, each on its own thread.

Seed 003's executor (``start_strategy(name)``, ``stop_strategy(name)``,
``is_strategy_running(name)``, ``get_running_strategies()``) with the pythonic names beside them
(:meth:`~StrategyExecutor.start`, :meth:`~StrategyExecutor.stop`,
:meth:`~StrategyExecutor.is_running`, :meth:`~StrategyExecutor.list`). Each strategy is a
:class:`~real_trade.engine.runner.TradingRunner` (or any :class:`ExecutableRunner`) added
under its name. Journals are either
isolated (each runner keeps its own, e.g. its own URL) or shared: ``StrategyExecutor(journal=...)``
(a Journal or a URL opened once) goes to every runner added without a journal of its own, and
its rows are keyed by each runner's name. A shared journal is attached to one bus, so the
runners sharing it must publish on the same bus (the process bus, by default). With
``supervise=True`` each runner runs under a
:class:`~real_trade.engine.lifecycle.LifecycleManager` that restarts it after a crash.
"""

from __future__ import annotations

import builtins
import threading
from typing import Any, Protocol, runtime_checkable

from real_trade.engine.lifecycle import LifecycleManager
from real_trade.errors import ConfigError
from real_trade.venues.retry import RetryPolicy

__all__ = ["ExecutableRunner", "StrategyExecutor"]


@runtime_checkable
class ExecutableRunner(Protocol):
    """What the executor needs of a runner (a ``TradingRunner`` has all of it).

    ``name``; ``journal_spec`` (the journal its next run uses: None, a URL or a Journal);
    ``run()`` (blocking), ``start()`` (on its own thread), ``stop(timeout)`` and
    ``is_running()``.
    """

    name: str
    journal_spec: Any

    def run(self) -> object:
        """Run until stopped (blocking)."""
        ...

    def start(self) -> object:
        """Run on a background thread."""
        ...

    def stop(self, timeout: float | None = None) -> object:
        """Stop gracefully, waiting up to ``timeout`` seconds."""
        ...

    def is_running(self) -> bool:
        """Whether a run is in progress."""
        ...


class StrategyExecutor:
    """Runs several runners (:class:`~real_trade.engine.runner.TradingRunner`) by name.

    ``StrategyExecutor(*, journal=None, supervise=False, retry=None, max_restarts=5)``:
    ``journal`` is the shared journal (None: each runner keeps its own); ``supervise`` runs
    each strategy under a LifecycleManager with ``retry`` and ``max_restarts``.
    Thread-safe. Use it as a context manager to stop everything (and close a shared journal
    it opened) on the way out.
    """

    def __init__(
        self,
        *,
        journal: Any = None,
        supervise: bool = False,
        retry: RetryPolicy | None = None,
        max_restarts: int | None = 5,
    ) -> None:
        """Create an empty executor; a journal URL is opened here (and closed by :meth:`close`)."""
        from real_trade.persistence.handle import open_journal

        self._journal_handle = open_journal(journal)
        self.journal: Any = None if self._journal_handle is None else self._journal_handle.journal
        self.supervise = supervise
        self.retry = retry
        self.max_restarts = max_restarts
        self._runners: dict[str, ExecutableRunner] = {}
        self._managers: dict[str, LifecycleManager] = {}
        self._lock = threading.Lock()

    # -- membership ----------------------------------------------------------------------
    def add(self, runner: ExecutableRunner, name: str | None = None) -> str:
        """Add ``runner`` under ``name`` (default: its own name); return the name.

        A runner without a journal gets the shared one. ConfigError for a name taken already.
        """
        key = name or runner.name
        with self._lock:
            if key in self._runners:
                raise ConfigError(
                    f"a strategy named {key!r} is already added",
                    field="name",
                    fix="give each strategy its own name",
                )
            if self.journal is not None and runner.journal_spec is None:
                runner.journal_spec = self.journal
            self._runners[key] = runner
        return key

    def remove(self, name: str, timeout: float | None = 10.0) -> ExecutableRunner:
        """Stop the strategy ``name`` and forget it; return its runner (KeyError if unknown)."""
        self.stop(name, timeout)
        with self._lock:
            self._managers.pop(name, None)
            return self._runners.pop(name)

    def runner(self, name: str) -> ExecutableRunner:
        """The runner added under ``name`` (KeyError naming the known ones when missing)."""
        with self._lock:
            found = self._runners.get(name)
            if found is None:
                raise KeyError(f"no strategy {name!r}; known: {sorted(self._runners)}")
            return found

    def manager(self, name: str) -> LifecycleManager | None:
        """The LifecycleManager supervising ``name`` (with ``supervise=True``), else None."""
        with self._lock:
            return self._managers.get(name)

    @property
    def names(self) -> builtins.list[str]:
        """Every added strategy's name, in the order added."""
        with self._lock:
            return builtins.list(self._runners)

    # -- pythonic face -------------------------------------------------------------------
    def start(self, name: str) -> bool:
        """Start ``name`` on its own thread; False when it was running already."""
        runner = self.runner(name)
        with self._lock:
            if self._is_running(name, runner):
                return False
            if self.supervise:
                manager = LifecycleManager(
                    runner,
                    retry=self.retry,
                    max_restarts=self.max_restarts,
                    name=f"lifecycle-{name}",
                )
                self._managers[name] = manager
                manager.start()
            else:
                runner.start()
        return True

    def stop(self, name: str, timeout: float | None = 10.0) -> bool:
        """Stop ``name`` gracefully; False when it was not running."""
        runner = self.runner(name)
        with self._lock:
            manager = self._managers.get(name)
            was_running = self._is_running(name, runner)
        if manager is not None:
            manager.stop(timeout)
        else:
            runner.stop(timeout)
        return was_running

    def is_running(self, name: str) -> bool:
        """Whether ``name`` is running (or, supervised, waiting to restart)."""
        runner = self.runner(name)
        with self._lock:
            return self._is_running(name, runner)

    def _is_running(self, name: str, runner: ExecutableRunner) -> bool:
        manager = self._managers.get(name)
        return runner.is_running() or (manager is not None and manager.is_running())

    def list(self) -> builtins.list[str]:
        """The names of the strategies running now."""
        with self._lock:
            return [n for n, r in self._runners.items() if self._is_running(n, r)]

    def start_all(self) -> builtins.list[str]:
        """Start every added strategy that is not running; return the names started."""
        return [name for name in self.names if self.start(name)]

    def stop_all(self, timeout: float | None = 10.0) -> builtins.list[str]:
        """Stop every running strategy (in parallel); return the names stopped."""
        running = self.list()
        threads = [threading.Thread(target=self.stop, args=(n, timeout)) for n in running]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return running

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop everything and close the shared journal when this executor opened it."""
        self.stop_all(timeout)
        if self._journal_handle is not None:
            self._journal_handle.release()
            self._journal_handle = None

    def __enter__(self) -> StrategyExecutor:
        """Return the executor."""
        return self

    def __exit__(self, *exc: object) -> None:
        """:meth:`close` it."""
        self.close()

    # -- seed 003 names ------------------------------------------------------------------
    def start_strategy(self, strategy_name: str) -> bool:
        """Seed 003: start a strategy by name (True when started now)."""
        return self.start(strategy_name)

    def stop_strategy(self, strategy_name: str) -> bool:
        """Seed 003: stop a strategy by name (True when it was running)."""
        return self.stop(strategy_name)

    def is_strategy_running(self, strategy_name: str) -> bool:
        """Seed 003: whether the strategy is running."""
        return self.is_running(strategy_name)

    def get_running_strategies(self) -> builtins.list[str]:
        """Seed 003: the names of the running strategies."""
        return self.list()

    def __repr__(self) -> str:
        """The strategies and which of them run."""
        return f"StrategyExecutor(strategies={self.names!r}, running={self.list()!r})"
