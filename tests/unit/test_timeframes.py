"""Timeframe strings against backtrader's (TimeFrame, compression) pairs, and bar boundaries."""

from __future__ import annotations

from datetime import datetime, timezone

import backtrader as bt
import pytest

from real_trade.errors import ConfigError
from real_trade.feeds import TIMEFRAMES
from real_trade.feeds.timeframes import (
    SEED_TIMEFRAMES,
    bt_to_timeframe,
    check_venue_timeframe,
    next_open_ms,
    timeframe_ms,
    timeframe_to_bt,
)


def _ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=timezone.utc).timestamp() * 1000)


@pytest.mark.parametrize(
    ("text", "pair"),
    [
        ("1m", (bt.TimeFrame.Minutes, 1)),
        ("5m", (bt.TimeFrame.Minutes, 5)),
        ("15m", (bt.TimeFrame.Minutes, 15)),
        ("30m", (bt.TimeFrame.Minutes, 30)),
        ("1h", (bt.TimeFrame.Minutes, 60)),
        ("4h", (bt.TimeFrame.Minutes, 240)),
        ("1d", (bt.TimeFrame.Days, 1)),
        ("1w", (bt.TimeFrame.Weeks, 1)),
        ("1M", (bt.TimeFrame.Months, 1)),
    ],
)
def test_the_seed_map(text: str, pair: tuple[int, int]) -> None:
    assert timeframe_to_bt(text) == pair
    assert bt_to_timeframe(*pair) == text
    assert text in SEED_TIMEFRAMES


def test_every_timeframe_round_trips() -> None:
    for text, pair in TIMEFRAMES.items():
        assert bt_to_timeframe(*pair) == text
    assert {"3m", "2h", "6h", "8h", "12h", "3d"} <= set(TIMEFRAMES)


def test_unknown_string_names_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        timeframe_to_bt("2m")
    message = str(caught.value)
    assert "'2m'" in message
    assert "timeframe" in message
    for valid in SEED_TIMEFRAMES:
        assert valid in message


def test_pair_without_exchange_interval_suggests_resampling() -> None:
    with pytest.raises(ConfigError) as caught:
        bt_to_timeframe(bt.TimeFrame.Minutes, 7)
    assert "Minutes/7" in str(caught.value)
    assert "resample" in str(caught.value)
    with pytest.raises(ConfigError):
        bt_to_timeframe(bt.TimeFrame.Ticks, 1)


def test_lengths_and_next_open() -> None:
    assert timeframe_ms("1m") == 60_000
    assert timeframe_ms("4h") == 4 * 3_600_000
    assert next_open_ms("1h", _ms(2023, 3, 1, 5)) == _ms(2023, 3, 1, 6)
    assert next_open_ms("1d", _ms(2023, 3, 1)) == _ms(2023, 3, 2)


def test_month_bars_follow_the_calendar() -> None:
    assert next_open_ms("1M", _ms(2023, 2, 1)) == _ms(2023, 3, 1)  # 28 days
    assert next_open_ms("1M", _ms(2023, 3, 1)) == _ms(2023, 4, 1)  # 31 days
    assert next_open_ms("1M", _ms(2023, 12, 1)) == _ms(2024, 1, 1)


def test_venue_check_names_the_venue_and_its_valid_timeframes() -> None:
    offered = ["1m", "5m", "1h", "1d", "90m"]
    assert check_venue_timeframe("1h", offered, "Kraken") == "1h"
    assert check_venue_timeframe("3m", None, "Unknown") == "3m"
    with pytest.raises(ConfigError) as caught:
        check_venue_timeframe("3m", offered, "Kraken")
    message = str(caught.value)
    assert "Kraken" in message
    assert "1m, 5m, 1h, 1d" in message
    assert "90m" not in message  # not one real_trade can map to backtrader
