"""Derivatives math by hand: positions (averaging, reduce, flip), brackets, margin and
liquidation price formulas, funding times and rates, the mark's premium path."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from real_trade.sim.derivatives import (
    DEFAULT_BRACKETS,
    FUNDING_INTERVAL_MS,
    MarkModel,
    Position,
    bankruptcy_price,
    funding_payment,
    funding_rate,
    funding_times,
    initial_margin,
    liquidation_price,
    next_funding_ms,
)
from real_trade.sim.types import PositionSide

D = Decimal
HOUR = 3_600_000
DAY0 = 1_700_006_400_000  # 2023-11-15 00:00 UTC


def _pos() -> Position:
    return Position(1, "BTCUSDT", PositionSide.BOTH, D(1))


def test_entry_price_averages_and_a_reduce_realizes_pnl() -> None:
    pos = _pos()
    pos.apply(D("1"), D("100"))
    pos.apply(D("3"), D("200"))
    assert pos.qty == 4 and pos.entry_price == D("175")
    effect = pos.apply(D("-1"), D("195"))
    assert effect.closed == 1 and effect.opened == 0
    assert effect.realized == D("20")  # (195 - 175) * 1
    assert pos.qty == 3 and pos.entry_price == D("175") and pos.realized_pnl == D("20")
    assert pos.unrealized(D("180")) == D("15")


def test_flip_long_to_short_books_the_close_and_opens_the_rest_at_the_fill() -> None:
    pos = _pos()
    pos.apply(D("2"), D("100"))
    effect = pos.apply(D("-5"), D("90"))
    assert effect.closed == 2 and effect.opened == 3
    assert effect.realized == D("-20")  # (90 - 100) * 2
    assert pos.qty == -3 and pos.entry_price == D("90") and pos.cost == D("-270")
    assert pos.unrealized(D("80")) == D("30")  # a short gains when the price falls
    back = pos.apply(D("3"), D("85"))
    assert back.realized == D("15") and not pos.is_open and pos.cost == 0


def test_a_partial_close_releases_isolated_margin_in_proportion() -> None:
    pos = _pos()
    pos.apply(D("4"), D("100"))
    pos.isolated_margin = D("40")
    effect = pos.apply(D("-1"), D("110"))
    assert effect.released_margin == D("10") and pos.isolated_margin == D("30")


def test_binance_brackets_have_binances_cum_amounts() -> None:
    cums = [b.cum for b in DEFAULT_BRACKETS.brackets[:5]]
    assert cums == [D(0), D(50), D(950), D(11450), D(131450)]
    assert DEFAULT_BRACKETS.maintenance_margin(D("10000")) == D("40")  # 0.4%
    assert DEFAULT_BRACKETS.maintenance_margin(D("100000")) == D("450")  # 0.5% - 50
    assert DEFAULT_BRACKETS.max_leverage == 125
    assert DEFAULT_BRACKETS.max_notional(125) == D("50000")
    assert DEFAULT_BRACKETS.max_notional(20) == D("100000000")


def test_initial_margin_rounds_up() -> None:
    assert initial_margin(D("1000"), 3) == D("333.33333334")


def test_isolated_long_liquidation_price_matches_the_hand_figure() -> None:
    # 1 BTC long at 30000, 10x isolated: margin 3000, bracket 1 (mmr 0.4%, cum 0)
    # LP = (3000 + 0 - 30000) / (0.004 - 1) = 27108.43373494
    lp = liquidation_price(
        wallet=D("3000"), side=1, size=D(1), entry=D("30000"), mmr=D("0.004"), cum=D(0)
    )
    assert lp == D("27108.43373494")
    pos = _pos()
    pos.apply(D(1), D("30000"))
    pos.isolated_margin = D("3000")
    assert bankruptcy_price(pos) == D("27000")
    # at the liquidation price the margin balance equals the maintenance margin
    assert abs(D("3000") + pos.unrealized(lp) - lp * D("0.004")) < D("0.0001")


def test_isolated_short_liquidation_price_matches_the_hand_figure() -> None:
    # 2 BTC short at 20000, 20x isolated: margin 2000; LP = (2000 + 40000) / (0.008 + 2)
    lp = liquidation_price(
        wallet=D("2000"), side=-1, size=D(2), entry=D("20000"), mmr=D("0.004"), cum=D(0)
    )
    assert lp == D("20916.33466135")


def test_cross_liquidation_price_counts_the_other_positions() -> None:
    # cross wallet 5000, other positions: MM 100, uPnL -400; 1 BTC long at 30000, bracket 1
    # LP = (5000 - 100 - 400 + 0 - 30000) / (0.004 - 1) = 25602.40963855
    lp = liquidation_price(
        wallet=D("5000"),
        side=1,
        size=D(1),
        entry=D("30000"),
        mmr=D("0.004"),
        cum=D(0),
        other_mm=D("100"),
        other_upnl=D("-400"),
    )
    assert lp == D("25602.40963855")


def test_funding_happens_at_00_08_16_utc() -> None:
    assert FUNDING_INTERVAL_MS == 8 * HOUR
    assert next_funding_ms(DAY0) == DAY0 + 8 * HOUR
    assert next_funding_ms(DAY0 - 1) == DAY0
    assert funding_times(DAY0 - 1, DAY0 + 24 * HOUR) == [
        DAY0,
        DAY0 + 8 * HOUR,
        DAY0 + 16 * HOUR,
        DAY0 + 24 * HOUR,
    ]
    assert funding_times(DAY0, DAY0 + 8 * HOUR - 1) == []


def test_funding_rate_follows_binances_formula() -> None:
    assert funding_rate(D(0)) == D("0.0001")  # interest only
    assert funding_rate(D("0.0003")) == D("0.0001")  # within the clamp: the interest
    assert funding_rate(D("0.002")) == D("0.0015")  # premium - 0.05%
    assert funding_rate(D("-0.002")) == D("-0.0015")
    assert funding_rate(D("0.02")) == D("0.0075")  # capped
    assert funding_payment(D("2"), D(1), D("30000"), D("0.0001")) == D("-6")
    assert funding_payment(D("-2"), D(1), D("30000"), D("0.0001")) == D("6")


def test_the_mark_premium_is_bounded_smooth_and_seeded() -> None:
    model, again, other = MarkModel(seed=7), MarkModel(seed=7), MarkModel(seed=8)
    times = [DAY0 + i * 60_000 for i in range(0, 600, 7)]
    path = [model.premium("BTCUSDT", t) for t in times]
    assert path == [again.premium("BTCUSDT", t) for t in reversed(times)][::-1]
    assert path != [other.premium("BTCUSDT", t) for t in times]
    assert all(abs(p) <= D("0.0005") for p in path)
    assert len(set(path)) > 10
    steps = [abs(b - a) for a, b in itertools.pairwise(path)]
    assert max(steps) <= D("0.0005")  # 7 minutes never jump more than the band
    mark = model.mark("BTCUSDT", D("30000"), times[3], D("0.1"))
    assert mark % D("0.1") == 0 and abs(mark - 30000) <= D("15.1")
    assert MarkModel(max_premium=D(0)).mark("X", D("123.45"), DAY0, D("0.01")) == D("123.45")


@pytest.mark.parametrize("notional", [D("1"), D("49999"), D("50000"), D("2500000")])
def test_maintenance_margin_is_continuous_at_bracket_edges(notional: Decimal) -> None:
    below = DEFAULT_BRACKETS.maintenance_margin(notional - D("0.0001"))
    at = DEFAULT_BRACKETS.maintenance_margin(notional)
    assert abs(at - below) < D("0.001")
