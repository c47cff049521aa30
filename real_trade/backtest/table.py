"""Plain-text tables of backtest figures for the console: one run, or a sweep's ranking."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from real_trade.monitor.metrics import CONVENTIONS, PerformanceSummary

__all__ = ["conventions_line", "percent", "summary_lines", "table_lines"]


def percent(value: float | None, digits: int = 2) -> str:
    """``0.0123`` -> ``1.23 %``; ``-`` for an undefined figure."""
    return "-" if value is None else f"{value * 100:.{digits}f} %"


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def summary_lines(summary: PerformanceSummary, currency: str, open_at_end: bool) -> list[str]:
    """The summary table of one run, one figure a line."""
    s = summary
    trades = f"{s.trades} closed ({s.won} won)" + (", 1+ open at the end" if open_at_end else "")
    rows = [
        ("return", percent(s.total_return)),
        (
            "max drawdown",
            f"{percent(s.max_drawdown)} ({_number(s.max_drawdown_amount)} {currency})",
        ),
        ("Sharpe", _number(s.sharpe)),
        ("trades", trades),
        ("win rate", percent(s.win_rate, 1)),
        ("fees", f"{_number(s.fees)} {currency}"),
        ("exposure", percent(s.exposure, 1)),
        ("buy and hold", percent(s.buy_and_hold)),
        ("start value", f"{_number(s.start_value)} {currency}"),
        ("final value", f"{_number(s.end_value)} {currency}"),
        ("bars", str(s.bars)),
    ]
    return [f"{name:<14}{value}" for name, value in rows]


def conventions_line(risk_free: float) -> str:
    """The conventions the figures follow (printed under every table)."""
    return "conventions: " + CONVENTIONS.format(risk_free=risk_free)


def table_lines(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A left-aligned text table (first column) with right-aligned figures."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        parts = [
            row[i].ljust(widths[i]) if i == 0 else row[i].rjust(widths[i]) for i in range(len(row))
        ]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines
