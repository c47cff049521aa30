"""The history cache's pure parts: range arithmetic, file layout, the round trip through Parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from real_trade.config import RealTradeConfig
from real_trade.errors import ConfigError
from real_trade.history import CachedSeries, HistoryCache, TimeRange, default_history_dir
from real_trade.history.btfeed import date_numbers
from real_trade.history.ranges import holes, missing_ranges

MIN = 60_000


def test_missing_ranges_are_the_head_the_holes_and_the_open_tail() -> None:
    opens = [0, MIN, 2 * MIN, 5 * MIN, 6 * MIN]

    assert holes(opens, "1m") == [TimeRange(3 * MIN, 5 * MIN - 1)]
    assert missing_ranges(opens, "1m", -2 * MIN, None) == [
        TimeRange(-2 * MIN, -1),
        TimeRange(3 * MIN, 5 * MIN - 1),
        TimeRange(7 * MIN, None),
    ]
    assert missing_ranges(opens, "1m", MIN, 6 * MIN) == [TimeRange(3 * MIN, 5 * MIN - 1)]
    assert missing_ranges(opens, "1m", 0, 2 * MIN) == []
    known_empty = [TimeRange(3 * MIN, 5 * MIN - 1)]
    assert missing_ranges(opens, "1m", 0, 6 * MIN, known_empty) == []


def test_calendar_months_have_no_false_holes() -> None:
    jan, feb, mar, may = 1_672_531_200_000, 1_675_209_600_000, 1_677_628_800_000, 1_682_899_200_000

    assert holes([jan, feb, mar], "1M") == []
    assert holes([jan, feb, may], "1M") == [TimeRange(mar, may - 1)]


def test_a_series_round_trips_through_its_file_with_its_venue_gaps(tmp_path: Path) -> None:
    cache = HistoryCache(tmp_path)
    opens = np.array([3 * MIN, MIN, 2 * MIN, MIN], dtype=np.int64)  # unsorted, one duplicate
    values = np.arange(20, dtype=np.float64).reshape(4, 5)
    series = CachedSeries("1m", opens, values, [TimeRange(10 * MIN, 12 * MIN - 1)])

    cache.save("binance", "spot", "BTC/USDT:USDT", "1m", CachedSeries("1m").merge(series))
    back = cache.read("binance", "spot", "BTC/USDT:USDT", "1m")

    assert cache.path_for("binance", "spot", "BTC/USDT:USDT", "1m") == (
        tmp_path / "binance" / "spot" / "BTC_USDT_USDT-1m.parquet"
    )
    assert back.opens.tolist() == [MIN, 2 * MIN, 3 * MIN]
    assert back.values[0].tolist() == values[1].tolist()  # the first of two duplicates kept
    assert back.venue_gaps == [TimeRange(10 * MIN, 12 * MIN - 1)]
    frame = cache.load("binance", "spot", "BTC/USDT:USDT", "1m", 2 * MIN)
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert frame.index.name == "datetime" and len(frame) == 2
    assert cache.load("binance", "spot", "ETH/USDT", "1m").empty
    assert list(tmp_path.rglob("*.tmp")) == []  # the temporary file was renamed


def test_months_and_minutes_never_share_a_file(tmp_path: Path) -> None:
    cache = HistoryCache(tmp_path)

    assert cache.path_for("binance", "spot", "BTC/USDT", "1M").name == "BTC_USDT-1Mo.parquet"
    with pytest.raises(ConfigError):
        cache.path_for("binance", "spot", "BTC/USDT", "7m")
    with pytest.raises(ValueError):
        cache.path_for("..", "spot", "BTC/USDT", "1m")


def test_the_root_comes_from_the_argument_the_environment_or_the_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RT_HISTORY__DIR", raising=False)
    monkeypatch.setenv("RT_HISTORY_DIR", str(tmp_path / "env"))
    assert HistoryCache().root == tmp_path / "env"
    assert HistoryCache(tmp_path / "arg").root == tmp_path / "arg"
    monkeypatch.delenv("RT_HISTORY_DIR")
    assert default_history_dir() == Path.home() / ".real_trade" / "history"
    config = RealTradeConfig.load(env={"RT_HISTORY__DIR": str(tmp_path / "cfg")})
    assert config.history.cache().root == tmp_path / "cfg"


def test_date_numbers_equal_backtraders_own() -> None:
    import datetime as dt

    import backtrader as bt

    opens = np.array([0, 1_677_628_800_000, 1_677_628_800_000 + 61_234, 1_700_000_059_999])
    expected = [
        bt.date2num(dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).replace(tzinfo=None))
        for ms in opens.tolist()
    ]

    assert date_numbers(opens).tolist() == expected
