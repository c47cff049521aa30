"""Paper bar paths in whole ticks: the float shortcuts agree with Decimal arithmetic.

``path_points`` rounds prices to ticks and splits volumes into lots with floats, falling back to
``Decimal`` near a rounding edge; the reference below is the path as it was computed before,
entirely in ``Decimal``.
"""

from __future__ import annotations

import decimal
import itertools
import random
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from real_trade.execution.paper_path import (
    KeptMinute,
    QuietTape,
    decimal_places,
    lots_in,
    on_tick,
    on_tick_fast,
    path_points,
)
from real_trade.sim.market import Side

TICKS = [Decimal("0.01"), Decimal("0.5"), Decimal("1"), Decimal("0.00001")]


def _ref_on_tick(value: float | Decimal, tick: Decimal) -> Decimal:
    dec = value if isinstance(value, Decimal) else Decimal(repr(value))
    with decimal.localcontext(decimal.Context()):  # the default context, whatever others set
        return max(tick, (dec / tick).to_integral_value() * tick)


def _ref_path(
    open_ms: int,
    prices: tuple[float, ...],
    volume: float,
    duration: int,
    tick: Decimal,
    lot: Decimal,
) -> list[tuple[int, Decimal, Decimal, Side]]:
    o, h, lo, c = (_ref_on_tick(v, tick) for v in prices)
    keys = [o, lo, h, c] if c >= o else [o, h, lo, c]
    pts = [keys[0]]
    for a, b in itertools.pairwise(keys):
        for i in range(1, 4):
            pts.append(_ref_on_tick(a + (b - a) * Decimal(i) / Decimal(4), tick))
        pts.append(b)
    pts = [p for i, p in enumerate(pts) if i == 0 or p != pts[i - 1]]
    n = len(pts)
    span = max(1, duration - 1)
    times = [open_ms + (span * i) // max(1, n - 1) for i in range(n)]
    lots = int(Decimal(repr(volume)) / lot) if volume > 0 else 0
    share, rest = divmod(lots, n)
    out: list[tuple[int, Decimal, Decimal, Side]] = []
    prev = o
    for i, (ts, p) in enumerate(zip(times, pts, strict=True)):
        qty = (share + (rest if i == n - 1 else 0)) * lot
        when = ts if i == 0 else max(ts, out[-1][0] + 1)
        out.append((when, p, qty, Side.SELL if p < prev else Side.BUY))
        prev = p
    return out


@pytest.mark.parametrize("tick", TICKS)
def test_on_tick_fast_equals_decimal_rounding_at_half_ticks(tick: Decimal) -> None:
    rng = random.Random(7)
    values = [float(Decimal(rng.randrange(1, 10**7)) * tick + tick / 2) for _ in range(2_000)]
    values += [rng.uniform(0.001, 90_000.0) for _ in range(2_000)]
    for v in values:
        assert on_tick_fast(v, tick, float(tick)) == on_tick(v, tick), v


def test_lots_in_floors_like_decimal() -> None:
    rng = random.Random(3)
    lot = Decimal("0.00001")
    exact = [float(Decimal(rng.randrange(1, 10**8)) * lot) for _ in range(3_000)]
    written = [round(rng.uniform(0, 500), rng.randrange(0, 9)) for _ in range(3_000)]
    for v in exact + written + [rng.uniform(0, 500) for _ in range(3_000)] + [0.0, -1.0, 1e-20]:
        want = int(Decimal(repr(v)) / lot) if v > 0 else 0
        assert lots_in(v, lot, float(lot)) == want, v
        assert lots_in(v, lot, float(lot), decimal_places(lot)) == want, v


def test_decimal_places_of_a_power_of_ten_only() -> None:
    assert decimal_places(Decimal("0.00001")) == 5
    assert decimal_places(Decimal("0.0100")) == 2
    assert decimal_places(Decimal("1")) == 0
    assert decimal_places(Decimal("0.5")) is None
    assert decimal_places(Decimal("0.25")) is None
    assert decimal_places(Decimal("10")) is None


@pytest.mark.parametrize("tick", TICKS[:3])
def test_path_points_equal_the_decimal_path(tick: Decimal) -> None:
    rng = random.Random(11)
    lot = Decimal("0.001")
    for _ in range(1_500):
        o = rng.uniform(50, 50_000)
        h, lo = o * (1 + rng.random() / 50), o * (1 - rng.random() / 50)
        c = rng.uniform(lo, h)
        if rng.random() < 0.1:
            h = lo = c = o
        volume = rng.choice([0.0, 0.0004, rng.uniform(0, 30)])
        duration = rng.choice([60_000, 1_000, 5])
        pts = path_points(0, (o, h, lo, c), volume, duration, tick, lot, None)
        got = [
            (ts, Decimal(p) * tick, q * lot, Side.BUY if buy else Side.SELL)
            for ts, p, q, buy in zip(pts.times, pts.prices, pts.lots, pts.buys, strict=True)
        ]
        assert got == _ref_path(0, (o, h, lo, c), volume, duration, tick, lot)


def test_quiet_tape_sums_trades_per_minute() -> None:
    tick, lot = Decimal("0.01"), Decimal("0.001")
    pts = path_points(60_000, (100.0, 101.0, 99.0, 100.5), 0.013, 120_000, tick, lot, None)
    tape = QuietTape(tick, lot)
    tape.add(pts)
    raw, last = tape.finish()
    minutes = [m.decimal() for m in raw]
    trades = [(t, p, q, b) for t, p, q, b in zip(*vars_of(pts), strict=True) if q > 0]
    assert [m.open_ms for m in minutes] == [60_000, 120_000]  # the bar spans two minutes
    assert sum(m.trades for m in minutes) == len(trades)
    assert sum(m.volume for m in minutes) == Decimal("0.013")
    quote = sum(Decimal(p) * tick * q * lot for _, p, q, _ in trades)
    assert sum(m.quote_volume for m in minutes) == quote
    assert last == Decimal(trades[-1][1]) * tick
    assert tape.last_ms == trades[-1][0]


def vars_of(pts: object) -> tuple[list[int], list[int], list[int], list[bool]]:
    """The four columns of a path."""
    return pts.times, pts.prices, pts.lots, pts.buys  # type: ignore[attr-defined]


def test_add_bar_sums_like_the_path_it_skips() -> None:
    """``QuietTape.add_bar`` (no path built) records what ``add(path_points(...))`` records."""
    rng = random.Random(5)
    tick, lot = Decimal("0.01"), Decimal("0.00001")
    fast, slow = QuietTape(tick, lot), QuietTape(tick, lot)
    prev: Decimal | int | None = None
    open_ms = 0
    for _ in range(3_000):
        o = rng.uniform(20_000, 30_000)
        h, lo = o * (1 + rng.random() / 500), o * (1 - rng.random() / 500)
        c = rng.uniform(lo, h) if rng.random() < 0.9 else o
        volume = rng.choice([0.0, 0.00003, rng.uniform(0, 40)])
        duration = rng.choice([60_000, 20_000, 30_000, 45_000])  # some span two minutes
        open_ms += duration
        points = path_points(open_ms, (o, h, lo, c), volume, duration, tick, lot, prev)
        end = fast.add_bar(open_ms, (o, h, lo, c), volume, duration, prev)
        if end is None:
            fast.add(points)
        else:
            assert end == (points.times[-1], points.prices[-1])
        slow.add(points)
        prev = points.prices[-1]
        if rng.random() < 0.05:
            assert fast.finish() == slow.finish()
            assert fast.last_ms == slow.last_ms
    assert fast.finish() == slow.finish()


def test_add_bar_sums_like_the_path_on_moves_of_a_few_ticks() -> None:
    """Moves of 0..9 ticks between the keys (the points between step one tick at a time, or
    round half to even at quarters), rising and falling, at even and odd prices."""
    rng = random.Random(9)
    tick, lot = Decimal("0.01"), Decimal("0.00001")
    fast, slow = QuietTape(tick, lot), QuietTape(tick, lot)
    prev: int | None = None
    for bar in range(4_000):
        o = rng.randrange(2_000_000, 2_000_050)
        h, lo = o + rng.randrange(0, 10), o - rng.randrange(0, 10)
        c = rng.randrange(lo, h + 1)
        prices = (o / 100, h / 100, lo / 100, c / 100)
        volume = rng.choice([0.00002, 0.00013, round(rng.uniform(0, 3), 5)])
        points = path_points(bar * 60_000, prices, volume, 60_000, tick, lot, prev)
        end = fast.add_bar(bar * 60_000, prices, volume, 60_000, prev)
        assert end == (points.times[-1], points.prices[-1])
        slow.add(points)
        prev = points.prices[-1]
    assert fast.finish() == slow.finish()
    assert fast.last_ms == slow.last_ms


def _random_bars(rng: random.Random, count: int, tick: float) -> list[tuple[Any, ...]]:
    """Bars with moves of 0..9 ticks and of hundreds, rising, falling and flat, on and off the
    tick, volumes from none to a few lots to many, 1m bars and shorter (several in a minute)
    or spanning two."""
    bars: list[tuple[Any, ...]] = []
    open_ms = 0
    for _ in range(count):
        o = rng.randrange(2_000_000, 2_000_050)
        spread = rng.choice([0, 3, 9, 400])
        h, lo = o + rng.randrange(0, spread + 1), o - rng.randrange(0, spread + 1)
        c = rng.randrange(lo, h + 1) if rng.random() < 0.9 else o
        if rng.random() < 0.03:  # a bar whose open or close lies outside its low and high
            c = h + 2
        volume = rng.choice([0.0, 0.00002, 0.00013, round(rng.uniform(0, 3), 5), 1e-9])
        duration = rng.choice([60_000, 60_000, 20_000, 30_000, 45_000])
        prices = [p * tick for p in (o, h, lo, c)]
        if rng.random() < 0.5:  # off the tick: up to half a tick, and half ticks
            prices = [
                p + tick * rng.choice([rng.uniform(-0.5, 0.5), 0.5, -0.5, 0.499, -0.501])
                for p in prices
            ]
        bars.append((open_ms, *prices, volume, duration))
        open_ms += duration if rng.random() < 0.9 else duration + 60_000  # gaps too
    return bars


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kept_minutes_count_and_sum_like_add_bar(seed: int) -> None:
    """``QuietTape.defer_bar`` (counted now, summed when read) ends with the same minutes,
    trade counts, last price and time as ``add_bar``/``add`` summing at once, whether the
    prices before the bars are given in ticks or as the bar before's close (a float)."""
    rng = random.Random(seed)
    tick, lot = Decimal("0.01"), Decimal("0.00001")
    kept, eager = QuietTape(tick, lot), QuietTape(tick, lot)
    prev_ticks: int | None = None
    prev_close: float | int | None = None
    kinds: Counter[str] = Counter()
    for i, bar in enumerate(_random_bars(rng, 3_000, 0.01)):
        open_ms, o, h, lo, c, volume, duration = bar
        points = path_points(open_ms, (o, h, lo, c), volume, duration, tick, lot, prev_ticks)
        end = eager.add_bar(open_ms, (o, h, lo, c), volume, duration, prev_ticks)
        if end is None:
            eager.add(points)
        before = prev_ticks if prev_close is None or rng.random() < 0.3 else prev_close
        got = None if before is None else kept.defer_bar(bar, before)
        if got is None:
            kept.add(points)
        else:
            assert got == points.times[-1]
        prev_ticks, prev_close = points.prices[-1], c
        if rng.random() < 0.02 or i == 2_999:
            (a, a_last), (b, b_last) = kept.finish(), eager.finish()
            assert [m.summed() for m in a] == b
            assert [m.trades for m in a] == [m.trades for m in b]
            assert a_last == b_last and kept.last_ms == eager.last_ms
            kinds.update(type(m).__name__ for m in a)
    assert kinds["KeptMinute"] > 80 and kinds["RawMinute"] > 80, kinds  # both ways taken


def test_kept_minute_reads_without_summing() -> None:
    """A kept minute's close and tick range are read from its bars (not summed): the close is
    the summed minute's, and every trade lies in the range, which is at most a few ticks wider
    than the bar's prices."""
    rng = random.Random(4)
    tick, lot = Decimal("0.01"), Decimal("0.00001")
    checked = 0
    for _open_ms, o, h, lo, c, volume, _duration in _random_bars(rng, 2_000, 0.01):
        tape = QuietTape(tick, lot)
        assert tape.defer_bar((0, o, h, lo, c, volume, 60_000), o) is not None
        minutes, _last = tape.finish()
        if not minutes:  # no lot traded
            continue
        (minute,) = minutes
        assert isinstance(minute, KeptMinute)
        close, (low, high) = minute.last_tick(), minute.tick_range()
        assert minute._raw is None
        raw = minute.summed()
        assert close == raw.close_ticks
        assert low <= raw.low_ticks <= raw.high_ticks <= high
        prices = (o, h, lo, c)
        assert high - low <= (max(prices) - min(prices)) / 0.01 + 4
        checked += 1
    assert checked > 1_000


def test_deferred_bar_keeps_what_kept_minute_init_keeps() -> None:
    """``defer_bars`` makes its :class:`KeptMinute` without the ``__init__`` call: every slot
    holds what ``KeptMinute(minute, steps, bar, prev, count)`` puts there."""
    tick, lot = Decimal("0.01"), Decimal("0.00001")
    tape = QuietTape(tick, lot)
    bar = (1_700_000_040_000, 101.23, 101.5, 100.9, 101.4, 0.37, 60_000)
    assert tape.defer_bar(bar, 101.2) is not None
    kept = tape._kept
    assert kept is not None
    made = KeptMinute(1_700_000_040_000, (tick, lot, float(tick)), bar, 101.2, kept.trades)
    assert kept.trades > 1
    assert {n: getattr(kept, n) for n in KeptMinute.__slots__} == {
        n: getattr(made, n) for n in KeptMinute.__slots__
    }
