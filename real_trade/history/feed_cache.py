"""The history of a :class:`~real_trade.feeds.BaseData` through the cache: cached candles first.

:class:`CachedHistory` is a :data:`~real_trade.feeds.bars.HistoryFetcher`: for a request it
serves what the cache holds, fetches only what it lacks from the venue (the feed's store
client), writes that back, and returns the bars; a cached range costs no request at all.
Disagreements between cache and venue are reported (see :mod:`real_trade.history.sync`).

:func:`feed_history` turns a feed's ``cache`` parameter into one: ``None`` (auto: on for a real
venue, live, testnet or demo; off against the simulator, whose candles are its own and differ
from run to run), ``True`` (the default cache), ``False`` (off), a folder, or a
:class:`~real_trade.history.cache.HistoryCache`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from real_trade.errors import ConfigError
from real_trade.feeds.bars import Bar
from real_trade.feeds.timeframes import timeframe_ms
from real_trade.history.cache import CachedSeries, HistoryCache
from real_trade.history.sync import SeriesSync, VenueHistory, last_closed_open

__all__ = ["CachedHistory", "feed_history"]


class CachedHistory:
    """Cached-first history of one symbol and timeframe (module docstring).

    ``history_bars`` is how many bars "the latest bars" means (a request without a start).
    Called from the feed's worker thread; one call at a time.
    """

    def __init__(
        self,
        cache: HistoryCache,
        store_or_client: Any,
        symbol: str,
        timeframe: str,
        *,
        history_bars: int = 1000,
        bus: Any = None,
    ) -> None:
        self.venue = VenueHistory(store_or_client)
        symbol = self.venue.symbol(symbol)  # one file per unified symbol, whatever the spelling
        self.sync = SeriesSync(cache, self.venue, symbol, timeframe, bus=bus)
        self.history_bars = int(history_bars)
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The cache file of the series."""
        return self.sync.path

    @property
    def fetch_calls(self) -> int:
        """Venue fetches made so far (0 when everything came from the cache)."""
        return self.venue.fetch_calls

    def __call__(self, since_ms: int | None, until_ms: int | None) -> list[Bar]:
        """Closed bars opening in ``[since_ms, until_ms]`` (the latest ``history_bars`` when
        ``since_ms`` is None), cached ones from disk, the rest from the venue."""
        with self._lock:
            return self._bars(since_ms, until_ms)

    def _bars(self, since_ms: int | None, until_ms: int | None) -> list[Bar]:
        if since_ms is None and self.sync.timeframe == "1M":  # calendar months: the venue counts
            rows = self.venue.client.fetch_ohlcv(
                self.sync.symbol, "1M", None, until_ms, self.history_bars, True
            )
            return [Bar.from_ohlcv(r) for r in rows]
        part = self._series(since_ms, until_ms)
        return [
            Bar(int(t), *values)
            for t, values in zip(part.opens.tolist(), part.values.tolist(), strict=True)
        ]

    def series(self, since_ms: int | None, until_ms: int | None) -> CachedSeries:
        """As a call, but the bars as one :class:`CachedSeries` (arrays, for bulk loading)."""
        with self._lock:
            if since_ms is None and self.sync.timeframe == "1M":
                return CachedSeries.from_rows(
                    "1M",
                    [
                        [b.open_ms, b.open, b.high, b.low, b.close, b.volume]
                        for b in self._bars(None, until_ms)
                    ],
                )
            return self._series(since_ms, until_ms)

    def _series(self, since_ms: int | None, until_ms: int | None) -> CachedSeries:
        sync, tf = self.sync, self.sync.timeframe
        now: int | None = None
        if since_ms is None:
            now = self.venue.now_ms()
            last = last_closed_open(tf, now)
            until_ms = last if until_ms is None else min(until_ms, last)
            since_ms = until_ms - (self.history_bars - 1) * timeframe_ms(tf)
        for rng in sync.missing(since_ms, until_ms):
            sync.fetch_range(rng, now)
        sync.flush()
        return sync.known().between(since_ms, until_ms)


def feed_history(
    cache: Any,
    store_or_client: Any,
    symbol: str,
    timeframe: str,
    *,
    history_bars: int = 1000,
    bus: Any = None,
    root: str | Path | None = None,
) -> CachedHistory | None:
    """The :class:`CachedHistory` a feed's ``cache`` parameter asks for, or None (no cache).

    ``root`` is the folder for ``None``/``True`` (default :func:`default_history_dir`)."""
    client = getattr(store_or_client, "client", store_or_client)
    if cache is None:
        if getattr(client, "mode", "live") == "sim":
            return None
        cache = True
    if cache is False:
        return None
    if cache is True:
        store = HistoryCache(root)
    elif isinstance(cache, HistoryCache):
        store = cache
    elif isinstance(cache, str | Path):
        store = HistoryCache(cache)
    else:
        raise ConfigError(
            f"bad cache parameter {cache!r}",
            field="cache",
            fix="use None (auto), True, False, a folder or a real_trade.history.HistoryCache",
        )
    return CachedHistory(store, client, symbol, timeframe, history_bars=history_bars, bus=bus)
