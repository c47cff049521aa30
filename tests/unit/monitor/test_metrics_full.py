"""The full metric set of ``real_trade.monitor.metrics`` against empyrical-reloaded (with
``annualization=365``) and against figures worked out by hand."""

from __future__ import annotations

import math
import random

import pytest

from real_trade.monitor.metrics import (
    DAY_MS,
    METRICS_CONVENTIONS,
    ClosedTrade,
    annual_volatility,
    cagr,
    compute_metrics,
    daily_equity,
    drawdown_period,
    returns_of,
    sharpe_ratio,
    sortino_ratio,
    time_in_market,
    trade_stats,
)

HOUR = 3_600_000
T0 = 1_672_531_200_000  # 2023-01-01 00:00 UTC


def random_curve(days: int = 400, seed: int = 7) -> list[tuple[int, float]]:
    """A seeded equity curve with several points on some days and none on others."""
    rng = random.Random(seed)
    value, points = 10_000.0, []
    for day in range(days):
        if day % 11 == 5:  # a day without any point: the curve carries the previous value
            continue
        for hour in sorted(rng.sample(range(24), rng.randint(1, 3))):
            value *= 1.0 + rng.gauss(0.0005, 0.02)
            points.append((T0 + day * DAY_MS + hour * HOUR, value))
    return points


def empyrical_daily(points: list[tuple[int, float]], start_value: float):  # type: ignore[no-untyped-def]
    """The same daily UTC curve built with pandas (last value per day, gaps forward-filled),
    as returns for empyrical."""
    pd = pytest.importorskip("pandas")
    series = pd.Series(
        [v for _, v in points], index=pd.to_datetime([t for t, _ in points], unit="ms", utc=True)
    )
    daily = series.resample("1D").last().ffill()
    values = [start_value, *daily.tolist()]
    return pd.Series(values).pct_change().dropna().reset_index(drop=True), daily


def test_every_period_figure_equals_empyrical_with_365_periods() -> None:
    empyrical = pytest.importorskip("empyrical")
    points = random_curve()
    start = 10_000.0
    returns, daily = empyrical_daily(points, start)
    m = compute_metrics(points, start_value=start)
    assert m.days == len(daily) == 400
    assert [v for _, v in m.daily] == pytest.approx(daily.tolist(), rel=1e-12)
    assert m.daily_returns == pytest.approx(returns.tolist(), rel=1e-9)
    assert m.cagr == pytest.approx(empyrical.cagr(returns, annualization=365), rel=1e-9)
    assert m.cagr == pytest.approx(empyrical.annual_return(returns, annualization=365), rel=1e-9)
    assert m.volatility == pytest.approx(
        empyrical.annual_volatility(returns, annualization=365), rel=1e-9
    )
    assert m.sharpe == pytest.approx(empyrical.sharpe_ratio(returns, annualization=365), rel=1e-9)
    assert m.sortino == pytest.approx(empyrical.sortino_ratio(returns, annualization=365), rel=1e-9)
    assert m.max_drawdown == pytest.approx(-empyrical.max_drawdown(returns), rel=1e-9)
    assert m.calmar == pytest.approx(empyrical.calmar_ratio(returns, annualization=365), rel=1e-9)
    assert m.total_return == pytest.approx(empyrical.cum_returns_final(returns), rel=1e-9)
    assert m.annual_return == pytest.approx(returns.mean() * 365, rel=1e-9)


def test_a_risk_free_rate_is_annual_and_matches_empyricals_daily_one() -> None:
    empyrical = pytest.importorskip("empyrical")
    returns, _ = empyrical_daily(random_curve(120, seed=3), 10_000.0)
    rf = 0.04
    daily_rf = (1 + rf) ** (1 / 365) - 1
    ours = sharpe_ratio(list(returns), risk_free=rf)
    assert ours == pytest.approx(
        empyrical.sharpe_ratio(returns, risk_free=daily_rf, annualization=365), rel=1e-9
    )
    assert sortino_ratio(list(returns), risk_free=rf) == pytest.approx(
        empyrical.sortino_ratio(returns, required_return=daily_rf, annualization=365), rel=1e-9
    )
    plain = sharpe_ratio(list(returns))
    assert ours is not None and plain is not None and ours < plain  # a positive rate lowers it


def test_hand_figures_of_a_four_day_curve() -> None:
    # 100 -> 110 -> 99 -> 99 (no point on day 3) -> 121
    points = [(T0, 110.0), (T0 + DAY_MS, 99.0), (T0 + 3 * DAY_MS + HOUR, 121.0)]
    m = compute_metrics(points, start_value=100.0)
    assert [v for _, v in m.daily] == [110.0, 99.0, 99.0, 121.0]
    r = [0.1, -0.1, 0.0, 121 / 99 - 1]
    assert m.daily_returns == pytest.approx(r)
    assert m.total_return == pytest.approx(0.21)
    assert m.cagr == pytest.approx(1.21 ** (365 / 4) - 1)
    assert m.annual_return == pytest.approx(sum(r) / 4 * 365)
    mean = sum(r) / 4
    std = math.sqrt(sum((x - mean) ** 2 for x in r) / 3)
    assert m.volatility == pytest.approx(std * math.sqrt(365))
    assert m.sharpe == pytest.approx(mean / std * math.sqrt(365))
    downside = math.sqrt(0.01 / 4)
    assert m.sortino == pytest.approx(mean * 365 / (downside * math.sqrt(365)))
    assert m.max_drawdown == pytest.approx(0.1)  # 110 -> 99
    assert m.max_drawdown_amount == pytest.approx(11.0)
    assert m.cagr is not None and m.calmar == pytest.approx(m.cagr / 0.1)
    assert m.max_drawdown_days == 3.0  # under the 110 peak from day 0 until day 3
    assert "365 periods" in m.conventions and "risk-free 0 " in m.conventions
    assert "sample standard deviation" in METRICS_CONVENTIONS


def test_undefined_figures_are_none_not_zero() -> None:
    m = compute_metrics([(T0, 100.0)], start_value=100.0)
    assert m.volatility is None and m.sharpe is None and m.sortino is None
    assert m.calmar is None  # no drawdown
    assert annual_volatility([0.01]) is None
    assert sortino_ratio([0.01, 0.02]) is None  # no losing day
    assert cagr(100, 120, 0) is None and cagr(0, 120, 10) is None
    assert trade_stats([]).win_rate is None and trade_stats([]).profit_factor is None


def test_drawdown_duration_counts_an_unrecovered_fall_until_the_end() -> None:
    curve = [(T0 + d * DAY_MS, v) for d, v in enumerate([100, 120, 90, 100, 125, 110, 105])]
    dd = drawdown_period(curve)
    assert dd.fraction == pytest.approx(0.25) and dd.amount == pytest.approx(30)
    assert dd.peak_ms == T0 + DAY_MS and dd.trough_ms == T0 + 2 * DAY_MS
    # under 120 from day 1 to day 4 (3 days); under 125 from day 4 to the end, day 6 (2 days)
    assert dd.longest_days == 3.0 and dd.recovered
    longer = drawdown_period([*curve, (T0 + 9 * DAY_MS, 124.0)])
    assert longer.longest_days == 5.0 and not longer.recovered


def test_daily_equity_starts_at_the_range_and_carries_to_its_end() -> None:
    points = [(T0 + HOUR, 10.0), (T0 + 2 * DAY_MS + HOUR, 12.0)]
    curve = daily_equity(points, start_ms=T0 + DAY_MS, end_ms=T0 + 5 * DAY_MS)
    assert curve == [
        (T0 + DAY_MS, 10.0),
        (T0 + 2 * DAY_MS, 12.0),
        (T0 + 3 * DAY_MS, 12.0),
        (T0 + 4 * DAY_MS, 12.0),
    ]
    assert returns_of([10.0, 12.0, 9.0]) == pytest.approx([0.2, -0.25])


def trade(pnl_net: float, opened_h: int = 0, hours: int = 2, fees: float = 1.0) -> ClosedTrade:
    return ClosedTrade(
        "BTC/USDT",
        T0 + opened_h * HOUR,
        T0 + (opened_h + hours) * HOUR,
        pnl_net + fees,
        pnl_net,
        fees,
    )


def test_trade_statistics_by_hand() -> None:
    results = [10.0, 20.0, -5.0, 0.0, -15.0, -10.0, 30.0]
    stats = trade_stats([trade(r, i, hours=i + 1) for i, r in enumerate(results)])
    assert (stats.trades, stats.won, stats.lost) == (7, 3, 3)
    assert stats.win_rate == pytest.approx(3 / 7)
    assert stats.gross_profit == 60.0 and stats.gross_loss == 30.0 and stats.net_profit == 30.0
    assert stats.profit_factor == pytest.approx(2.0)
    assert stats.expectancy == pytest.approx(30 / 7)
    assert stats.average_win == pytest.approx(20.0) and stats.average_loss == pytest.approx(10.0)
    assert stats.payoff == pytest.approx(2.0)
    assert (stats.best, stats.worst) == (30.0, -15.0)
    # wins 10, 20 (2); the flat trade breaks the run; losses -15, -10 (2)
    assert stats.longest_winning_streak == 2 and stats.longest_losing_streak == 2
    assert stats.average_holding_ms == pytest.approx(sum(range(1, 8)) / 7 * HOUR)
    assert stats.fees == 7.0


def test_time_in_market_from_position_changes() -> None:
    changes = [
        (T0 - HOUR, "BTC/USDT", 1.0),  # held at the start of the range
        (T0 + 2 * HOUR, "BTC/USDT", -1.0),  # flat at 2h
        (T0 + 4 * HOUR, "ETH/USDT", 2.0),
        (T0 + 5 * HOUR, "BTC/USDT", 0.5),  # a second symbol while ETH is held
        (T0 + 6 * HOUR, "ETH/USDT", -2.0),
        (T0 + 7 * HOUR, "BTC/USDT", -0.5),  # flat at 7h
        (T0 + 9 * HOUR, "BTC/USDT", 1.0),  # held until the end (10h)
    ]
    share = time_in_market(changes, T0, T0 + 10 * HOUR)
    assert share == pytest.approx((2 + 3 + 1) / 10)
    assert time_in_market([], T0, T0 + HOUR) == 0.0
