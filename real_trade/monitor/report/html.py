"""The HTML report: one self-contained file (inline CSS and SVG, no script, no external file).

Built with the standard library (``html.escape`` and string joins): the page is a handful of
tables and two charts, which a template engine would not make clearer, and no dependency is
added to the trading package. Every figure comes from :class:`ReportData`; the formatting
lives in :func:`metric_rows`, which the command line prints too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from html import escape
from typing import Any

from real_trade.monitor.report.data import ReportData
from real_trade.monitor.report.svg import time_chart

__all__ = ["MAX_TRADE_ROWS", "metric_rows", "metric_sections", "render_html", "when"]

MAX_TRADE_ROWS = 1000
"""The trades table shows the newest this many round trips (the JSON and CSV hold all)."""

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_LABELS: dict[str, tuple[str, str]] = {
    # figure name -> (label, kind): pct (a fraction), money, ratio, int, num, days, duration
    "start_value": ("Start value", "money"),
    "end_value": ("End value", "money"),
    "total_return": ("Total return", "pct"),
    "annual_return": ("Annual return (mean daily x 365)", "pct"),
    "cagr": ("CAGR", "pct"),
    "volatility": ("Volatility (annual)", "pct"),
    "sharpe": ("Sharpe ratio", "ratio"),
    "sortino": ("Sortino ratio", "ratio"),
    "calmar": ("Calmar ratio", "ratio"),
    "max_drawdown": ("Max drawdown", "pct"),
    "max_drawdown_amount": ("Max drawdown (amount)", "money"),
    "max_drawdown_days": ("Longest drawdown", "days"),
    "exposure": ("Exposure (time in market)", "pct"),
    "buy_and_hold": ("Buy and hold", "pct"),
    "days": ("Days", "int"),
    "bars": ("Equity points", "int"),
    "risk_free": ("Risk-free rate (annual)", "pct"),
    "trades": ("Round trips closed", "int"),
    "won": ("Won (net of fees)", "int"),
    "lost": ("Lost", "int"),
    "win_rate": ("Win rate", "pct"),
    "gross_profit": ("Gross profit", "money"),
    "gross_loss": ("Gross loss", "money"),
    "net_profit": ("Net profit", "money"),
    "profit_factor": ("Profit factor", "ratio"),
    "expectancy": ("Expectancy (per trade)", "money"),
    "average_win": ("Average win", "money"),
    "average_loss": ("Average loss", "money"),
    "payoff": ("Payoff (avg win / avg loss)", "ratio"),
    "best": ("Best trade", "money"),
    "worst": ("Worst trade", "money"),
    "longest_winning_streak": ("Longest winning streak", "int"),
    "longest_losing_streak": ("Longest losing streak", "int"),
    "average_holding_ms": ("Average holding time", "duration"),
    "fees": ("Fees paid", "money"),
}
_TRADE_FIELDS = ("trades", "won", "win_rate")
_SKIP = ("start_ms", "end_ms", "periods_per_year", "conventions", "daily", "trade")
_PCT_HINTS = ("return", "rate", "drawdown", "volatility", "cagr", "exposure")
_RATIO_HINTS = ("sharpe", "sortino", "calmar", "ratio", "factor", "payoff")


def when(ms: int, seconds: bool = False) -> str:
    """Epoch ms as ``YYYY-MM-DD HH:MM[:SS]`` (UTC)."""
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)
    return f"{moment:%Y-%m-%d %H:%M:%S}" if seconds else f"{moment:%Y-%m-%d %H:%M}"


def _pct(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value * 100:,.{digits}f} %"


def _money(value: float | None, currency: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}" + (f" {currency}" if currency else "")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.2f}"


def _kind(name: str) -> str:
    if name.endswith(("_amount", "_value")):
        return "money"
    if any(h in name for h in _RATIO_HINTS):
        return "ratio"
    if any(h in name for h in _PCT_HINTS) and "duration" not in name:
        return "pct"
    return "num"


def _format(name: str, value: Any, currency: str) -> tuple[str, str]:
    label, kind = _LABELS.get(name, (name.replace("_", " ").capitalize(), _kind(name)))
    if value is None:
        return label, "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return label, str(value)
    if kind == "pct":
        return label, _pct(value)
    if kind == "money":
        return label, _money(value, currency)
    if kind == "ratio":
        return label, f"{value:,.2f}"
    if kind == "days":
        return label, f"{value:,.1f} days"
    if kind == "duration":
        return label, _duration(int(value))
    if kind == "int" or isinstance(value, int):
        return label, f"{value:,}"
    return label, _num(value)


def metric_sections(data: ReportData) -> list[tuple[str, list[tuple[str, str]]]]:
    """The report's figures as titled groups of (label, formatted value): the period's
    (returns and risk from the equity curve), the round trips' (kept apart) and the activity.
    Every field of the summary shows (new ones by name); where ``data.figures`` holds the full
    metric set, its values are shown and added."""
    cur = data.currency
    summary = {f.name: getattr(data.summary, f.name) for f in dataclasses.fields(data.summary)}
    figures = dict(data.figures or {})
    trade_figures = dict(figures.pop("trade", None) or {})
    period: dict[str, Any] = {k: v for k, v in summary.items() if k not in _TRADE_FIELDS}
    period.pop("fees", None)
    both: dict[str, Any] = {}
    for key, value in figures.items():
        if key in _SKIP:
            continue
        mine = period.get(key)
        if key in period and value != mine and not _close(value, mine):
            both[key] = mine  # computed two ways: the daily curve's and every point's
        period[key] = value
    order = [k for k in _LABELS if k in period] + [k for k in period if k not in _LABELS]
    trades: dict[str, Any] = {k: summary[k] for k in _TRADE_FIELDS if k in summary}
    trades.update({k: v for k, v in trade_figures.items() if k != "fees"})
    trade_order = [k for k in _LABELS if k in trades] + [k for k in trades if k not in _LABELS]
    a = data.activity
    states = ", ".join(f"{k.lower()} {v}" for k, v in a.orders_by_state.items())
    activity = [
        ("Orders created", f"{a.orders:,}" + (f" ({states})" if states else "")),
        ("Fills", f"{a.fills:,}"),
        ("Fees paid", _money(a.fees, cur)),
        ("Traded volume", _money(a.volume, cur)),
        ("Realized P&L (round trips, net)", _money(a.realized_pnl, cur)),
        ("Equity change", _money(data.summary.end_value - data.start_value, cur)),
    ]
    rows: list[tuple[str, str]] = []
    for key in order:
        label, text = _format(key, period[key], cur)
        if key in both:
            rows.append((f"{label} (daily closes)", text))
            label, text = _format(key, both[key], cur)
            label += " (every equity point)"
        rows.append((label, text))
    return [
        ("Returns and risk (daily UTC equity)", rows),
        ("Round trips (after fees)", [_format(k, trades[k], cur) for k in trade_order]),
        ("Activity", activity),
    ]


def _close(a: Any, b: Any) -> bool:
    if not isinstance(a, int | float) or not isinstance(b, int | float):
        return False
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def metric_rows(data: ReportData) -> list[tuple[str, str]]:
    """:func:`metric_sections` as one list of (label, formatted value)."""
    return [row for _, rows in metric_sections(data) for row in rows]


def _sign(value: float | None) -> str:
    if value is None or abs(value) < 1e-12:
        return ""
    return "pos" if value > 0 else "neg"


def _card(label: str, value: str, sign: str = "") -> str:
    return (
        f'<div class="card"><div class="k">{escape(label)}</div>'
        f'<div class="v {sign}">{escape(value)}</div></div>'
    )


def _cards(data: ReportData) -> str:
    s, cur = data.summary, data.currency
    cards = [
        _card("Total return", _pct(s.total_return), _sign(s.total_return)),
        _card("End value", _money(s.end_value, cur)),
        _card(
            "Max drawdown",
            _pct(-s.max_drawdown if s.max_drawdown else 0.0),
            "neg" if s.max_drawdown else "",
        ),
        _card("Sharpe", "-" if s.sharpe is None else f"{s.sharpe:,.2f}"),
        _card("Round trips", f"{s.trades:,}"),
        _card("Win rate", _pct(s.win_rate, 1)),
        _card(
            "Realized P&L",
            _money(data.activity.realized_pnl, cur),
            _sign(data.activity.realized_pnl),
        ),
        _card("Fees", _money(s.fees, cur)),
    ]
    return f'<section class="cards">{"".join(cards)}</section>'


def _monthly_table(data: ReportData) -> str:
    months = data.monthly
    if not months:
        return '<p class="muted">No equity in the period.</p>'
    by_year: dict[int, dict[int, float]] = {}
    for year, month, value in months:
        by_year.setdefault(year, {})[month] = value
    head = "".join(f"<th>{m}</th>" for m in _MONTHS)
    rows = []
    for year in sorted(by_year):
        cells = []
        total = 1.0
        for m in range(1, 13):
            if m not in by_year[year]:
                cells.append('<td class="none"></td>')
                continue
            value = by_year[year][m]
            total *= 1.0 + value
            alpha = min(0.85, 0.12 + abs(value) * 6)
            color = "26,127,55" if value >= 0 else "207,34,46"
            cells.append(
                f'<td class="{_sign(value)}" style="background:rgba({color},{alpha:.2f})">'
                f"{_pct(value)}</td>"
            )
        rows.append(
            f"<tr><th>{year}</th>{''.join(cells)}"
            f'<td class="year {_sign(total - 1)}">{_pct(total - 1)}</td></tr>'
        )
    return (
        '<table class="monthly"><thead><tr><th>Year</th>'
        f"{head}<th>Year</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _trades_table(data: ReportData) -> str:
    trades = list(data.trades)
    if not trades:
        return '<p class="muted">No round trip closed in the period.</p>'
    note = ""
    if len(trades) > MAX_TRADE_ROWS:
        note = (
            f'<p class="muted">The newest {MAX_TRADE_ROWS:,} of {len(trades):,} round trips; '
            "the JSON and CSV files hold all of them.</p>"
        )
        trades = trades[-MAX_TRADE_ROWS:]
    heads = (
        "#",
        "Symbol",
        "Side",
        "Amount",
        "Entry (UTC)",
        "Entry price",
        "Exit (UTC)",
        "Exit price",
        "Held",
        "Fees",
        "P&amp;L (net)",
        "Return",
    )
    rows = []
    first = len(data.trades) - len(trades) + 1
    for n, t in enumerate(trades, first):
        cost = t.entry_price * t.amount
        ret = t.pnl / cost if cost else None
        rows.append(
            "<tr>"
            f"<td>{n}</td><td>{escape(t.symbol)}</td><td>{escape(t.side)}</td>"
            f"<td>{t.amount:.8g}</td><td>{when(t.entry_ms)}</td><td>{t.entry_price:,.8g}</td>"
            f"<td>{when(t.exit_ms)}</td><td>{t.exit_price:,.8g}</td>"
            f"<td>{escape(_duration(t.exit_ms - t.entry_ms))}</td><td>{t.fees:,.4f}</td>"
            f'<td class="{_sign(t.pnl)}">{t.pnl:,.2f}</td><td class="{_sign(ret)}">{_pct(ret)}</td>'
            "</tr>"
        )
    head = "".join(f"<th>{h}</th>" for h in heads)
    return (
        f'{note}<table class="trades"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _duration(ms: int) -> str:
    minutes = ms / 60_000
    if minutes < 120:
        return f"{minutes:.0f} min"
    if minutes < 2880:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} d"


def _period_rows(data: ReportData) -> list[tuple[str, str]]:
    return [
        ("From (UTC)", when(data.start_ms, True)),
        ("To (UTC, excluded)", when(data.end_ms, True)),
        ("Source", data.source),
        ("Strategies", ", ".join(data.strategies) or "-"),
        ("Symbols", ", ".join(data.symbols) or "-"),
        ("Currency", data.currency or "-"),
        ("Days with equity", f"{len(data.daily):,}"),
    ]


def _sections(data: ReportData) -> str:
    parts = []
    for title, rows in metric_sections(data):
        body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
        parts.append(
            f'<table class="metrics"><thead><tr><th colspan="2">{escape(title)}</th></tr>'
            f"</thead><tbody>{body}</tbody></table>"
        )
    return "".join(parts)


def _table(rows: Sequence[tuple[str, str]], css: str) -> str:
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="{css}"><tbody>{body}</tbody></table>'


_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f6f8fa;color:#1f2328;
font:14px/1.45 -apple-system,"Segoe UI",Roboto,"DejaVu Sans","Liberation Sans",Arial,sans-serif}
main{max-width:1140px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 10px}
.meta{color:#57606a;margin:0} .muted{color:#57606a}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin-top:18px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px 14px}
.card .k{color:#57606a;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:21px;font-weight:600;margin-top:2px;font-variant-numeric:tabular-nums}
.pos{color:#1a7f37} .neg{color:#cf222e}
.panel{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:10px 12px}
svg.chart{display:block;width:100%;height:auto}
svg .grid line{stroke:#eaeef2;stroke-width:1}
svg text{font-size:12px;fill:#57606a;font-family:inherit}
svg .frame{fill:none;stroke:#d0d7de}
svg.equity .line{fill:none;stroke:#0969da;stroke-width:2}
svg.equity .area{fill:#0969da;fill-opacity:.10}
svg.drawdown .line{fill:none;stroke:#cf222e;stroke-width:1.5}
svg.drawdown .area{fill:#cf222e;fill-opacity:.25}
table{border-collapse:collapse;background:#fff;font-variant-numeric:tabular-nums}
th,td{padding:5px 9px;border-bottom:1px solid #eaeef2;text-align:right;white-space:nowrap}
thead th{background:#f6f8fa;color:#57606a;font-weight:600;border-bottom:1px solid #d0d7de}
table.metrics th{text-align:left;font-weight:normal;color:#57606a}
table.metrics{width:100%;margin-bottom:14px}
table.metrics thead th{text-align:left;color:#1f2328;font-weight:600}
.two{display:grid;grid-template-columns:1fr 1fr;gap:24px}
.two>div{min-width:0}
table.monthly{width:100%} table.monthly td{min-width:58px} table.monthly td.none{background:#fafbfc}
table.monthly td.pos,table.monthly td.neg{color:#1f2328}
table.monthly td.year{font-weight:600;background:#f6f8fa}
table.trades{width:100%} table.trades td:nth-child(2),table.trades td:nth-child(3){text-align:left}
.conventions{background:#fff8c5;border:1px solid #d4a72c66;border-radius:6px;padding:8px 12px}
footer{color:#57606a;font-size:12px;margin-top:28px}
@media print{body{background:#fff}.card,.panel{break-inside:avoid}}
"""


def render_html(data: ReportData) -> str:
    """The report as one self-contained HTML page."""
    s = data.summary
    equity = [(p.time_ms, p.value) for p in data.equity]
    if equity and data.start_ms < equity[0][0]:
        equity.insert(0, (data.start_ms, data.start_value))  # the curve starts at the start
    drawdown = [(t, -d * 100) for (t, _), d in zip(equity, _drawdowns(equity, data), strict=True)]
    cur = data.currency
    equity_svg = time_chart(
        equity,
        label=f"Equity ({cur or 'quote currency'}), marked to market",
        css_class="equity",
        y_format=lambda v, d: f"{v:,.{d}f}",
    )
    drawdown_svg = time_chart(
        drawdown,
        label="Drawdown from the running peak (%)",
        css_class="drawdown",
        y_format=lambda v, d: f"{v:.{d}f} %" if abs(v) > 1e-12 else "0 %",
        height=170,
        baseline=0.0,
    )
    strategies = ", ".join(data.strategies) or "-"
    symbols = ", ".join(data.symbols) or "-"
    notes = "".join(f'<p class="muted">Note: {escape(n)}</p>' for n in data.notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="real_trade report">
<title>{escape(data.title)}</title>
<style>{_CSS}</style></head>
<body><main>
<h1>{escape(data.title)}</h1>
<p class="meta">{when(data.start_ms)} → {when(data.end_ms)} UTC · {escape(data.source)} ·
strategy {escape(strategies)} · {escape(symbols)}</p>
{notes}
{_cards(data)}
<h2>Equity</h2><div class="panel" id="equity-chart">{equity_svg}</div>
<h2>Drawdown</h2><div class="panel" id="drawdown-chart">{drawdown_svg}</div>
<h2>Monthly returns</h2>{_monthly_table(data)}
<div class="two">
<div><h2>Metrics</h2>{_sections(data)}</div>
<div><h2>Conventions</h2><p class="conventions">{escape(data.conventions)}</p>
<h2>Period</h2>{_table(_period_rows(data), "metrics")}</div>
</div>
<h2>Round trips ({s.trades:,})</h2>
{_trades_table(data)}
<footer>Generated {when(data.generated_ms, True)} UTC by real_trade. Figures from the
{escape(data.source)}: returns are simple, equity is marked to market (fees and funding in),
round trips are matched first-in first-out.</footer>
</main></body></html>
"""


def _drawdowns(equity: Sequence[tuple[int, float]], data: ReportData) -> list[float]:
    from real_trade.monitor.metrics import drawdown_series

    return drawdown_series([v for _, v in equity], data.start_value)
