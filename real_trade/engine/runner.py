"""``TradingRunner``: one strategy trading one venue, unattended, until it is told to stop.

A runner is built from a :class:`~real_trade.config.RealTradeConfig` plus runtime objects
(:meth:`TradingRunner.from_config`); the seed's call is a face that makes the config from its
arguments and works as written (nothing touches the network until :meth:`TradingRunner.run`)::

    runner = TradingRunner(exchange="binance", apikey="YOUR_API_KEY", secret="YOUR_SECRET",
                           symbol="BTC/USDT", timeframe="1h", strategy_cls=YourStrategy,
                           testnet=True, paper_trading=True)
    runner.run()          # blocks; Ctrl-C (SIGINT) or SIGTERM stops it gracefully

Each :meth:`~TradingRunner.run` builds a fresh Cerebro with the store, the broker (given the
journal, the risk limits and the run's ``name``) and one feed per symbol, all from the one
factory (:func:`real_trade.engine.factory.build_components`), attaches the journal
to the bus, starts a :class:`~real_trade.engine.scheduler.Scheduler` for the heartbeat and the
kill-request poll, and runs the strategy until :meth:`~TradingRunner.stop` (from any thread, or
a signal), the end of the data, or a crash, which is raised from ``run()`` (a
:class:`~real_trade.engine.lifecycle.LifecycleManager` restarts it). On the way out the journal
is flushed and closed and the store stopped; open orders stay at the exchange (the next start
recovers them from the journal) unless ``cancel_on_stop``. A second signal stops at once.

With a dead-man switch (``[run] dead_man_switch``, on by default for perpetuals on a venue that
has one: :mod:`real_trade.venues.dead_man`) each run arms the venue's cancel-all countdown
before the strategy starts and re-arms it on every heartbeat, so a process that dies leaves no
resting orders once the countdown passes; a clean stop disarms it, a crash leaves it armed.

Every closed bar is published on the bus as ``engine.bar`` (the :class:`BarReport`). With the
config's ``[metrics] enabled = true`` each run also serves the Prometheus endpoint
(:mod:`real_trade.monitor.prometheus`, fed by the bus) and publishes ``engine.heartbeat``
(the loop's pass count) every ``heartbeat_interval`` seconds; the exporter and its counters live
as long as the runner, the HTTP server as long as each run.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypedDict

from typing_extensions import Unpack

from real_trade.bus import EventBus, get_bus
from real_trade.config import RealTradeConfig
from real_trade.engine.commands import RunnerCommands
from real_trade.engine.control import RunnerControl, install_stop_signals
from real_trade.engine.factory import build_components
from real_trade.engine.lifecycle import FATAL_ERRORS
from real_trade.engine.loading import resolve_strategy
from real_trade.engine.notify_link import start_notifier, stop_notifier
from real_trade.engine.runtime import (
    BarCallback,
    BarReport,
    BarWatch,
    LoopHook,
)
from real_trade.engine.scheduler import Scheduler
from real_trade.errors import NotSupportedError, redact
from real_trade.persistence.handle import JournalHandle, open_journal
from real_trade.risk import LiveRiskConfig
from real_trade.venues.dead_man import DeadManSwitch, dead_man_for
from real_trade.vocabulary.clock import Clock, SystemClock

__all__ = ["RunnerOptions", "TradingRunner"]

_log = logging.getLogger("real_trade.engine")


class RunnerOptions(TypedDict, total=False):
    """The runtime objects of a runner, beside its :class:`RealTradeConfig` (all optional).

    ``bus`` (default: the process bus); ``clock`` (the scheduler's; default a
    :class:`SystemClock`); ``feed_options`` (to every feed: ``qcheck``, ``historical``,
    ``fromdate`` ...); ``on_bar`` (called with a :class:`BarReport` per closed bar); ``notify``
    (called with the runner's human-readable notes); ``heartbeat_interval`` (seconds, default
    5); ``cerebro_options`` (for ``bt.Cerebro``; ``stdstats`` is off unless given).
    """

    bus: EventBus | None
    clock: Clock | None
    feed_options: Mapping[str, Any] | None
    on_bar: BarCallback | None
    notify: Callable[[str], None] | None
    heartbeat_interval: float
    cerebro_options: Mapping[str, Any] | None


class _Default(enum.Enum):
    FROM_CONFIG = "from the config"


_FROM_CONFIG = _Default.FROM_CONFIG


class TradingRunner:
    """Runs a backtrader strategy live, on paper or testnet (see the module docstring).

    Built from a :class:`RealTradeConfig` by :meth:`from_config`: the venue, the mode, the
    symbols, the ``[run]`` section, the risk limits and the journal URL all come from it, and
    the other arguments are runtime objects only (:class:`RunnerOptions`).

    The constructor is the seed's face over it: ``exchange``, ``apikey``, ``secret``,
    ``symbol``, ``timeframe``, ``strategy_cls``, ``testnet``, ``paper_trading`` (True:
    simulated orders), and the config fields ``passphrase``, ``market_type``, ``initial_cash``,
    ``commission``, ``sim_url`` and the ``[run]`` fields ``name`` (the run's stable name: client
    order ids and the journal key; default the class name), ``symbols`` (one feed each; default
    ``[symbol]``), ``cancel_on_stop`` and ``history_bars``, become a :class:`RealTradeConfig`;
    ``journal`` (a database URL, a Journal, or None for none; default none), ``risk`` (a
    :class:`LiveRiskConfig`, a RiskEngine, or None for no limits) and ``strategy_params`` are
    as for :meth:`from_config`. Arguments are validated by the config system: a bad one raises
    ConfigError naming it.
    """

    def __init__(
        self,
        exchange: str = "binance",
        apikey: Any = None,
        secret: Any = None,
        symbol: str = "BTC/USDT",
        timeframe: str = "1h",
        strategy_cls: type | None = None,
        testnet: bool = False,
        paper_trading: bool = True,
        *,
        strategy_params: Mapping[str, Any] | None = None,
        name: str | None = None,
        passphrase: Any = None,
        market_type: str = "spot",
        symbols: list[str] | None = None,
        journal: Any = None,
        risk: Any = None,
        initial_cash: float = 10_000.0,
        commission: float = 0.001,
        sim_url: str | None = None,
        cancel_on_stop: bool = False,
        history_bars: int | None = None,
        **options: Unpack[RunnerOptions],
    ) -> None:
        """The seed's arguments as a config, then :meth:`from_config`'s path (no network yet)."""
        run = {
            "symbols": list(symbols or []),
            "name": name,
            "cancel_on_stop": cancel_on_stop,
            "history_bars": history_bars,
        }
        sections: dict[str, Any] = {"run": {k: v for k, v in run.items() if v is not None}}
        if isinstance(journal, str):
            sections["journal"] = {"url": journal}
            journal = _FROM_CONFIG
        if isinstance(risk, LiveRiskConfig):
            sections["risk"] = risk
            risk = _FROM_CONFIG
        config = RealTradeConfig(
            exchange=exchange,
            apikey=apikey,
            secret=secret,
            passphrase=passphrase,
            symbol=symbol,
            timeframe=timeframe,
            testnet=testnet,
            paper_trading=paper_trading,
            initial_cash=initial_cash,
            commission=commission,
            market_type=market_type,
            sim_url=sim_url,
            **sections,
        )
        self._configure(config, strategy_cls, strategy_params, journal, risk, **options)

    @classmethod
    def from_config(
        cls,
        config: RealTradeConfig,
        strategy_cls: type | None = None,
        *,
        strategy_params: Mapping[str, Any] | None = None,
        journal: Any = _FROM_CONFIG,
        risk: Any = _FROM_CONFIG,
        **options: Unpack[RunnerOptions],
    ) -> TradingRunner:
        """A runner for ``config``: its venue, mode, symbols, ``[run]`` section, risk limits and
        journal URL (no network, no threads yet).

        ``strategy_cls`` (default: ``run.strategy``) and ``strategy_params`` (over
        ``run.params``) are checked here. ``journal``: a Journal object to share, or None for
        no journal (default: ``config.journal.url``); ``risk``: a RiskEngine, or None for no
        limits (default: ``config.risk``). ``options``: the runtime objects
        (:class:`RunnerOptions`).
        """
        runner = cls.__new__(cls)
        runner._configure(config, strategy_cls, strategy_params, journal, risk, **options)
        return runner

    def _configure(
        self,
        config: RealTradeConfig,
        strategy_cls: type | None,
        strategy_params: Mapping[str, Any] | None,
        journal: Any,
        risk: Any,
        *,
        bus: EventBus | None = None,
        clock: Clock | None = None,
        feed_options: Mapping[str, Any] | None = None,
        on_bar: BarCallback | None = None,
        notify: Callable[[str], None] | None = None,
        heartbeat_interval: float = 5.0,
        cerebro_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.strategy_cls, self.strategy_params = resolve_strategy(
            config, strategy_cls, strategy_params
        )
        self.name: str = config.run.name or self.strategy_cls.__name__
        self.symbols = config.run_symbols
        self.cancel_on_stop = config.run.cancel_on_stop
        self.dead_man_venue = dead_man_for(config)  # ConfigError now, not at the first beat
        self.risk = config.risk if risk is _FROM_CONFIG else risk
        self.journal_spec = config.journal.url if journal is _FROM_CONFIG else journal
        self.bus = bus if bus is not None else get_bus()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.feed_options = dict(feed_options or {})
        self.on_bar = on_bar
        self.notify = notify
        self.heartbeat_interval = heartbeat_interval
        self.cerebro_options = {"stdstats": False, **dict(cerebro_options or {})}
        if self.journal_spec is None and config.trading_mode != "paper":
            _log.warning(
                "%s: no journal; orders are not journaled and a restart cannot "
                "recover them (give journal=URL)",
                self.name,
            )
        # state of the current run
        self.journal: Any = None
        self.cerebro: Any = None
        self.broker: Any = None
        self.datas: list[Any] = []
        self.strategy: Any = None
        self.scheduler: Scheduler | None = None
        self.control: RunnerControl | None = None
        self.health: Any = None  # a monitor HealthChecker on the bus while a journaled run runs
        self.last_error: BaseException | None = None
        self.bars = 0
        self.runs = 0
        self.stop_requested = False
        self._store: Any = None
        self._hook: LoopHook | None = None
        self._notifier: Any = None
        self._state = "idle"
        # reentrant: request_stop() runs in the signal handler, on the thread that may hold it
        self._lock = threading.RLock()
        self._stop_event = threading.Event()
        self._done = threading.Event()
        self._done.set()
        self._thread: threading.Thread | None = None
        self._run_thread_id: int | None = None
        self.metrics: Any = None  # the MetricsServer of the current run ([metrics] enabled)
        self._exporter: Any = None
        self.dead_man: DeadManSwitch | None = None  # the current run's, when one is armed

    # -- views ---------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        """``"paper"``, ``"testnet"`` or ``"live"``."""
        return self.config.trading_mode

    @property
    def state(self) -> str:
        """``"idle"``, ``"starting"``, ``"running"`` or ``"stopping"``."""
        return self._state

    def is_running(self) -> bool:
        """Whether a run is in progress (starting, running or stopping)."""
        return self._state != "idle"

    def __repr__(self) -> str:
        """Name, venue, symbols, timeframe, mode and state; never a credential."""
        return (
            f"TradingRunner(name={self.name!r}, exchange={self.config.exchange!r}, "
            f"symbols={self.symbols!r}, timeframe={self.config.timeframe!r}, "
            f"mode={self.mode!r}, state={self._state!r})"
        )

    # -- running -------------------------------------------------------------------------
    def run(self, handle_signals: bool = True) -> list[Any]:
        """Trade until stopped or the data ends; return Cerebro's strategies.

        In the main thread with ``handle_signals`` SIGINT and SIGTERM stop gracefully (a second
        one at once, as KeyboardInterrupt). A crash of the strategy loop, or live data that
        ended in an error, is raised.
        """
        self._begin()
        return self._run_begun(handle_signals)

    def _begin(self) -> None:
        with self._lock:
            if self._state != "idle":
                raise RuntimeError(f"{self!r} is already running")
            self._state = "starting"
            self._done.clear()
            self.stop_requested = False
            self.cerebro = self.broker = self.strategy = self.journal = None
            self.scheduler, self.control, self.datas = None, None, []
            self.runs += 1

    def _run_begun(self, handle_signals: bool) -> list[Any]:
        self._run_thread_id = threading.get_ident()
        previous = self._install_signals() if handle_signals else {}
        link: JournalHandle | None = None
        error: BaseException | None = None
        bars_before = self.bars
        try:
            link = open_journal(self.journal_spec, bus=self.bus, strategy=self.name)
            self.journal = link.journal if link is not None else None
            self._notifier = start_notifier(self.config, self.journal_spec, self.bus, self.name)
            self._start_metrics()
            self._start_scheduler()
            return self._run_cerebro()
        except BaseException as exc:
            self.last_error = error = exc
            raise
        finally:
            self._finish(link, previous, error, started=self.bars > bars_before)

    def _health(self) -> dict[str, list[str]]:
        """The run's own health checks for its heartbeat (what ``real-trade status`` shows)."""
        health = self.health
        if health is None:
            return {}
        health.trading_state = getattr(self.broker, "trading_state", None)
        engine = getattr(getattr(self.broker, "guard", None), "engine", None)
        health.breaker = getattr(engine, "breaker", None)
        checks = (
            health.check_feeds(),
            health.check_streams(),
            health.check_trading_state(),
            health.check_breaker(),
            health.check_memory(),
        )
        return {c.name: [c.status, c.detail] for c in checks if c.status != "unknown"}

    def _start_scheduler(self) -> None:
        scheduler = self.scheduler = Scheduler(self.clock, name=f"runner-{self.name}")
        if self.journal is not None:
            from real_trade.monitor.health import HealthChecker

            self.health = HealthChecker(self.bus)
            self.control = RunnerControl(
                self.journal,
                self.name,
                lambda flatten, why: self.kill(flatten, why) is not None,
                details=lambda: {
                    "mode": self.mode,
                    "symbols": self.symbols,
                    "exchange": self.config.exchange,
                    "runner": self._state,
                    "health": self._health(),
                },
                command=RunnerCommands(lambda: self._hook, lambda: self.broker),
                heartbeat_interval=self.heartbeat_interval,
            )
            self.control.install(scheduler)
        if self.metrics is not None:
            scheduler.schedule(self._heartbeat, self.heartbeat_interval, name="metrics-heartbeat")
        scheduler.start()

    def _start_metrics(self) -> None:
        """Serve ``/metrics`` for this run when the config's ``[metrics]`` section enables it."""
        if not self.config.metrics.enabled:
            return
        from real_trade.monitor.prometheus import MetricsExporter, start_metrics

        if self._exporter is None:
            self._exporter = MetricsExporter(
                timeframe=self.config.timeframe,
                bot=self.name,
                exchange=self.config.exchange,
                mode=self.mode,
            )
        self.metrics = start_metrics(self.config.metrics, self.bus, self._exporter)
        self._say(f"{self.name}: metrics on {self.metrics.url}")

    def _heartbeat(self) -> None:
        hook = self._hook
        passes = None if hook is None else hook.passes
        beat = {"name": self.name, "passes": passes, "time_ms": time.time_ns() // 1_000_000}
        with contextlib.suppress(RuntimeError):  # a closed bus: its owner is shutting down
            self.bus.publish("engine.heartbeat", beat)

    def _run_cerebro(self) -> list[Any]:
        import backtrader as bt

        parts = build_components(
            self.config,
            name=self.name,
            bus=self.bus,
            journal=self.journal,
            risk=self.risk,
            store=self._store,
            feed_options=self.feed_options,
        )
        self._store = parts.store
        self._arm_dead_man(parts.store)
        if self.control is not None:  # one poll of the journal's requests: the runner's
            parts.broker.journal_control = self.control.requests
        cerebro = bt.Cerebro(**self.cerebro_options)
        cerebro.setbroker(parts.broker)
        for data in parts.datas:
            cerebro.adddata(data, name=data.symbol)
        cerebro.addstrategy(self.strategy_cls, **self.strategy_params)
        hook = LoopHook(cerebro, parts.broker, self._stop_event, cancel_on_stop=self.cancel_on_stop)
        cerebro.addanalyzer(BarWatch, callback=self._bar, name=self.name, hook=hook)
        cerebro.addstore(hook)
        with self._lock:
            self.cerebro, self.broker, self._hook = cerebro, parts.broker, hook
            self.datas = parts.datas
            if self._stop_event.is_set() and not self.cancel_on_stop:
                return []  # (with cancel_on_stop the run starts to cancel what it has open)
            self._state = "running"
        strategies: list[Any] = cerebro.run()
        self.strategy = strategies[0] if strategies else None
        failed = [d for d in parts.datas if getattr(d, "error", None) is not None]
        if failed and not self._stop_event.is_set():
            error = failed[0].error
            _log.error(
                "%s: live data of %s ended: %s",
                self.name,
                failed[0].symbol,
                redact(f"{type(error).__name__}: {error}"),
            )
            raise error
        return strategies

    def _arm_dead_man(self, store: Any) -> None:
        """Arm the venue's dead-man switch now and on every heartbeat (when configured)."""
        if self.dead_man_venue is None or self.scheduler is None:
            return
        venue, timeout_s = self.dead_man_venue
        client = getattr(store, "client", None)
        if client is None:  # a store of its own, without a venue client
            _log.warning("%s: %s has no venue client; dead-man switch not armed", self.name, store)
            return
        switch = self.dead_man = DeadManSwitch(client, venue, self.symbols, timeout_s)
        switch.arm()
        every = min(self.heartbeat_interval, timeout_s / 3)  # several beats per countdown
        self.scheduler.schedule(switch.arm, every, name="dead-man-switch")
        self._say(f"{self.name}: dead-man switch armed ({venue.endpoint}, {timeout_s:g} s)")

    def _bar(self, report: BarReport) -> None:
        self.bars += 1
        with contextlib.suppress(RuntimeError):  # a closed bus: its owner is shutting down
            self.bus.publish("engine.bar", report)
        if self.on_bar is not None:
            self.on_bar(report)

    def _finish(
        self,
        link: JournalHandle | None,
        previous: dict[Any, Any],
        error: BaseException | None,
        *,
        started: bool,
    ) -> None:
        crashed = error is not None
        steps: list[tuple[str, Callable[[], object]]] = []
        if self.scheduler is not None:
            steps.append(("scheduler", self.scheduler.stop))
        switch, self.dead_man = self.dead_man, None
        if switch is not None and not crashed:  # a crash leaves it armed: no one is watching
            steps.append(("dead-man switch", switch.disarm))
        control = self.control
        if control is not None:
            steps.append(("heartbeat", lambda: control.beat("stopped")))
        health = self.health
        if health is not None:
            steps.append(("health", health.detach))
        if crashed:
            steps.extend(("feed", d.stop) for d in self.datas)
            if self.broker is not None:
                steps.append(("broker", self.broker.stop))
        metrics, self.metrics = self.metrics, None
        if metrics is not None:
            steps.append(("metrics", lambda: (self.bus.flush(5.0), metrics.stop())))
            steps.append(("metrics exporter", self._exporter.detach))
        if link is not None:
            steps.append(("journal", link.release))
        if self._store is not None:
            steps.append(("store", self._store.stop))
        notifier, self._notifier = self._notifier, None
        if notifier is not None:
            steps.append(("notifier", lambda: stop_notifier(notifier, self.name, error)))
        for what, step in steps:
            try:
                step()
            except Exception as exc:
                _log.error(
                    "%s: stopping the %s failed: %s",
                    self.name,
                    what,
                    redact(f"{type(exc).__name__}: {exc}"),
                )
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        with self._lock:
            self._state = "idle"
            self._stop_event.clear()
            self._hook = None
            self._run_thread_id = None
            self._done.set()
        self._say(f"{self.name}: {_how_it_ended(error, started)}")

    def _say(self, text: str) -> None:
        _log.info("%s", text)
        if self.notify is not None:
            self.notify(text)

    # -- threads and stopping ------------------------------------------------------------
    def start(self) -> TradingRunner:
        """Run on a background thread (no signal handlers); return at once."""
        self._begin()

        def target() -> None:
            try:
                self._run_begun(handle_signals=False)
            except BaseException as exc:
                _log.error(
                    "%s: the run ended with %s", self.name, redact(f"{type(exc).__name__}: {exc}")
                )

        self._thread = threading.Thread(target=target, name=f"runner-{self.name}", daemon=True)
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Ask the run to end gracefully and return at once (safe in a signal handler)."""
        with self._lock:
            if self._state == "idle":
                return
            self.stop_requested = True
            self._stop_event.set()
            if self._state == "running":
                self._state = "stopping"
            cerebro = self.cerebro
        if cerebro is not None and not self.cancel_on_stop:
            cerebro.runstop()

    def stop(self, timeout: float | None = 10.0) -> bool:
        """Stop gracefully from any thread; wait up to ``timeout`` s. True once it has ended."""
        self.request_stop()
        if threading.get_ident() == self._run_thread_id:
            return False  # the run's own thread cannot wait for itself
        if self.cancel_on_stop and self._hook is not None:
            grace = self._hook.cancel_wait + 1.0
            if not self._done.wait(grace if timeout is None else min(grace, timeout)):
                cerebro = self.cerebro
                if cerebro is not None:
                    cerebro.runstop()
        return self._done.wait(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` s for the current run to end; True when none is running."""
        return self._done.wait(timeout)

    def kill(self, flatten: bool = False, reason: str = "") -> Any:
        """The kill switch: the broker cancels every open order, flattens when ``flatten``,
        then halts trading. Returns the broker's future of the report, or None when no run is
        in progress. NotSupportedError when the broker has no kill switch."""
        broker = self.broker
        if broker is None or self._state not in ("running", "stopping"):
            return None
        kill = getattr(broker, "kill", None)
        if not callable(kill):
            raise NotSupportedError(f"{type(broker).__name__} has no kill switch")
        self._say(f"{self.name}: KILL SWITCH (flatten={flatten}): {reason or 'requested'}")
        return kill(flatten=flatten, reason=reason)

    def _install_signals(self) -> dict[Any, Any]:
        return install_stop_signals(self.request_stop, self._stop_event.is_set, self._say)


def _how_it_ended(error: BaseException | None, started: bool) -> str:
    """The end of a run in words: stopped, could not start (and why), or a crash.

    An error no restart can fix (bad config, refused key, unknown symbol, unusable journal)
    before the first bar means the run could not start; only other errors are crashes.
    """
    if error is None:
        return "stopped"
    if isinstance(error, KeyboardInterrupt):
        return "stopped at once"
    if isinstance(error, FATAL_ERRORS):
        why = type(error).__name__
        return f"could not start ({why})" if not started else f"stopped ({why}; not restarted)"
    return "stopped after a crash"
