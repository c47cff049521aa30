"""Write a :class:`ReportData` as HTML, JSON or CSV (by the file's suffix), and read JSON back.

* ``.html``: the page people read (:func:`real_trade.monitor.report.html.render_html`);
* ``.json``: everything, for tools: the summary, activity, monthly returns, the daily UTC
  curve, every equity point and every round trip (:func:`read_report` loads it back);
* ``.csv``: the round trips, one a row; the daily curve (date, equity, return, drawdown) goes
  next to it as ``<name>.daily.csv``.

Floats are written with ``repr``, so what is read back is exactly what was written.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from real_trade.monitor.metrics import EquityPoint, PerformanceSummary
from real_trade.monitor.report.data import Activity, ReportData
from real_trade.monitor.report.html import render_html, when

__all__ = [
    "FORMATS",
    "JSON_FORMAT",
    "TRADE_COLUMNS",
    "daily_csv_path",
    "read_report",
    "report_to_dict",
    "write_report",
]

FORMATS = {".html": "html", ".htm": "html", ".json": "json", ".csv": "csv"}
"""File suffix -> report format."""

JSON_FORMAT = "real_trade.report/1"
"""The ``format`` field of a JSON report (bumped when its layout changes)."""

TRADE_COLUMNS = (
    "strategy",
    "symbol",
    "side",
    "amount",
    "entry_utc",
    "entry_ms",
    "entry_price",
    "exit_utc",
    "exit_ms",
    "exit_price",
    "fees",
    "pnl",
    "exit_client_order_id",
)
"""The columns of the CSV report (``pnl`` is net of ``fees``, as in the journal)."""


def _format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"cannot tell the report format of {path.name!r}: name the file *.html, *.json or *.csv"
        )
    return fmt


def daily_csv_path(path: Path) -> Path:
    """Where the CSV report's daily curve goes: ``trades.csv`` -> ``trades.daily.csv``."""
    return path.with_name(f"{path.stem}.daily.csv")


def report_to_dict(data: ReportData) -> dict[str, Any]:
    """The JSON document of a report (plain types only)."""
    return {
        "format": JSON_FORMAT,
        "title": data.title,
        "source": data.source,
        "start": when(data.start_ms, True),
        "end": when(data.end_ms, True),
        "start_ms": data.start_ms,
        "end_ms": data.end_ms,
        "generated_ms": data.generated_ms,
        "currency": data.currency,
        "strategies": list(data.strategies),
        "symbols": list(data.symbols),
        "start_value": data.start_value,
        "periods_per_year": data.periods_per_year,
        "risk_free": data.summary.risk_free,
        "std": "sample (n-1)",
        "conventions": data.conventions,
        "summary": dataclasses.asdict(data.summary),
        "activity": dataclasses.asdict(data.activity),
        "monthly_returns": [{"year": y, "month": m, "return": r} for y, m, r in data.monthly],
        "daily_equity": [
            {"date": when(day)[:10], "time_ms": day, "equity": value} for day, value in data.daily
        ],
        "equity": [dataclasses.asdict(p) for p in data.equity],
        "trades": [dataclasses.asdict(t) for t in data.trades],
        "notes": list(data.notes),
        "figures": data.figures,
    }


def read_report(path: str | os.PathLike[str]) -> ReportData:
    """Load a JSON report written by :func:`write_report` back into a :class:`ReportData`."""
    from real_trade.persistence import TradeRow

    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    if doc.get("format") != JSON_FORMAT:
        raise ValueError(f"{path} is not a real_trade JSON report ({JSON_FORMAT})")
    return ReportData(
        title=doc["title"],
        source=doc["source"],
        start_ms=int(doc["start_ms"]),
        end_ms=int(doc["end_ms"]),
        generated_ms=int(doc["generated_ms"]),
        currency=doc["currency"],
        strategies=tuple(doc["strategies"]),
        symbols=tuple(doc["symbols"]),
        start_value=float(doc["start_value"]),
        summary=PerformanceSummary(**doc["summary"]),
        equity=tuple(EquityPoint(**p) for p in doc["equity"]),
        trades=tuple(TradeRow(**t) for t in doc["trades"]),
        activity=Activity(**doc["activity"]),
        periods_per_year=int(doc["periods_per_year"]),
        notes=tuple(doc["notes"]),
        figures=doc.get("figures"),
    )


def _write_csv(data: ReportData, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(TRADE_COLUMNS)
        for t in data.trades:
            writer.writerow(
                [
                    t.strategy,
                    t.symbol,
                    t.side,
                    repr(t.amount),
                    when(t.entry_ms, True),
                    t.entry_ms,
                    repr(t.entry_price),
                    when(t.exit_ms, True),
                    t.exit_ms,
                    repr(t.exit_price),
                    repr(t.fees),
                    repr(t.pnl),
                    t.exit_client_order_id,
                ]
            )
    previous = data.start_value
    peak = data.start_value
    with daily_csv_path(path).open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["date", "time_ms", "equity", "return", "drawdown"])
        for day, value in data.daily:
            peak = max(peak, value)
            ret = value / previous - 1.0 if previous else 0.0
            dd = (peak - value) / peak if peak > 0 else 0.0
            writer.writerow([when(day)[:10], day, repr(value), repr(ret), repr(dd)])
            previous = value


def write_report(data: ReportData, path: str | os.PathLike[str], fmt: str | None = None) -> Path:
    """Write ``data`` to ``path`` as HTML, JSON or CSV (``fmt``, else from the suffix:
    ``.html``, ``.json``, ``.csv``); parent folders are created. Returns the path written (a
    CSV report also writes ``<name>.daily.csv``, see :func:`daily_csv_path`)."""
    target = Path(path)
    kind = fmt or _format(target)
    if kind not in ("html", "json", "csv"):
        raise ValueError(f"unknown report format {kind!r}: html, json or csv")
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "html":
        target.write_text(render_html(data), encoding="utf-8")
    elif kind == "json":
        text = json.dumps(report_to_dict(data), indent=1, ensure_ascii=False)
        target.write_text(text + "\n", encoding="utf-8")
    else:
        _write_csv(data, target)
    return target
