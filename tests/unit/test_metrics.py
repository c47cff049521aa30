"""``real_trade.monitor.metrics`` against figures worked out by hand."""

from __future__ import annotations

import math

import pytest

from real_trade.monitor.metrics import (
    DAY_MS,
    ClosedTrade,
    EquityPoint,
    buy_and_hold_return,
    daily_returns,
    exposure,
    max_drawdown,
    sharpe_ratio,
    summarize,
    total_return,
    win_rate,
)

HOUR = 3_600_000


def trade(pnl_net: float, fees: float = 1.0) -> ClosedTrade:
    return ClosedTrade("BTC/USDT", 0, HOUR, pnl_net + fees, pnl_net, fees, 1)


def test_total_return_and_its_refusal_of_a_zero_start() -> None:
    assert total_return(10_000, 10_500) == pytest.approx(0.05)
    assert total_return(200, 150) == pytest.approx(-0.25)
    with pytest.raises(ValueError, match="positive"):
        total_return(0, 10)


def test_max_drawdown_is_the_deepest_fall_from_a_running_peak() -> None:
    # peaks 100 -> 120; falls: 100->90 (10 %), 120->84 (30 %, 36 money), 130->117 (10 %)
    dd = max_drawdown([100, 90, 120, 84, 130, 117])
    assert dd.fraction == pytest.approx(0.30)
    assert dd.amount == pytest.approx(36.0)
    assert max_drawdown([1, 2, 3]).fraction == 0.0
    assert max_drawdown([]).amount == 0.0


def test_max_drawdown_fraction_and_money_may_come_from_different_falls() -> None:
    # 100 -> 50 is 50 % (50 money); 1000 -> 900 is 10 % (100 money)
    dd = max_drawdown([100, 50, 1000, 900])
    assert (dd.fraction, dd.amount) == (pytest.approx(0.5), pytest.approx(100.0))


def test_daily_returns_take_each_days_last_value_a_day_without_one_kept_the_last() -> None:
    points = [
        EquityPoint(0 * HOUR, 101.0),
        EquityPoint(23 * HOUR, 102.0),  # day 0 ends at 102
        EquityPoint(DAY_MS + HOUR, 99.0),
        EquityPoint(DAY_MS + 5 * HOUR, 96.9),  # day 1 ends at 96.9
        EquityPoint(3 * DAY_MS, 106.59),  # day 3 (day 2 has no bar: it kept 96.9)
    ]
    returns = daily_returns(points, start_value=100.0)
    assert returns == pytest.approx([0.02, 96.9 / 102 - 1, 0.0, 106.59 / 96.9 - 1])


def test_sharpe_is_mean_over_sample_std_times_sqrt_365() -> None:
    returns = [0.01, -0.02, 0.03, 0.0]
    # mean 0.005; deviations .005 -.025 .025 -.005; squares sum 0.0013; /3 -> 4.333e-4
    expected = 0.005 / math.sqrt(0.0013 / 3) * math.sqrt(365)
    assert sharpe_ratio(returns) == pytest.approx(expected)
    assert sharpe_ratio(returns) == pytest.approx(4.5889, abs=1e-4)


def test_sharpe_subtracts_the_daily_equivalent_of_the_annual_risk_free_rate() -> None:
    returns = [0.01, -0.02, 0.03, 0.0]
    daily = 1.05 ** (1 / 365) - 1
    expected = (0.005 - daily) / math.sqrt(0.0013 / 3) * math.sqrt(365)
    assert sharpe_ratio(returns, risk_free=0.05) == pytest.approx(expected)
    assert sharpe_ratio(returns, periods_per_year=252) == pytest.approx(
        0.005 / math.sqrt(0.0013 / 3) * math.sqrt(252)
    )


def test_sharpe_is_undefined_for_one_return_or_a_flat_curve() -> None:
    assert sharpe_ratio([0.01]) is None
    assert sharpe_ratio([0.0, 0.0, 0.0]) is None


def test_win_rate_counts_results_after_fees_above_zero() -> None:
    trades = [trade(5.0), trade(-1.0), trade(0.0), trade(0.5, fees=2.0)]
    assert win_rate(trades) == pytest.approx(0.5)  # 5.0 and 0.5 won; 0.0 is not a win
    assert win_rate([]) is None


def test_exposure_and_buy_and_hold() -> None:
    points = [EquityPoint(i * HOUR, 100.0, in_market=i in (1, 2, 3)) for i in range(8)]
    assert exposure(points) == pytest.approx(3 / 8)
    assert exposure([]) == 0.0
    assert buy_and_hold_return(50_000, 55_000) == pytest.approx(0.1)
    assert buy_and_hold_return(0, 5) is None


def test_summarize_puts_the_figures_together() -> None:
    points = [
        EquityPoint(0, 10_100.0, True),
        EquityPoint(DAY_MS, 9_595.0, True),
        EquityPoint(2 * DAY_MS, 10_554.5, False),
    ]
    trades = [trade(600.0, fees=20.0), trade(-45.5, fees=10.0)]
    s = summarize(points, trades, start_value=10_000.0, fees=30.0, buy_and_hold=0.08)
    assert s.total_return == pytest.approx(0.05545)
    assert s.max_drawdown == pytest.approx(0.05)  # 10,100 -> 9,595
    assert s.max_drawdown_amount == pytest.approx(505.0)
    assert s.sharpe == pytest.approx(sharpe_ratio([0.01, -0.05, 0.1]))
    assert (s.trades, s.won, s.win_rate) == (2, 1, 0.5)
    assert s.exposure == pytest.approx(2 / 3)
    assert (s.fees, s.buy_and_hold, s.bars) == (30.0, 0.08, 3)
    empty = summarize([], [], start_value=500.0)
    assert (empty.total_return, empty.sharpe, empty.trades, empty.end_value) == (0, None, 0, 500)
