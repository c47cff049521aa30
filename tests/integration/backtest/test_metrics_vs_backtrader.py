"""The full metric set of ``real_trade.monitor.metrics`` against backtrader's own analyzers on
the same backtest run (simulator history, a month of 1h bars), where the two overlap: daily
returns, Sharpe, maximum drawdown, and the trade statistics."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import backtrader as bt
import pytest

from real_trade.backtest import load_bars, run_backtest
from real_trade.cli.commands.backtest import parse_utc
from real_trade.config import RealTradeConfig
from real_trade.monitor.metrics import compute_metrics, drawdown_period, trade_stats
from real_trade.sim import SimExchange
from real_trade.strategies import SmaCross
from tests.integration.backtest.backtest_support import write_config

pytestmark = pytest.mark.integration

FROM, TO = "2025-12-10", "2026-01-09"  # 30 days of hourly bars
HOUR_MS = 3_600_000


def test_metrics_agree_with_backtraders_analyzers_on_the_same_run(
    sim: SimExchange, tmp_path: Path
) -> None:
    config = RealTradeConfig.load(write_config(tmp_path, sim, fast=5, slow=20), env={})
    bars = load_bars(config, parse_utc(FROM), parse_utc(TO))
    result = run_backtest(
        config,
        bars,
        SmaCross,
        {"fast": 5, "slow": 20, "size": 0.05},
        analyzers=[
            (bt.analyzers.TradeAnalyzer, {"_name": "trades"}),
            (bt.analyzers.DrawDown, {"_name": "drawdown"}),
            (bt.analyzers.TimeReturn, {"_name": "daily", "timeframe": bt.TimeFrame.Days}),
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
    start = config.initial_cash
    m = compute_metrics(
        [(p.time_ms, p.value) for p in result.equity], result.trades, start_value=start
    )
    a = result.strategy.analyzers
    daily = a.daily.get_analysis()
    assert m.days == len(daily) == 30
    utc = dt.timezone.utc
    assert [d.date() for d in daily] == [
        dt.datetime.fromtimestamp(ms / 1000, utc).date() for ms, _ in m.daily
    ]
    assert m.daily_returns == pytest.approx(list(daily.values()), rel=1e-9, abs=1e-15)
    assert m.sharpe == pytest.approx(a.sharpe.get_analysis()["sharperatio"], rel=1e-9)
    dd = a.drawdown.get_analysis()
    # backtrader measures the drawdown on every bar: so does drawdown_period on the bar curve
    bar_dd = drawdown_period([(p.time_ms, p.value) for p in result.equity], start)
    assert bar_dd.fraction == pytest.approx(dd.max.drawdown / 100, rel=1e-9)
    assert bar_dd.amount == pytest.approx(dd.max.moneydown, rel=1e-9)
    assert m.max_drawdown <= bar_dd.fraction  # the daily curve sees only the days' closes
    # the longest drawdown is still open at the end of this run: backtrader's length in bars
    # (bars since the peak) is then our underwater time from the peak to the last bar
    assert not bar_dd.recovered
    assert bar_dd.longest_days * 24 == pytest.approx(dd.max.len) and dd.max.len > 24

    t, ta = trade_stats(result.trades), a.trades.get_analysis()
    assert t.trades == ta.total.closed >= 5
    assert (t.won, t.lost) == (ta.won.total, ta.lost.total)
    assert t.gross_profit == pytest.approx(ta.won.pnl.total, rel=1e-9)
    assert t.gross_loss == pytest.approx(-ta.lost.pnl.total, rel=1e-9)
    assert t.net_profit == pytest.approx(ta.pnl.net.total, rel=1e-9)
    assert t.expectancy == pytest.approx(ta.pnl.net.average, rel=1e-9)
    assert t.average_win == pytest.approx(ta.won.pnl.average, rel=1e-9)
    assert t.average_loss == pytest.approx(-ta.lost.pnl.average, rel=1e-9)
    assert t.best == pytest.approx(ta.won.pnl.max, rel=1e-9)
    assert t.worst == pytest.approx(ta.lost.pnl.max, rel=1e-9)
    assert t.longest_winning_streak == ta.streak.won.longest
    assert t.longest_losing_streak == ta.streak.lost.longest
    assert t.average_holding_ms == pytest.approx(ta.len.average * HOUR_MS, rel=1e-9)
