"""Bring one cached series up to date with its venue: what ``download`` and the feeds share.

:class:`VenueHistory` is the venue's side (a store's or a :class:`~real_trade.venues.client.
VenueClient`'s paginated, retried, rate-limited REST candles, closed bars only, judged by the
venue's clock). :class:`SeriesSync` is one series: it reads the cached file, says what a request
lacks (:meth:`SeriesSync.missing`), fetches those ranges window by window (so progress can be
shown and written chunks survive an interruption), and writes the result back atomically.

Each fetch that starts right after a cached bar starts one bar earlier instead: that bar comes
back from the venue and is compared with the cache. A closed candle on which the two disagree is
a :class:`CacheDisagreement`: logged, published on the bus (``history.disagreement``) and kept
in the sync's report; the venue's candle replaces the cached one, so nothing is silently mixed.
A hole the venue answers with nothing (and that a later bar bounds) is recorded in the file as a
venue gap, reported, and not asked for again.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from real_trade.feeds.timeframes import next_open_ms, timeframe_ms
from real_trade.history.cache import COLUMNS, CachedSeries, HistoryCache, venue_key
from real_trade.history.ranges import TimeRange, missing_ranges, subtract_ranges

__all__ = ["DISAGREEMENT_TOPIC", "CacheDisagreement", "GapReport", "SeriesSync", "VenueHistory"]

_log = logging.getLogger("real_trade.history")

DISAGREEMENT_TOPIC = "history.disagreement"
"""Bus topic of :class:`CacheDisagreement` events."""

_RTOL = 1e-9


@dataclass(frozen=True, slots=True)
class CacheDisagreement:
    """A closed candle whose cached values differ from the venue's (the venue's now cached)."""

    venue: str
    market_type: str
    symbol: str
    timeframe: str
    open_ms: int
    cached: tuple[float, ...]
    fetched: tuple[float, ...]
    path: str

    def describe(self) -> str:
        """One line for logs and reports."""
        moment = time.strftime("%Y-%m-%d %H:%M", time.gmtime(self.open_ms / 1000))
        diffs = ", ".join(
            f"{name} {a:g} (cache) != {b:g} (venue)"
            for name, a, b in zip(COLUMNS, self.cached, self.fetched, strict=True)
            if not _close(a, b)
        )
        return (
            f"{self.venue} {self.symbol} {self.timeframe} candle {moment} UTC: {diffs}; "
            f"the venue's candle replaces the cached one in {self.path}"
        )


@dataclass(frozen=True, slots=True)
class GapReport:
    """A hole in a series: ``filled`` when the venue had its bars, else the venue has none.

    ``kind`` is ``"inside"`` (between two bars) or ``"before_first"`` (before the venue's first
    bar, e.g. before the listing)."""

    start_ms: int
    end_ms: int
    bars: int
    filled: bool
    kind: str = "inside"

    def describe(self) -> str:
        """``2023-03-02 10:00 .. 2023-03-02 10:29 UTC (30 bars)``."""
        fmt = "%Y-%m-%d %H:%M"
        a = time.strftime(fmt, time.gmtime(self.start_ms / 1000))
        b = time.strftime(fmt, time.gmtime(self.end_ms / 1000))
        return f"{a} .. {b} UTC ({self.bars} bars)"


def _close(a: float, b: float) -> bool:
    if a == b or (np.isnan(a) and np.isnan(b)):
        return True
    return abs(a - b) <= _RTOL * max(abs(a), abs(b))


class VenueHistory:
    """A venue's REST candles for the cache, from a store or a venue client.

    ``key`` names the venue in the cache (:func:`~real_trade.history.cache.venue_key`),
    ``market_type`` its market type. :meth:`fetch` returns closed candles opening in
    ``[since_ms, until_ms]`` (paginated, retried, rate-limited by the client).
    """

    def __init__(self, store_or_client: Any) -> None:
        self.client = getattr(store_or_client, "client", store_or_client)
        self.key = venue_key(self.client)
        self.market_type = str(self.client.market_type)
        self.bus = getattr(self.client, "bus", None)
        self.fetch_calls = 0

    def symbol(self, symbol: str) -> str:
        """The venue's unified symbol of ``symbol`` (``BTCUSDT`` -> ``BTC/USDT``)."""
        return str(self.client.symbol_of(symbol))

    def now_ms(self) -> int:
        """The venue's clock."""
        return int(self.client.fetch_time())

    def fetch(
        self, symbol: str, timeframe: str, since_ms: int, until_ms: int | None
    ) -> list[list[float]]:
        """Closed candles opening in ``[since_ms, until_ms]``, in time order."""
        self.fetch_calls += 1
        rows: list[list[float]] = self.client.fetch_ohlcv(
            symbol, timeframe, since_ms, until_ms, None, True
        )
        return rows


def last_closed_open(timeframe: str, now_ms: int) -> int:
    """The open time of the newest bar closed at ``now_ms`` (fixed-length timeframes)."""
    step = timeframe_ms(timeframe)
    return (now_ms // step) * step - step


class SeriesSync:
    """One series being brought up to date (module docstring).

    ``flush_every_s`` bounds how much fetched data an interruption can lose: pending bars are
    written whenever that many seconds passed since the last write (0: after every window).
    """

    def __init__(
        self,
        cache: HistoryCache,
        venue: VenueHistory,
        symbol: str,
        timeframe: str,
        *,
        flush_every_s: float = 5.0,
        window_bars: int = 10_000,
        bus: Any = None,
    ) -> None:
        self.cache, self.venue = cache, venue
        self.symbol, self.timeframe = symbol, timeframe
        self.path: Path = cache.path_for(venue.key, venue.market_type, symbol, timeframe)
        self.flush_every_s, self.window_bars = flush_every_s, max(1, window_bars)
        self.bus = bus if bus is not None else venue.bus
        self.series = cache.read(venue.key, venue.market_type, symbol, timeframe)
        self.pending = CachedSeries(timeframe)
        self.fetched_bars = 0
        self.new_bars = 0
        self.disagreements: list[CacheDisagreement] = []
        self.gaps: list[GapReport] = []
        self._last_flush = time.monotonic()

    # -- what is missing -------------------------------------------------------------------
    def missing(self, start_ms: int | None, end_ms: int | None) -> list[TimeRange]:
        """The ranges of ``[start_ms, end_ms]`` neither cached nor known empty at the venue."""
        if start_ms is None and len(self.series) == 0:
            raise ValueError("a start time is needed for a series with nothing cached")
        return missing_ranges(
            self.series.opens, self.timeframe, start_ms, end_ms, self.series.venue_gaps
        )

    # -- fetching --------------------------------------------------------------------------
    def fetch_range(
        self,
        rng: TimeRange,
        now_ms: int | None = None,
        on_bars: Callable[[int], None] | None = None,
    ) -> int:
        """Fetch one missing range window by window; return how many bars came.

        ``now_ms`` (the venue's clock; asked for when not given) ends the range: nothing
        opening later is closed.
        ``on_bars(n)`` is told after each window (progress); it may raise to interrupt, and
        the caller then :meth:`flush` es what was fetched. Holes the venue left empty are
        recorded only when the range completes.
        """
        now = self.venue.now_ms() if now_ms is None else now_ms
        end = now - 1 if rng.end_ms is None else min(rng.end_ms, now - 1)
        known_before = self.series.merge(self.pending)
        before_opens = known_before.opens
        start = rng.start_ms
        overlap = self._bar_before(before_opens, start)
        cursor = overlap if overlap is not None else start
        step = timeframe_ms(self.timeframe)
        total = 0
        while cursor <= end:
            window_end = min(end, cursor + self.window_bars * step - 1)
            rows = self.venue.fetch(self.symbol, self.timeframe, cursor, window_end)
            fresh = self._take(rows, known_before)
            total += fresh
            if on_bars is not None:
                on_bars(fresh)
            self._maybe_flush()
            cursor = window_end + 1
        self._record_gaps(rng, end, before_opens)
        return total

    def _bar_before(self, opens: np.ndarray, start_ms: int) -> int | None:
        """The cached bar just before ``start_ms`` when it is adjacent (fetched again to compare
        with the venue), else None."""
        i = int(np.searchsorted(opens, start_ms, "left"))
        if i == 0:
            return None
        prev = int(opens[i - 1])
        return prev if next_open_ms(self.timeframe, prev) >= start_ms else None

    def _take(self, rows: list[list[float]], known: CachedSeries) -> int:
        """Add fetched rows to the pending bars; compare those already cached."""
        if not rows:
            return 0
        batch = CachedSeries.from_rows(self.timeframe, rows)
        self.fetched_bars += len(batch)
        idx = np.searchsorted(known.opens, batch.opens)
        idx_ok = idx < len(known.opens)
        same = np.zeros(len(batch), dtype=bool)
        same[idx_ok] = known.opens[idx[idx_ok]] == batch.opens[idx_ok]
        for i in np.nonzero(same)[0]:
            cached = known.values[idx[i]]
            fetched = batch.values[i]
            if not all(_close(float(a), float(b)) for a, b in zip(cached, fetched, strict=True)):
                self._disagree(int(batch.opens[i]), cached, fetched)
        new = int(len(batch) - same.sum())
        self.new_bars += new
        self.pending = self.pending.merge(batch)
        return new

    def _disagree(self, open_ms: int, cached: np.ndarray, fetched: np.ndarray) -> None:
        event = CacheDisagreement(
            self.venue.key,
            self.venue.market_type,
            self.symbol,
            self.timeframe,
            open_ms,
            tuple(float(v) for v in cached),
            tuple(float(v) for v in fetched),
            str(self.path),
        )
        self.disagreements.append(event)
        _log.warning("history cache disagrees with the venue: %s", event.describe())
        if self.bus is not None:
            with contextlib.suppress(RuntimeError):  # a closed bus: the log line stands
                self.bus.publish(DISAGREEMENT_TOPIC, event)

    def _record_gaps(self, rng: TimeRange, end: int, before_opens: np.ndarray) -> None:
        """Holes of ``rng`` the venue left empty become venue gaps (when a later bar bounds
        them); holes the cache had and the venue filled are reported as filled."""
        known = self.series.merge(self.pending)
        step = timeframe_ms(self.timeframe)
        still = missing_ranges(known.opens, self.timeframe, rng.start_ms, end, known.venue_gaps)
        last = int(known.opens[-1]) if len(known) else None
        first = int(known.opens[0]) if len(known) else None
        empty: list[TimeRange] = []
        for piece in still:
            piece_end = piece.end_ms if piece.end_ms is not None else end
            if last is None or piece.start_ms > last:
                continue  # nothing after it yet: not a gap, just not there (yet)
            if piece_end - piece.start_ms + 1 < step:
                continue  # part of a bar (an unaligned request start)
            kind = "before_first" if first is not None and piece_end < first else "inside"
            bars = (piece_end - piece.start_ms) // step + 1
            empty.append(TimeRange(piece.start_ms, piece_end))
            self.gaps.append(GapReport(piece.start_ms, piece_end, bars, False, kind))
            _log.warning(
                "%s %s %s: the venue has no candles for %s",
                self.venue.key,
                self.symbol,
                self.timeframe,
                self.gaps[-1].describe(),
            )
        if empty:
            self.pending = self.pending.merge(CachedSeries(self.timeframe, venue_gaps=empty))
        # holes of the cache (between two cached bars) that are now full
        if len(before_opens) >= 2 and rng.end_ms is not None:
            lo, hi = int(before_opens[0]), int(before_opens[-1])
            if lo < rng.start_ms and rng.end_ms < hi:
                left = subtract_ranges([rng], empty)
                if left == [rng]:
                    bars = (rng.end_ms - rng.start_ms) // step + 1
                    self.gaps.append(GapReport(rng.start_ms, rng.end_ms, bars, True))

    # -- writing ---------------------------------------------------------------------------
    def _maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush >= self.flush_every_s:
            self.flush()

    def flush(self) -> None:
        """Write the pending bars and venue gaps to the file (atomically)."""
        if len(self.pending) == 0 and not self.pending.venue_gaps:
            return
        self.series = self.cache.merge(
            self.venue.key, self.venue.market_type, self.symbol, self.timeframe, self.pending
        )
        self.pending = CachedSeries(self.timeframe)
        self._last_flush = time.monotonic()
        from real_trade.utils.chaos import crash_point

        crash_point("history_flushed")

    def known(self) -> CachedSeries:
        """Cached and pending bars together."""
        return self.series.merge(self.pending)
