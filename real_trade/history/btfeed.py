"""Cached candles straight into backtrader: :class:`CachedData` and :func:`pandas_feed`.

``CachedData(path=...)`` (or ``dataname=`` a cache file, a DataFrame shaped as
:meth:`HistoryCache.load <real_trade.history.cache.HistoryCache.load>` returns, or a
:class:`~real_trade.history.cache.CachedSeries`) is a ``bt.feed.DataBase`` whose timeframe and
compression come from the file. When Cerebro preloads (its default), it fills its lines in bulk
from the column arrays instead of bar by bar: that is what makes it fast (see
``bench/bench_history_cache.py``). Datetimes are the bars' **open** times in UTC, as in every
real_trade feed; ``fromdate``/``todate``/``tz`` work as usual. With data filters, ``tzinput``
or without preloading it loads bar by bar like any feed.

``pandas_feed(path)`` returns a plain ``bt.feeds.PandasData`` over the same file, for code that
wants backtrader's own class.
"""

from __future__ import annotations

import array
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np

from real_trade.feeds.timeframes import timeframe_to_bt
from real_trade.history.cache import COLUMNS, CachedSeries, _as_series, read_series

__all__ = [
    "CachedData",
    "bulk_fill",
    "can_bulk_fill",
    "date_numbers",
    "pandas_feed",
    "preload_history",
]

_DAY_MS = 86_400_000
_LINES = ("close", "low", "high", "open", "volume", "openinterest", "datetime")
_EPOCH_ORDINAL = 719_163  # date(1970, 1, 1).toordinal()


def date_numbers(opens_ms: np.ndarray) -> np.ndarray:
    """backtrader's date numbers (``bt.date2num`` of the naive UTC datetime) of epoch ms."""
    opens = np.asarray(opens_ms, dtype=np.int64)
    days, rem = np.divmod(opens, _DAY_MS)
    hours, rem = np.divmod(rem, 3_600_000)
    minutes, rem = np.divmod(rem, 60_000)
    seconds, millis = np.divmod(rem, 1000)
    frac = hours / 24.0 + minutes / 1440.0 + seconds / 86400.0 + (millis * 1000) / 86400000000.0
    result: np.ndarray = (days + _EPOCH_ORDINAL).astype(np.float64) + frac
    return result


def can_bulk_fill(feed: Any) -> bool:
    """Whether ``feed``'s lines can be filled at once: preloading into plain arrays, with no
    data filters, ``tzinput`` or stacked bars that the bar-by-bar path would apply."""
    if feed._filters or feed._ffilters or feed._tzinput or feed._barstack:
        return False
    if tuple(feed.lines.getlinealiases()) != _LINES:
        return False  # a subclass with lines of its own: fill them bar by bar
    return all(isinstance(line.array, array.array) for line in feed.lines)


def bulk_fill(
    feed: Any, opens: np.ndarray, values: np.ndarray, dates: np.ndarray | None = None
) -> bool:
    """Preload ``feed`` (a ``bt.feed.DataBase`` with the OHLCV lines) from arrays at once.

    ``opens`` are open times in ms, ``values`` the (n, 5) OHLCV array; bars outside the feed's
    ``fromdate``/``todate`` are left out. Leaves the feed as ``preload()`` does (rewound, ready
    to run). Returns False, touching nothing, when :func:`can_bulk_fill` says no.
    """
    if not can_bulk_fill(feed):
        return False
    dates = date_numbers(opens) if dates is None else dates
    lo = int(np.searchsorted(dates, feed.fromdate, "left"))
    hi = int(np.searchsorted(dates, feed.todate, "right"))
    columns = {
        "datetime": dates[lo:hi],
        **{name: values[lo:hi, i] for i, name in enumerate(COLUMNS)},
        "openinterest": np.zeros(hi - lo),
    }
    for name, column in columns.items():
        buffer = getattr(feed.lines, name).array
        buffer.frombytes(np.ascontiguousarray(column, dtype=np.float64).tobytes())
    feed._last()
    feed.home()
    return True


def preload_history(feed: Any, history: Any, stream: Any) -> bool:
    """Preload a backtest :class:`~real_trade.feeds.BaseData` from its cached history at once.

    ``history`` is its :class:`~real_trade.history.feed_cache.CachedHistory`, ``stream`` its
    (not yet started) :class:`~real_trade.feeds.bars.BarStream`, whose range it reads. The
    strategy gets the same bars and the DELAYED then DISCONNECTED notifications as bar by bar;
    no ``feed.bar`` events are published. False (nothing done) when it cannot apply.
    """
    if stream.mode != "backtest" or stream._thread is not None or not can_bulk_fill(feed):
        return False
    feed.put_notification(feed.DELAYED, "loading history")
    series = history.series(stream.fromdate_ms, stream.todate_ms)
    bulk_fill(feed, series.opens, series.values)
    feed.put_notification(feed.DISCONNECTED, "end of data")
    return True


def _load_series(source: Any, timeframe: str | None) -> CachedSeries:
    if isinstance(source, CachedSeries):
        return source
    if isinstance(source, str | Path):
        return read_series(Path(source).expanduser(), timeframe)
    if hasattr(source, "columns"):
        if not timeframe:
            raise ValueError("a DataFrame needs ccxt_timeframe='1h' (or the like)")
        return _as_series(timeframe, source)
    raise TypeError(
        f"CachedData needs path= (a cache file), a DataFrame or a CachedSeries, "
        f"not {type(source).__name__}"
    )


class CachedData(bt.feed.DataBase):
    """A backtrader feed over one history cache series (module docstring).

    Parameters beyond backtrader's: ``path`` (a cache file; ``dataname`` works too) and
    ``ccxt_timeframe`` (needed for a DataFrame; a file knows its own).
    """

    params = (("path", None), ("ccxt_timeframe", None))

    def __init__(self) -> None:
        source = self.p.path if self.p.path is not None else self.p.dataname
        self.series = _load_series(source, self.p.ccxt_timeframe)
        self.ccxt_timeframe: str = self.series.timeframe
        self.p.timeframe, self.p.compression = timeframe_to_bt(self.ccxt_timeframe)
        if not isinstance(self.p.dataname, str | Path):
            self.p.dataname = str(source) if isinstance(source, str | Path) else "cache"
        self._next = 0
        self._dates: np.ndarray = np.empty(0)

    def start(self) -> None:
        """Prepare the date numbers (no I/O: the file was read at construction)."""
        super().start()
        self._dates = date_numbers(self.series.opens)
        self._next = 0

    def preload(self) -> None:
        """Fill every line at once from the arrays (bar by bar when filters or tzinput apply)."""
        if not bulk_fill(self, self.series.opens, self.series.values, self._dates):
            super().preload()
            return
        self._next = len(self._dates)

    def _load(self) -> bool:
        i = self._next
        if i >= len(self._dates):
            return False
        self._next = i + 1
        self.lines.datetime[0] = float(self._dates[i])
        o, h, low, c, v = self.series.values[i].tolist()
        self.lines.open[0] = o
        self.lines.high[0] = h
        self.lines.low[0] = low
        self.lines.close[0] = c
        self.lines.volume[0] = v
        self.lines.openinterest[0] = 0.0
        return True


def pandas_feed(source: Any, timeframe: str | None = None, **kwargs: Any) -> Any:
    """A ``bt.feeds.PandasData`` over a cache file (or a CachedSeries / DataFrame with
    ``timeframe``): naive UTC open times, backtrader timeframe and compression from the
    series; ``kwargs`` go to PandasData (``fromdate``, ``todate``, ``name``...)."""
    series = _load_series(source, timeframe)
    frame = series.to_frame()
    frame.index = frame.index.tz_localize(None)
    tf, compression = timeframe_to_bt(series.timeframe)
    kwargs.setdefault("timeframe", tf)
    kwargs.setdefault("compression", compression)
    return bt.feeds.PandasData(dataname=frame, openinterest=None, **kwargs)
