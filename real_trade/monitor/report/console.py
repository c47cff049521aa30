"""The report's figures on a terminal: the same groups as the HTML page, as rich tables.

:func:`print_report_tables` prints :func:`~real_trade.monitor.report.html.metric_sections` of a
:class:`~real_trade.monitor.report.data.ReportData` (returns and risk, round trips, activity)
and the conventions line, so a backtest and a report show the same figures with the same
labels. Off a terminal the tables are plain text without colours.
"""

from __future__ import annotations

from typing import IO

from real_trade.monitor.report.data import ReportData
from real_trade.monitor.report.html import metric_sections

__all__ = ["print_report_tables"]


def print_report_tables(data: ReportData, file: IO[str] | None = None, width: int = 100) -> None:
    """Print the report's metric groups as tables, then its conventions, to ``file``."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file, width=width, highlight=False, soft_wrap=False)
    for title, rows in metric_sections(data):
        table = Table(title=title, title_justify="left", show_header=False, min_width=60)
        table.add_column("figure", style="bold", no_wrap=True)
        table.add_column("value", justify="right", no_wrap=True)
        for label, value in rows:
            table.add_row(label, value)
        console.print(table)
    console.print(f"conventions: {data.conventions}", soft_wrap=True)
