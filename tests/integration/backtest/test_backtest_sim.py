"""``real-trade backtest`` end to end on the simulator, checked against backtrader itself:
its analyzers on the same run, and its own broker on the same bars."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import backtrader as bt
import pytest

from real_trade.backtest import BacktestResult, load_bars, run_backtest
from real_trade.backtest.engine import _feed
from real_trade.cli import main
from real_trade.cli.commands.backtest import parse_utc
from real_trade.config import RealTradeConfig
from real_trade.monitor.report import read_report
from real_trade.monitor.report.html import metric_sections
from real_trade.sim import SimExchange
from real_trade.strategies import SmaCross
from tests.integration.backtest.backtest_support import write_config

pytestmark = pytest.mark.integration

FROM, TO = "2026-01-05", "2026-01-09"  # 96 hourly bars
PARAMS = {"fast": 3, "slow": 10, "size": 0.01}
HOUR_MS = 3_600_000
ROOT = Path(__file__).resolve().parents[3]


def _figure(text: str, name: str) -> str:
    found = re.search(rf"^\s+{name}\s+(.+)$", text, re.MULTILINE)
    assert found, f"no {name!r} line in:\n{text}"
    return found.group(1).strip()


def _analyzed_run(config: RealTradeConfig) -> tuple[Any, BacktestResult]:
    bars = load_bars(config, parse_utc(FROM), parse_utc(TO))
    result = run_backtest(
        config,
        bars,
        SmaCross,
        PARAMS,
        analyzers=[
            (bt.analyzers.TradeAnalyzer, {"_name": "trades"}),
            (bt.analyzers.DrawDown, {"_name": "drawdown"}),
            (bt.analyzers.TimeReturn, {"_name": "whole", "timeframe": bt.TimeFrame.NoTimeFrame}),
            (
                bt.analyzers.SharpeRatio,
                {
                    "_name": "sharpe",
                    "timeframe": bt.TimeFrame.Days,
                    "annualize": True,
                    "riskfreerate": 0.0,
                    "factor": 365,
                    "stddev_sample": True,
                },
            ),
        ],
    )
    return bars, result


def test_backtest_command_prints_figures_that_backtraders_analyzers_confirm(
    sim: SimExchange, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = write_config(tmp_path, sim)
    code = main(["backtest", str(config_path), "--from", FROM, "--to", TO, "--no-progress"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "2026-01-05 00:00 -> 2026-01-08 23:00 UTC, 96 bars" in out.out
    assert "SmaCross (fast=3, slow=10, size=0.01)" in out.out
    assert "conventions: Sharpe on daily returns" in out.out and "sqrt(365)" in out.out

    _, result = _analyzed_run(RealTradeConfig.load(config_path, env={}))
    s = result.summary
    analyzers = result.strategy.analyzers
    trades = analyzers.trades.get_analysis()
    drawdown = analyzers.drawdown.get_analysis()
    sharpe = analyzers.sharpe.get_analysis()["sharperatio"]
    assert s.trades == trades.total.closed >= 3  # a real test: several round trips
    assert all(t.pnl_net != 0 for t in result.trades)  # so both ways of counting wins agree
    assert s.won == trades.won.total
    assert s.max_drawdown == pytest.approx(drawdown.max.drawdown / 100, rel=1e-9)
    assert s.max_drawdown_amount == pytest.approx(drawdown.max.moneydown, rel=1e-9)
    assert s.sharpe == pytest.approx(sharpe, rel=1e-9)
    (whole,) = analyzers.whole.get_analysis().values()
    assert s.total_return == pytest.approx(whole, rel=1e-9)
    assert s.fees == pytest.approx(sum(t.fees for t in result.trades) + _open_fees(result))

    assert _figure(out.out, "return") == f"{s.total_return * 100:.2f} %"
    assert _figure(out.out, "Sharpe") == f"{s.sharpe:,.2f}"
    assert _figure(out.out, "trades").startswith(f"{s.trades} closed ({s.won} won)")
    assert _figure(out.out, "max drawdown").startswith(f"{s.max_drawdown * 100:.2f} %")
    assert _figure(out.out, "fees") == f"{s.fees:,.2f} USDT"
    assert _figure(out.out, "final value") == f"{s.end_value:,.2f} USDT"
    assert _figure(out.out, "exposure") == f"{s.exposure * 100:.1f} %"
    assert _figure(out.out, "buy and hold") == f"{s.buy_and_hold * 100:.2f} %"


def _open_fees(result: BacktestResult) -> float:
    """Fees of the fills after the last closed trade's (a position still open at the end)."""
    return sum(f.fees for f in result.fills[2 * len(result.trades) :])


def test_fills_match_backtraders_own_broker_on_the_same_bars(
    sim: SimExchange, tmp_path: Path
) -> None:
    config = RealTradeConfig.load(write_config(tmp_path, sim), env={})
    bars, result = _analyzed_run(config)

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(_feed(bars["BTC/USDT"], "1h"), name="BTC/USDT")
    cerebro.broker.setcash(10_000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(SmaCross, **PARAMS)
    plain = cerebro.run()[0]
    executed = [o for o in plain.orders if o.status == o.Completed]

    assert len(result.fills) == len(executed) >= 6
    for fill, order in zip(result.fills, executed, strict=True):
        bar_ms = round(bt.num2date(order.executed.dt).timestamp() * 1000)
        assert fill.side == ("buy" if order.isbuy() else "sell")
        assert fill.time_ms // HOUR_MS * HOUR_MS == bar_ms  # the same bar: the next open
        # the paper market fills at the open plus at most the half spread of its book
        assert fill.price == pytest.approx(order.executed.price, rel=1e-5)
    # fees on buys are taken in BTC on the paper account, as on Binance: a few cents apart
    assert result.summary.end_value == pytest.approx(cerebro.broker.getvalue(), abs=0.5)
    assert result.summary.end_value != 10_000.0


def test_report_writes_the_backtests_own_figures_and_round_trips(
    sim: SimExchange, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = write_config(tmp_path, sim)
    args = ["backtest", str(config_path), "--from", FROM, "--to", TO, "--no-progress"]
    assert main([*args, "--report", str(tmp_path / "out" / "r.json")]) == 0
    assert main([*args, "--report", str(tmp_path / "r.html")]) == 0
    out = capsys.readouterr().out
    assert f"report: {tmp_path / 'r.html'}" in out

    _, result = _analyzed_run(RealTradeConfig.load(config_path, env={}))
    report = read_report(tmp_path / "out" / "r.json")
    s, r = result.summary, report.summary
    assert report.source == "backtest" and report.symbols == ("BTC/USDT",)
    assert (report.start_ms, report.end_ms) == (parse_utc(FROM), parse_utc(TO))
    assert r.trades == s.trades >= 3 and r.won == s.won
    for name in ("total_return", "max_drawdown", "sharpe", "fees", "end_value", "exposure"):
        assert getattr(r, name) == pytest.approx(getattr(s, name), rel=1e-9), name
    assert r.buy_and_hold == s.buy_and_hold and report.currency == "USDT"
    # the fills matched FIFO give backtrader's own trades: same times, same net results
    assert [(t.entry_ms, t.exit_ms) for t in report.trades] == [
        (t.opened_ms, t.closed_ms) for t in result.trades
    ]
    for mine, theirs in zip(report.trades, result.trades, strict=True):
        assert mine.pnl == pytest.approx(theirs.pnl_net, abs=0.02)
    assert report.activity.fills == len(result.fills)

    # the console shows the report's figures too: the same groups, labels and values
    for title, rows in metric_sections(report):
        assert title in out, title
        for label, value in rows:
            line = rf"│ {re.escape(label)} +│ +{re.escape(value)} │"
            assert re.search(line, out), f"{label}: {value} not printed"
    assert main([*args, "--brief"]) == 0
    brief = capsys.readouterr().out
    assert "final value" in brief and "Round trips (after fees)" not in brief

    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<svg" in html and 'class="chart equity"' in html
    assert f"<h2>Round trips ({s.trades})</h2>" in html
    assert "365 periods a year" in html and "sample standard deviation" in html


def test_bad_period_and_unknown_parameter_exit_2(
    sim: SimExchange, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = write_config(tmp_path, sim)
    assert main(["backtest", str(config_path), "--from", TO, "--to", FROM]) == 2
    assert "--from must be before --to" in capsys.readouterr().err
    text = config_path.read_text(encoding="utf-8").replace("fast = 3", "fastt = 3")
    config_path.write_text(text, encoding="utf-8")
    assert main(["backtest", str(config_path)]) == 2
    assert "did you mean 'fast'" in capsys.readouterr().err


def test_the_console_script_runs_a_backtest_without_a_progress_bar_off_a_terminal(
    sim: SimExchange, tmp_path: Path
) -> None:
    script = Path(sys.executable).parent / "real-trade"
    if not script.exists():
        pytest.fail("the 'real-trade' console script is not installed next to this Python")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RT_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    config_path = write_config(tmp_path, sim)
    done = subprocess.run(
        [str(script), "backtest", str(config_path), "--from", FROM, "--to", TO],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "96 bars" in done.stdout and "final value" in done.stdout
    assert "%|" not in done.stderr and "bar/s" not in done.stderr  # no terminal: no progress bar
    assert "Traceback" not in done.stderr


def test_a_live_config_without_keys_backtests_on_paper(
    sim: SimExchange, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = write_config(tmp_path, sim)
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(
        text.replace(
            "commission = 0.001", "commission = 0.001\npaper_trading = false\ntestnet = false"
        ),
        encoding="utf-8",
    )
    code = main(
        [
            "backtest",
            str(config_path),
            "--from",
            FROM,
            "--to",
            TO,
            "--cash",
            "5000",
            "--no-progress",
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "cash 5,000.00" in out.out and "start value   5,000.00 USDT" in out.out
