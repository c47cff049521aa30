"""Reports people read: one self-contained HTML page per report, plus JSON and CSV.

:func:`build_report` reads a journal (a live or paper run, from any process);
:func:`build_backtest_report` takes a backtest's result; both give a :class:`ReportData`, which
:func:`write_report` writes as ``.html`` (equity and drawdown charts, monthly returns, the
metrics with their conventions, the round trips), ``.json`` or ``.csv``. Every figure is
computed by :mod:`real_trade.monitor.metrics`. The command line: ``real-trade report``.
"""

from real_trade.monitor.report.data import (
    Activity,
    ReportData,
    assemble_report,
    build_backtest_report,
    build_report,
    conventions_text,
)
from real_trade.monitor.report.html import metric_rows, render_html
from real_trade.monitor.report.writers import read_report, report_to_dict, write_report

__all__ = [
    "Activity",
    "ReportData",
    "assemble_report",
    "build_backtest_report",
    "build_report",
    "conventions_text",
    "metric_rows",
    "read_report",
    "render_html",
    "report_to_dict",
    "write_report",
]
