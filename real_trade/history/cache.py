"""``HistoryCache``: closed candles on disk, one Parquet file per venue, market type, symbol and
timeframe.

Layout: ``<root>/<venue>/<market_type>/<BASE_QUOTE[_SETTLE]>-<timeframe>.parquet`` (months are
``1Mo`` so that ``1M`` and ``1m`` never collide on a case-insensitive disk). The root is the
argument, else ``$RT_HISTORY_DIR``, else ``~/.real_trade/history``. Each file holds the columns
``datetime`` (bar **open** time, ``timestamp[ms, UTC]``), ``open``, ``high``, ``low``, ``close``,
``volume`` (float64), sorted and unique, LZ4-compressed (read about twice as fast as zstd for a
third more bytes: a year of minutes is ~15 MB and loads in tens of milliseconds), and in its
schema metadata the series' identity and the
ranges the venue confirmed empty (``venue_gaps``), so an incremental run never asks again.

Writes are atomic: a temporary file in the same folder, fsynced, then renamed over the old one;
a crash leaves the old file or the new one, never half of one. Writers of one file in one
process are serialised by a lock, across processes by an advisory ``fcntl`` lock where the
platform has one. ``pyarrow`` is imported on first use only, so ``import real_trade`` stays light.

The venue of a simulator or a testnet is its own venue here (``binance-sim``, ``binance-testnet``,
see :func:`venue_key`): their candles are not the exchange's and must never be mixed with them.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from real_trade.feeds.timeframes import timeframe_to_bt
from real_trade.history.ranges import TimeRange, holes, merge_ranges

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COLUMNS",
    "HISTORY_DIR_ENV",
    "CachedSeries",
    "HistoryCache",
    "default_history_dir",
    "venue_key",
]

HISTORY_DIR_ENV = "RT_HISTORY_DIR"
"""The environment variable naming the cache's root folder."""

COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
"""The value columns of a cached series (float64), after the ``datetime`` index."""

_META_KEY = b"real_trade.history"
_FORMAT_VERSION = 1
_locks_guard = threading.Lock()
_locks: dict[Path, threading.RLock] = {}


def default_history_dir() -> Path:
    """``$RT_HISTORY_DIR`` (``RT_HISTORY__DIR`` works too, as the config spells it), else
    ``~/.real_trade/history``."""
    for name in (HISTORY_DIR_ENV, "RT_HISTORY__DIR"):
        value = os.environ.get(name, "").strip()
        if value:
            return Path(value).expanduser()
    return Path.home() / ".real_trade" / "history"


def venue_key(client: Any) -> str:
    """The cache's venue name for a store or venue client: ``binance`` for the exchange itself,
    ``binance-testnet`` / ``binance-demo`` / ``binance-sim`` for the others (their candles
    differ from the exchange's)."""
    client = getattr(client, "client", client)
    name = str(client.venue.name)
    mode = str(getattr(client, "mode", "live") or "live")
    return name if mode == "live" else f"{name}-{mode}"


def _safe_part(text: str, what: str) -> str:
    cleaned = text.strip().replace("/", "_").replace(":", "_").replace("\\", "_")
    if not cleaned or cleaned in (".", "..") or cleaned.startswith("."):
        raise ValueError(f"bad {what} for a cache path: {text!r}")
    return cleaned


def _path_lock(path: Path) -> threading.RLock:
    with _locks_guard:
        lock = _locks.get(path)
        if lock is None:
            lock = _locks[path] = threading.RLock()
        return lock


@dataclass
class CachedSeries:
    """One cached series in memory: sorted unique open times (ms) and float64 OHLCV arrays,
    plus the ranges the venue confirmed empty."""

    timeframe: str
    opens: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    values: np.ndarray = field(default_factory=lambda: np.empty((0, 5), dtype=np.float64))
    venue_gaps: list[TimeRange] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        """The number of bars."""
        return len(self.opens)

    @classmethod
    def from_rows(cls, timeframe: str, rows: Sequence[Sequence[float]]) -> CachedSeries:
        """A series from ccxt candles ``[open_ms, o, h, l, c, v]`` (any order, duplicates:
        the first is kept)."""
        if not rows:
            return cls(timeframe)
        array = np.asarray([[float(x) if x is not None else np.nan for x in r[:6]] for r in rows])
        opens = array[:, 0].astype(np.int64)
        values = array[:, 1:6].astype(np.float64)
        if values.shape[1] < 5:
            values = np.pad(values, ((0, 0), (0, 5 - values.shape[1])))
        return cls(timeframe).merge(cls(timeframe, opens, np.nan_to_num(values, nan=0.0)))

    def merge(self, newer: CachedSeries) -> CachedSeries:
        """This series with ``newer``'s bars added; for an open time in both, ``newer`` wins."""
        gaps = merge_ranges([*self.venue_gaps, *newer.venue_gaps])
        if len(newer) == 0:
            return CachedSeries(self.timeframe, self.opens, self.values, gaps, self.meta)
        opens = np.concatenate([newer.opens, self.opens])
        values = np.concatenate([newer.values, self.values])
        order = np.argsort(opens, kind="stable")  # newer's rows come first among equals
        opens, values = opens[order], values[order]
        keep = np.ones(len(opens), dtype=bool)
        keep[1:] = opens[1:] != opens[:-1]
        return CachedSeries(self.timeframe, opens[keep], values[keep], gaps, self.meta)

    def between(self, start_ms: int | None, end_ms: int | None) -> CachedSeries:
        """The bars opening in ``[start_ms, end_ms]`` (None: unbounded)."""
        lo = 0 if start_ms is None else int(np.searchsorted(self.opens, start_ms, "left"))
        hi = (
            len(self.opens) if end_ms is None else int(np.searchsorted(self.opens, end_ms, "right"))
        )
        return CachedSeries(
            self.timeframe, self.opens[lo:hi], self.values[lo:hi], list(self.venue_gaps), self.meta
        )

    def rows(self) -> list[list[float]]:
        """The bars as ccxt candles ``[open_ms, o, h, l, c, v]``."""
        return [
            [int(t), *v] for t, v in zip(self.opens.tolist(), self.values.tolist(), strict=True)
        ]

    def holes(self) -> list[TimeRange]:
        """Holes between consecutive bars that the venue has not confirmed empty."""
        from real_trade.history.ranges import subtract_ranges

        return subtract_ranges(holes(self.opens, self.timeframe), self.venue_gaps)

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame: UTC ``DatetimeIndex`` named ``datetime``, float columns of
        :data:`COLUMNS`."""
        import pandas as pd

        index = pd.DatetimeIndex(pd.to_datetime(self.opens, unit="ms", utc=True), name="datetime")
        return pd.DataFrame(self.values, index=index, columns=list(COLUMNS), copy=False)


class HistoryCache:
    """The local candle cache (module docstring): ``load``, ``save``/``merge``, ``path_for``.

    ``HistoryCache(root=None)``: ``root`` default :func:`default_history_dir`. Symbols are ccxt
    unified symbols (``BTC/USDT``, ``BTC/USDT:USDT``), timeframes ccxt strings (``1m``, ``1h``).
    """

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_history_dir()

    def __repr__(self) -> str:
        """The root folder."""
        return f"HistoryCache({str(self.root)!r})"

    # -- where -----------------------------------------------------------------------------
    def path_for(self, venue: str, market_type: str, symbol: str, timeframe: str) -> Path:
        """The file of one series (it may not exist yet)."""
        timeframe_to_bt(timeframe)  # validates, naming the field
        tf = "1Mo" if timeframe == "1M" else timeframe
        name = f"{_safe_part(symbol, 'symbol')}-{tf}.parquet"
        return (
            self.root / _safe_part(venue, "venue") / _safe_part(market_type, "market type") / name
        )

    def series(self) -> Iterator[tuple[str, str, str, Path]]:
        """Every cached file as ``(venue, market_type, file stem, path)``."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("*/*/*.parquet")):
            yield path.parent.parent.name, path.parent.name, path.stem, path

    # -- read ------------------------------------------------------------------------------
    def read(self, venue: str, market_type: str, symbol: str, timeframe: str) -> CachedSeries:
        """The whole cached series (empty when nothing is cached)."""
        return read_series(self.path_for(venue, market_type, symbol, timeframe), timeframe)

    def load(
        self,
        venue: str,
        market_type: str,
        symbol: str,
        timeframe: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> pd.DataFrame:
        """Cached bars opening in ``[start_ms, end_ms]`` as a DataFrame: UTC ``DatetimeIndex``
        named ``datetime`` (bar open time), float64 columns open, high, low, close, volume;
        sorted and unique. Empty (same columns) when nothing is cached."""
        return self.read(venue, market_type, symbol, timeframe).between(start_ms, end_ms).to_frame()

    # -- write -----------------------------------------------------------------------------
    def merge(
        self, venue: str, market_type: str, symbol: str, timeframe: str, newer: CachedSeries
    ) -> CachedSeries:
        """Add ``newer``'s bars (and venue gaps) to the file, atomically; return the result.

        For an open time present in both, ``newer``'s candle replaces the cached one."""
        path = self.path_for(venue, market_type, symbol, timeframe)
        with _locked(path):
            merged = read_series(path, timeframe).merge(newer)
            write_series(path, merged, venue=venue, market_type=market_type, symbol=symbol)
        return merged

    def save(
        self,
        venue: str,
        market_type: str,
        symbol: str,
        timeframe: str,
        data: pd.DataFrame | CachedSeries | Sequence[Sequence[float]],
    ) -> CachedSeries:
        """Merge candles into the cache: a DataFrame shaped as :meth:`load` returns (or with a
        ``datetime`` column), a :class:`CachedSeries`, or ccxt rows ``[open_ms, o, h, l, c, v]``."""
        return self.merge(venue, market_type, symbol, timeframe, _as_series(timeframe, data))


def _as_series(
    timeframe: str, data: pd.DataFrame | CachedSeries | Sequence[Sequence[float]]
) -> CachedSeries:
    if isinstance(data, CachedSeries):
        return data
    if hasattr(data, "columns"):
        import pandas as pd

        frame: Any = data
        if "datetime" in frame.columns:
            frame = frame.set_index("datetime")
        index = pd.DatetimeIndex(frame.index)
        if index.tz is None:
            index = index.tz_localize("UTC")
        opens = (index.tz_convert("UTC").as_unit("ms").asi8).astype(np.int64)
        values = frame[list(COLUMNS)].to_numpy(dtype=np.float64)
        return CachedSeries(timeframe).merge(CachedSeries(timeframe, opens, values))
    return CachedSeries.from_rows(timeframe, list(data))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer per file: a lock within the process, an advisory file lock across them."""
    with _path_lock(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX
            yield
            return
        with open(path.with_name(path.name + ".lock"), "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def read_series(path: Path, timeframe: str | None = None) -> CachedSeries:
    """Read one cache file (empty series when it does not exist); ``timeframe`` None takes
    the file's own (its metadata)."""
    if not path.is_file():
        if timeframe is None:
            raise FileNotFoundError(f"no history cache file at {path}")
        return CachedSeries(timeframe)
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}") or b"{}")
    opens = table.column("datetime").cast("int64").to_numpy()
    values = np.empty((table.num_rows, len(COLUMNS)), dtype=np.float64, order="F")
    for i, name in enumerate(COLUMNS):  # column-major: each column stays contiguous
        values[:, i] = table.column(name).to_numpy()
    gaps = [TimeRange(int(a), int(b)) for a, b in meta.get("venue_gaps", [])]
    timeframe = timeframe or str(meta.get("timeframe") or "")
    if not timeframe:
        raise ValueError(f"{path}: no timeframe in the file's metadata; pass it")
    opens = opens.astype(np.int64, copy=False)
    return CachedSeries(timeframe, opens, values, gaps, meta)


def write_series(
    path: Path, series: CachedSeries, *, venue: str, market_type: str, symbol: str
) -> None:
    """Write a whole series to ``path`` atomically (temp file, fsync, rename)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = {
        "format": _FORMAT_VERSION,
        "venue": venue,
        "market_type": market_type,
        "symbol": symbol,
        "timeframe": series.timeframe,
        "venue_gaps": [[g.start_ms, g.end_ms] for g in series.venue_gaps if g.end_ms is not None],
    }
    columns: dict[str, Any] = {
        "datetime": pa.array(series.opens, pa.int64()).cast(pa.timestamp("ms", tz="UTC"))
    }
    for i, name in enumerate(COLUMNS):
        columns[name] = pa.array(np.ascontiguousarray(series.values[:, i]), pa.float64())
    table = pa.table(columns).replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            pq.write_table(table, handle, compression="lz4", row_group_size=262_144)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
