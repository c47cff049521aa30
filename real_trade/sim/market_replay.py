"""Replay real one-minute candles as a market, with a plausible path inside each candle.

Files are CSV with a header; the format is told by the header:

* Binance.US style: ``open_time`` (ISO 8601, UTC if no offset, or integer ms), ``open``,
  ``high``, ``low``, ``close``, ``volume``;
* Kraken style: ``timestamp`` (unix seconds), ``open``, ``high``, ``low``, ``close``,
  ``volume``, ``trades`` (minutes without trades are absent from the file).

Inside each candle the source plays a path open -> (low then high, or high then low) -> close
with a few intermediate points strictly inside ``[low, high]``; the order, the intermediate
prices, the timestamps (spread inside the minute) and the split of the volume are drawn from a
generator seeded by ``(seed, symbol, open time)``, so they are deterministic and independent of
how the caller slices time. The path hits the candle's open, high, low and close exactly, so
one-minute candles rebuilt from the ticks reproduce the file's OHLC.

Rounding: the price tick and the lot step are the finest decimal precision found in the file's
price and volume columns, so every file value is an exact multiple of them; the volume is split
across points in whole lots (every trading point gets at least one lot when the candle has
enough), so the ticks' volumes sum to the file's volume exactly: there is no rounding at all.
A candle whose volume is zero plays as zero-volume ticks (quote updates, no trade); a candle
with fewer lots than distinct key prices gives the extra key points zero volume. Missing minutes
produce no ticks, and after the last candle (:meth:`CandleReplayMarket.end_ms`) the source
produces no more ticks.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import NoReturn

from real_trade.core.data_flow.cache import DataCache
from real_trade.sim.market import (
    MINUTE_MS,
    BookShape,
    Candle,
    MarketTick,
    Side,
    UnknownSymbolError,
    candles_from_ticks,
    default_book_shape,
    floor_minute,
)

__all__ = ["CandleFile", "CandleReplayMarket", "read_candle_file", "symbol_from_filename"]

_MAX_POINTS = 60
_CACHE_CANDLES = 4096
_PRICE_COLUMNS = ("open", "high", "low", "close")
_INF = Decimal("Infinity")
_FORMATS: dict[str, tuple[str, ...]] = {
    "open_time": ("open_time", "open", "high", "low", "close", "volume"),
    "timestamp": ("timestamp", "open", "high", "low", "close", "volume"),
}


@dataclass(frozen=True, slots=True)
class CandleFile:
    """The validated contents of one candle CSV file.

    ``candles`` holds the file's rows as :class:`Candle` objects whose ``quote_volume`` is 0
    and whose ``trades`` is the file's trade count (0 when the file has none); ``tick_size``
    and ``lot_step`` are the finest precision of the price and volume columns.
    """

    path: Path
    format: str
    candles: tuple[Candle, ...]
    has_trades: bool
    tick_size: Decimal
    lot_step: Decimal


def symbol_from_filename(path: str | Path) -> str:
    """Return the exchange-style symbol in a data file's name.

    ``binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv`` gives ``BTCUSDT``: the first
    ``_``-separated part that is all upper-case letters and digits (at least 5 characters).
    Raises ``ValueError`` when there is none (pass a ``{symbol: path}`` mapping instead).
    """
    name = Path(path).name
    for part in re.split(r"[_.\-]", name):
        if len(part) >= 5 and re.fullmatch(r"[A-Z0-9]+", part) and not part.isdigit():
            return part
    raise ValueError(
        f"{name}: cannot tell the symbol from the file name; "
        f"pass a mapping such as {{'BTCUSDT': {str(path)!r}}}"
    )


def read_candle_file(path: str | Path) -> CandleFile:
    """Read and validate a one-minute candle CSV (Binance.US or Kraken layout).

    Raises ``ValueError`` naming the file, the line number and the problem for a missing
    column, an unparsable time or number, a NaN, infinite, zero or negative price, a negative
    volume, ``high < low``, an open or close outside ``[low, high]``, a time not on a whole
    minute, or times that do not strictly increase.
    """
    p = Path(path)
    name = p.name
    try:
        fh = p.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{p}: cannot open candle file: {exc}") from exc
    with fh:
        reader = csv.reader(fh)
        header_row = next(reader, None)
        if header_row is None:
            raise ValueError(f"{name}: line 1: empty file, expected a header row")
        header = [h.strip().lower() for h in header_row]
        time_col = next((c for c in _FORMATS if c in header), None)
        if time_col is None:
            raise ValueError(
                f"{name}: line 1: missing column 'open_time' or 'timestamp' (header: {header_row})"
            )
        for col in _FORMATS[time_col]:
            if col not in header:
                raise ValueError(f"{name}: line 1: missing column {col!r} (header: {header_row})")
        has_trades = "trades" in header
        idx = [header.index(c) for c in _FORMATS[time_col]]
        trades_idx = header.index("trades") if has_trades else -1
        width = len(header)
        candles: list[Candle] = []
        price_exp = 0
        vol_exp = 0
        prev_ms: int | None = None
        day_cache: dict[str, int] = {}
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                raise ValueError(f"{name}: line {line}: expected {width} fields, got {len(row)}")
            raw_time = row[idx[0]]
            ts_ms = _fast_iso_ms(raw_time, day_cache)
            if ts_ms is None:
                ts_ms = _parse_time(raw_time, time_col, name, line)
            fields = [row[i] for i in idx[1:]]
            try:
                o, h, lo, c, vol = [Decimal(f) for f in fields]
                ok = lo > 0 and h < _INF and 0 <= vol < _INF and lo <= o <= h and lo <= c <= h
            except InvalidOperation:  # garbage or NaN: let the slow path say which field
                ok = False
            if not ok:
                _raise_row_problem(fields, name, line)
            trades = 0
            if has_trades:
                raw = row[trades_idx].strip()
                try:
                    trades = int(float(raw))
                except (ValueError, OverflowError):
                    raise ValueError(f"{name}: line {line}: unparsable trades {raw!r}") from None
                if trades < 0:
                    raise ValueError(f"{name}: line {line}: trades must not be negative")
            if ts_ms % MINUTE_MS:
                raise ValueError(f"{name}: line {line}: time {raw_time!r} is not on a whole minute")
            if prev_ms is not None and ts_ms <= prev_ms:
                raise ValueError(
                    f"{name}: line {line}: time {raw_time!r} is not after the previous row's"
                )
            prev_ms = ts_ms
            for f in fields[:4]:
                price_exp = min(price_exp, _decimals_exponent(f, price_exp))
            vol_exp = min(vol_exp, _decimals_exponent(fields[4], vol_exp))
            candles.append(Candle(ts_ms, o, h, lo, c, vol, Decimal(0), trades))
    if not candles:
        raise ValueError(f"{name}: line 2: no candle rows after the header")
    return CandleFile(
        path=p,
        format="kraken" if time_col == "timestamp" else "binanceus",
        candles=tuple(candles),
        has_trades=has_trades,
        tick_size=Decimal(1).scaleb(price_exp),
        lot_step=Decimal(1).scaleb(vol_exp),
    )


def _decimals_exponent(text: str, current: int) -> int:
    """Return minus the number of significant decimals of a number's text (0 for integers).

    ``"23140.48"`` gives -2, ``"23150.0"`` gives 0, ``"9e-05"`` gives -5. ``current`` is the
    finest exponent seen so far: texts that cannot be finer are skipped cheaply.
    """
    text = text.strip()
    if "e" in text or "E" in text:
        exp = Decimal(text).normalize().as_tuple().exponent
        return min(0, exp) if isinstance(exp, int) else 0
    dot = text.find(".")
    if dot < 0 or len(text) - dot - 1 <= -current:
        return 0
    return -len(text[dot + 1 :].rstrip("0"))


def _raise_row_problem(fields: list[str], name: str, line: int) -> NoReturn:
    """Raise the ``ValueError`` that says what is wrong with a row's numbers."""
    cols = (*_PRICE_COLUMNS, "volume")
    values: dict[str, Decimal] = {}
    for col, raw in zip(cols, fields, strict=True):
        text = raw.strip()
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{name}: line {line}: unparsable {col} {raw!r}") from None
        if not value.is_finite():
            raise ValueError(f"{name}: line {line}: {col} is {text!r}, expected a finite number")
        if col == "volume" and value < 0:
            raise ValueError(f"{name}: line {line}: volume must not be negative, got {value}")
        if col != "volume" and value <= 0:
            raise ValueError(f"{name}: line {line}: {col} price must be positive, got {value}")
        values[col] = value
    o, h, lo, c = (values[col] for col in _PRICE_COLUMNS)
    if h < lo:
        raise ValueError(f"{name}: line {line}: high {h} < low {lo}")
    for col, value in (("open", o), ("close", c)):
        if not lo <= value <= h:
            raise ValueError(f"{name}: line {line}: {col} {value} is outside [low {lo}, high {h}]")
    raise ValueError(f"{name}: line {line}: invalid candle {fields}")  # pragma: no cover


def _fast_iso_ms(text: str, day_cache: dict[str, int]) -> int | None:
    """Parse ``YYYY-MM-DD HH:MM:SS+00:00`` (or ``...Z``, or no zone) quickly; None otherwise."""
    n = len(text)
    if not (n == 19 or (n == 20 and text[19] == "Z") or (n == 25 and text.endswith("+00:00"))):
        return None
    if text[10] not in " T" or text[13] != ":" or text[16] != ":":
        return None
    hh, mm, ss = text[11:13], text[14:16], text[17:19]
    if not (hh.isdigit() and mm.isdigit() and ss.isdigit()):
        return None
    day = text[:10]
    day_ms = day_cache.get(day)
    if day_ms is None:
        try:
            d = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc)
        except ValueError:
            return None
        day_ms = day_cache[day] = round(d.timestamp() * 1000)
    h, m, s = int(hh), int(mm), int(ss)
    if h > 23 or m > 59 or s > 59:
        return None
    return day_ms + h * 3_600_000 + m * 60_000 + s * 1000


def _parse_time(raw: str, col: str, name: str, line: int) -> int:
    """Parse a time field (ISO 8601, unix seconds, or ms for large numbers) into epoch ms."""
    text = raw.strip()
    try:
        if re.fullmatch(r"\d+(\.\d+)?", text):
            number = float(text)
            # open_time as a number is ms (Binance); timestamp is seconds unless it looks like ms
            ms = number if col == "open_time" or number > 1e11 else number * 1000
            return round(ms)
        dt = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise ValueError(f"{name}: line {line}: unparsable {col} {raw!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return round(dt.timestamp() * 1000)


@dataclass(slots=True)
class _Series:
    """One symbol's candles plus its book shape and the derived lookups."""

    symbol: str
    file: CandleFile
    opens: list[int]
    shape: BookShape


class CandleReplayMarket:
    """A market source that replays one-minute candle files, one file per symbol.

    ``paths`` is a ``{symbol: path}`` mapping, one path, or a sequence of paths whose symbols
    come from the file names (``binanceus_BTCUSDT_...`` -> ``BTCUSDT``). ``start_ms`` defaults
    to the first candle plus ``history_bars`` minutes (a given one is rounded down to the
    minute), so the candles before it are served by :meth:`history` exactly as in the file and
    the ones after it are played as ticks. ``seed`` chooses the intra-candle paths. After the
    last candle (:meth:`end_ms`) the source produces no more ticks. Bad files raise
    ``ValueError`` naming the file, the line and the problem.
    """

    def __init__(
        self,
        paths: Mapping[str, str | Path] | str | Path | Sequence[str | Path],
        start_ms: int | None = None,
        history_bars: int = 1000,
        seed: int = 0,
    ) -> None:
        """Load and validate the files; see the class docstring for the parameters."""
        if history_bars < 0:
            raise ValueError(f"history_bars must be >= 0, got {history_bars}")
        if isinstance(paths, str | Path):
            named = {symbol_from_filename(paths): paths}
        elif isinstance(paths, Mapping):
            named = dict(paths)
        else:
            named = {}
            for path in paths:
                sym = symbol_from_filename(path)
                if sym in named:
                    raise ValueError(
                        f"two files for symbol {sym!r}: {named[sym]} and {path}; "
                        f"pass a mapping such as {{'{sym}': path, "
                        f"'{sym}_2': other_path}}"
                    )
                named[sym] = path
        if not named:
            raise ValueError("paths must name at least one candle file")
        self.seed = int(seed)
        self._series: dict[str, _Series] = {}
        for sym, path in named.items():
            if not isinstance(sym, str) or not sym or not sym.isalnum():
                raise ValueError(f"symbol must be a non-empty alphanumeric id, got {sym!r}")
            data = read_candle_file(path)
            closes = sorted(c.close for c in data.candles)
            shape = default_book_shape(closes[len(closes) // 2], data.tick_size, data.lot_step)
            self._series[sym] = _Series(sym, data, [c.open_ms for c in data.candles], shape)
        self.symbols: tuple[str, ...] = tuple(self._series)
        first = min(s.opens[0] for s in self._series.values())
        self._start_ms = (
            floor_minute(int(start_ms))
            if start_ms is not None
            else first + int(history_bars) * MINUTE_MS
        )
        self._end_ms = max(s.opens[-1] for s in self._series.values()) + MINUTE_MS
        # (symbol, candle index) -> the candle's ticks
        self._paths = DataCache(max_size=_CACHE_CANDLES, default_ttl=None)

    def _get(self, symbol: str) -> _Series:
        """Return the series of ``symbol`` or raise :class:`UnknownSymbolError`."""
        series = self._series.get(symbol)
        if series is None:
            raise UnknownSymbolError(symbol, self.symbols)
        return series

    def start_ms(self) -> int:
        """Return the first instant the market plays from (a whole minute)."""
        return self._start_ms

    def end_ms(self) -> int:
        """Return the close of the last candle of any symbol: no ticks come after it."""
        return self._end_ms

    def candle_file(self, symbol: str) -> CandleFile:
        """Return the validated file contents behind ``symbol``."""
        return self._get(symbol).file

    def tick_size(self, symbol: str) -> Decimal:
        """Return the price tick of ``symbol`` (the file's price precision)."""
        return self._get(symbol).file.tick_size

    def lot_step(self, symbol: str) -> Decimal:
        """Return the quantity step of ``symbol`` (the file's volume precision)."""
        return self._get(symbol).file.lot_step

    def book_shape(self, symbol: str) -> BookShape:
        """Return the ladder the liquidity provider quotes for ``symbol``."""
        return self._get(symbol).shape

    def candle_path(self, symbol: str, index: int) -> tuple[MarketTick, ...]:
        """Return the ticks played inside the ``index``-th candle of ``symbol``'s file.

        The path starts at the open, visits the low and the high (in an order drawn from the
        seed) and ends at the close; it is cached in a bounded LRU.
        """
        series = self._get(symbol)
        key = (symbol, index)
        cached: tuple[MarketTick, ...] | None = self._paths.lookup(key)
        if cached is not None:
            return cached
        path = tuple(
            _candle_path(
                series.file.candles[index],
                series.file.tick_size,
                series.file.lot_step,
                series.shape.level_qty,
                series.file.has_trades,
                self.seed,
                symbol,
            )
        )
        self._paths.store(key, path)
        return path

    def ticks(self, symbol: str, from_ms: int, to_ms: int) -> list[MarketTick]:
        """Return the ticks with ``from_ms < ts_ms <= to_ms`` (none after :meth:`end_ms`)."""
        series = self._get(symbol)
        if to_ms <= from_ms:
            return []
        lo = bisect.bisect_left(series.opens, from_ms - MINUTE_MS + 2)
        hi = bisect.bisect_right(series.opens, to_ms)
        out: list[MarketTick] = []
        for i in range(lo, hi):
            out.extend(t for t in self.candle_path(symbol, i) if from_ms < t.ts_ms <= to_ms)
        return out

    def reference_price(self, symbol: str, ts_ms: int) -> Decimal:
        """Return the price of the last tick at or before ``ts_ms``.

        Before the first candle it is the first open; in a gap or after the end it is the last
        close; inside a candle before its first tick it is the previous candle's close.
        """
        series = self._get(symbol)
        i = bisect.bisect_right(series.opens, ts_ms) - 1
        if i < 0:
            return series.file.candles[0].open
        last: Decimal | None = None
        for t in self.candle_path(symbol, i):
            if t.ts_ms > ts_ms:
                break
            last = t.price
        if last is not None:
            return last
        return series.file.candles[i - 1].close if i > 0 else series.file.candles[i].open

    def history(self, symbol: str, end_ms: int, count_hint: int) -> list[Candle]:
        """Return up to ``count_hint`` closed 1m candles before ``end_ms``, ascending.

        A candle is closed when ``open_ms + 60000 <= end_ms``. Open, high, low, close and volume
        are the file's; ``quote_volume`` and ``trades`` are those of the candle's played path,
        so each candle equals ``candles_from_ticks`` of its own ticks. Missing minutes are
        absent, as in the file.
        """
        series = self._get(symbol)
        if count_hint <= 0:
            return []
        hi = bisect.bisect_right(series.opens, end_ms - MINUTE_MS)
        lo = max(0, hi - int(count_hint))
        return [candles_from_ticks(self.candle_path(symbol, i))[0] for i in range(lo, hi)]

    def __repr__(self) -> str:
        """Describe the market's symbols, start and end."""
        return (
            f"CandleReplayMarket(symbols={list(self.symbols)}, start_ms={self._start_ms}, "
            f"end_ms={self._end_ms}, seed={self.seed})"
        )


def _candle_path(
    candle: Candle,
    tick: Decimal,
    lot: Decimal,
    level_qty: Decimal,
    has_trades: bool,
    seed: int,
    symbol: str,
) -> list[MarketTick]:
    """Draw the intra-candle path of ``candle``: O -> L/H -> H/L -> C, deterministic per seed."""
    digest = hashlib.blake2b(f"replay/{seed}/{symbol}/{candle.open_ms}".encode(), digest_size=8)
    rng = random.Random(int.from_bytes(digest.digest(), "big"))
    o_n, h_n, l_n, c_n = (
        int(v / tick) for v in (candle.open, candle.high, candle.low, candle.close)
    )
    low_first = rng.random() < (0.65 if c_n >= o_n else 0.35)
    key = [o_n, l_n, h_n, c_n] if low_first else [o_n, h_n, l_n, c_n]
    key = [p for i, p in enumerate(key) if i == 0 or p != key[i - 1]]
    total_lots = int(candle.volume / lot)
    # how many points: the file's trade count, else enough for each point to walk ~ one level
    if has_trades and candle.trades > 0:
        wanted = candle.trades
    else:
        wanted = math.ceil(candle.volume / level_qty) + rng.randint(1, 4)
    n = max(min(wanted, _MAX_POINTS, total_lots), len(key))
    prices = _fill_path(key, n - len(key), l_n, h_n, rng)
    offsets = sorted(rng.sample(range(MINUTE_MS), n))
    lots = _split_lots(total_lots, n, prices, key, rng)
    out: list[MarketTick] = []
    prev = o_n
    for off, p, m in zip(offsets, prices, lots, strict=True):
        side: Side
        if p > prev:
            side = Side.BUY
        elif p < prev:
            side = Side.SELL
        else:
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
        prev = p
        out.append(MarketTick(candle.open_ms + off, Decimal(p) * tick, Decimal(m) * lot, side))
    return out


def _fill_path(key: list[int], extra: int, low: int, high: int, rng: random.Random) -> list[int]:
    """Insert ``extra`` intermediate prices (integer ticks, within [low, high]) between keys."""
    if len(key) == 1:
        return key * (extra + 1)
    segments = len(key) - 1
    weights = [abs(key[i + 1] - key[i]) + 1 for i in range(segments)]
    counts = [0] * segments
    for _ in range(extra):
        counts[rng.choices(range(segments), weights=weights)[0]] += 1
    span = high - low
    out = [key[0]]
    for i in range(segments):
        a, b = key[i], key[i + 1]
        for u in sorted(rng.random() for _ in range(counts[i])):
            x = a + (b - a) * u + rng.gauss(0.0, 0.15) * span
            out.append(min(high, max(low, round(x))))
        out.append(b)
    return out


def _split_lots(
    total: int, n: int, prices: list[int], key: list[int], rng: random.Random
) -> list[int]:
    """Split ``total`` lots over ``n`` points: at least one lot each when there are enough."""
    if total <= 0:
        return [0] * n
    if total < n:  # too few lots: give them to the key prices first (open, extremes, close)
        lots = [0] * n
        order: list[int] = [0, n - 1]  # the open and the close, then the extremes
        for p in key[1:-1]:
            j = prices.index(p)
            if j not in order:
                order.append(j)
        order += [j for j in range(n) if j not in order]
        for j in order[:total]:
            lots[j] = 1
        return lots
    weights = [rng.expovariate(1.0) for _ in range(n)]
    scale = (total - n) / sum(weights)
    lots = []
    cum = 0.0
    given = 0
    for w in weights:
        cum += w * scale
        share = min(total - n, round(cum)) - given
        given += share
        lots.append(1 + share)
    lots[-1] += (total - n) - given
    return lots
