"""Deep candle history for the synthetic market: every Binance interval, years back, on demand.

The tick-level walk of :mod:`~real_trade.sim.market_synthetic` covers the recent history window
(``history_days``); generating years of ticks would take tens of millions of them. Older time is
made of one-minute candles drawn directly from a counter-based generator (``Philox`` keyed by
the seed and the symbol, the UTC day in the counter, a stream distinct from the tick walk's), one
UTC day of 1,440 minutes per block. The log closes are a random walk with the same volatility
and activity pattern as the ticks, anchored backwards on the first tick of the window, so the
last deep minute closes exactly where the tick history opens; each minute opens at the previous
close. Days are chained by prefix sums in one fixed order (from the anchor backwards), so two
instances with the same seed produce the same candles whatever they are asked first.

Every interval is an aggregate of the same minutes: intervals shorter than a day (they all
divide a day) reduce one day's minutes; ``1d`` and longer reduce per-day summaries (cached: a
few integers per day); ``1s`` candles are the ticks of the recent window or, in deep history, a
deterministic split of each minute (a bridge from its open to its close touching its high and
low, volumes split exactly), so a ``1d`` candle is exactly the aggregate of its ``1h``, ``1m``
and ``1s`` candles. Memory is bounded: an LRU of day blocks and one summary per day of history.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from real_trade.core.data_flow.cache import DataCache
from real_trade.sim.market import MINUTE_MS, Candle

__all__ = ["DAY_MINUTES", "CandleHistory", "MinuteParams"]

DAY_MINUTES = 1440
"""Minutes per generated block (one UTC day)."""

_DAY_MS = 86_400_000
_SEC_MS = 1_000
_MAX_PRICE_TICKS = 1.0e15
_CACHE_DAYS = 48
_DEEP_STREAM = 1  # Philox counter word 3: 0 is the tick walk, 1 deep minutes, 2 deep seconds
_SECOND_STREAM = 2

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
TickArrays = Callable[[int, int], tuple[IntArray, IntArray, IntArray]]
"""``(from_ms, to_ms) -> (ts, price ticks, lots)`` of the ticks with ``from_ms <= ts < to_ms``."""


@dataclass(frozen=True, slots=True)
class MinuteParams:
    """What the deep generator needs from the walk: its key, steps and scales."""

    key: npt.NDArray[np.uint64]
    tick: Decimal
    lot: Decimal
    sigma_minute: float
    lots_per_minute: float
    ticks_per_minute: float
    activity: Callable[[IntArray], FloatArray]


@dataclass(frozen=True, slots=True)
class _Bars:
    """Consecutive candles as integer arrays: price ticks, lots, quote units, trade counts."""

    open_ms: IntArray
    open: IntArray
    high: IntArray
    low: IntArray
    close: IntArray
    vol: IntArray
    qvol: IntArray
    trades: IntArray

    def __len__(self) -> int:
        return int(self.open_ms.size)

    def slice(self, lo: int, hi: int) -> _Bars:
        return _Bars(
            self.open_ms[lo:hi],
            self.open[lo:hi],
            self.high[lo:hi],
            self.low[lo:hi],
            self.close[lo:hi],
            self.vol[lo:hi],
            self.qvol[lo:hi],
            self.trades[lo:hi],
        )


def _concat(parts: list[_Bars]) -> _Bars:
    if len(parts) == 1:
        return parts[0]
    cat = np.concatenate
    return _Bars(*(cat([getattr(p, f) for p in parts]) for f in _Bars.__slots__))


_Summary = tuple[int, int, int, int, int, int, int]
"""A day's (open, high, low, close, vol, qvol, trades) in integer units (Python ints)."""


class CandleHistory:
    """One symbol's pre-start candles of any interval: deep minutes, then the tick window.

    ``first_ms`` (a UTC midnight) is where history begins, ``earliest_ms`` where the tick window
    begins (a whole minute) and ``start_ms`` where the market starts playing (a whole minute).
    ``ticks(from_ms, to_ms)`` gives the window's ticks, ``price_before(ts_ms)`` the price (in
    ticks) of the last tick before ``ts_ms``; ``anchor_n`` is the price of the window's first
    tick, where the deep walk ends.
    """

    def __init__(
        self,
        params: MinuteParams,
        *,
        first_ms: int,
        earliest_ms: int,
        start_ms: int,
        ticks: TickArrays,
        price_before: Callable[[int], int],
        anchor_n: int,
    ) -> None:
        """Prepare the history (nothing is generated until asked)."""
        self.p = params
        self.first_ms = min(first_ms, earliest_ms)
        self.earliest_ms = earliest_ms
        self.start_ms = start_ms
        self._ticks = ticks
        self._price_before = price_before
        self._tick_f = float(params.tick)
        self._anchor_n = anchor_n
        self._anchor_log = math.log(anchor_n * self._tick_f)
        self._e_min = earliest_ms // MINUTE_MS  # first minute of the tick window
        self._d_e = (self._e_min - 1) // DAY_MINUTES  # the day of the last deep minute
        self._suffix: dict[int, float] = {}  # S(d): summed increments from day d to the anchor
        self._s_lo = self._d_e + 1
        self._days = DataCache(max_size=_CACHE_DAYS, default_ttl=None)  # day -> _Bars
        self._summaries: dict[int, _Summary] = {}

    # ---------------------------------------------------------------- deep minutes
    def _draws(self, day: int) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Day ``day``'s level-free draws: cumulative log increments, extents, volume, trades."""
        counter = np.array([0, 0, day % (1 << 64), _DEEP_STREAM], dtype=np.uint64)
        rng = np.random.Generator(np.random.Philox(key=self.p.key, counter=counter))
        z = rng.standard_normal(DAY_MINUTES)
        ext = np.abs(rng.standard_normal((2, DAY_MINUTES)))
        noise = rng.lognormal(-0.125, 0.5, DAY_MINUTES)
        tnoise = rng.lognormal(-0.02, 0.2, DAY_MINUTES)
        ts = day * _DAY_MS + np.arange(DAY_MINUTES, dtype=np.int64) * MINUTE_MS + 30_000
        act = self.p.activity(ts)
        cum = np.cumsum(self.p.sigma_minute * np.sqrt(act) * z)
        vol = self.p.lots_per_minute * act * noise * (0.6 + 0.5 * np.abs(z))
        trades = self.p.ticks_per_minute * act * tnoise
        scale = self.p.sigma_minute * np.sqrt(act) * 0.6
        return cum, ext * scale, vol, trades

    def _suffix_of(self, day: int) -> float:
        """S(day): the summed log increments from day ``day``'s first minute to the anchor."""
        while self._s_lo > day:
            d = self._s_lo - 1
            cum = self._draws(d)[0]
            if d == self._d_e:
                self._suffix[d] = float(cum[self._e_min - 1 - d * DAY_MINUTES])
            else:
                self._suffix[d] = float(cum[-1]) + self._suffix[d + 1]
            self._s_lo = d
        return self._suffix[day]

    def _level_n(self, day: int) -> int:
        """The price (ticks) at the start of deep day ``day`` (the close before it)."""
        if day > self._d_e:
            return self._anchor_n
        log_p = self._anchor_log - self._suffix_of(day)
        return int(
            np.rint(np.clip(math.exp(min(log_p, 700.0)) / self._tick_f, 1.0, _MAX_PRICE_TICKS))
        )

    def _deep_day(self, day: int) -> _Bars:
        """Deep day ``day``'s 1,440 minutes (those at or after the tick window are not used)."""
        cum, ext, vol_f, trades_f = self._draws(day)
        base = self._anchor_log - self._suffix_of(day)
        with np.errstate(over="ignore"):
            scaled = np.exp(base + cum) / self._tick_f
        close = np.rint(np.clip(scaled, 1.0, _MAX_PRICE_TICKS)).astype(np.int64)
        close[-1] = self._level_n(day + 1)
        last_deep = self._e_min - 1 - day * DAY_MINUTES
        if 0 <= last_deep < DAY_MINUTES:
            close[last_deep] = self._anchor_n
        open_ = np.empty_like(close)
        open_[0] = self._level_n(day)
        open_[1:] = close[:-1]
        hi_oc, lo_oc = np.maximum(open_, close), np.minimum(open_, close)
        level = hi_oc.astype(np.float64)
        high = hi_oc + np.rint(ext[0] * level).astype(np.int64)
        low = np.maximum(1, lo_oc - np.rint(ext[1] * level).astype(np.int64))
        vol = np.maximum(np.rint(vol_f), 1).astype(np.int64)
        trades = np.minimum(np.maximum(np.rint(trades_f), 1).astype(np.int64), vol)
        vwap = (open_ + high + low + close) // 4
        opens = day * _DAY_MS + np.arange(DAY_MINUTES, dtype=np.int64) * MINUTE_MS
        return _Bars(opens, open_, high, low, close, vol, vol * vwap, trades)

    # ---------------------------------------------------------------- window minutes
    def _window_minutes(self, from_ms: int, to_ms: int) -> _Bars:
        """The tick window's minutes in ``[from_ms, to_ms)`` (flat minutes where none traded)."""
        return _from_ticks(
            *self._ticks(from_ms, to_ms), from_ms, to_ms, MINUTE_MS, self._prev_close_n(from_ms)
        )

    def _prev_close_n(self, ts_ms: int) -> int:
        """The close (ticks) of the minute before ``ts_ms`` in the tick window (or the anchor)."""
        if ts_ms <= self.earliest_ms:
            return self._anchor_n
        return self._price_before(ts_ms)

    def day_minutes(self, day: int) -> _Bars:
        """The pre-start minutes of UTC day ``day`` (clipped to the history), from the cache."""
        cached: _Bars | None = self._days.lookup(day)
        if cached is not None:
            return cached
        lo = max(day * _DAY_MS, self.first_ms)
        hi = min((day + 1) * _DAY_MS, self.start_ms)
        parts: list[_Bars] = []
        if lo < min(hi, self.earliest_ms):
            deep = self._deep_day(day)
            a = (lo - day * _DAY_MS) // MINUTE_MS
            b = (min(hi, self.earliest_ms) - day * _DAY_MS) // MINUTE_MS
            parts.append(deep.slice(a, b))
        if max(lo, self.earliest_ms) < hi:
            parts.append(self._window_minutes(max(lo, self.earliest_ms), hi))
        bars = _concat(parts) if parts else _empty()
        self._days.store(day, bars)
        return bars

    def _summary(self, day: int) -> _Summary | None:
        """Day ``day``'s aggregate (cached), or None when it holds no history."""
        s = self._summaries.get(day)
        if s is None:
            bars = self.day_minutes(day)
            if not len(bars):
                return None
            s = (
                int(bars.open[0]),
                int(bars.high.max()),
                int(bars.low.min()),
                int(bars.close[-1]),
                int(bars.vol.sum()),
                sum(bars.qvol.tolist()),
                int(bars.trades.sum()),
            )
            self._summaries[day] = s
        return s

    # ---------------------------------------------------------------- seconds
    def _seconds(self, minute_ms: int) -> _Bars:
        """The 60 one-second candles of one pre-start minute."""
        if minute_ms >= self.earliest_ms:
            return _from_ticks(
                *self._ticks(minute_ms, minute_ms + MINUTE_MS),
                minute_ms,
                minute_ms + MINUTE_MS,
                _SEC_MS,
                self._prev_close_n(minute_ms),
            )
        day = minute_ms // _DAY_MS
        m = self.day_minutes(day)
        i = int(np.searchsorted(m.open_ms, minute_ms))
        return _split_minute(
            self.p.key,
            minute_ms,
            int(m.open[i]),
            int(m.high[i]),
            int(m.low[i]),
            int(m.close[i]),
            int(m.vol[i]),
            int(m.qvol[i]),
            int(m.trades[i]),
        )

    # ---------------------------------------------------------------- queries
    def candles(
        self, interval_ms: int | None, first_open: int, end_ms: int, bucket: Callable[[int], int]
    ) -> list[Candle]:
        """Candles opening in ``[first_open, end_ms)`` of pre-start history, ascending.

        ``end_ms`` is the end of the last bucket wanted.

        ``interval_ms`` is the fixed length of a sub-day interval (``None`` for ``1d`` and
        longer, grouped by ``bucket(day_open_ms) -> bucket open``). A bucket holding the start
        aggregates only its pre-start part; buckets before the history are left out.
        """
        lo = max(first_open, self.first_ms)
        out: list[Candle] = []
        if interval_ms == _SEC_MS:
            hi = min(end_ms, self.start_ms)
            minute = lo - lo % MINUTE_MS
            while minute < hi:
                secs = self._seconds(minute)
                a = int(np.searchsorted(secs.open_ms, lo))
                b = int(np.searchsorted(secs.open_ms, hi))
                out.extend(self._to_candles(secs.slice(a, b), _SEC_MS))
                minute += MINUTE_MS
            return out
        if interval_ms is not None:
            hi = min(end_ms, self.start_ms)
            day = lo // _DAY_MS
            while day * _DAY_MS < hi:
                bars = self.day_minutes(day)
                a = int(np.searchsorted(bars.open_ms, lo))
                b = int(np.searchsorted(bars.open_ms, hi))
                out.extend(self._to_candles(bars.slice(a, b), interval_ms))
                day += 1
            return out
        # one day and longer: per-day summaries grouped by bucket
        day = lo // _DAY_MS
        end_day = (min(end_ms, self.start_ms) - 1) // _DAY_MS
        cur: list[int] | None = None
        cur_open = 0
        while day <= end_day:
            s = self._summary(day)
            day_open = day * _DAY_MS
            day += 1
            if s is None:
                continue
            b_open = bucket(day_open)
            if cur is None or b_open != cur_open:
                if cur is not None:
                    out.append(self._candle(cur_open, *cur))
                cur, cur_open = list(s), b_open
            else:
                cur[1] = max(cur[1], s[1])
                cur[2] = min(cur[2], s[2])
                cur[3] = s[3]
                cur[4] += s[4]
                cur[5] += s[5]
                cur[6] += s[6]
        if cur is not None:
            out.append(self._candle(cur_open, *cur))
        return [c for c in out if first_open <= c.open_ms < end_ms]

    def _to_candles(self, bars: _Bars, interval_ms: int) -> list[Candle]:
        """Reduce consecutive bars into candles of ``interval_ms`` (which divides a day)."""
        if not len(bars):
            return []
        key = bars.open_ms // interval_ms
        starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        ends = np.append(starts[1:], len(bars))
        highs = np.maximum.reduceat(bars.high, starts).tolist()
        lows = np.minimum.reduceat(bars.low, starts).tolist()
        vols = np.add.reduceat(bars.vol, starts).tolist()
        trades = np.add.reduceat(bars.trades, starts).tolist()
        qv = bars.qvol.tolist()
        out = []
        for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            out.append(
                self._candle(
                    int(key[s]) * interval_ms,
                    int(bars.open[s]),
                    highs[i],
                    lows[i],
                    int(bars.close[e - 1]),
                    vols[i],
                    sum(qv[s:e]),
                    trades[i],
                )
            )
        return out

    def _candle(
        self, open_ms: int, o: int, h: int, low: int, c: int, vol: int, qvol: int, trades: int
    ) -> Candle:
        tick, lot = self.p.tick, self.p.lot
        return Candle(
            open_ms,
            Decimal(o) * tick,
            Decimal(h) * tick,
            Decimal(low) * tick,
            Decimal(c) * tick,
            Decimal(vol) * lot,
            Decimal(qvol) * (tick * lot),
            trades,
        )


def _empty() -> _Bars:
    e = np.empty(0, dtype=np.int64)
    return _Bars(e, e, e, e, e, e, e, e)


def _from_ticks(
    ts: IntArray,
    price_n: IntArray,
    lots: IntArray,
    from_ms: int,
    to_ms: int,
    period: int,
    prev_close: int,
) -> _Bars:
    """Every ``period`` bar in ``[from_ms, to_ms)`` from ticks; flat at the last close if empty."""
    opens = np.arange(from_ms, to_ms, period, dtype=np.int64)
    n = opens.size
    close = np.full(n, prev_close, dtype=np.int64)
    vol = np.zeros(n, dtype=np.int64)
    trades = np.zeros(n, dtype=np.int64)
    qvol = np.zeros(n, dtype=np.int64)
    if ts.size:
        idx = (ts - from_ms) // period
        starts = np.flatnonzero(np.concatenate(([True], idx[1:] != idx[:-1])))
        ends = np.append(starts[1:], ts.size)
        at = idx[starts]
        has = np.zeros(n, dtype=np.bool_)
        has[at] = True
        high = np.zeros(n, dtype=np.int64)
        low = np.zeros(n, dtype=np.int64)
        open_ = np.zeros(n, dtype=np.int64)
        open_[at] = price_n[starts]
        high[at] = np.maximum.reduceat(price_n, starts)
        low[at] = np.minimum.reduceat(price_n, starts)
        close[at] = price_n[ends - 1]
        vol[at] = np.add.reduceat(lots, starts)
        qvol[at] = np.add.reduceat(price_n * lots, starts)
        trades[at] = ends - starts
        # empty bars are flat at the previous close
        filled = np.maximum.accumulate(np.where(has, np.arange(n), -1))
        prev = np.where(filled >= 0, close[np.maximum(filled, 0)], prev_close)
        flat = ~has
        open_[flat] = high[flat] = low[flat] = close[flat] = prev[flat]
        return _Bars(opens, open_, high, low, close, vol, qvol, trades)
    return _Bars(opens, close.copy(), close.copy(), close.copy(), close, vol, qvol, trades)


def _alloc(total: int, weights: list[float]) -> list[int]:
    """Split the integer ``total`` by ``weights`` exactly (largest remainders)."""
    scale = 1 << 24
    wsum = sum(weights)
    iw = [int(w / wsum * scale) if wsum > 0 else 1 for w in weights]
    isum = sum(iw) or len(iw)
    if not any(iw):
        iw = [1] * len(iw)
    share = [total * w // isum for w in iw]
    rem = [total * w % isum for w in iw]
    left = total - sum(share)
    for i in sorted(range(len(iw)), key=lambda j: (-rem[j], j))[:left]:
        share[i] += 1
    return share


def _split_minute(
    key: npt.NDArray[np.uint64],
    minute_ms: int,
    o: int,
    h: int,
    low: int,
    c: int,
    vol: int,
    qvol: int,
    trades: int,
) -> _Bars:
    """Split a deep minute into 60 one-second candles that aggregate back to it exactly."""
    counter = np.array(
        [0, 0, (minute_ms // MINUTE_MS) % (1 << 64), _SECOND_STREAM], dtype=np.uint64
    )
    rng = np.random.Generator(np.random.Philox(key=key, counter=counter))
    z = np.cumsum(rng.standard_normal(60))
    weights = rng.exponential(1.0, 60)
    frac = np.arange(1, 61, dtype=np.float64) / 60.0
    bridge = z - frac * z[-1]
    span = float(np.max(np.abs(bridge))) or 1.0
    path = o + (c - o) * frac + bridge / span * (h - low) * 0.5
    close = np.rint(np.clip(path, low, h)).astype(np.int64)
    close[-1] = c
    open_ = np.empty(60, dtype=np.int64)
    open_[0] = o
    open_[1:] = close[:-1]
    high = np.maximum(open_, close)
    low_a = np.minimum(open_, close)
    i_hi = int(np.argmax(close))
    i_lo = int(np.argmin(close))
    if i_lo == i_hi:
        i_lo = (i_hi + 1) % 60
    high[i_hi] = h
    low_a[i_lo] = low
    w = weights.tolist()
    vols = _alloc(vol, w)
    trade_n = _alloc(trades, w)
    qvols = _alloc(qvol, [v * p for v, p in zip(vols, close.tolist(), strict=True)])
    opens = minute_ms + np.arange(60, dtype=np.int64) * _SEC_MS
    return _Bars(
        opens,
        open_,
        high,
        low_a,
        close,
        np.array(vols, dtype=np.int64),
        np.array(qvols, dtype=object).astype(np.int64),
        np.array(trade_n, dtype=np.int64),
    )
