"""Tests for the simulator's market sources: shared helpers, SyntheticMarket, CandleReplayMarket."""

from __future__ import annotations

import itertools
import os
import random
from decimal import Decimal
from pathlib import Path

import pytest

from real_trade.sim.market import (
    MINUTE_MS,
    Candle,
    MarketSource,
    MarketTick,
    Side,
    UnknownSymbolError,
    candles_from_ticks,
    default_book_shape,
    default_lot_step,
    default_tick_size,
    round_to_step,
)
from real_trade.sim.market_replay import (
    CandleReplayMarket,
    read_candle_file,
    symbol_from_filename,
)
from real_trade.sim.market_synthetic import BLOCK_TICKS, SyntheticMarket

START = 1_700_000_040_000  # a whole minute (2023-11-14 22:14 UTC)
SECOND = 1_000


def _data_dir() -> Path | None:
    env = os.environ.get("RT_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[3].parent / "shared" / "data")
    for c in candidates:
        if (c / "binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv").is_file():
            return c
    return None


DATA = _data_dir()
needs_data = pytest.mark.skipif(
    DATA is None,
    reason="real candle files not found: set RT_DATA_DIR or put them in ../shared/data",
)


# -- shared helpers ----------------------------------------------------------------------------
def test_round_to_step() -> None:
    assert round_to_step(1.234, Decimal("0.01")) == Decimal("1.23")
    assert str(round_to_step(Decimal("2"), Decimal("0.01"))) == "2.00"
    assert round_to_step(1.239, Decimal("0.01"), floor=True) == Decimal("1.23")
    assert round_to_step(7, Decimal("5")) == Decimal("5")
    with pytest.raises(ValueError, match="step"):
        round_to_step(1.0, Decimal(0))


def test_default_steps_follow_binance_conventions() -> None:
    assert default_tick_size(60_000) == Decimal("0.01")
    assert default_tick_size(100) == Decimal("0.01")
    assert default_tick_size(1.5) == Decimal("0.0001")
    assert default_lot_step(60_000) == Decimal("0.00001")
    assert default_lot_step(3_000) == Decimal("0.0001")
    assert default_lot_step(600) == Decimal("0.001")
    assert default_lot_step(0.5) == Decimal("1")
    with pytest.raises(ValueError, match="positive"):
        default_tick_size(0)


def test_default_book_shape_makes_a_btc_order_walk_a_level_or_two() -> None:
    shape = default_book_shape(60_000, Decimal("0.01"), Decimal("0.00001"))
    assert 10 <= shape.levels <= 20
    assert 1 <= 2 * shape.half_spread_ticks <= 3
    assert Decimal("0.1") <= shape.level_qty <= Decimal("1")
    assert shape.level_step_ticks >= 1


def test_candles_from_ticks_aggregates_per_minute() -> None:
    m0 = START
    ticks = [
        MarketTick(m0 + 10, Decimal("10"), Decimal("1"), Side.BUY),
        MarketTick(m0 + 20, Decimal("12"), Decimal("2"), Side.BUY),
        MarketTick(m0 + 30, Decimal("9"), Decimal("0"), Side.SELL),  # a quote, no trade
        MarketTick(m0 + 59_999, Decimal("11"), Decimal("1"), Side.SELL),
        MarketTick(m0 + 3 * MINUTE_MS, Decimal("5"), Decimal("1"), Side.SELL),
    ]
    assert candles_from_ticks(ticks) == [
        Candle(
            m0,
            Decimal("10"),
            Decimal("12"),
            Decimal("9"),
            Decimal("11"),
            Decimal("4"),
            Decimal("45"),
            3,
        ),
        Candle(
            m0 + 3 * MINUTE_MS,
            Decimal("5"),
            Decimal("5"),
            Decimal("5"),
            Decimal("5"),
            Decimal("1"),
            Decimal("5"),
            1,
        ),
    ]
    with pytest.raises(ValueError, match="out of order"):
        candles_from_ticks(list(reversed(ticks)))


def test_unknown_symbol_error_is_a_key_and_value_error() -> None:
    err = UnknownSymbolError("XXX", ["BTCUSDT"])
    assert isinstance(err, KeyError)
    assert isinstance(err, ValueError)
    assert "XXX" in str(err) and "BTCUSDT" in str(err)


# -- SyntheticMarket ---------------------------------------------------------------------------
def test_synthetic_is_a_market_source() -> None:
    market = SyntheticMarket(start_ms=START)
    assert isinstance(market, MarketSource)
    assert market.symbols == ("BTCUSDT",)
    assert market.start_ms() == START


def test_synthetic_start_is_rounded_down_to_the_minute() -> None:
    assert SyntheticMarket(start_ms=START + 12_345).start_ms() == START


def test_synthetic_same_seed_same_ticks_different_seed_differs() -> None:
    a = SyntheticMarket(["BTCUSDT", "ETHUSDT"], seed=7, start_ms=START)
    b = SyntheticMarket(["BTCUSDT", "ETHUSDT"], seed=7, start_ms=START)
    c = SyntheticMarket(["BTCUSDT", "ETHUSDT"], seed=8, start_ms=START)
    window = (START, START + 120 * SECOND)
    ta = a.ticks("BTCUSDT", *window)
    assert len(ta) == 480  # one tick per 250 ms
    assert ta == b.ticks("BTCUSDT", *window)
    assert [t.price for t in ta] != [t.price for t in c.ticks("BTCUSDT", *window)]
    assert a.history("ETHUSDT", START, 30) == b.history("ETHUSDT", START, 30)


def test_synthetic_ticks_do_not_depend_on_chunking_or_request_order() -> None:
    whole_span = 2 * BLOCK_TICKS * 250 + 7_000  # crosses two block boundaries
    whole = SyntheticMarket(seed=3, start_ms=START).ticks("BTCUSDT", START, START + whole_span)
    chunked_market = SyntheticMarket(seed=3, start_ms=START)
    rng = random.Random(1)
    bounds = sorted(
        {START, START + whole_span, *(START + rng.randrange(whole_span) for _ in range(40))}
    )
    # ask the chunks in shuffled order: later blocks before earlier ones
    pairs = list(itertools.pairwise(bounds))
    shuffled = pairs[:]
    rng.shuffle(shuffled)
    got = {p: chunked_market.ticks("BTCUSDT", *p) for p in shuffled}
    chunked = [t for p in pairs for t in got[p]]
    assert chunked == whole
    ten = SyntheticMarket(seed=3, start_ms=START)
    assert (
        ten.ticks("BTCUSDT", START, START + 10 * SECOND)
        + ten.ticks("BTCUSDT", START + 10 * SECOND, START + 20 * SECOND)
        == whole[:80]
    )


def test_synthetic_history_first_or_ticks_first_give_the_same_market() -> None:
    a = SyntheticMarket(seed=5, start_ms=START)
    hist_a = a.history("BTCUSDT", START, 200)
    ticks_a = a.ticks("BTCUSDT", START + 3_000 * SECOND, START + 3_010 * SECOND)
    b = SyntheticMarket(seed=5, start_ms=START)
    ticks_b = b.ticks("BTCUSDT", START + 3_000 * SECOND, START + 3_010 * SECOND)
    assert b.history("BTCUSDT", START, 200) == hist_a
    assert ticks_b == ticks_a


def test_synthetic_prices_on_tick_volumes_on_lot_and_positive() -> None:
    market = SyntheticMarket(
        {"BTCUSDT": 60_000, "DOGEUSDT": Decimal("0.08"), "XYZ": 100},
        seed=11,
        start_ms=START,
        volatility=3.0,
    )
    for sym in market.symbols:
        tick, lot = market.tick_size(sym), market.lot_step(sym)
        assert market.book_shape(sym).tick_size == tick
        ticks = market.ticks(sym, START - 600 * SECOND, START + 600 * SECOND)
        assert ticks
        for t in ticks:
            assert t.price > 0 and t.price % tick == 0
            assert t.volume > 0 and t.volume % lot == 0
            assert t.taker_side in (Side.BUY, Side.SELL)
        assert all(x.ts_ms < y.ts_ms for x, y in itertools.pairwise(ticks))


def test_synthetic_walk_stays_positive_under_absurd_volatility() -> None:
    market = SyntheticMarket(
        {"PENNYUSDT": 0.01}, seed=2, start_ms=START, volatility=400.0, tick_ms=60_000
    )
    ticks = market.ticks("PENNYUSDT", START, START + 30 * 86_400_000)
    assert len(ticks) == 30 * 1440
    assert min(t.price for t in ticks) > 0


def test_synthetic_default_start_prices() -> None:
    market = SyntheticMarket(["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "ETHBTC"], start_ms=START)
    expected = {"BTCUSDT": 60_000, "ETHUSDT": 3_000, "BNBUSDT": 600, "SOLUSDT": 100, "ETHBTC": 100}
    for sym, price in expected.items():
        assert market.reference_price(sym, START) == price


def test_synthetic_history_continues_into_the_live_ticks() -> None:
    market = SyntheticMarket(seed=9, start_ms=START)
    hist = market.history("BTCUSDT", START, 60)
    assert len(hist) == 60
    assert [c.open_ms for c in hist] == [START - (60 - i) * MINUTE_MS for i in range(60)]
    # the last historical close is the start price and the reference price at the start
    assert hist[-1].close == Decimal("60000.00") == market.reference_price("BTCUSDT", START)
    # history is the walk's own ticks, aggregated
    past = market.ticks("BTCUSDT", hist[0].open_ms - 1, START)
    assert candles_from_ticks(past) == hist
    # the first live tick is one step of the walk away from the last close
    first_live = market.ticks("BTCUSDT", START, START + 250)[0]
    assert START < first_live.ts_ms <= START + 250
    assert abs(first_live.price - hist[-1].close) / hist[-1].close < Decimal("0.002")


def test_synthetic_history_bounds() -> None:
    market = SyntheticMarket(seed=1, start_ms=START, history_days=0.5)
    assert len(market.history("BTCUSDT", START, 5_000)) == 720
    assert market.history("BTCUSDT", START, 0) == []
    assert market.ticks("BTCUSDT", START - 86_400_000, market.earliest_ms() - 1) == []
    # end_ms inside a minute: only closed candles
    partial = market.history("BTCUSDT", START + 90 * SECOND, 3)
    # START+60s..START+120s is not closed at START+90s
    assert [c.open_ms for c in partial] == [START - 2 * MINUTE_MS, START - MINUTE_MS, START]


def test_synthetic_taker_side_leans_with_the_move() -> None:
    market = SyntheticMarket(seed=4, start_ms=START)
    ticks = market.ticks("BTCUSDT", START, START + 1_800 * SECOND)
    ups = [t.taker_side for p, t in itertools.pairwise(ticks) if t.price > p.price]
    downs = [t.taker_side for p, t in itertools.pairwise(ticks) if t.price < p.price]
    assert ups.count(Side.BUY) / len(ups) > 0.6
    assert downs.count(Side.SELL) / len(downs) > 0.6


def test_synthetic_volume_has_an_intraday_pattern() -> None:
    market = SyntheticMarket(seed=6, start_ms=START, tick_ms=2_000, history_days=7)
    hist = market.history("BTCUSDT", START, 7 * 1440)
    assert len(hist) == 7 * 1440

    def mean_volume(hours: range) -> float:
        vols = [float(c.volume) for c in hist if (c.open_ms // 3_600_000) % 24 in hours]
        return sum(vols) / len(vols)

    assert mean_volume(range(13, 18)) > 1.2 * mean_volume(range(1, 6))
    assert all(c.trades == 30 for c in hist)  # one trade per 2 s tick


def test_synthetic_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="tick_ms"):
        SyntheticMarket(tick_ms=1)
    with pytest.raises(ValueError, match="volatility"):
        SyntheticMarket(volatility=-0.1)
    with pytest.raises(ValueError, match="start price"):
        SyntheticMarket({"BTCUSDT": 0})
    with pytest.raises(ValueError, match="symbol"):
        SyntheticMarket(["BTC/USDT"])
    with pytest.raises(ValueError, match="twice"):
        SyntheticMarket(["BTCUSDT", "BTCUSDT"])
    with pytest.raises(UnknownSymbolError, match="ETHUSDT"):
        SyntheticMarket(start_ms=START).ticks("ETHUSDT", START, START + 1)


# -- CandleReplayMarket on the real files --------------------------------------------------------
def _file(name: str) -> Path:
    assert DATA is not None
    return DATA / name


BINANCE_USDT = "binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv"
BINANCE_USDC = "binanceus_BTCUSDC_1m_2023-03-01_2023-03-21.csv"
KRAKEN_USDC = "kraken_BTCUSDC_1m_2023-03-01_2023-03-21.csv"


@pytest.fixture(scope="module")
def binance() -> CandleReplayMarket:
    return CandleReplayMarket([_file(BINANCE_USDT), _file(BINANCE_USDC)], seed=1)


@pytest.fixture(scope="module")
def kraken() -> CandleReplayMarket:
    return CandleReplayMarket({"BTCUSDC": _file(KRAKEN_USDC)}, seed=1)


def test_symbol_from_filename() -> None:
    assert symbol_from_filename("x/binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv") == "BTCUSDT"
    assert symbol_from_filename("kraken_BTCUSDC_1m.csv") == "BTCUSDC"
    with pytest.raises(ValueError, match="mapping"):
        symbol_from_filename("candles.csv")


def _check_candle_path(market: CandleReplayMarket, sym: str, index: int) -> None:
    candle = market.candle_file(sym).candles[index]
    path = market.candle_path(sym, index)
    assert path[0].price == candle.open
    assert path[-1].price == candle.close
    assert max(t.price for t in path) == candle.high
    assert min(t.price for t in path) == candle.low
    assert sum((t.volume for t in path), Decimal(0)) == candle.volume
    times = [t.ts_ms for t in path]
    assert times == sorted(set(times))
    assert candle.open_ms <= times[0] and times[-1] < candle.open_ms + MINUTE_MS
    tick = market.tick_size(sym)
    assert all(t.price % tick == 0 for t in path)
    rebuilt = candles_from_ticks(
        market.ticks(sym, candle.open_ms - 1, candle.open_ms + MINUTE_MS - 1)
    )
    assert len(rebuilt) == 1
    got = rebuilt[0]
    assert (got.open_ms, got.open, got.high, got.low, got.close, got.volume) == (
        candle.open_ms,
        candle.open,
        candle.high,
        candle.low,
        candle.close,
        candle.volume,
    )


@needs_data
@pytest.mark.parametrize("sym", ["BTCUSDT", "BTCUSDC"])
def test_replay_paths_hit_ohlc_and_rebuild_the_file_candles(
    binance: CandleReplayMarket, sym: str
) -> None:
    n = len(binance.candle_file(sym).candles)
    assert n == 30_240
    for index in random.Random(sym).sample(range(n), 500):
        _check_candle_path(binance, sym, index)


@needs_data
def test_replay_kraken_paths_and_trade_counts(kraken: CandleReplayMarket) -> None:
    data = kraken.candle_file("BTCUSDC")
    assert data.format == "kraken" and data.has_trades
    assert data.lot_step == Decimal("0.00000001")
    for index in random.Random(2).sample(range(len(data.candles)), 500):
        _check_candle_path(kraken, "BTCUSDC", index)
        candle = data.candles[index]
        trades = sum(1 for t in kraken.candle_path("BTCUSDC", index) if t.volume > 0)
        # the file's trade count, capped at 60 points and at one lot per point; at least the
        # distinct key prices (open, extremes, close) when there are enough lots
        wanted = min(candle.trades, 60, int(candle.volume / data.lot_step))
        assert wanted <= trades <= max(wanted, 4)


@needs_data
def test_replay_kraken_gaps_produce_no_ticks(kraken: CandleReplayMarket) -> None:
    candles = kraken.candle_file("BTCUSDC").candles
    i = next(
        i
        for i in range(len(candles) - 1)
        if candles[i + 1].open_ms - candles[i].open_ms >= 3 * MINUTE_MS
    )
    gap_from = candles[i].open_ms + MINUTE_MS
    gap_to = candles[i + 1].open_ms
    assert kraken.ticks("BTCUSDC", gap_from - 1, gap_to - 1) == []
    assert kraken.reference_price("BTCUSDC", gap_from + 30 * SECOND) == candles[i].close
    after = kraken.ticks("BTCUSDC", gap_from - 1, gap_to + MINUTE_MS - 1)
    assert after and all(t.ts_ms >= gap_to for t in after)


@needs_data
def test_replay_default_start_and_history_match_the_file(binance: CandleReplayMarket) -> None:
    candles = binance.candle_file("BTCUSDT").candles
    assert binance.start_ms() == candles[0].open_ms + 1_000 * MINUTE_MS
    hist = binance.history("BTCUSDT", binance.start_ms(), 1_000)
    assert len(hist) == 1_000
    for h, c in zip(hist, candles[:1_000], strict=True):
        assert (h.open_ms, h.open, h.high, h.low, h.close, h.volume) == (
            c.open_ms,
            c.open,
            c.high,
            c.low,
            c.close,
            c.volume,
        )
    assert binance.history("BTCUSDT", binance.start_ms(), 10) == hist[-10:]
    assert binance.history("BTCUSDT", candles[0].open_ms, 10) == []


@needs_data
def test_replay_ticks_are_chunking_independent_and_end_after_the_last_candle(
    binance: CandleReplayMarket,
) -> None:
    start = binance.start_ms()
    hour = binance.ticks("BTCUSDT", start, start + 3_600 * SECOND)
    pieces: list[MarketTick] = []
    t = start
    while t < start + 3_600 * SECOND:
        pieces += binance.ticks("BTCUSDT", t, min(t + 7_777, start + 3_600 * SECOND))
        t += 7_777
    assert pieces == hour and len(hour) > 60
    end = binance.end_ms()
    assert binance.ticks("BTCUSDT", end, end + 86_400_000) == []
    tail = binance.ticks("BTCUSDT", end - MINUTE_MS - 1, end + MINUTE_MS)
    assert tail and tail[-1].price == binance.candle_file("BTCUSDT").candles[-1].close
    assert binance.reference_price("BTCUSDT", end + 10 * MINUTE_MS) == tail[-1].price


@needs_data
def test_replay_is_deterministic_per_seed(binance: CandleReplayMarket) -> None:
    same = CandleReplayMarket({"BTCUSDT": _file(BINANCE_USDT)}, seed=1)
    other = CandleReplayMarket({"BTCUSDT": _file(BINANCE_USDT)}, seed=2)
    start = binance.start_ms()
    window = (start, start + 600 * SECOND)
    assert same.ticks("BTCUSDT", *window) == binance.ticks("BTCUSDT", *window)
    assert other.ticks("BTCUSDT", *window) != binance.ticks("BTCUSDT", *window)


@needs_data
def test_replay_book_shape_and_sides(binance: CandleReplayMarket) -> None:
    shape = binance.book_shape("BTCUSDT")
    assert shape.tick_size == Decimal("0.01")
    assert Decimal("0.1") <= shape.level_qty <= Decimal("1")
    start = binance.start_ms()
    ticks = binance.ticks("BTCUSDT", start, start + 3_600 * SECOND)
    for prev, t in itertools.pairwise(ticks):
        if t.price > prev.price and t.ts_ms // MINUTE_MS == prev.ts_ms // MINUTE_MS:
            assert t.taker_side == Side.BUY


@needs_data
def test_replay_rejects_two_files_for_one_symbol() -> None:
    with pytest.raises(ValueError, match="two files for symbol 'BTCUSDC'"):
        CandleReplayMarket([_file(BINANCE_USDC), _file(KRAKEN_USDC)])


# -- bad files ---------------------------------------------------------------------------------
GOOD_BINANCE = (
    "open_time,open,high,low,close,volume\n"
    "2023-03-01 00:00:00+00:00,100.5,101.25,99.75,100.0,2.5\n"
    "2023-03-01 00:01:00+00:00,100.0,100.0,100.0,100.0,0.0\n"
    "2023-03-01 00:02:00+00:00,100.0,100.5,99.5,100.25,9e-05\n"
)
GOOD_KRAKEN = (
    "timestamp,open,high,low,close,volume,trades\n"
    "1677628800,23151.53,23151.53,23150.0,23150.0,0.02125883,2\n"
    "1677628980,23158.94,23160.1,23158.94,23160.1,0.00035057,2\n"
)


def _write(tmp_path: Path, text: str, name: str = "test_ABCUSDT_1m.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_small_files_parse_in_both_formats(tmp_path: Path) -> None:
    b = read_candle_file(_write(tmp_path, GOOD_BINANCE))
    assert b.format == "binanceus" and not b.has_trades
    assert b.tick_size == Decimal("0.01") and b.lot_step == Decimal("0.00001")
    assert [c.open_ms for c in b.candles] == [1_677_628_800_000 + i * MINUTE_MS for i in range(3)]
    k = read_candle_file(_write(tmp_path, GOOD_KRAKEN, "kraken_XBTUSDC_1m.csv"))
    assert k.format == "kraken" and [c.trades for c in k.candles] == [2, 2]
    assert [c.open_ms for c in k.candles] == [1_677_628_800_000, 1_677_628_980_000]
    market = CandleReplayMarket({"ABCUSDT": _write(tmp_path, GOOD_BINANCE)}, history_bars=0)
    zero = market.candle_path("ABCUSDT", 1)
    assert [t.volume for t in zero] == [Decimal(0)]  # a quote-only tick for a silent minute
    dust = market.candle_path("ABCUSDT", 2)  # 9 lots for 4 distinct key prices
    assert sum(t.volume for t in dust) == Decimal("0.00009")
    assert {t.price for t in dust if t.volume > 0} >= {
        Decimal(p) for p in ("100.0", "100.5", "99.5", "100.25")
    }


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (
            "open_time,open,high,low,volume\n2023-03-01 00:00:00,1,1,1,1\n",
            1,
            "missing column 'close'",
        ),
        ("time,open,high,low,close,volume\n", 1, "missing column 'open_time' or 'timestamp'"),
        ("", 1, "empty file"),
        (GOOD_BINANCE.replace("100.0,2.5", "nan,2.5"), 2, "close is 'nan'"),
        (GOOD_BINANCE + "2023-03-01 00:03:00+00:00,-1,1,1,1,1\n", 5, "open price must be positive"),
        (GOOD_BINANCE + "2023-03-01 00:03:00+00:00,1,1,2,1,1\n", 5, "high 1 < low 2"),
        (GOOD_BINANCE + "2023-03-01 00:03:00+00:00,3,2,1,1,1\n", 5, "open 3 is outside"),
        (GOOD_BINANCE + "2023-03-01 00:03:00+00:00,1,1,1,1,-2\n", 5, "volume must not be negative"),
        (GOOD_BINANCE + "2023-03-01 00:03:00+00:00,1,1,1,abc,1\n", 5, "unparsable close 'abc'"),
        (GOOD_BINANCE + "2023-03-01 00:03:00+00:00,1,1,1,inf,1\n", 5, "expected a finite"),
        (GOOD_BINANCE + "yesterday,1,1,1,1,1\n", 5, "unparsable open_time 'yesterday'"),
        (GOOD_BINANCE + "2023-02-30 00:03:00+00:00,1,1,1,1,1\n", 5, "unparsable open_time"),
        (GOOD_BINANCE + "2023-03-01 00:03:30+00:00,1,1,1,1,1\n", 5, "not on a whole minute"),
        (GOOD_BINANCE + "2023-03-01 00:01:00+00:00,1,1,1,1,1\n", 5, "is not after"),
        (GOOD_BINANCE + "2023-03-01 00:03:00+00:00,1,1,1,1\n", 5, "expected 6 fields, got 5"),
        (GOOD_KRAKEN + "1677629040,1,1,1,1,1,many\n", 4, "unparsable trades 'many'"),
        ("open_time,open,high,low,close,volume\n", 2, "no candle rows"),
    ],
)
def test_bad_files_name_the_file_line_and_problem(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    path = _write(tmp_path, text, "bad_ABCUSDT_1m.csv")
    with pytest.raises(ValueError) as info:
        CandleReplayMarket(path)
    message = str(info.value)
    assert "bad_ABCUSDT_1m.csv" in message
    assert f"line {line}:" in message
    assert problem in message
