"""The local history cache: candles on disk, downloaded once, read by backtests and feeds.

* :class:`HistoryCache` — one Parquet file per venue, market type, symbol and timeframe
  (``load`` -> a pandas DataFrame, ``save``/``merge``, ``path_for``); root ``$RT_HISTORY_DIR``
  or ``~/.real_trade/history``.
* :func:`download` — fill the cache from a store or venue client, incrementally (only what is
  missing), resumably (atomic chunked writes), with gap detection and a progress bar; the
  ``real-trade download`` command.
* :class:`CachedHistory` — what :class:`~real_trade.feeds.BaseData` uses (``cache=``): cached
  candles first, the venue for the rest, written back; disagreements reported
  (:class:`CacheDisagreement` on ``history.disagreement``).
* :class:`CachedData` / :func:`pandas_feed` — load a cache file straight into backtrader.

``pyarrow`` and ``pandas`` are imported when first used, not by ``import real_trade``.
"""

from real_trade.history.cache import (
    COLUMNS,
    HISTORY_DIR_ENV,
    CachedSeries,
    HistoryCache,
    default_history_dir,
    venue_key,
)
from real_trade.history.download import (
    DownloadProgress,
    DownloadSummary,
    SeriesSummary,
    download,
)
from real_trade.history.ranges import TimeRange
from real_trade.history.sync import (
    DISAGREEMENT_TOPIC,
    CacheDisagreement,
    GapReport,
    SeriesSync,
    VenueHistory,
)

__all__ = [
    "COLUMNS",
    "DISAGREEMENT_TOPIC",
    "HISTORY_DIR_ENV",
    "CacheDisagreement",
    "CachedData",
    "CachedHistory",
    "CachedSeries",
    "DownloadProgress",
    "DownloadSummary",
    "GapReport",
    "HistoryCache",
    "SeriesSummary",
    "SeriesSync",
    "TimeRange",
    "VenueHistory",
    "default_history_dir",
    "download",
    "pandas_feed",
    "venue_key",
]

_LAZY = {
    "CachedData": "real_trade.history.btfeed",
    "pandas_feed": "real_trade.history.btfeed",
    "CachedHistory": "real_trade.history.feed_cache",
}


def __getattr__(name: str) -> object:
    """The backtrader-facing names, imported on first use (they import backtrader)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'real_trade.history' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
