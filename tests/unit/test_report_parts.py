"""The report's series (``real_trade.monitor.metrics`` report section) and chart helpers,
against figures worked out by hand."""

from __future__ import annotations

import pytest

from real_trade.monitor.metrics import (
    DAY_MS,
    EquityPoint,
    daily_equity,
    daily_returns,
    drawdown_series,
    monthly_returns,
)
from real_trade.monitor.report.svg import nice_ticks, thin, time_chart

JAN_30 = 1_769_731_200_000  # 2026-01-30 00:00 UTC
HOUR = 3_600_000


def test_the_daily_curve_keeps_each_utc_days_last_value_and_carries_empty_days() -> None:
    points = [
        EquityPoint(JAN_30 + 1 * HOUR, 100.0),
        EquityPoint(JAN_30 + 23 * HOUR, 110.0),
        EquityPoint(JAN_30 + DAY_MS, 99.0),  # midnight belongs to the next day
        EquityPoint(JAN_30 + 3 * DAY_MS + HOUR, 121.0),
    ]
    curve = [(p.time_ms, p.value) for p in points]
    assert daily_equity(curve) == [
        (JAN_30, 110.0),
        (JAN_30 + DAY_MS, 99.0),
        (JAN_30 + 2 * DAY_MS, 99.0),  # no point that day: marked at the last value
        (JAN_30 + 3 * DAY_MS, 121.0),
    ]
    # the same closes daily_returns compares
    assert daily_returns(points, 100.0) == pytest.approx(
        [110 / 100 - 1, 99 / 110 - 1, 0.0, 121 / 99 - 1]
    )


def test_drawdown_series_from_the_running_peak() -> None:
    assert drawdown_series([100, 120, 90, 130, 117]) == pytest.approx([0, 0, 0.25, 0, 0.1])
    # the start value is the first peak
    assert drawdown_series([90, 100], start_value=100) == pytest.approx([0.1, 0])
    assert drawdown_series([]) == []


def test_monthly_returns_chain_month_ends() -> None:
    points = [
        EquityPoint(JAN_30, 105.0),
        EquityPoint(JAN_30 + DAY_MS + HOUR, 110.0),  # Jan 31
        EquityPoint(JAN_30 + 2 * DAY_MS, 99.0),  # Feb 1
        EquityPoint(JAN_30 + 40 * DAY_MS, 121.0),  # Mar 11
    ]
    assert monthly_returns(points, 100.0) == [
        (2026, 1, pytest.approx(0.10)),
        (2026, 2, pytest.approx(99 / 110 - 1)),
        (2026, 3, pytest.approx(121 / 99 - 1)),
    ]


def test_nice_ticks_cover_the_range_with_round_steps() -> None:
    assert nice_ticks(9_990, 10_040) == [9_980, 10_000, 10_020, 10_040]
    assert nice_ticks(-0.2, 0) == pytest.approx([-0.2, -0.15, -0.1, -0.05, 0.0])
    assert nice_ticks(5, 5) == [5]


def test_thin_keeps_peaks_and_troughs_of_long_series() -> None:
    points = [(i, float(i % 97)) for i in range(50_000)]
    points[31_234] = (31_234, 1e6)
    points[7_777] = (7_777, -1e6)
    kept = thin(points, 2_000)
    assert len(kept) <= 2_100 and kept[0] == points[0] and kept[-1] == points[-1]
    assert (31_234, 1e6) in kept and (7_777, -1e6) in kept
    assert [t for t, _ in kept] == sorted(t for t, _ in kept)


def test_time_chart_draws_a_line_or_says_why_not() -> None:
    chart = time_chart(
        [(0, 1.0), (HOUR, 2.0), (2 * HOUR, 1.5)],
        label="x <y>",
        css_class="equity",
        y_format=lambda v, d: f"{v:.{d}f}",
    )
    assert chart.startswith('<svg class="chart equity"') and "x &lt;y&gt;" in chart
    assert (
        chart.count("<polyline") == 1
        and ">1.00<" in chart
        and ">1.25<" in chart
        and ">2.00<" in chart
    )
    empty = time_chart([(0, 1.0)], label="e", css_class="equity", y_format=str)
    assert "not enough points" in empty and "<polyline" not in empty
