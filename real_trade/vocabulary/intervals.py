"""Candle intervals: their names, fixed lengths and calendar boundaries, defined once.

The names are the exchanges' (``1s`` ... ``1w``, ``1M``). Every interval but ``1M`` has a fixed
length; weeks open on Monday 00:00 UTC (the epoch was a Thursday) and months on the 1st, UTC.
The simulator's klines and the feeds' timeframes both use these.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from types import MappingProxyType

__all__ = ["FIXED_INTERVAL_MS", "INTERVALS", "bucket_open", "interval_length_ms", "next_open"]

_SEC, _MIN, _DAY = 1_000, 60_000, 86_400_000
FIXED_INTERVAL_MS: Mapping[str, int] = MappingProxyType(
    {
        "1s": _SEC,
        "1m": _MIN,
        "3m": 3 * _MIN,
        "5m": 5 * _MIN,
        "15m": 15 * _MIN,
        "30m": 30 * _MIN,
        "1h": 60 * _MIN,
        "2h": 120 * _MIN,
        "4h": 240 * _MIN,
        "6h": 360 * _MIN,
        "8h": 480 * _MIN,
        "12h": 720 * _MIN,
        "1d": _DAY,
        "3d": 3 * _DAY,
        "1w": 7 * _DAY,
    }
)
"""Interval name -> length in ms, for every interval of fixed length (all but ``1M``)."""
INTERVALS: tuple[str, ...] = (*FIXED_INTERVAL_MS, "1M")
"""Every interval name, shortest first."""
_WEEK_OFFSET = 4 * _DAY  # 1970-01-01 was a Thursday; weeks open on Monday


def interval_length_ms(interval: str) -> int | None:
    """The fixed length of ``interval`` in ms; None for ``1M`` (calendar months) and unknown
    names."""
    return FIXED_INTERVAL_MS.get(interval)


def bucket_open(interval: str, ts_ms: int) -> int:
    """The open time of the ``interval`` candle containing ``ts_ms`` (KeyError: unknown name)."""
    if interval == "1M":
        at = datetime.fromtimestamp(ts_ms // 1000, tz=timezone.utc)
        return int(datetime(at.year, at.month, 1, tzinfo=timezone.utc).timestamp()) * 1000
    if interval == "1w":
        return ts_ms - (ts_ms - _WEEK_OFFSET) % FIXED_INTERVAL_MS["1w"]
    size = FIXED_INTERVAL_MS[interval]
    return ts_ms - ts_ms % size


def next_open(interval: str, open_ms: int) -> int:
    """The open time of the candle after the one opening at ``open_ms`` (= that candle's end);
    exact for calendar months (KeyError: unknown name)."""
    if interval == "1M":
        at = datetime.fromtimestamp(open_ms // 1000, tz=timezone.utc)
        year, month = (at.year + 1, 1) if at.month == 12 else (at.year, at.month + 1)
        return int(datetime(year, month, 1, tzinfo=timezone.utc).timestamp()) * 1000
    return open_ms + FIXED_INTERVAL_MS[interval]
