"""The pieces one run of a :class:`~real_trade.engine.runner.TradingRunner` runs with.

(The store, the broker and the feeds come from the one factory,
:mod:`real_trade.engine.factory`.) :class:`LoopHook` rides Cerebro's loop through
backtrader's store protocol (``start``/``stop``/``get_notifications``, called on every pass of
the loop, bars or not) to carry out a stop request on the trading thread: cancel the open
orders first when asked to, then ``runstop``. :class:`BarWatch` is a short analyzer that hands
each new closed bar, with the account, to a callback as a :class:`BarReport`. The journal's
lifetime is :func:`real_trade.persistence.handle.open_journal`'s.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import backtrader as bt

from real_trade.errors import redact

__all__ = [
    "BarReport",
    "BarWatch",
    "LoopHook",
]

_log = logging.getLogger("real_trade.engine")


# --------------------------------------------------------------------------- the loop hook
class LoopHook:
    """Cerebro's per-pass hook (a backtrader "store"): carries out stop requests in the loop.

    ``stop_requested`` is the runner's event; with ``cancel_on_stop`` the hook first asks the
    broker to cancel every open order and lets the loop run until they are all done (or
    ``cancel_wait`` seconds pass), then calls ``cerebro.runstop()``. ``actions`` are callables
    run once on the trading thread at the next pass (the runner's fallback kill switch).
    """

    def __init__(
        self,
        cerebro: Any,
        broker: Any,
        stop_requested: threading.Event,
        *,
        cancel_on_stop: bool = False,
        cancel_wait: float = 10.0,
    ) -> None:
        """Bind the hook to one Cerebro run."""
        self.cerebro = cerebro
        self.broker = broker
        self.stop_requested = stop_requested
        self.cancel_on_stop = cancel_on_stop
        self.cancel_wait = cancel_wait
        self.passes = 0
        self.pass_cpu = time.thread_time()  # trading-thread CPU time at the current pass start
        self.canceled: list[int] = []
        self._cancel_deadline: float | None = None
        self._actions: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def call_soon(self, action: Callable[[], None]) -> None:
        """Run ``action()`` on the trading thread at the loop's next pass."""
        with self._lock:
            self._actions.append(action)

    def start(self) -> None:
        """backtrader's store hook at the start of the run (nothing to do)."""

    def stop(self) -> None:
        """backtrader's store hook at the end of the run (nothing to do)."""

    def get_notifications(self) -> list[Any]:
        """Called by Cerebro on every pass of its loop: run actions, carry out a stop."""
        self.passes += 1
        self.pass_cpu = time.thread_time()
        with self._lock:
            actions, self._actions = self._actions, []
        for action in actions:
            try:
                action()
            except Exception as exc:
                _log.error("engine action failed: %s", redact(f"{type(exc).__name__}: {exc}"))
        if self.stop_requested.is_set():
            self._carry_out_stop()
        return []

    def cancel_open_orders(self) -> list[int]:
        """Ask the broker to cancel each open order (with ``cancel_all``: every order of the run,
        those recovered at the start included); return their refs."""
        cancel_all = getattr(self.broker, "cancel_all", None)
        if callable(cancel_all):
            return list(cancel_all())
        open_orders = dict(getattr(self.broker, "open_orders", {}) or {})
        for order in open_orders.values():
            self.broker.cancel(order)
        return list(open_orders)

    def _carry_out_stop(self) -> None:
        if self.cancel_on_stop:
            if self._cancel_deadline is None:
                state = getattr(self.broker, "trading_state", None)
                if state is not None:  # no new order while the open ones are cancelled
                    state.halt("stopping: cancel_on_stop")
                self.canceled = self.cancel_open_orders()
                self._cancel_deadline = time.monotonic() + self.cancel_wait
                if self.canceled:
                    _log.info("stopping: cancelling %d open order(s)", len(self.canceled))
            pending = getattr(self.broker, "open_orders", {}) or {}
            if pending and time.monotonic() < self._cancel_deadline:
                return
            if pending:
                _log.warning("stopping with %d order(s) whose cancel is unconfirmed", len(pending))
        self.cerebro.runstop()


# --------------------------------------------------------------------------- bars
@dataclass(frozen=True)
class BarReport:
    """One closed bar as the strategy saw it, with the account right after ``next()``.

    ``time`` is the bar's open time (UTC); ``position`` the base-asset size held in
    ``symbol``; ``cash`` and ``value`` (cash plus positions at their last prices) are in the
    quote currency; ``live`` tells a live bar from a backfilled one; ``loop_seconds`` the
    trading thread's CPU time in the loop pass that processed the bar (None when unmeasured).
    """

    strategy: str
    symbol: str
    time: dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    position: float
    cash: float
    value: float
    live: bool
    loop_seconds: float | None = None


BarCallback = Callable[[BarReport], None]


class BarWatch(bt.Analyzer):
    """A backtrader analyzer that reports every new bar of every feed to ``callback``.

    Params: ``callback`` (``callback(report)``, a :class:`BarReport`), ``name`` (the run) and
    ``hook`` (the run's :class:`LoopHook`, whose pass start times the bar's ``loop_seconds``).
    """

    params = (("callback", None), ("name", ""), ("hook", None))

    def start(self) -> None:
        """Remember no bar yet."""
        self._seen: dict[int, int] = {}

    def next(self) -> None:
        """Report each feed whose length grew since the last call (one line per new bar)."""
        callback = self.p.callback
        for index, data in enumerate(self.strategy.datas):
            length = len(data)
            if not length or self._seen.get(index) == length:
                continue
            self._seen[index] = length
            if callback is None:
                continue
            broker = self.strategy.broker
            hook = self.p.hook
            loop = None if hook is None else time.thread_time() - hook.pass_cpu
            callback(
                BarReport(
                    strategy=str(self.p.name),
                    symbol=str(getattr(data, "symbol", data._name)),
                    time=bt.num2date(data.datetime[0]).replace(tzinfo=dt.timezone.utc),
                    open=float(data.open[0]),
                    high=float(data.high[0]),
                    low=float(data.low[0]),
                    close=float(data.close[0]),
                    volume=float(data.volume[0]),
                    position=float(broker.getposition(data).size),
                    cash=float(broker.getcash()),
                    value=float(broker.getvalue()),
                    live=data._laststatus == data.LIVE,
                    loop_seconds=loop,
                )
            )
