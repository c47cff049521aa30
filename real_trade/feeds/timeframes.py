"""Timeframes: ccxt strings (``"1h"``) against backtrader's ``(TimeFrame, compression)`` pairs.

:data:`TIMEFRAMES` is the one map, seed layout first (1m 5m 15m 30m 1h 4h 1d 1w 1M, with hours
as minutes, as backtrader counts them) and then the other lengths the big venues offer
(3m 2h 6h 8h 12h 3d). Whether a given venue serves a timeframe is its own table (ccxt's
``exchange.timeframes``): :func:`check_venue_timeframe` says so, naming the valid choices.

Bars are stamped with their **open** time everywhere in real_trade (as ccxt and the exchanges do),
so :func:`next_open_ms` (the open of the following bar, i.e. this bar's end) is the one place
that knows bar lengths, calendar months included.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from types import MappingProxyType

import backtrader as bt

from real_trade.errors import ConfigError
from real_trade.vocabulary.intervals import interval_length_ms, next_open

__all__ = [
    "SEED_TIMEFRAMES",
    "TIMEFRAMES",
    "bt_to_timeframe",
    "check_venue_timeframe",
    "date_num_of_ms",
    "ms_of_date_num",
    "next_open_ms",
    "timeframe_ms",
    "timeframe_to_bt",
]

_MIN, _DAY = 60_000, 86_400_000

TIMEFRAMES: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "1m": (bt.TimeFrame.Minutes, 1),
        "5m": (bt.TimeFrame.Minutes, 5),
        "15m": (bt.TimeFrame.Minutes, 15),
        "30m": (bt.TimeFrame.Minutes, 30),
        "1h": (bt.TimeFrame.Minutes, 60),
        "4h": (bt.TimeFrame.Minutes, 240),
        "1d": (bt.TimeFrame.Days, 1),
        "1w": (bt.TimeFrame.Weeks, 1),
        "1M": (bt.TimeFrame.Months, 1),
        "3m": (bt.TimeFrame.Minutes, 3),
        "2h": (bt.TimeFrame.Minutes, 120),
        "6h": (bt.TimeFrame.Minutes, 360),
        "8h": (bt.TimeFrame.Minutes, 480),
        "12h": (bt.TimeFrame.Minutes, 720),
        "3d": (bt.TimeFrame.Days, 3),
    }
)
"""ccxt timeframe string -> ``(bt.TimeFrame.<unit>, compression)``."""

SEED_TIMEFRAMES: tuple[str, ...] = ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w", "1M")
"""The timeframes of the design documents' map, offered by every first-class venue."""

_BY_BT: Mapping[tuple[int, int], str] = MappingProxyType({v: k for k, v in TIMEFRAMES.items()})

_MONTH_MS = 31 * 86_400_000  # the nominal length of a calendar month


def _valid_list() -> str:
    return ", ".join(TIMEFRAMES)


def timeframe_to_bt(timeframe: str) -> tuple[int, int]:
    """The backtrader ``(TimeFrame, compression)`` of a ccxt timeframe string.

    ``timeframe_to_bt("1h") == (bt.TimeFrame.Minutes, 60)``. An unknown string raises
    ConfigError naming the field ``timeframe`` and listing the valid strings.
    """
    try:
        return TIMEFRAMES[timeframe]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unsupported timeframe {timeframe!r}",
            field="timeframe",
            fix=f"use one of: {_valid_list()}",
        ) from None


def bt_to_timeframe(timeframe: int, compression: int) -> str:
    """The ccxt timeframe string of a backtrader ``(TimeFrame, compression)`` pair.

    ``bt_to_timeframe(bt.TimeFrame.Minutes, 240) == "4h"``. A pair with no candle interval on
    the venues (``Minutes, 7``, ``Ticks``...) raises ConfigError listing the valid pairs; resample
    a shorter timeframe with backtrader for the others.
    """
    try:
        return _BY_BT[(int(timeframe), int(compression))]
    except (KeyError, TypeError, ValueError):
        names = bt.TimeFrame.Names
        shown = (
            f"{names[timeframe]}/{compression}"
            if isinstance(timeframe, int) and 0 <= timeframe < len(names)
            else f"{timeframe!r}/{compression!r}"
        )
        valid = ", ".join(f"{names[tf]}/{comp} ({s})" for s, (tf, comp) in TIMEFRAMES.items())
        raise ConfigError(
            f"no exchange candle interval for timeframe/compression {shown}",
            field="timeframe",
            fix=f"use one of: {valid}; or resample a shorter one with cerebro.resampledata",
        ) from None


def timeframe_ms(timeframe: str) -> int:
    """The nominal length of a bar in milliseconds (a month counts as 31 days).

    Use :func:`next_open_ms` for exact bar boundaries; this is for sizing windows and delays.
    """
    timeframe_to_bt(timeframe)  # validates
    return interval_length_ms(timeframe) or _MONTH_MS


def next_open_ms(timeframe: str, open_ms: int) -> int:
    """The open time of the bar after the one opening at ``open_ms`` (= this bar's end).

    Exact for calendar months (``"1M"`` bars open on the 1st, UTC); every other timeframe has a
    fixed length.
    """
    timeframe_to_bt(timeframe)  # validates
    return next_open(timeframe, open_ms)


def check_venue_timeframe(
    timeframe: str, venue_timeframes: Iterable[str] | None, venue: str
) -> str:
    """Return ``timeframe`` when both real_trade and the venue support it, else raise.

    ``venue_timeframes`` is the venue's own list (ccxt's ``exchange.timeframes``); ``None``
    means unknown and accepts every timeframe of :data:`TIMEFRAMES`. The ConfigError names the
    timeframes valid on that venue.
    """
    timeframe_to_bt(timeframe)
    if venue_timeframes is None:
        return timeframe
    offered = set(venue_timeframes)
    if timeframe in offered:
        return timeframe
    valid = [tf for tf in TIMEFRAMES if tf in offered]
    raise ConfigError(
        f"{venue} has no {timeframe!r} candles",
        field="timeframe",
        fix=f"use one of: {', '.join(valid) or '(none of ours)'}",
    )


def ms_of_date_num(num: float) -> int | None:
    """backtrader date number (UTC) -> epoch ms, or None for +-infinity (an open bound)."""
    if num in (float("inf"), float("-inf")):
        return None
    moment = bt.num2date(num).replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


_EPOCH_ORDINAL = 719_163  # datetime(1970, 1, 1).toordinal()
_DAY_MS = 86_400_000
_SUMMED_UNTIL_MS = 4_102_444_800_000  # 2100-01-01: ms / 1000 still lands on its microsecond


def date_num_of_ms(ms: int) -> float:
    """Epoch ms -> backtrader date number (UTC, naive, as backtrader's lines hold it).

    Whole ms of 1970-2099: ``bt.date2num``'s own sum of the same parts, taken from the
    integer (it runs for every bar a feed delivers; building the datetime cost more)."""
    if type(ms) is not int or not 0 <= ms < _SUMMED_UNTIL_MS:
        moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc).replace(tzinfo=None)
        return float(bt.date2num(moment))
    days, rest = divmod(ms, _DAY_MS)
    seconds, milli = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return math.fsum(  # as bt.date2num sums them (backtrader.utils.dateintern)
        (
            float(days + _EPOCH_ORDINAL),
            hour / 24.0,
            minute / 1440.0,
            second / 86_400.0,
            milli * 1000 / 86_400_000_000.0,
        )
    )
