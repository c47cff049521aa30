"""``Reporter`` (seed 001) and ``TradeReportGenerator`` (seed 003).

:class:`Reporter` writes a run's figures as plain text (the console, a log, a chat message):
the period figures, the trade statistics apart, and the conventions line. The files people read
(HTML with charts, JSON, CSV) come from :mod:`real_trade.monitor.report`, which
:class:`TradeReportGenerator` calls for a day, an ISO week, a month or any range (imported when
a report is made, so ``import real_trade.monitor`` stays light).
"""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path
from typing import Any

from real_trade.monitor.metrics import RunMetrics

__all__ = ["Reporter", "TradeReportGenerator", "period_bounds"]

UTC = dt.timezone.utc


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.2f} %"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


class Reporter:
    """Plain-text performance summaries (see the module docstring)."""

    def __init__(self, *, currency: str = "") -> None:
        """``currency`` is printed after money amounts (``"USDT"``)."""
        self.currency = currency

    def _money(self, value: float | None) -> str:
        text = _num(value)
        return f"{text} {self.currency}".rstrip() if value is not None else text

    def lines(self, metrics: RunMetrics, title: str = "Performance") -> list[str]:
        """The summary of ``metrics`` as text lines."""
        m, t = metrics, metrics.trade
        hours = None if t.average_holding_ms is None else t.average_holding_ms / 3_600_000

        def day(ms: int | None) -> str:
            return "-" if ms is None else f"{dt.datetime.fromtimestamp(ms / 1000, UTC):%Y-%m-%d}"

        rows = [
            ("Period", f"{day(m.start_ms)} .. {day(m.end_ms)} ({m.days} days)"),
            ("Start / end value", f"{self._money(m.start_value)} / {self._money(m.end_value)}"),
            ("Total return", _pct(m.total_return)),
            ("Annual return", _pct(m.annual_return)),
            ("CAGR", _pct(m.cagr)),
            ("Volatility (annual)", _pct(m.volatility)),
            ("Sharpe", _num(m.sharpe)),
            ("Sortino", _num(m.sortino)),
            ("Calmar", _num(m.calmar)),
            (
                "Max drawdown",
                f"{_pct(-m.max_drawdown or 0.0)} ({self._money(m.max_drawdown_amount)}), "
                f"longest underwater {m.max_drawdown_days:g} days",
            ),
            ("Exposure", _pct(m.exposure).lstrip("+")),
            ("Buy and hold", _pct(m.buy_and_hold)),
            ("Trades (round trips)", f"{t.trades} ({t.won} won, {t.lost} lost)"),
            ("Win rate", _pct(t.win_rate).lstrip("+")),
            ("Profit factor", _num(t.profit_factor)),
            ("Expectancy", self._money(t.expectancy)),
            ("Payoff", _num(t.payoff)),
            ("Best / worst trade", f"{self._money(t.best)} / {self._money(t.worst)}"),
            ("Streaks (won / lost)", f"{t.longest_winning_streak} / {t.longest_losing_streak}"),
            ("Average holding", "-" if hours is None else f"{hours:.1f} h"),
            ("Fees (round trips)", self._money(t.fees)),
        ]
        width = max(len(k) for k, _ in rows)
        return [title, *(f"  {k.ljust(width)}  {v}" for k, v in rows), f"  {m.conventions}"]

    def format(self, metrics: RunMetrics, title: str = "Performance") -> str:
        """The summary of ``metrics`` as one text."""
        return "\n".join(self.lines(metrics, title))

    def report(self, tracker: Any, title: str = "Performance") -> str:
        """The summary of a :class:`~real_trade.monitor.performance.PerformanceTracker`."""
        return self.format(tracker.metrics(), title)

    def health(self, report: Any) -> str:
        """A :class:`~real_trade.monitor.health.HealthReport` as text, one check a line."""
        lines = [f"health {report.status.upper()}"]
        lines += [f"  {c.name:<8} {c.status.upper():<7} {c.detail}" for c in report.checks]
        return "\n".join(lines)


def _day(value: str | dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def _start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)


def period_bounds(kind: str, when: str | dt.date | dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The UTC ``[start, end)`` of a ``"day"`` (``"2026-12-05"``), an ISO ``"week"``
    (``"2026-W49"``, or any day in it; weeks start on Monday) or a ``"month"`` (``"2026-12"``,
    or any day in it). ValueError names the accepted forms."""
    try:
        if kind == "day":
            start = _start(_day(when))
            return start, start + dt.timedelta(days=1)
        if kind == "week":
            if isinstance(when, str) and "W" in when.upper():
                year, _, week = when.upper().partition("-W")
                monday = dt.date.fromisocalendar(int(year), int(week), 1)
            else:
                day = _day(when)
                monday = day - dt.timedelta(days=day.weekday())
            start = _start(monday)
            return start, start + dt.timedelta(days=7)
        if kind == "month":
            if isinstance(when, str) and len(when) == 7:
                first = dt.date.fromisoformat(f"{when}-01")
            else:
                first = _day(when).replace(day=1)
            after = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            return _start(first), _start(after)
    except ValueError as exc:
        raise ValueError(
            f"bad {kind} {when!r}: use YYYY-MM-DD for a day, YYYY-Www (or a day) for a week, "
            f"YYYY-MM (or a day) for a month ({exc})"
        ) from None
    raise ValueError(f"unknown period kind {kind!r}: use 'day', 'week' or 'month'")


def _moment(value: dt.datetime | dt.date | int | float | str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, dt.date):
        return _start(value)
    if isinstance(value, str):
        return _moment(dt.datetime.fromisoformat(value))
    return dt.datetime.fromtimestamp(float(value) / 1000, UTC)  # the seed's epoch ms


class TradeReportGenerator:
    """Seed 003's report generator over a journal (a ``Journal`` or its URL).

    ``strategy`` names the run to report (None: every run). Each ``generate_*`` method
    writes one report file at ``output_path`` (HTML, JSON or CSV by its suffix) through
    ``build_report`` and ``write_report`` of :mod:`real_trade.monitor.report` and returns
    the path written.
    """

    def __init__(
        self,
        journal: Any,
        *,
        strategy: str | None = None,
        initial_cash: float | None = None,
        risk_free: float = 0.0,
        title: str = "real_trade",
    ) -> None:
        """Bind to a journal; ``strategy`` names the run, ``risk_free`` is an annual rate."""
        self.journal = journal
        self.strategy = strategy
        self.initial_cash = initial_cash
        self.risk_free = risk_free
        self.title = title

    def _write(
        self, start: dt.datetime, end: dt.datetime, output_path: str | Path, label: str
    ) -> Path:
        # the report writer lives in its own subpackage (pandas-free import of this module)
        report = importlib.import_module("real_trade.monitor.report")
        now = dt.datetime.now(UTC)
        if start < now < end:  # a period still running: report it up to now, not flat days
            end = now
        title = f"{self.title} {label}" + (f" ({self.strategy})" if self.strategy else "")
        data = report.build_report(
            self.journal,
            start,
            end,
            title=title,
            initial_cash=self.initial_cash,
            risk_free=self.risk_free,
            strategy=self.strategy,
        )
        written: Path = report.write_report(data, Path(output_path))
        return written

    def generate_daily_report(self, date: str | dt.date, output_path: str | Path) -> Path:
        """The report of one UTC day (``"2026-12-05"`` or a date)."""
        start, end = period_bounds("day", date)
        return self._write(start, end, output_path, f"daily report {start:%Y-%m-%d}")

    def generate_weekly_report(self, week: str | dt.date, output_path: str | Path) -> Path:
        """The report of one ISO week, Monday to Sunday UTC (``"2026-W49"`` or a day in it)."""
        start, end = period_bounds("week", week)
        iso = start.isocalendar()
        return self._write(start, end, output_path, f"weekly report {iso[0]}-W{iso[1]:02d}")

    def generate_monthly_report(self, month: str | dt.date, output_path: str | Path) -> Path:
        """The report of one UTC calendar month (``"2026-12"`` or a day in it)."""
        start, end = period_bounds("month", month)
        return self._write(start, end, output_path, f"monthly report {start:%Y-%m}")

    def generate_custom_report(
        self,
        start_time: dt.datetime | dt.date | int | str,
        end_time: dt.datetime | dt.date | int | str,
        output_path: str | Path,
    ) -> Path:
        """The report of ``[start_time, end_time)``: datetimes (naive: UTC), dates, ISO text or
        epoch milliseconds (the seed's ``uint64_t``)."""
        start, end = _moment(start_time), _moment(end_time)
        if end <= start:
            raise ValueError(f"the report's end {end:%Y-%m-%d %H:%M} is not after its start")
        label = f"report {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC"
        return self._write(start, end, output_path, label)
