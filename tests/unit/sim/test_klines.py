"""Klines: history + live bars, aggregation to every interval, Binance pagination; the tape."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from real_trade.sim.binance.errors import sim_error_code_msg as binance
from real_trade.sim.klines import (
    INTERVALS,
    KlineBook,
    MinuteTrades,
    RawMinute,
    Tape,
    bucket_open,
    next_open,
)
from real_trade.sim.types import BadParameter, Trade
from tests.unit.sim.fakes import MIN, ScriptedMarket

D = Decimal

START = int(datetime(2024, 3, 4, 12, 0, tzinfo=timezone.utc).timestamp()) * 1000  # a Monday


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=timezone.utc).timestamp()) * 1000  # type: ignore[misc]


def book(history_minutes: int = 4000) -> tuple[KlineBook, ScriptedMarket]:
    market = ScriptedMarket(START, {"BTCUSDT": []}, history_minutes=history_minutes)
    kb = KlineBook(
        "BTCUSDT",
        live_start_ms=START,
        history=lambda end, n: market.history("BTCUSDT", end, n),
        seed_price=D("30000"),
    )
    return kb, market


def trade(tid: int, t: int, price: str, qty: str = "0.1", buyer_maker: bool = False) -> Trade:
    p, q = D(price), D(qty)
    return Trade(tid, "BTCUSDT", p, q, p * q, t, 100 + tid, 200 + tid, buyer_maker)


def test_bucket_alignment() -> None:
    t = ms(2024, 3, 6, 15, 47) + 12_345  # a Wednesday
    assert bucket_open("1m", t) == ms(2024, 3, 6, 15, 47)
    assert bucket_open("15m", t) == ms(2024, 3, 6, 15, 45)
    assert bucket_open("4h", t) == ms(2024, 3, 6, 12, 0)
    assert bucket_open("1d", t) == ms(2024, 3, 6)
    assert bucket_open("1w", t) == ms(2024, 3, 4)  # Monday
    assert bucket_open("1M", t) == ms(2024, 3, 1)
    assert next_open("1M", ms(2024, 12, 1)) == ms(2025, 1, 1)
    assert next_open("1M", ms(2024, 2, 1)) == ms(2024, 3, 1)
    assert "1s" in INTERVALS and "1M" in INTERVALS and len(INTERVALS) == 16


def test_forward_pagination_over_history_and_live_bars_has_no_gap_or_overlap() -> None:
    kb, _ = book(history_minutes=4000)
    now = START + 30 * MIN + 5_000
    kb.on_trade(trade(1, START + 10 * MIN + 1, "30100"))
    start, opens = START - 4000 * MIN, []
    for _ in range(10):  # 4031 bars: five pages and an empty one; more means a loop
        page = kb.klines("1m", now_ms=now, start_ms=start, limit=1000)
        if not page:
            break
        opens += [k.open_ms for k in page]
        start = page[-1].open_ms + 1
    else:
        pytest.fail(f"pagination did not end after 10 pages ({len(opens)} bars)")
    assert len(opens) == 4031  # 4000 history bars, 30 closed live bars, the open one
    assert all(b - a == MIN for a, b in itertools.pairwise(opens))
    last = kb.klines("1m", now_ms=now, limit=2)
    assert [k.is_closed for k in last] == [True, False]
    assert last[-1].open_ms == START + 30 * MIN and last[-1].close_ms == START + 31 * MIN - 1


def test_backward_pagination_with_end_time_only() -> None:
    kb, _ = book(history_minutes=3500)
    now = START + 5 * MIN
    end, opens = now, []
    for _ in range(10):  # 3506 bars: six pages and an empty one; more means a loop
        page = kb.klines("1m", now_ms=now, end_ms=end, limit=700)
        if not page:
            break
        assert len(page) <= 700
        opens = [k.open_ms for k in page] + opens
        end = page[0].open_ms - 1
    else:
        pytest.fail(f"pagination did not end after 10 pages ({len(opens)} bars)")
    assert len(opens) == 3506
    assert all(b - a == MIN for a, b in itertools.pairwise(opens))
    assert opens[0] == START - 3500 * MIN


def test_start_and_end_select_the_range_and_limit_counts_from_start() -> None:
    kb, _ = book(history_minutes=3000)
    now = START
    got = kb.klines("1m", now_ms=now, start_ms=START - 100 * MIN, end_ms=START - 50 * MIN)
    assert [k.open_ms for k in got] == list(range(START - 100 * MIN, START - 49 * MIN, MIN))
    got = kb.klines("1m", now_ms=now, start_ms=START - 100 * MIN, end_ms=START - 50 * MIN, limit=3)
    assert [k.open_ms for k in got] == [START - 100 * MIN, START - 99 * MIN, START - 98 * MIN]
    # a start inside a bucket gives the first bucket opening after it (Binance: open >= start)
    got = kb.klines("5m", now_ms=now, start_ms=START - 62 * MIN, limit=2)
    assert [k.open_ms for k in got] == [START - 60 * MIN, START - 55 * MIN]
    # an end inside a bucket includes that bucket, whole
    got = kb.klines("5m", now_ms=now, end_ms=START - 62 * MIN, limit=1)
    assert got[0].open_ms == START - 65 * MIN and got[0].close_ms == START - 60 * MIN - 1


def test_higher_intervals_aggregate_one_minute_bars() -> None:
    kb, _ = book(history_minutes=3 * 1440)
    now = START
    ones = kb.klines("1m", now_ms=now, start_ms=START - 180 * MIN, end_ms=START - 1, limit=1000)
    hours = kb.klines("1h", now_ms=now, start_ms=START - 180 * MIN, end_ms=START - 1)
    assert len(hours) == 3
    for i, h in enumerate(hours):
        part = ones[60 * i : 60 * (i + 1)]
        assert h.open_ms == part[0].open_ms and h.close_ms == part[-1].close_ms
        assert (h.open, h.close) == (part[0].open, part[-1].close)
        assert h.high == max(k.high for k in part) and h.low == min(k.low for k in part)
        assert h.volume == sum(k.volume for k in part) == 60
        assert h.trades == sum(k.trades for k in part) and h.is_closed
    days = kb.klines("1d", now_ms=now, limit=10)
    assert days[-1].open_ms == ms(2024, 3, 4) and not days[-1].is_closed
    assert days[-1].volume == 12 * 60  # 00:00-12:00 of history, live minute has no volume
    assert [d.open_ms for d in days][:1] == [ms(2024, 3, 1)]  # starts with a partial day
    week = kb.klines("1w", now_ms=now, limit=1)
    assert week[0].open_ms == ms(2024, 3, 4)
    month = kb.klines("1M", now_ms=now, limit=5)
    assert [m.open_ms for m in month] == [ms(2024, 3, 1)]


def test_live_bars_come_from_trades_with_flat_fill() -> None:
    kb, _ = book(history_minutes=0)
    kb.on_trade(trade(1, START + 1_000, "30010", "0.2"))
    kb.on_trade(trade(2, START + 2_000, "29990", "0.1", buyer_maker=True))
    kb.on_trade(trade(3, START + 3 * MIN + 5, "30050", "0.3"))
    now = START + 3 * MIN + 10
    ks = kb.klines("1m", now_ms=now)
    assert [k.open_ms for k in ks] == [START + i * MIN for i in range(4)]
    first, flat1, flat2, cur = ks
    assert (first.open, first.high, first.low, first.close) == (
        D("30010"),
        D("30010"),
        D("29990"),
        D("29990"),
    )
    assert first.volume == D("0.3") and first.taker_buy_volume == D("0.2") and first.trades == 2
    assert (first.first_trade_id, first.last_trade_id) == (1, 2)
    assert flat1.open == flat1.close == flat2.high == D("29990") and flat1.volume == 0
    assert cur.open == D("30050") and not cur.is_closed and flat2.is_closed
    secs = kb.klines("1s", now_ms=now, limit=3)
    assert [k.open_ms for k in secs] == [
        START + 3 * MIN - 2000,
        START + 3 * MIN - 1000,
        START + 3 * MIN,
    ]


def test_roll_reports_each_closed_minute_once() -> None:
    kb, _ = book(history_minutes=10)
    assert kb.roll(START + 10) == []
    closed = kb.roll(START + 3 * MIN)
    assert [k.open_ms for k in closed] == [START, START + MIN, START + 2 * MIN]
    assert all(k.is_closed and k.interval == "1m" for k in closed)
    assert kb.roll(START + 3 * MIN + 59_999) == []
    assert kb.current(START + 3 * MIN + 1) is not None


def test_history_is_loaded_lazily_and_bounded() -> None:
    kb, market = book(history_minutes=100_000)
    kb.klines("1m", now_ms=START, limit=10)
    assert sum(n for _, n in market.history_calls) < 100
    small = KlineBook(
        "BTCUSDT",
        live_start_ms=START,
        seed_price=D(1),
        max_bars=500,
        history=lambda e, n: market.history("BTCUSDT", e, n),
    )
    got = small.klines("1m", now_ms=START, start_ms=START - 10_000 * MIN, limit=1000)
    assert len(got) <= 500 and got[-1].open_ms == START


def test_invalid_interval_is_1120() -> None:
    kb, _ = book(0)
    with pytest.raises(BadParameter) as err:
        kb.klines("2m", now_ms=START)
    assert binance(err.value) == (-1120, "Invalid interval.")


def test_tape_aggregates_trades_of_one_taker_at_one_price() -> None:
    tape = Tape("BTCUSDT")
    base = Trade(1, "BTCUSDT", D("10"), D("1"), D("10"), 5, 50, 7, False)
    tape.add(base)
    tape.add(Trade(2, "BTCUSDT", D("10"), D("2"), D("20"), 5, 50, 8, False))  # same taker
    tape.add(Trade(3, "BTCUSDT", D("11"), D("1"), D("11"), 5, 50, 9, False))  # new price
    tape.add(Trade(4, "BTCUSDT", D("11"), D("1"), D("11"), 9, 51, 9, False))  # new taker
    aggs = tape.agg_trades()
    assert [(a.agg_id, a.qty, a.first_trade_id, a.last_trade_id) for a in aggs] == [
        (1, D("3"), 1, 2),
        (2, D("1"), 3, 3),
        (3, D("1"), 4, 4),
    ]
    assert [a.agg_id for a in tape.agg_trades(from_id=2, limit=1)] == [2]
    assert [a.agg_id for a in tape.agg_trades(start_ms=6)] == [3]
    assert [a.agg_id for a in tape.agg_trades(end_ms=5)] == [1, 2]
    assert [t.trade_id for t in tape.recent(2)] == [3, 4]
    assert [t.trade_id for t in tape.from_id(2, 2)] == [2, 3]


def test_raw_minutes_give_the_klines_of_their_decimal_minutes() -> None:
    """A raw minute (whole ticks and lots) becomes its bar unread; read, changed by a later
    trade in its minute, or aggregated, it equals the minute added as Decimals."""
    tick, lot = D("0.01"), D("0.00001")
    books = [book(history_minutes=10)[0] for _ in range(2)]
    first_id = 1
    for i in range(6):
        open_ms = START + i * MIN
        p = 3_000_000 + 7 * i
        raw = RawMinute(open_ms, p, p + 9, p - 4, p + 2, 1234 + i, 0, 3, 1000, 0, tick, lot)
        raw = raw._replace(quote_units=raw.lots * p, taker_buy_quote_units=1000 * (p + 9))
        books[0].add_minute(raw, first_id)
        books[1].add_minute(raw.decimal(), first_id)
        first_id += raw.trades
        if i == 2:  # a played trade lands in the raw bar's minute
            for kb in books:
                kb.on_trade(trade(first_id, open_ms + 50_000, "30000.5"))
            first_id += 1
    now = START + 6 * MIN - 1
    for kb in books:
        kb.roll_quietly(now)
    raw_book, decimal_book = books
    for interval in ("1m", "3m", "1h"):
        got = raw_book.klines(interval, now_ms=now, limit=20)
        assert got == decimal_book.klines(interval, now_ms=now, limit=20)
        assert [str(k.quote_volume) for k in got] == [
            str(k.quote_volume) for k in decimal_book.klines(interval, now_ms=now, limit=20)
        ]
    assert raw_book.window(now - 5 * MIN + 1, now) == decimal_book.window(now - 5 * MIN + 1, now)
    assert raw_book.last_close() == decimal_book.last_close() == D("30000.37")


def test_window_volumes_of_raw_minutes_equal_the_decimal_window() -> None:
    """``volumes`` (the average price's sums) over raw minutes never read, history bars and a
    played trade equals the volume and quote volume of the window of the same minutes added
    as Decimals, and reading it leaves the raw bars unmade."""
    tick, lot = D("0.01"), D("0.00001")
    books = [book(history_minutes=10)[0] for _ in range(2)]
    first_id = 1
    for i in range(6):
        open_ms = START + i * MIN
        p = 3_000_000 + 7 * i
        raw = RawMinute(open_ms, p, p + 9, p - 4, p + 2, 1234 + i, 0, 3, 1000, 0, tick, lot)
        raw = raw._replace(quote_units=raw.lots * (p + i), taker_buy_quote_units=1000 * p)
        books[0].add_minute(raw, first_id)
        books[1].add_minute(raw.decimal(), first_id)
        first_id += raw.trades
        if i == 4:  # a played trade lands in a raw bar's minute
            for kb in books:
                kb.on_trade(trade(first_id, open_ms + 50_000, "30000.5"))
            first_id += 1
    now = START + 6 * MIN - 1
    raw_book, decimal_book = books
    for minutes in (1, 2, 5, 9, 30):
        start = now - minutes * MIN + 1
        want = decimal_book.window(start, now)
        assert want is not None
        assert raw_book.volumes(start, now) == (want[0].volume, want[0].quote_volume)
    unread = [bar for bar in raw_book._m1.bars if getattr(bar, "_raw", None) is not None]
    # the first minute joins the seed's bar and the played trade made its minute's: 4 unmade
    assert len(unread) == 4
    assert raw_book.volumes(START - 100 * MIN, START - 90 * MIN) is None


def test_add_minutes_adds_like_add_minute_one_by_one() -> None:
    """``add_minutes`` (the paper fast path's catch-up, one loop) leaves the book as
    ``add_minute`` of each minute in turn: ids taken in order, a minute without trades skipped,
    a gap (a minute not next to the last bar) and a Decimal minute handled, trimmed alike."""
    tick, lot = D("0.01"), D("0.00001")
    minutes: list[RawMinute | MinuteTrades] = []
    for i in range(40):
        open_ms = START + (i + (3 if i >= 20 else 0)) * MIN  # a gap of three minutes
        p = 3_000_000 + 7 * i
        raw = RawMinute(open_ms, p, p + 9, p - 4, p + 2, 1234 + i, 0, 3, 1000, 0, tick, lot)
        raw = raw._replace(quote_units=raw.lots * p, trades=0 if i == 7 else 1 + i % 4)
        minutes.append(raw.decimal() if i == 30 else raw)
    one, many = (
        KlineBook("BTCUSDT", live_start_ms=START, seed_price=D("30000"), max_bars=25)
        for _ in range(2)
    )
    first_id = 5
    for minute in minutes:
        if minute.trades:
            one.add_minute(minute, first_id)
            first_id += minute.trades
    many.add_minutes(minutes, 5)
    now = minutes[-1].open_ms + MIN - 1
    for kb in (one, many):
        kb.roll_quietly(now)
    assert many._m1.opens == one._m1.opens and many._m1.floor_ms == one._m1.floor_ms
    assert many.klines("1m", now_ms=now, limit=100) == one.klines("1m", now_ms=now, limit=100)
    ids = [(b.first_id, b.last_id) for b in many._m1.bars]
    assert ids == [(b.first_id, b.last_id) for b in one._m1.bars]


class _Later:
    """A minute counted but not summed (a LaterMinute like the paper's kept minutes): it
    counts how often it is summed."""

    def __init__(self, raw: RawMinute) -> None:
        self.raw, self.sums = raw, 0
        self.open_ms, self.trades, self.tick = raw.open_ms, raw.trades, raw.tick

    def summed(self) -> RawMinute:
        self.sums += 1
        return self.raw

    def last_tick(self) -> int:
        return self.raw.close_ticks

    def tick_range(self) -> tuple[int, int]:
        return self.raw.low_ticks - 1, self.raw.high_ticks + 1


def _raw(i: int, open_ms: int, trades: int = 3) -> RawMinute:
    p = 3_000_000 + 7 * i
    raw = RawMinute(
        open_ms, p, p + 9, p - 4, p + 2, 1234 + i, 0, trades, 1000, 0, D("0.01"), D("1e-5")
    )
    return raw._replace(quote_units=raw.lots * (p + i % 3), taker_buy_quote_units=1000 * p)


@pytest.mark.parametrize("gap", [2, 3, 7, 24, 25, 26, 40])
def test_later_minutes_after_gaps_are_appended_like_decimal_minutes(gap: int) -> None:
    """A later minute opening minutes after the last bar (bars without trades between, as
    zero-volume candles leave) is appended unsummed, after flat bars, exactly as its trades
    added as Decimals: the same bars, trims, trade ids and klines; a gap wider than the book
    keeps (over ``max_bars``) is summed and added as before."""
    later_book, decimal_book = (
        KlineBook("BTCUSDT", live_start_ms=START, seed_price=D("30000"), max_bars=24)
        for _ in range(2)
    )
    later: list[_Later] = []
    first_id, open_ms = 1, START
    for i in range(60):
        open_ms += (gap if i % 9 == 4 else 1) * MIN
        raw = _raw(i, open_ms)
        later.append(_Later(raw))
        later_book.add_minutes([later[-1]], first_id)
        decimal_book.add_minute(raw.decimal(), first_id)
        first_id += raw.trades
    now = open_ms + MIN - 1
    for kb in (later_book, decimal_book):
        kb.roll_quietly(now)
    summed_at_once = [m.sums > 0 for m in later]
    assert any(summed_at_once) == (gap > 25)  # only a gap wider than the book is summed
    a, b = later_book._m1, decimal_book._m1
    assert a.opens == b.opens and a.floor_ms == b.floor_ms
    assert [(x.first_id, x.last_id) for x in a.bars] == [(x.first_id, x.last_id) for x in b.bars]
    for interval in ("1m", "5m"):
        got = later_book.klines(interval, now_ms=now, limit=100)
        assert got == decimal_book.klines(interval, now_ms=now, limit=100)
        want = decimal_book.klines(interval, now_ms=now, limit=100)
        for field in ("close", "volume", "quote_volume", "taker_buy_quote_volume"):
            assert [str(getattr(k, field)) for k in got] == [str(getattr(k, field)) for k in want]


def test_average_range_holds_the_average_without_summing() -> None:
    """``average_range`` bounds the window's average (quote volume over volume) over later
    minutes, played trades in their minutes and history bars, without summing a later
    minute; None when no later or raw minute lies in the window."""
    books = [book(history_minutes=10)[0] for _ in range(2)]
    later: list[_Later] = []
    first_id = 1
    for i in range(8):
        open_ms = START + i * MIN
        raw = _raw(i, open_ms)
        later.append(_Later(raw))
        books[0].add_minutes([later[-1]], first_id)
        books[1].add_minute(raw.decimal(), first_id)
        first_id += raw.trades
        if i in (2, 5):  # a played trade lands in a later minute's minute (it is summed)
            for kb in books:
                kb.on_trade(trade(first_id, open_ms + 50_000, "29990.5", "0.3"))
            first_id += 1
    now = START + 8 * MIN - 1
    kb, decimal_book = books
    for minutes in (1, 2, 4, 5, 9, 30):
        start = now - minutes * MIN + 1
        sums = decimal_book.volumes(start, now)
        assert sums is not None
        bounds = kb.average_range(start, now)
        assert bounds is not None
        assert bounds[0] <= sums[1] / sums[0] <= bounds[1]
    # summed: the first (it joins the seed's bar) and the two a played trade landed in
    assert [m.sums for m in later] == [1, 0, 1, 0, 0, 1, 0, 0]
    assert kb.average_range(START - 9 * MIN, START - 5 * MIN) is None  # history alone
