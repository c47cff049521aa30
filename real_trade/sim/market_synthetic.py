"""A seeded synthetic market: a geometric random walk with realistic volume.

The walk is a pure function of ``(seed, symbol, tick index)``: tick ``k`` of a symbol sits at
``start_ms + k * tick_ms + ceil(tick_ms / 2)`` (so no tick falls on a minute boundary or on the
start instant; ticks ``k >= 0`` are live, ``k < 0`` are history), and the ticks are generated
in blocks of :data:`BLOCK_TICKS` whose random numbers come from a counter-based generator
(``Philox`` keyed by the seed and the symbol, the block index in the counter). The log price
before block ``b`` is the sum of the earlier blocks' increments, accumulated in one fixed order
from the start price, so ``ticks(0, 10s) + ticks(10s, 20s) == ticks(0, 20s)`` and a second
instance with the same seed produces the same ticks, whatever order blocks are asked in.
Computed blocks are kept in a bounded LRU cache.

Volume follows an intraday pattern (busier in the European/US overlap, quieter at weekends)
times slow random-phase swings and per-tick log-normal noise, and grows with the size of the
move; the taker side is random but leans with the move (up-ticks are mostly buys).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from real_trade.core.data_flow.cache import DataCache
from real_trade.sim.klines import bucket_open, interval_ms, next_open
from real_trade.sim.market import (
    MINUTE_MS,
    BookShape,
    Candle,
    MarketTick,
    Side,
    UnknownSymbolError,
    default_book_shape,
    default_lot_step,
    default_tick_size,
    floor_minute,
)
from real_trade.sim.market_history import CandleHistory, MinuteParams

__all__ = ["BLOCK_TICKS", "DEFAULT_DEEP_HISTORY_DAYS", "DEFAULT_START_PRICES", "SyntheticMarket"]

BLOCK_TICKS = 4096
"""Ticks per generated block (the unit of the counter-based generator and of the cache)."""

DEFAULT_DEEP_HISTORY_DAYS = 1_200
"""Days of candle history before the start by default (more than three years)."""

DEFAULT_START_PRICES: Mapping[str, float] = {"BTC": 60_000.0, "ETH": 3_000.0, "BNB": 600.0}
"""Start price by base asset (``BTCUSDT`` starts near 60,000); any other symbol starts at 100."""

_DAILY_QUOTE_VOLUME: Mapping[str, float] = {"BTC": 1.0e9, "ETH": 5.0e8, "BNB": 1.0e8}
_OTHER_DAILY_QUOTE_VOLUME = 2.0e7
_OTHER_START_PRICE = 100.0
_DOLLAR_QUOTES = frozenset({"USDT", "USDC", "BUSD", "FDUSD", "TUSD", "USD", "DAI"})
_DAY_MS = 86_400_000
_YEAR_MS = 365.25 * _DAY_MS
_VOLUME_NOISE_SIGMA = 0.9
_SIDE_LEAN = 1.5
_CACHE_BLOCKS = 64
_MAX_PRICE_TICKS = 1.0e15

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class _Raw:
    """A block's draws that do not depend on the price level: log increments, lots, sides."""

    cum_log: FloatArray
    lots: IntArray
    buy: BoolArray


@dataclass(frozen=True, slots=True)
class _Block:
    """A finished block: ticks as integer price ticks, integer lots and taker sides."""

    price_n: IntArray
    lots: IntArray
    buy: BoolArray


class _Walk:
    """One symbol's deterministic walk: block generation, prefix sums and the block cache."""

    def __init__(
        self,
        symbol: str,
        start_price: float,
        seed: int,
        start_ms: int,
        tick_ms: int,
        volatility: float,
    ) -> None:
        """Prepare the walk of ``symbol`` from ``start_price`` (the last pre-start price)."""
        self.symbol = symbol
        self.start_ms = start_ms
        self.tick_ms = tick_ms
        self.offset = tick_ms - tick_ms // 2
        self.tick = default_tick_size(start_price)
        self.lot = default_lot_step(start_price)
        self._tick_f = float(self.tick)
        self.start_price_n = max(1, round(start_price / self._tick_f))
        digest = hashlib.blake2b(f"real_trade.sim/{seed}/{symbol}".encode(), digest_size=24)
        raw = digest.digest()
        self._key = np.frombuffer(raw[:16], dtype=np.uint64).copy()
        phases = np.frombuffer(raw[16:], dtype=np.uint8).astype(np.float64) / 256.0 * 2 * np.pi
        self._phases = phases[:3]
        self._sigma_tick = volatility * math.sqrt(tick_ms / _YEAR_MS)
        base = _base_asset(symbol)
        daily_quote = _DAILY_QUOTE_VOLUME.get(base, _OTHER_DAILY_QUOTE_VOLUME)
        ticks_per_day = _DAY_MS / tick_ms
        self._mean_lots = daily_quote / start_price / ticks_per_day / float(self.lot)
        self.shape = default_book_shape(start_price, self.tick, self.lot)
        self._bases: dict[int, float] = {0: math.log(self.start_price_n * self._tick_f)}
        self._totals: dict[int, float] = {}
        self._lo = 0
        self._hi = 0
        self._cache = DataCache(max_size=_CACHE_BLOCKS, default_ttl=None)  # block -> _Block
        self._lock = threading.RLock()

    # -- time <-> index ---------------------------------------------------------------------
    def ts_of(self, k: int) -> int:
        """Return the timestamp (ms) of tick ``k``."""
        return self.start_ms + k * self.tick_ms + self.offset

    def last_index_at(self, ts_ms: int) -> int:
        """Return the index of the last tick with ``ts <= ts_ms``."""
        return (ts_ms - self.start_ms - self.offset) // self.tick_ms

    # -- generation ---------------------------------------------------------------------------
    def _activity(self, ts: IntArray) -> FloatArray:
        """Return the market's activity (mean about 1) at each timestamp: time of day and swings."""
        t = ts.astype(np.float64)
        hour = (t % _DAY_MS) / 3_600_000.0
        weekday = ((ts // _DAY_MS) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        weekend = np.where(weekday >= 5, math.log(0.7), 0.0)
        p = self._phases
        log_act = (
            0.35 * np.cos(2 * np.pi * (hour - 15.0) / 24.0)
            + 0.25 * np.sin(2 * np.pi * t / (3.7 * 3_600_000.0) + p[0])
            + 0.20 * np.sin(2 * np.pi * t / (47.0 * 60_000.0) + p[1])
            + 0.15 * np.sin(2 * np.pi * t / (11.0 * 60_000.0) + p[2])
            + weekend
        )
        return np.exp(log_act - 0.1)

    def _raw(self, b: int) -> _Raw:
        """Generate block ``b``'s level-free draws (a pure function of seed, symbol and b)."""
        counter = np.array([0, 0, b % (1 << 64), 0], dtype=np.uint64)
        rng = np.random.Generator(np.random.Philox(key=self._key, counter=counter))
        z = rng.standard_normal(BLOCK_TICKS)
        noise = rng.lognormal(-0.5 * _VOLUME_NOISE_SIGMA**2, _VOLUME_NOISE_SIGMA, BLOCK_TICKS)
        u = rng.random(BLOCK_TICKS)
        k = np.arange(b * BLOCK_TICKS, (b + 1) * BLOCK_TICKS, dtype=np.int64)
        ts = self.start_ms + k * self.tick_ms + self.offset
        act = self._activity(ts)
        cum_log = np.cumsum(self._sigma_tick * np.sqrt(act) * z)
        size = self._mean_lots * act * noise * (0.6 + 0.5 * np.abs(z))
        lots = np.maximum(np.rint(size), 1).astype(np.int64)
        buy = u < 1.0 / (1.0 + np.exp(-_SIDE_LEAN * z))
        return _Raw(cum_log=cum_log, lots=lots, buy=buy)

    def _total(self, b: int) -> float:
        """Return the summed log increments of block ``b`` (generating it once if needed)."""
        total = self._totals.get(b)
        if total is None:
            total = float(self._raw(b).cum_log[-1])
            self._totals[b] = total
        return total

    def _base(self, b: int) -> float:
        """Return the log price just before block ``b`` (prefix sums in one fixed order)."""
        while self._hi < b:
            self._bases[self._hi + 1] = self._bases[self._hi] + self._total(self._hi)
            self._hi += 1
        while self._lo > b:
            self._bases[self._lo - 1] = self._bases[self._lo] - self._total(self._lo - 1)
            self._lo -= 1
        return self._bases[b]

    def block(self, b: int) -> _Block:
        """Return block ``b`` with its prices, from the LRU cache when possible."""
        with self._lock:
            cached: _Block | None = self._cache.lookup(b)
            if cached is not None:
                return cached
            raw = self._raw(b)
            self._totals.setdefault(b, float(raw.cum_log[-1]))
            base = self._base(b)
            with np.errstate(over="ignore"):
                scaled = np.exp(base + raw.cum_log) / self._tick_f
            # the walk stays positive: never below one tick, never beyond a sane ceiling
            price_n = np.rint(np.clip(scaled, 1.0, _MAX_PRICE_TICKS))
            blk = _Block(price_n=price_n.astype(np.int64), lots=raw.lots, buy=raw.buy)
            self._cache.store(b, blk)
            return blk

    def minute_params(self, volatility: float) -> MinuteParams:
        """The deep-history generator's parameters: same key, steps, volatility and volume."""
        return MinuteParams(
            key=self._key,
            tick=self.tick,
            lot=self.lot,
            sigma_minute=volatility * math.sqrt(MINUTE_MS / _YEAR_MS),
            lots_per_minute=self._mean_lots * MINUTE_MS / self.tick_ms,
            ticks_per_minute=MINUTE_MS / self.tick_ms,
            activity=self._activity,
        )

    def window(self, from_ms: int, to_ms: int) -> tuple[IntArray, IntArray, IntArray]:
        """(ts, price ticks, lots) of the ticks with ``from_ms <= ts < to_ms``."""
        ts, price_n, lots, _ = self.arrays(
            self.last_index_at(from_ms - 1) + 1, self.last_index_at(to_ms - 1)
        )
        return ts, price_n, lots

    def price_before(self, ts_ms: int) -> int:
        """The price (ticks) of the last tick before ``ts_ms``."""
        k = self.last_index_at(ts_ms - 1)
        return int(self.arrays(k, k)[1][0])

    def arrays(self, k_lo: int, k_hi: int) -> tuple[IntArray, IntArray, IntArray, BoolArray]:
        """Return (ts, price ticks, lots, buy) for tick indices ``k_lo..k_hi`` inclusive."""
        if k_hi < k_lo:
            empty_i = np.empty(0, dtype=np.int64)
            return empty_i, empty_i, empty_i, np.empty(0, dtype=np.bool_)
        b_lo, b_hi = k_lo // BLOCK_TICKS, k_hi // BLOCK_TICKS
        parts = [self.block(b) for b in range(b_lo, b_hi + 1)]
        s = k_lo - b_lo * BLOCK_TICKS
        e = k_hi - b_lo * BLOCK_TICKS + 1
        price_n = np.concatenate([p.price_n for p in parts])[s:e]
        lots = np.concatenate([p.lots for p in parts])[s:e]
        buy = np.concatenate([p.buy for p in parts])[s:e]
        ts = self.start_ms + np.arange(k_lo, k_hi + 1, dtype=np.int64) * self.tick_ms + self.offset
        return ts, price_n, lots, buy


class SyntheticMarket:
    """A deterministic synthetic market: a seeded geometric random walk per symbol.

    ``symbols`` maps each exchange-style symbol to its start price, or lists symbols that
    start at :data:`DEFAULT_START_PRICES` (BTC 60,000, ETH 3,000, BNB 600, others 100). The
    start price is the last pre-start price, so the first live minute continues from the last
    historical close. ``volatility`` is annualised; ``tick_ms`` is the spacing of ticks (at
    least 2); ``history_days`` bounds how far back the market exists (ticks and candles before
    ``start_ms - history_days`` are not produced). ``start_ms`` defaults to now, rounded down
    to the minute (a given one is rounded down too). Prices are on the symbol's tick
    (:meth:`tick_size`), volumes on its lot step (:meth:`lot_step`), every tick trades at least
    one lot, and the same seed always gives the same market.
    """

    def __init__(
        self,
        symbols: Mapping[str, Decimal | float] | Sequence[str] = ("BTCUSDT",),
        seed: int = 0,
        start_ms: int | None = None,
        volatility: float = 0.6,
        tick_ms: int = 250,
        history_days: float = 7,
        deep_history_days: float = DEFAULT_DEEP_HISTORY_DAYS,
    ) -> None:
        """Build the market; see the class docstring for the parameters."""
        if isinstance(tick_ms, bool) or not isinstance(tick_ms, int) or tick_ms < 2:
            raise ValueError(f"tick_ms must be an integer >= 2, got {tick_ms!r}")
        if not math.isfinite(volatility) or volatility < 0:
            raise ValueError(f"volatility must be a finite number >= 0, got {volatility!r}")
        if not math.isfinite(history_days) or history_days < 0:
            raise ValueError(f"history_days must be a finite number >= 0, got {history_days!r}")
        if not math.isfinite(deep_history_days) or deep_history_days < 0:
            raise ValueError(
                f"deep_history_days must be a finite number >= 0, got {deep_history_days!r}"
            )
        prices = _start_prices(symbols)
        if start_ms is None:
            start_ms = math.floor(time.time() * 1000)
        self._start_ms = floor_minute(int(start_ms))
        self._earliest_ms = self._start_ms - round(history_days * 1440) * MINUTE_MS
        deep_from = self._start_ms - round(deep_history_days * 1440) * MINUTE_MS
        self._first_ms = min(self._earliest_ms, deep_from - deep_from % _DAY_MS)
        self.seed = int(seed)
        self.tick_ms = tick_ms
        self.volatility = float(volatility)
        self.symbols: tuple[str, ...] = tuple(prices)
        self._walks = {
            sym: _Walk(sym, p, self.seed, self._start_ms, tick_ms, self.volatility)
            for sym, p in prices.items()
        }
        self._histories: dict[str, CandleHistory] = {}

    def _walk(self, symbol: str) -> _Walk:
        """Return the walk of ``symbol`` or raise :class:`UnknownSymbolError`."""
        walk = self._walks.get(symbol)
        if walk is None:
            raise UnknownSymbolError(symbol, self.symbols)
        return walk

    def start_ms(self) -> int:
        """Return the first instant the market plays from (a whole minute)."""
        return self._start_ms

    def earliest_ms(self) -> int:
        """Return the instant the market's history begins (``start_ms - history_days``)."""
        return self._earliest_ms

    def first_ms(self) -> int:
        """Return the instant the candle history begins (a UTC midnight, or ``earliest_ms``).

        Before ``earliest_ms`` the history is made of generated one-minute candles only (see
        :mod:`~real_trade.sim.market_history`); :meth:`candles` serves it.
        """
        return self._first_ms

    def candles(self, symbol: str, interval: str, first_open: int, last_open: int) -> list[Candle]:
        """Return the pre-start candles of ``interval`` opening in ``[first_open, last_open]``.

        Any Binance interval (``1s`` to ``1M``), from :meth:`first_ms` to the start; a candle
        holding the start aggregates only its pre-start part. Every interval aggregates the
        same minutes, so a ``1d`` candle is exactly the aggregate of its ``1h`` and ``1m``
        ones; the last candles before ``earliest_ms`` continue into the tick history.
        """
        size = interval_ms(interval)
        if size is not None and size >= _DAY_MS:
            size = None
        hist = self._history(symbol)
        return hist.candles(
            size,
            int(first_open),
            next_open(interval, int(last_open)),
            lambda ts: bucket_open(interval, ts),
        )

    def _history(self, symbol: str) -> CandleHistory:
        hist = self._histories.get(symbol)
        if hist is None:
            walk = self._walk(symbol)
            first = walk.last_index_at(self._earliest_ms - 1) + 1
            anchor = int(walk.arrays(first, first)[1][0])
            hist = self._histories[symbol] = CandleHistory(
                walk.minute_params(self.volatility),
                first_ms=self._first_ms,
                earliest_ms=self._earliest_ms,
                start_ms=self._start_ms,
                ticks=walk.window,
                price_before=walk.price_before,
                anchor_n=anchor,
            )
        return hist

    def tick_size(self, symbol: str) -> Decimal:
        """Return the price tick of ``symbol``."""
        return self._walk(symbol).tick

    def lot_step(self, symbol: str) -> Decimal:
        """Return the quantity step of ``symbol`` (every tick volume is a multiple of it)."""
        return self._walk(symbol).lot

    def book_shape(self, symbol: str) -> BookShape:
        """Return the ladder the liquidity provider quotes for ``symbol``."""
        return self._walk(symbol).shape

    def ticks(self, symbol: str, from_ms: int, to_ms: int) -> list[MarketTick]:
        """Return the ticks with ``from_ms < ts_ms <= to_ms`` (none before the history begins)."""
        walk = self._walk(symbol)
        from_ms = max(int(from_ms), self._earliest_ms - 1)
        k_lo = walk.last_index_at(from_ms) + 1
        k_hi = walk.last_index_at(int(to_ms))
        ts, price_n, lots, buy = walk.arrays(k_lo, k_hi)
        return _to_ticks(ts, price_n, lots, buy, walk.tick, walk.lot)

    def reference_price(self, symbol: str, ts_ms: int) -> Decimal:
        """Return the price of the last tick at or before ``ts_ms`` (the first one if earlier)."""
        walk = self._walk(symbol)
        first = walk.last_index_at(self._earliest_ms - 1) + 1
        k = max(walk.last_index_at(int(ts_ms)), first)
        _, price_n, _, _ = walk.arrays(k, k)
        return Decimal(int(price_n[0])) * walk.tick

    def history(self, symbol: str, end_ms: int, count_hint: int) -> list[Candle]:
        """Return up to ``count_hint`` closed 1m candles before ``end_ms``, ascending.

        A candle is closed when ``open_ms + 60000 <= end_ms``. Candles are aggregated from the
        walk's own ticks, so they equal ``candles_from_ticks(ticks(...))`` for the same minutes,
        and the last one before ``start_ms`` closes at the start price.
        """
        walk = self._walk(symbol)
        last_open = floor_minute(int(end_ms)) - MINUTE_MS
        first_open = max(self._earliest_ms, last_open - (int(count_hint) - 1) * MINUTE_MS)
        if count_hint <= 0 or first_open > last_open:
            return []
        k_lo = walk.last_index_at(first_open - 1) + 1
        k_hi = walk.last_index_at(last_open + MINUTE_MS - 1)
        ts, price_n, lots, _ = walk.arrays(k_lo, k_hi)
        if ts.size == 0:
            return []
        return _aggregate(ts, price_n, lots, walk.tick, walk.lot)

    def __repr__(self) -> str:
        """Describe the market's symbols, seed and start."""
        return (
            f"SyntheticMarket(symbols={list(self.symbols)}, seed={self.seed}, "
            f"start_ms={self._start_ms}, tick_ms={self.tick_ms})"
        )


def _to_ticks(
    ts: IntArray, price_n: IntArray, lots: IntArray, buy: BoolArray, tick: Decimal, lot: Decimal
) -> list[MarketTick]:
    """Turn tick arrays into :class:`MarketTick` objects (decimals memoised per call)."""
    prices: dict[int, Decimal] = {}
    sizes: dict[int, Decimal] = {}
    out: list[MarketTick] = []
    append = out.append
    for t, p, m, b in zip(ts.tolist(), price_n.tolist(), lots.tolist(), buy.tolist(), strict=True):
        price = prices.get(p)
        if price is None:
            price = prices[p] = Decimal(p) * tick
        size = sizes.get(m)
        if size is None:
            size = sizes[m] = Decimal(m) * lot
        append(MarketTick(t, price, size, Side.BUY if b else Side.SELL))
    return out


def _aggregate(
    ts: IntArray, price_n: IntArray, lots: IntArray, tick: Decimal, lot: Decimal
) -> list[Candle]:
    """Aggregate tick arrays (sorted by time) into 1m candles with exact decimal sums."""
    minute = ts - ts % MINUTE_MS
    starts = np.flatnonzero(np.concatenate(([True], minute[1:] != minute[:-1])))
    ends = np.append(starts[1:], ts.size)
    highs = np.maximum.reduceat(price_n, starts)
    lows = np.minimum.reduceat(price_n, starts)
    vols = np.add.reduceat(lots, starts)
    bound = int(price_n.max()) * int(lots.max()) * int(np.max(ends - starts))
    quote: Any
    if bound < (1 << 62):
        quote = np.add.reduceat(price_n * lots, starts).tolist()
    else:  # exact Python integers when int64 could overflow
        prod = [p * m for p, m in zip(price_n.tolist(), lots.tolist(), strict=True)]
        quote = [sum(prod[s:e]) for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
    quote_unit = tick * lot
    out: list[Candle] = []
    for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        out.append(
            Candle(
                open_ms=int(minute[s]),
                open=Decimal(int(price_n[s])) * tick,
                high=Decimal(int(highs[i])) * tick,
                low=Decimal(int(lows[i])) * tick,
                close=Decimal(int(price_n[e - 1])) * tick,
                volume=Decimal(int(vols[i])) * lot,
                quote_volume=Decimal(int(quote[i])) * quote_unit,
                trades=e - s,
            )
        )
    return out


def _base_asset(symbol: str) -> str:
    """Return the default-table base of a dollar-quoted symbol (``BTCUSDT`` -> ``BTC``).

    Symbols not quoted in a dollar stablecoin (``ETHBTC``) are returned whole, so they get the
    generic defaults rather than a dollar price.
    """
    upper = symbol.upper()
    for base in DEFAULT_START_PRICES:
        if upper.startswith(base) and upper[len(base) :] in _DOLLAR_QUOTES:
            return base
    return symbol


def _start_prices(symbols: Mapping[str, Decimal | float] | Sequence[str]) -> dict[str, float]:
    """Validate the ``symbols`` argument and return symbol -> start price."""
    if isinstance(symbols, str):
        symbols = (symbols,)
    items: list[tuple[str, float]] = []
    if isinstance(symbols, Mapping):
        for sym, price in symbols.items():
            p = float(price)
            if not math.isfinite(p) or p <= 0:
                raise ValueError(f"start price of {sym!r} must be positive and finite, got {price}")
            items.append((sym, p))
    else:
        for sym in symbols:
            base = _base_asset(sym)
            items.append((sym, DEFAULT_START_PRICES.get(base, _OTHER_START_PRICE)))
    out: dict[str, float] = {}
    for sym, p in items:
        if not isinstance(sym, str) or not sym or not sym.isalnum():
            raise ValueError(
                f"symbol must be a non-empty alphanumeric id like 'BTCUSDT', got {sym!r}"
            )
        if sym in out:
            raise ValueError(f"symbol {sym!r} is listed twice")
        out[sym] = p
    if not out:
        raise ValueError("symbols must name at least one symbol")
    return out
