"""``PerformanceTracker``: a run's performance, live from the bus or after the fact from the
journal, with the same figures either way.

Live, :meth:`PerformanceTracker.attach` subscribes to ``account.snapshot`` (the account's
mark-to-market value, the points of the equity curve), ``fill`` (executions: round trips,
fees, time in market) and ``feed.bar.**`` (closing prices, for the buy-and-hold benchmark).
:meth:`PerformanceTracker.from_journal` reads the same equity points and fills from a journal
(any process, during or after a run). :meth:`PerformanceTracker.metrics` turns either into a
:class:`~real_trade.monitor.metrics.RunMetrics` through :func:`~.metrics.compute_metrics`.
Nobody on the trading path calls it; its handlers run on the bus's dispatcher thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from real_trade.bus import EventBus, Subscription
from real_trade.execution.events import FillEvent
from real_trade.monitor.metrics import (
    PERIODS_PER_YEAR,
    RunMetrics,
    buy_and_hold_return,
    compute_metrics,
    time_in_market,
)
from real_trade.monitor.rows import closed_trade, fill_row
from real_trade.persistence.records import AccountSnapshot, FillRow, TradeRow
from real_trade.persistence.trades import build_trades

__all__ = ["PerformanceTracker", "to_ms"]


def to_ms(moment: datetime | int | float | None) -> int | None:
    """Epoch milliseconds of a timezone-aware datetime (naive: UTC) or a number of ms."""
    if moment is None:
        return None
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            from datetime import timezone

            moment = moment.replace(tzinfo=timezone.utc)
        return int(moment.timestamp() * 1000)
    return int(moment)


class PerformanceTracker:
    """The equity curve, fills and prices of one run (or of every run: ``strategy=None``).

    ``initial_cash`` is the account value before the first point (None: the first point's);
    ``risk_free`` an annual rate; ``periods_per_year`` 365. Thread-safe.
    """

    def __init__(
        self,
        initial_cash: float | None = None,
        *,
        strategy: str | None = None,
        risk_free: float = 0.0,
        periods_per_year: int = PERIODS_PER_YEAR,
        bus: EventBus | None = None,
    ) -> None:
        """Start empty; subscribe to ``bus`` at once when given."""
        if initial_cash is not None and not initial_cash > 0:
            raise ValueError(f"initial_cash must be positive, got {initial_cash!r}")
        self.initial_cash = initial_cash
        self.strategy = strategy
        self.risk_free = risk_free
        self.periods_per_year = periods_per_year
        self._lock = threading.Lock()
        self._equity: list[tuple[int, float]] = []
        self._fills: list[FillRow] = []
        self._prices: dict[str, list[tuple[int, float, float]]] = {}
        self._subs: list[Subscription] = []
        self._window: tuple[int | None, int | None] = (None, None)
        if bus is not None:
            self.attach(bus)

    def __repr__(self) -> str:
        """Counts, not contents."""
        return (
            f"PerformanceTracker(initial_cash={self.initial_cash!r}, strategy={self.strategy!r}, "
            f"points={len(self._equity)}, fills={len(self._fills)})"
        )

    # -- feeding -------------------------------------------------------------------------
    def attach(self, bus: EventBus) -> PerformanceTracker:
        """Follow ``bus``: account snapshots, fills and closed bars (see the module docstring)."""
        if self._subs:
            raise RuntimeError(f"{self!r} is already attached; detach() first")
        self._subs = [
            bus.subscribe("account.snapshot", self._on_snapshot),
            bus.subscribe("fill", self._on_fill),
            bus.subscribe("feed.bar.**", self._on_bar),
        ]
        return self

    def detach(self) -> None:
        """Stop following the bus (what was seen stays); harmless twice."""
        for sub in self._subs:
            sub.unsubscribe()
        self._subs = []

    def _mine(self, strategy: str) -> bool:
        return self.strategy is None or strategy == self.strategy

    def _on_snapshot(self, topic: str, event: Any) -> None:
        if isinstance(event, AccountSnapshot) and self._mine(event.strategy):
            self.update(event.equity, event.time_ms)

    def _on_fill(self, topic: str, event: Any) -> None:
        if isinstance(event, FillEvent) and self._mine(event.strategy):
            self.record_fill(event)

    def _on_bar(self, topic: str, event: Any) -> None:
        close = getattr(event, "close", None)
        if close is None or not getattr(event, "closed", True):
            return
        self.record_price(topic.split(".", 2)[-1], float(event.open), float(close), event.open_ms)

    def update(self, equity: float, time_ms: int | None = None) -> None:
        """Add a mark-to-market account value at ``time_ms`` (default now)."""
        stamp = time.time_ns() // 1_000_000 if time_ms is None else int(time_ms)
        with self._lock:
            self._equity.append((stamp, float(equity)))

    def record_fill(self, fill: FillEvent | FillRow) -> None:
        """Add one execution (a bus event or a journal row)."""
        with self._lock:
            self._fills.append(fill_row(fill))

    def record_price(self, symbol: str, open_: float, close: float, time_ms: int) -> None:
        """Add one closed bar of ``symbol`` (its open and close): the benchmark's prices."""
        with self._lock:
            self._prices.setdefault(symbol, []).append((int(time_ms), open_, close))

    @classmethod
    def from_journal(
        cls,
        journal: Any,
        start: datetime | int | None = None,
        end: datetime | int | None = None,
        *,
        strategy: str | None = None,
        initial_cash: float | None = None,
        risk_free: float = 0.0,
        prices: Mapping[str, Sequence[tuple[int, float, float]]] | None = None,
    ) -> PerformanceTracker:
        """A tracker loaded from a journal (a ``Journal`` or its URL) over ``[start, end)``.

        The value before the first point is the journal's last equity before ``start``, else
        ``initial_cash``; every fill before ``end`` is loaded (a trade opened before ``start``
        keeps its true entry). ``prices`` (``{symbol: [(time_ms, open, close)]}``) feed the
        benchmark.
        """
        from real_trade.persistence import Journal

        own = isinstance(journal, str)
        source = Journal(journal) if own else journal
        try:
            start_ms, end_ms = to_ms(start), to_ms(end)
            points = source.equity(start_ms, end_ms, strategy=strategy)
            before = source.equity(None, start_ms, strategy=strategy) if start_ms else []
            fills = source.fills(None, end_ms, strategy=strategy)
        finally:
            if own:
                source.close()
        opening = before[-1].equity if before else initial_cash
        tracker = cls(opening, strategy=strategy, risk_free=risk_free)
        tracker._equity = [(p.time_ms, p.equity) for p in points]
        tracker._fills = list(fills)
        tracker._window = (start_ms, end_ms)
        for symbol, rows in (prices or {}).items():
            for time_ms, open_, close in rows:
                tracker.record_price(symbol, open_, close, time_ms)
        return tracker

    # -- reading -------------------------------------------------------------------------
    @property
    def equity_curve(self) -> list[tuple[int, float]]:
        """The account values seen, ``(time_ms, value)``, oldest first."""
        with self._lock:
            return sorted(self._equity, key=lambda p: p[0])

    @property
    def fills(self) -> list[FillRow]:
        """The executions seen, oldest first."""
        with self._lock:
            return sorted(self._fills, key=lambda f: f.time_ms)

    @property
    def current_equity(self) -> float | None:
        """The newest account value, or the initial cash before any."""
        curve = self.equity_curve
        return curve[-1][1] if curve else self.initial_cash

    def trades(self) -> list[TradeRow]:
        """Round trips of the fills seen (FIFO per strategy and symbol), closed in the window."""
        start_ms = self._window[0]
        return [t for t in build_trades(self.fills) if start_ms is None or t.exit_ms >= start_ms]

    def benchmark(self) -> float | None:
        """Buy and hold over the prices seen: first open to last close (mean over symbols)."""
        with self._lock:
            series = [sorted(rows) for rows in self._prices.values() if rows]
        values = [buy_and_hold_return(rows[0][1], rows[-1][2]) for rows in series]
        known = [v for v in values if v is not None]
        return sum(known) / len(known) if known else None

    def metrics(self, *, risk_free: float | None = None) -> RunMetrics:
        """Every figure of the run so far (see :func:`~.metrics.compute_metrics`); exposure is
        the share of time from the first to the last point with a position held."""
        curve = self.equity_curve
        start_ms, end_ms = self._window
        first = start_ms if start_ms is not None else (curve[0][0] if curve else None)
        last = curve[-1][0] + 1 if curve else None
        changes = [(f.time_ms, f.symbol, f.position_change) for f in self.fills]
        exposure = (
            time_in_market(changes, first, last) if first is not None and last is not None else None
        )
        return compute_metrics(
            curve,
            [closed_trade(t) for t in self.trades()],
            start_value=self.initial_cash,
            start_ms=start_ms,
            end_ms=end_ms,
            exposure=exposure,
            buy_and_hold=self.benchmark(),
            periods_per_year=self.periods_per_year,
            risk_free=self.risk_free if risk_free is None else risk_free,
        )

    def summary(self) -> dict[str, Any]:
        """The figures as a plain dict (JSON-ready; the trade statistics under ``"trades"``)."""
        from dataclasses import asdict

        m = self.metrics()
        out = asdict(m)
        out.pop("daily")
        out["trades"] = out.pop("trade")
        out["conventions"] = m.conventions
        return out
