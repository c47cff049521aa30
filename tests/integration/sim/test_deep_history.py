"""The simulator's synthetic market serves years of klines of every interval over REST.

Read by unmodified ccxt (``fetch_ohlcv`` with ``since``/``limit`` pagination) and by plain
``/api/v3/klines`` requests. Every interval is an aggregate of the same one-minute candles, so
checks compare one interval with the aggregate of a shorter one at random points of the deep
history, across two simulators built from the same seed.
"""

from __future__ import annotations

import itertools
import json
import random
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from real_trade.sim import SimExchange, SyntheticMarket
from real_trade.sim.klines import INTERVALS, bucket_open, next_open

pytestmark = pytest.mark.integration

DAY = 86_400_000
START = 1_750_000_000_000 - 1_750_000_000_000 % 60_000  # 2025-06-15, mid-day
THREE_YEARS = round(3 * 365.25 * DAY)


def _market() -> SyntheticMarket:
    return SyntheticMarket(("BTCUSDT",), seed=4, start_ms=START, history_days=2, tick_ms=1000)


@pytest.fixture(scope="module")
def sims() -> Iterator[tuple[SimExchange, SimExchange]]:
    """Two stepped simulators from the same seed, advanced a little past the start."""
    with (
        SimExchange(market=_market(), stepped=True, seed=4) as a,
        SimExchange(market=_market(), stepped=True, seed=4) as b,
    ):
        a.advance(600)
        b.advance(600)
        yield a, b


def klines(sim: SimExchange, interval: str, **params: int) -> list[list[Any]]:
    """GET /api/v3/klines and return its rows."""
    query = "&".join(f"{k}={v}" for k, v in params.items())
    url = f"{sim.url}/api/v3/klines?symbol=BTCUSDT&interval={interval}&{query}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        rows: list[list[Any]] = json.loads(resp.read())
    return rows


def aggregate(rows: list[list[Any]]) -> tuple[Any, ...]:
    """(open, high, low, close, volume, quote volume, trades) of consecutive kline rows."""
    return (
        Decimal(rows[0][1]),
        max(Decimal(r[2]) for r in rows),
        min(Decimal(r[3]) for r in rows),
        Decimal(rows[-1][4]),
        sum(Decimal(r[5]) for r in rows),
        sum(Decimal(r[7]) for r in rows),
        sum(int(r[8]) for r in rows),
    )


def test_ccxt_pages_back_more_than_three_years_of_daily_candles(
    sims: tuple[SimExchange, SimExchange],
) -> None:
    sim, _ = sims
    ex = ccxt.binance(sim.ccxt_config())
    ex.load_markets()
    since = START - THREE_YEARS - 10 * DAY
    rows: list[list[float]] = []
    for _ in range(10):  # three years and ten days: three pages; more means a loop
        page = ex.fetch_ohlcv("BTC/USDT", "1d", since=since, limit=500)
        if not page:
            break
        rows.extend(page)
        since = int(page[-1][0]) + DAY
        if len(page) < 500:
            break
    else:
        pytest.fail(f"pagination did not end after 10 pages ({len(rows)} rows)")
    times = [int(r[0]) for r in rows]
    assert times == sorted(set(times)), "pages neither overlap nor leave holes"
    assert all(b - a == DAY for a, b in itertools.pairwise(times))
    assert times[0] <= START - THREE_YEARS, "at least three years back"
    assert times[-1] == bucket_open("1d", START + 600_000), "up to the day in progress"
    assert all(r[3] <= min(r[1], r[4]) <= max(r[1], r[4]) <= r[2] and r[5] > 0 for r in rows)
    # consecutive days join: a day opens where the day before closed (deep history)
    deep = rows[: len(rows) - 5]
    assert all(a[4] == b[1] for a, b in itertools.pairwise(deep))


@pytest.mark.parametrize(
    ("wide", "narrow"),
    [("1d", "1h"), ("1h", "1m"), ("1M", "1d"), ("1w", "1d"), ("1m", "1s"), ("4h", "15m")],
)
def test_intervals_aggregate_each_other_at_random_points_of_deep_history(
    sims: tuple[SimExchange, SimExchange], wide: str, narrow: str
) -> None:
    sim, _ = sims
    rng = random.Random(f"{wide}/{narrow}")
    for _ in range(3):
        t = START - rng.randrange(10 * DAY, THREE_YEARS)
        open_ms = bucket_open(wide, t)
        close_ms = next_open(wide, open_ms) - 1
        (row,) = klines(sim, wide, startTime=open_ms, limit=1)
        assert row[0] == open_ms and row[6] == close_ms
        parts = klines(sim, narrow, startTime=open_ms, endTime=close_ms, limit=1000)
        assert parts[0][0] == open_ms and next_open(narrow, parts[-1][0]) == close_ms + 1
        assert aggregate(parts) == aggregate([row]), (wide, narrow, open_ms)


def test_the_day_of_the_start_joins_history_and_live_bars(
    sims: tuple[SimExchange, SimExchange],
) -> None:
    sim, _ = sims
    day = bucket_open("1d", START)
    (row,) = klines(sim, "1d", startTime=day, limit=1)
    minutes = klines(sim, "1m", startTime=day, endTime=START + 599_999, limit=1000)
    assert len(minutes) == (START + 600_000 - day) // 60_000
    assert aggregate(minutes)[:5] == aggregate([row])[:5]
    assert row[11] is not None and row[0] == day


def test_every_interval_reaches_three_years_back_and_two_simulators_agree(
    sims: tuple[SimExchange, SimExchange],
) -> None:
    a, b = sims
    t = START - THREE_YEARS - DAY
    for interval in INTERVALS:
        rows = klines(a, interval, startTime=t, limit=3)
        assert len(rows) == 3, interval
        assert bucket_open(interval, t) <= rows[0][0] <= next_open(interval, t)
        assert rows == klines(b, interval, startTime=t, limit=3), interval
        latest = klines(a, interval, limit=2)
        assert latest == klines(b, interval, limit=2), interval


def test_deep_history_memory_stays_bounded() -> None:
    market = SyntheticMarket(("BTCUSDT",), seed=9, start_ms=START, history_days=1, tick_ms=1000)
    market.candles("BTCUSDT", "1d", START - THREE_YEARS, START)
    for t in range(START - THREE_YEARS, START, 7 * DAY):
        market.candles("BTCUSDT", "1h", t, t + DAY)
    hist = market._history("BTCUSDT")
    assert len(hist._days) <= 48, "day blocks are an LRU"
    assert len(hist._summaries) <= 1_202, "one summary per day of history"


def test_paging_with_limit_one_returns_the_latest_or_the_first_candle(
    sims: tuple[SimExchange, SimExchange],
) -> None:
    sim, _ = sims
    now = sim.clock.now_ms()
    for interval in ("1m", "1h", "1d", "1M"):
        (latest,) = klines(sim, interval, limit=1)
        assert latest[0] == bucket_open(interval, now), interval
        (row,) = klines(sim, interval, endTime=now - 3 * DAY, limit=1)
        assert row[0] == bucket_open(interval, now - 3 * DAY), interval
