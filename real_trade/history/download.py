"""``download``: fill the history cache from a venue, incrementally, resumably, with progress.

For every symbol and timeframe: read the cached file, work out what ``[start_ms, end_ms]``
still lacks (before the first cached bar, holes between bars, after the last one; ranges the
venue already confirmed empty are skipped), fetch exactly that through the venue client
(paginated, retried, rate-limited by ccxt's limiter), and write it back atomically every
``flush_every_s`` seconds and at the end, also when interrupted (Ctrl-C): the next run resumes
where this one stopped. Holes the venue fills are reported as filled; those it has nothing for
are recorded and reported; a cached candle the venue disagrees with is reported and replaced.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from real_trade.feeds.timeframes import check_venue_timeframe, timeframe_ms
from real_trade.history.cache import HistoryCache
from real_trade.history.ranges import TimeRange
from real_trade.history.sync import CacheDisagreement, GapReport, SeriesSync, VenueHistory

__all__ = ["DownloadProgress", "DownloadSummary", "SeriesSummary", "download"]


@dataclass(frozen=True, slots=True)
class SeriesSummary:
    """What one series' download did: bars fetched and new, the file's extent afterwards, gaps
    filled or left (the venue has none), disagreements, and the error that stopped it, if any."""

    venue: str
    market_type: str
    symbol: str
    timeframe: str
    path: Path
    fetched_bars: int
    new_bars: int
    total_bars: int
    first_ms: int | None
    last_ms: int | None
    gaps_filled: tuple[GapReport, ...] = ()
    venue_gaps: tuple[GapReport, ...] = ()
    disagreements: tuple[CacheDisagreement, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DownloadSummary:
    """The result of :func:`download`: one :class:`SeriesSummary` per symbol and timeframe.

    ``fetch_calls`` counts paginated fetches (one per window of ``window_bars`` bars, each one
    or more venue requests)."""

    series: tuple[SeriesSummary, ...]
    elapsed_s: float
    fetch_calls: int
    interrupted: bool = False

    @property
    def fetched_bars(self) -> int:
        """Bars received from the venue, over every series."""
        return sum(s.fetched_bars for s in self.series)

    @property
    def new_bars(self) -> int:
        """Bars that were not cached before, over every series."""
        return sum(s.new_bars for s in self.series)

    @property
    def ok(self) -> bool:
        """True when every series completed without an error and nothing interrupted it."""
        return not self.interrupted and all(s.error is None for s in self.series)


@dataclass
class DownloadProgress:
    """Progress of a download, handed to the ``progress`` callback after every window.

    ``total_bars`` is the estimate of bars to fetch (venue gaps and listing dates make the real
    count lower), ``done_bars`` the new bars so far, ``series`` the one being fetched.
    """

    total_bars: int
    done_bars: int = 0
    series: str = ""
    started: float = field(default_factory=time.monotonic)


ProgressCallback = Callable[[DownloadProgress], None]


class _TqdmProgress:
    """A tqdm bar on stderr: bars fetched, rate and ETA."""

    def __init__(self) -> None:
        self._bar: Any = None

    def __call__(self, state: DownloadProgress) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=state.total_bars,
                unit=" bars",
                unit_scale=True,
                dynamic_ncols=True,
                file=sys.stderr,
            )
        self._bar.set_description(state.series, refresh=False)
        self._bar.update(max(0, state.done_bars - self._bar.n))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _resolve_progress(progress: bool | ProgressCallback | None) -> ProgressCallback | None:
    if progress is None:
        progress = sys.stderr.isatty()
    if progress is True:
        return _TqdmProgress()
    if progress is False:
        return None
    return progress


def _align_up(start_ms: int, timeframe: str) -> int:
    """The first bar open at or after ``start_ms`` for timeframes that divide a day (an
    unaligned ``--from`` would otherwise ask again, every run, for the part of a bar before it)."""
    step = timeframe_ms(timeframe)
    if 86_400_000 % step:
        return start_ms
    return -(-start_ms // step) * step


def _estimate(ranges: Iterable[TimeRange], timeframe: str, now_ms: int) -> int:
    step = timeframe_ms(timeframe)
    total = 0
    for r in ranges:
        end = now_ms if r.end_ms is None else min(r.end_ms, now_ms)
        total += max(0, (end - r.start_ms) // step + 1)
    return total


def download(
    store_or_venue_client: Any,
    cache: HistoryCache | str | Path | None,
    symbols: Iterable[str],
    timeframes: Iterable[str],
    start_ms: int,
    end_ms: int | None = None,
    progress: bool | ProgressCallback | None = None,
    *,
    flush_every_s: float = 5.0,
    window_bars: int = 10_000,
) -> DownloadSummary:
    """Download ``symbols`` x ``timeframes`` candles opening in ``[start_ms, end_ms]`` (None:
    up to the newest closed bar) into ``cache`` (a :class:`HistoryCache`, a folder, or None for
    the default), fetching only what the cache lacks. Returns a :class:`DownloadSummary`.

    ``progress``: None shows a progress bar when stderr is a terminal, True always, False
    never; a callable receives a :class:`DownloadProgress` after each window. A
    KeyboardInterrupt (Ctrl-C, or raised by the callback) stops the download after writing
    what was fetched; the summary then says ``interrupted=True`` and the next run resumes.
    An unknown symbol, or a timeframe the venue lacks, is refused (ConfigError / BadSymbolError)
    before anything is fetched; a series that fails while fetching is reported in its
    summary's ``error`` and the others go on. ``flush_every_s``: the most fetch time a hard
    kill can lose; ``window_bars``: bars per fetch call (one progress step).
    """
    started = time.monotonic()
    venue = VenueHistory(store_or_venue_client)
    store = cache if isinstance(cache, HistoryCache) else HistoryCache(cache)
    tfs = [tf.strip() for tf in timeframes if tf.strip()]
    for tf in tfs:
        check_venue_timeframe(
            tf,
            getattr(venue.client.exchange, "timeframes", None) or None,
            venue.client.venue.display_name,
        )
    syms = [venue.symbol(s.strip()) for s in symbols if s.strip()]
    now = venue.now_ms()
    syncs = [
        SeriesSync(store, venue, sym, tf, flush_every_s=flush_every_s, window_bars=window_bars)
        for sym in syms
        for tf in tfs
    ]
    plans = [(s, s.missing(_align_up(start_ms, s.timeframe), end_ms)) for s in syncs]
    state = DownloadProgress(sum(_estimate(r, s.timeframe, now) for s, r in plans))
    callback = _resolve_progress(progress)
    results: list[SeriesSummary] = []
    interrupted = False
    try:
        for sync, ranges in plans:
            state.series = f"{sync.symbol} {sync.timeframe}"
            error: str | None = None

            def advance(n: int) -> None:
                state.done_bars += n
                if callback is not None:
                    callback(state)

            try:
                for rng in ranges:
                    sync.fetch_range(rng, now, advance)
            except KeyboardInterrupt:
                interrupted = True
            except Exception as exc:  # one series failing must not lose the others
                error = f"{type(exc).__name__}: {exc}"
            finally:
                sync.flush()
            results.append(_summary(sync, error))
            if interrupted:
                break
    finally:
        close = getattr(callback, "close", None)
        if close is not None:
            close()
    return DownloadSummary(
        tuple(results), time.monotonic() - started, venue.fetch_calls, interrupted
    )


def _summary(sync: SeriesSync, error: str | None) -> SeriesSummary:
    known = sync.known()
    return SeriesSummary(
        venue=sync.venue.key,
        market_type=sync.venue.market_type,
        symbol=sync.symbol,
        timeframe=sync.timeframe,
        path=sync.path,
        fetched_bars=sync.fetched_bars,
        new_bars=sync.new_bars,
        total_bars=len(known),
        first_ms=int(known.opens[0]) if len(known) else None,
        last_ms=int(known.opens[-1]) if len(known) else None,
        gaps_filled=tuple(g for g in sync.gaps if g.filled),
        venue_gaps=tuple(g for g in sync.gaps if not g.filled),
        disagreements=tuple(sync.disagreements),
        error=error,
    )
