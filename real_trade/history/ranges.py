"""Which candles a cache lacks: pure range arithmetic on open times (ms, UTC), no I/O.

A cached series is a sorted array of bar open times plus the ranges the venue confirmed empty
(``venue_gaps``: asked for, answered with nothing, bounded by a later bar). :func:`missing_ranges`
says what to fetch for a request ``[start_ms, end_ms]``: the part before the first bar, every
hole between two bars, and the part after the last bar (open-ended when ``end_ms`` is None),
each minus the venue's known gaps. :func:`holes` finds the holes of a series. Bar lengths come
from :func:`real_trade.feeds.timeframes.next_open_ms` (calendar months included).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from real_trade.feeds.timeframes import next_open_ms, timeframe_ms

__all__ = [
    "TimeRange",
    "covered_ranges",
    "holes",
    "merge_ranges",
    "missing_ranges",
    "subtract_ranges",
]


@dataclass(frozen=True, slots=True, order=True)
class TimeRange:
    """Open times ``start_ms <= t <= end_ms`` (``end_ms`` None: up to the newest closed bar)."""

    start_ms: int
    end_ms: int | None

    def bars(self, timeframe: str) -> int | None:
        """How many bars of ``timeframe`` open in the range (None when open-ended)."""
        if self.end_ms is None:
            return None
        return max(0, (self.end_ms - self.start_ms) // timeframe_ms(timeframe) + 1)


def holes(opens: np.ndarray | Sequence[int], timeframe: str) -> list[TimeRange]:
    """The holes between consecutive bars: ``[next_open(a), b - 1]`` wherever bar ``b`` is not
    the one after bar ``a``."""
    array = np.asarray(opens, dtype=np.int64)
    if len(array) < 2:
        return []
    if timeframe == "1M":
        out = []
        for a, b in zip(array[:-1].tolist(), array[1:].tolist(), strict=True):
            expected = next_open_ms(timeframe, a)
            if b > expected:
                out.append(TimeRange(expected, b - 1))
        return out
    step = timeframe_ms(timeframe)
    jumps = np.nonzero(np.diff(array) > step)[0]
    return [TimeRange(int(array[i]) + step, int(array[i + 1]) - 1) for i in jumps]


def merge_ranges(ranges: Iterable[TimeRange]) -> list[TimeRange]:
    """Closed ranges sorted and merged where they overlap or touch (open-ended ones absorb)."""
    out: list[TimeRange] = []
    for item in sorted(ranges, key=lambda r: r.start_ms):
        if out:
            last = out[-1]
            if last.end_ms is None:
                continue
            if item.start_ms <= last.end_ms + 1:
                end = None if item.end_ms is None else max(last.end_ms, item.end_ms)
                out[-1] = TimeRange(last.start_ms, end)
                continue
        out.append(item)
    return out


def subtract_ranges(ranges: Iterable[TimeRange], cut: Iterable[TimeRange]) -> list[TimeRange]:
    """``ranges`` minus every range of ``cut`` (inclusive bounds; ``cut`` ranges are closed).

    One sweep over both sorted lists, so thousands of holes cost milliseconds.
    """
    cuts = merge_ranges(cut)
    if any(c.end_ms is None for c in cuts):
        raise ValueError("only closed ranges can be cut out")
    starts = [c.start_ms for c in cuts]
    out: list[TimeRange] = []
    for piece in merge_ranges(ranges):
        cur, end = piece.start_ms, piece.end_ms
        i = bisect_right(starts, cur) - 1
        if i >= 0 and int(cuts[i].end_ms or 0) >= cur:
            cur = int(cuts[i].end_ms or 0) + 1
        i += 1
        while i < len(cuts) and (end is None or cuts[i].start_ms <= end):
            if cuts[i].start_ms > cur:
                out.append(TimeRange(cur, cuts[i].start_ms - 1))
            cur = max(cur, int(cuts[i].end_ms or 0) + 1)
            i += 1
        if end is None or cur <= end:
            out.append(TimeRange(cur, end))
    return out


def covered_ranges(opens: np.ndarray | Sequence[int], timeframe: str) -> list[TimeRange]:
    """The time the cached bars span: runs of consecutive bars, each ``[first, end of last]``."""
    array = np.asarray(opens, dtype=np.int64)
    if len(array) == 0:
        return []
    span = TimeRange(int(array[0]), next_open_ms(timeframe, int(array[-1])) - 1)
    return subtract_ranges([span], holes(array, timeframe))


def missing_ranges(
    opens: np.ndarray | Sequence[int],
    timeframe: str,
    start_ms: int | None,
    end_ms: int | None,
    venue_gaps: Iterable[TimeRange] = (),
) -> list[TimeRange]:
    """What a request for bars opening in ``[start_ms, end_ms]`` must still fetch.

    ``opens`` are the cached open times (sorted, unique). ``start_ms`` None starts at the first
    cached bar; ``end_ms`` None means "up to the newest closed bar", so the range after the
    last cached bar is open-ended. Ranges the venue confirmed empty are left out.
    """
    array = np.asarray(opens, dtype=np.int64)
    if start_ms is None:
        if len(array) == 0:
            raise ValueError("a start is needed when nothing is cached")
        start_ms = int(array[0])
    if end_ms is not None and end_ms < start_ms:
        return []
    cut = [*covered_ranges(array, timeframe), *venue_gaps]
    return subtract_ranges([TimeRange(start_ms, end_ms)], cut)
