"""``real-trade report`` after a paper run on the simulator: the report's figures are the
journal's (orders, fills, fees, round trips, P&L, equity), in HTML, JSON and CSV."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from real_trade.cli.commands.report import period
from real_trade.monitor.report import build_report, read_report, write_report
from real_trade.monitor.report.writers import TRADE_COLUMNS, daily_csv_path
from real_trade.persistence import Journal
from real_trade.sim import SimExchange
from tests.e2e.test_cli_run import EXIT_BOUND_S, environment, script, write_config
from tests.support import assert_no_leak_warnings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def journal_of_a_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A paper run of SmaCross(2, 4) for 16 live bars on the simulator; its config's path."""
    folder = tmp_path_factory.mktemp("report-run")
    with SimExchange(speed=240.0, seed=21) as sim:
        config = write_config(folder, sim)
        out = subprocess.run(
            [script(), "run", str(config), "--max-bars", "16"],
            capture_output=True,
            text=True,
            env=environment(),
            timeout=EXIT_BOUND_S,
        )
        assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    yield config


def report_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [script(), "report", *args],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=EXIT_BOUND_S,
        cwd=cwd,
    )
    assert_no_leak_warnings(out.stdout + out.stderr, "real-trade report")
    return out


def _url(config: Path) -> str:
    return f"sqlite:///{config.parent / 'journal.db'}"


def test_report_figures_equal_the_journals(journal_of_a_run: Path) -> None:
    with Journal(_url(journal_of_a_run)) as journal:
        orders, fills = journal.orders(), journal.fills()
        trades, equity = journal.trades(), journal.equity()
        data = build_report(journal, None, None, title="run", initial_cash=10_000.0)
    assert len(fills) >= 3 and trades, "the run traded (a real test)"
    a, s = data.activity, data.summary
    assert a.orders == len(orders) and a.fills == len(fills)
    assert a.orders_by_state.get("COMPLETED") == sum(o.state == "COMPLETED" for o in orders)
    assert a.fees == pytest.approx(sum(f.fee_in_quote for f in fills), rel=1e-12)
    assert s.fees == a.fees and a.fees > 0
    assert a.volume == pytest.approx(sum(f.price * f.amount for f in fills), rel=1e-12)
    assert list(data.trades) == trades and s.trades == len(trades)
    assert a.realized_pnl == pytest.approx(sum(t.pnl for t in trades), rel=1e-12)
    assert s.won == sum(t.pnl > 0 for t in trades)
    # each round trip's result is its fills': sell value - buy cost - both legs' fees
    for t in trades:
        legs = [f for f in fills if f.time_ms <= t.exit_ms and f.time_ms >= t.entry_ms]
        assert t.exit_client_order_id in {f.client_order_id for f in legs}
        assert t.pnl == pytest.approx(
            (t.exit_price - t.entry_price) * t.amount - t.fees, rel=1e-9, abs=1e-9
        )
    assert data.start_value == 10_000.0 and s.end_value == equity[-1].equity
    assert s.total_return == pytest.approx(equity[-1].equity / 10_000.0 - 1, rel=1e-12)
    assert [p.value for p in data.equity][-1] == equity[-1].equity
    assert data.symbols == ("BTC/USDT",) and data.strategies == ("cli-sma",)
    # held a position at some points, not at others: exposure is between 0 and 1
    assert 0 < s.exposure < 1


def test_json_and_csv_round_trip(journal_of_a_run: Path, tmp_path: Path) -> None:
    data = build_report(_url(journal_of_a_run), None, None, title="round trip")
    assert read_report(write_report(data, tmp_path / "r.json")) == data
    path = write_report(data, tmp_path / "r.csv")
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == TRADE_COLUMNS and len(rows) == len(data.trades)
    for row, trade in zip(rows, data.trades, strict=True):
        assert float(row["pnl"]) == trade.pnl and float(row["fees"]) == trade.fees
        assert (
            float(row["entry_price"]) == trade.entry_price and int(row["exit_ms"]) == trade.exit_ms
        )
    with daily_csv_path(path).open(encoding="utf-8") as f:
        daily = list(csv.DictReader(f))
    assert [(int(d["time_ms"]), float(d["equity"])) for d in daily] == data.daily
    with pytest.raises(ValueError, match=r"\*\.html, \*\.json or \*\.csv"):
        write_report(data, tmp_path / "r.pdf")


def test_cli_writes_html_json_csv_from_the_configs_journal(
    journal_of_a_run: Path, tmp_path: Path
) -> None:
    out = report_cli(
        str(journal_of_a_run),
        "--out",
        "r.html",
        "--out",
        "r.json",
        "--out",
        "r.csv",
        "--cash",
        "10000",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    with Journal(_url(journal_of_a_run)) as journal:
        fills, trades = journal.fills(), journal.trades()
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert doc["activity"]["fills"] == len(fills)
    assert doc["activity"]["fees"] == pytest.approx(sum(f.fee_in_quote for f in fills))
    assert doc["activity"]["realized_pnl"] == pytest.approx(sum(t.pnl for t in trades))
    assert doc["periods_per_year"] == 365 and doc["risk_free"] == 0.0
    assert doc["std"] == "sample (n-1)"
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert f"<h2>Round trips ({len(trades)})</h2>" in html and "365 periods a year" in html
    assert (tmp_path / "r.csv").exists() and (tmp_path / "r.daily.csv").exists()
    assert f"Fills{' ' * 29}{len(fills)}" in out.stdout
    assert "wrote r.html" in out.stdout
    conventions = [line for line in out.stdout.splitlines() if line.startswith("conventions: ")]
    assert len(conventions) == 1 and "365 periods a year" in conventions[0]
    assert "sample standard deviation (n-1)" in conventions[0]

    # a period before the run: nothing traded in it, the equity carried from before
    first = json.loads((tmp_path / "r.json").read_text())["equity"][0]["time_ms"]
    day = dt.datetime.fromtimestamp(first / 1000, dt.timezone.utc).strftime("%Y-%m-%d")
    empty = report_cli(
        str(journal_of_a_run),
        "--from",
        "2020-01-01",
        "--to",
        day,
        "--out",
        "e.json",
        "--cash",
        "10000",
        cwd=tmp_path,
    )
    assert empty.returncode == 0, empty.stderr
    nothing = read_report(tmp_path / "e.json")
    assert nothing.activity.fills == 0 and not nothing.trades and nothing.summary.fees == 0


def test_cli_refuses_what_it_cannot_do(journal_of_a_run: Path, tmp_path: Path) -> None:
    missing = report_cli("--journal", f"sqlite:///{tmp_path / 'none.db'}", cwd=tmp_path)
    assert missing.returncode == 2 and "no journal at" in missing.stderr
    both = report_cli(str(journal_of_a_run), "--daily", "--from", "2026-01-01", cwd=tmp_path)
    assert both.returncode == 2 and "exclude each other" in both.stderr
    bad = report_cli(str(journal_of_a_run), "--out", "r.pdf", cwd=tmp_path)
    assert bad.returncode == 2 and "*.html, *.json or *.csv" in bad.stderr
    cash = report_cli(str(journal_of_a_run), "--cash", "-5", cwd=tmp_path)
    assert cash.returncode == 2 and "--cash must be a positive number" in cash.stderr
    assert not list(tmp_path.glob("report-*"))


def _args(**given: object) -> argparse.Namespace:
    base: dict[str, object] = {"daily": False, "weekly": False, "monthly": False, "at": None}
    base.update(start=None, end=None)
    base.update(given)
    return argparse.Namespace(**base)


def test_named_periods_are_complete_utc_days_weeks_and_months() -> None:
    now = dt.datetime(2026, 3, 4, 15, 30, tzinfo=dt.timezone.utc)  # a Wednesday
    utc = dt.timezone.utc
    assert period(_args(daily=True), now) == (
        dt.datetime(2026, 3, 3, tzinfo=utc),
        dt.datetime(2026, 3, 4, tzinfo=utc),
        "2026-03-03",
    )
    assert period(_args(weekly=True), now) == (
        dt.datetime(2026, 2, 23, tzinfo=utc),
        dt.datetime(2026, 3, 2, tzinfo=utc),
        "2026-W09",
    )
    assert period(_args(monthly=True), now) == (
        dt.datetime(2026, 2, 1, tzinfo=utc),
        dt.datetime(2026, 3, 1, tzinfo=utc),
        "2026-02",
    )
    at = int(dt.datetime(2025, 12, 31, 23, tzinfo=utc).timestamp() * 1000)
    assert period(_args(monthly=True, at=at), now)[:2] == (
        dt.datetime(2025, 12, 1, tzinfo=utc),
        dt.datetime(2026, 1, 1, tzinfo=utc),
    )
    assert period(_args(), now) == (None, None, "all")
