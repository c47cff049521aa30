"""Market data built from the core's own trades: klines (all Binance intervals) and the tape.

:class:`KlineBook` keeps one symbol's one-minute series (pre-start history from the market
source, loaded lazily, then bars built from real trades, with empty minutes filled by flat bars
like Binance's) and a one-second series. Higher intervals are aggregated from one-minute bars
on demand with Binance's alignment (UTC; weeks start on Monday; months are calendar months) and
Binance's pagination: ``startTime`` only gives the first ``limit`` klines opening at/after it,
``endTime`` only the last ``limit`` opening at/before it, both the first ``limit`` in the range.

:class:`~real_trade.sim.tape.Tape` (recent trades and aggregate trades) lives in
:mod:`real_trade.sim.tape` and is re-exported here.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, Protocol, cast

from real_trade.sim.errors import Reason
from real_trade.sim.market import Candle
from real_trade.sim.tape import Tape
from real_trade.sim.types import ZERO, BadParameter, Trade
from real_trade.vocabulary.intervals import (
    FIXED_INTERVAL_MS,
    INTERVALS,
    bucket_open,
    next_open,
)

__all__ = [
    "INTERVALS",
    "Kline",
    "KlineBook",
    "LaterMinute",
    "MinuteTrades",
    "RawMinute",
    "Tape",
    "bucket_open",
    "interval_ms",
    "next_open",
]

_SEC, _MIN, _DAY = 1_000, 60_000, 86_400_000
_FIXED = FIXED_INTERVAL_MS
_MAX_SECOND_BARS = 21_600  # the live 1s klines of the last six market hours


def interval_ms(interval: str) -> int | None:
    """Return the fixed length (ms) of ``interval``; None for ``1M`` (calendar months).

    ``BadParameter`` (``INVALID_INTERVAL``) for a name that is not an interval (Binance's names).
    """
    if interval == "1M":
        return None
    size = _FIXED.get(interval)
    if size is None:
        raise BadParameter(Reason.INVALID_INTERVAL)
    return size


@dataclass(frozen=True, slots=True)
class Kline:
    """One kline (candlestick) as Binance's ``klines`` row and ``@kline`` event carry it.

    ``close_ms`` is the last millisecond of the interval; ``is_closed`` tells whether the
    interval is over. Trade ids are -1 for bars without trades or from pre-start history.
    """

    symbol: str
    interval: str
    open_ms: int
    close_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    trades: int
    taker_buy_volume: Decimal
    taker_buy_quote_volume: Decimal
    is_closed: bool
    first_trade_id: int = -1
    last_trade_id: int = -1


class MinuteTrades(NamedTuple):
    """The sum of consecutive trades inside one minute (opening at ``open_ms``), in order:
    first and last price, extremes, base and quote volume, count, and the taker-buy share
    (a named tuple: the paper fast path makes one per minute it keeps aside)."""

    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    trades: int
    taker_buy_volume: Decimal
    taker_buy_quote_volume: Decimal


class RawMinute(NamedTuple):
    """:class:`MinuteTrades` in whole ticks and lots (the paper fast path sums them so): the
    Decimal values are made when read (:meth:`decimal`, or the 1m bar it becomes), and a bar
    no query reads never makes them."""

    open_ms: int
    open_ticks: int
    high_ticks: int
    low_ticks: int
    close_ticks: int
    lots: int
    quote_units: int  # ticks x lots
    trades: int
    taker_buy_lots: int
    taker_buy_quote_units: int
    tick: Decimal
    lot: Decimal

    def decimal(self) -> MinuteTrades:
        """The same trades in prices and quantities."""
        tick, lot = self.tick, self.lot
        quote = tick * lot
        return MinuteTrades(
            self.open_ms,
            Decimal(self.open_ticks) * tick,
            Decimal(self.high_ticks) * tick,
            Decimal(self.low_ticks) * tick,
            Decimal(self.close_ticks) * tick,
            Decimal(self.lots) * lot,
            Decimal(self.quote_units) * quote,
            self.trades,
            Decimal(self.taker_buy_lots) * lot,
            Decimal(self.taker_buy_quote_units) * quote,
        )

    def summed(self) -> RawMinute:
        """Itself (a :class:`LaterMinute` already summed)."""
        return self

    def last_tick(self) -> int:
        """The close, in ticks."""
        return self.close_ticks

    def tick_range(self) -> tuple[int, int]:
        """The low and the high, in ticks."""
        return self.low_ticks, self.high_ticks


class LaterMinute(Protocol):
    """One minute's trades counted at once but summed only when read (the paper fast path's
    kept-aside bars): :meth:`KlineBook.add_minutes` takes it like a :class:`RawMinute`, the
    count sets the trade ids, and the sums are made when a query reads the bar's values."""

    @property
    def open_ms(self) -> int:
        """The minute's open (ms)."""

    @property
    def trades(self) -> int:
        """How many trades it holds (at least one)."""

    @property
    def tick(self) -> Decimal:
        """The price step its ticks count."""

    def summed(self) -> RawMinute:
        """Its trades summed (the same sums every time)."""

    def last_tick(self) -> int:
        """Its last trade's price, in ticks (without summing)."""

    def tick_range(self) -> tuple[int, int]:
        """Ticks no trade of it is below and above (without summing; not necessarily its
        low and high)."""


class _Bar:
    """A mutable base bar (1s or 1m) while it is being built."""

    __slots__ = (
        "close",
        "first_id",
        "high",
        "last_id",
        "low",
        "open",
        "open_ms",
        "qvol",
        "tb_qvol",
        "tb_vol",
        "trades",
        "vol",
    )

    def __init__(self, open_ms: int, price: Decimal) -> None:
        self.open_ms = open_ms
        self.open = self.high = self.low = self.close = price
        self.vol = self.qvol = self.tb_vol = self.tb_qvol = ZERO
        self.trades = 0
        self.first_id = self.last_id = -1


_LAZY = ("open", "high", "low", "close", "vol", "qvol", "tb_vol", "tb_qvol")


def _lazy(name: str) -> Any:
    """A property over ``_Bar``'s slot ``name`` that makes a raw bar's values first."""
    slot = _Bar.__dict__[name]

    def get(bar: _RawBar) -> Decimal:
        if bar._raw is not None:
            bar._settle()
        return slot.__get__(bar, _Bar)

    def put(bar: _RawBar, value: Decimal) -> None:
        if bar._raw is not None:
            bar._settle()
        slot.__set__(bar, value)

    return property(get, put)


def _close_of(bar: _RawBar) -> Decimal:
    """A raw bar's close: a later minute's is read without summing it (a played bar after
    kept-aside ones reads it to open its minute)."""
    raw = bar._raw
    if raw is not None:
        return Decimal(raw.last_tick()) * raw.tick
    return _CLOSE.__get__(bar, _Bar)


def _set_close(bar: _RawBar, value: Decimal) -> None:
    if bar._raw is not None:
        bar._settle()
    _CLOSE.__set__(bar, value)


_CLOSE = _Bar.__dict__["close"]


class _RawBar(_Bar):
    """A 1m bar of one :class:`RawMinute` (or :class:`LaterMinute`): its count and trade ids
    are set, its prices and volumes are made from the whole ticks and lots when first read or
    changed (a later minute is summed then; its close alone is read without summing); then it
    is a bar like any other (the values equal those :meth:`KlineBook.add_minute` makes at
    once)."""

    __slots__ = ("_raw",)

    open = _lazy("open")
    high = _lazy("high")
    low = _lazy("low")
    close = property(_close_of, _set_close)
    vol = _lazy("vol")
    qvol = _lazy("qvol")
    tb_vol = _lazy("tb_vol")
    tb_qvol = _lazy("tb_qvol")

    def __init__(self, raw: LaterMinute, first_id: int) -> None:
        self._raw: LaterMinute | None = raw
        self.open_ms = raw.open_ms
        self.trades = raw.trades
        self.first_id, self.last_id = first_id, first_id + raw.trades - 1

    def summed(self) -> RawMinute | None:
        """Its raw minute, summed (None once its values are made)."""
        raw = self._raw
        if raw is None or type(raw) is RawMinute:
            return raw
        self._raw = done = raw.summed()
        return done

    def _settle(self) -> None:
        raw = self.summed()
        assert raw is not None
        self._raw = None
        put = [_Bar.__dict__[name].__set__ for name in _LAZY]
        values = raw.decimal()
        put[0](self, values.open)
        put[1](self, values.high)
        put[2](self, values.low)
        put[3](self, values.close)
        put[4](self, values.volume)
        put[5](self, values.quote_volume)
        put[6](self, values.taker_buy_volume)
        put[7](self, values.taker_buy_quote_volume)


class _Series:
    """A contiguous-by-construction list of base bars of ``period`` ms, sorted by open time."""

    def __init__(self, period: int, max_bars: int) -> None:
        self.period = period
        self.max_bars = max_bars
        self.opens: list[int] = []
        self.bars: list[_Bar] = []
        self.floor_ms: int | None = None  # nothing older is kept or loaded after trimming

    def _append_until(self, open_ms: int, price: Decimal | None) -> None:
        """Append flat bars so that the last bar opens at ``open_ms``."""
        opens, bars = self.opens, self.bars
        if bars:
            nxt = opens[-1] + self.period
            price = bars[-1].close
            if open_ms - nxt > self.max_bars * self.period:
                nxt = open_ms - self.max_bars * self.period
        else:
            nxt = open_ms
        if price is None:
            return
        while nxt <= open_ms:
            opens.append(nxt)
            bars.append(_Bar(nxt, price))
            nxt += self.period
        self._trim()

    def append_next(self, bar: _Bar) -> None:
        """Append ``bar``, which opens one period after the last bar."""
        self.opens.append(bar.open_ms)
        self.bars.append(bar)
        self._trim()

    def _trim(self) -> None:
        opens, bars = self.opens, self.bars
        if len(bars) > self.max_bars * 1.1:
            cut = len(bars) - self.max_bars
            del opens[:cut]
            del bars[:cut]
            self.floor_ms = opens[0]

    def add_trade(self, trade: Trade) -> None:
        t = trade.time_ms
        open_ms = t - t % self.period
        if not self.bars or open_ms > self.opens[-1]:
            self._append_until(open_ms, trade.price)
        bar = self.bars[-1]
        price, qty = trade.price, trade.qty
        if bar.trades == 0:
            bar.open = bar.high = bar.low = price
            bar.first_id = trade.trade_id
        elif price > bar.high:
            bar.high = price
        elif price < bar.low:
            bar.low = price
        bar.close = price
        bar.vol += qty
        bar.qvol += trade.quote_qty
        bar.trades += 1
        bar.last_id = trade.trade_id
        if not trade.is_buyer_maker:
            bar.tb_vol += qty
            bar.tb_qvol += trade.quote_qty

    def prepend(self, candles: list[Candle]) -> int:
        """Insert older history candles; return how many were added."""
        first = self.opens[0] if self.opens else None
        new = [c for c in candles if first is None or c.open_ms < first]
        if not new:
            return 0
        bars = []
        for c in new:
            b = _Bar(c.open_ms, c.open)
            b.high, b.low, b.close, b.vol, b.qvol, b.trades = (
                c.high,
                c.low,
                c.close,
                c.volume,
                c.quote_volume,
                c.trades,
            )
            bars.append(b)
        self.opens[:0] = [b.open_ms for b in bars]
        self.bars[:0] = bars
        return len(bars)


class KlineBook:
    """One symbol's klines: history + live one-minute bars, one-second bars, aggregation.

    ``history`` (``(end_ms, count) -> candles``, or None) loads pre-start one-minute candles on
    demand; ``live_start_ms`` is where bars built from trades begin. At most ``max_bars``
    one-minute bars and six market hours of one-second bars are kept (oldest dropped first).
    ``candles`` (``(interval, first_open, last_open) -> candles``, with ``history_start_ms``
    where they begin), when given, serves
    the pre-start klines of every interval instead (deep history, aggregated by the source),
    joined to the live bars: the kline holding the start merges both parts.
    """

    def __init__(
        self,
        symbol: str,
        *,
        live_start_ms: int,
        history: Callable[[int, int], list[Candle]] | None = None,
        seed_price: Decimal | None = None,
        max_bars: int = 100_000,
        candles: Callable[[str, int, int], list[Candle]] | None = None,
        history_start_ms: int | None = None,
    ) -> None:
        """Create the book; ``seed_price`` opens the flat bars before the first trade."""
        self.symbol = symbol
        self._m1 = _Series(_MIN, max_bars)
        self._s1 = _Series(_SEC, min(max_bars, _MAX_SECOND_BARS))
        self._live_start = live_start_ms - live_start_ms % _MIN
        self._history = history
        self._history_done = history is None
        self._seed = seed_price
        self._candles = candles
        self._first_ms = history_start_ms if history_start_ms is not None else self._live_start
        self._emitted_close = self._live_start  # bars opening before this were reported closed
        if seed_price is not None:
            self._m1._append_until(self._live_start, seed_price)

    # ---------------------------------------------------------------- building
    def on_trade(self, trade: Trade) -> None:
        """Add a trade to the current 1m and 1s bars (opening new bars as time moves on)."""
        if not self._m1.bars:
            self._seed = self._seed if self._seed is not None else trade.price
            self._m1._append_until(self._live_start, self._seed)
        self._m1.add_trade(trade)
        self._s1.add_trade(trade)

    def add_minute(self, trades: MinuteTrades | LaterMinute, first_id: int) -> None:
        """Add ``trades`` (ids from ``first_id``) to its 1m bar exactly as :meth:`on_trade`
        would add them one by one; the 1s bars are not built for them (see
        :meth:`~real_trade.sim.symbol_market.SymbolMarket.record_quiet`). A raw or later
        minute opening after the last bar becomes its bar as it is (see :class:`RawMinute`,
        :class:`LaterMinute`; flat bars fill the minutes between); else it is summed now.
        """
        m1 = self._m1
        if not isinstance(trades, MinuteTrades):
            if self._append_raw(trades, first_id):
                return
            trades = trades.summed().decimal()
        if not m1.bars:
            self._seed = self._seed if self._seed is not None else trades.open
            m1._append_until(self._live_start, self._seed)
        if trades.open_ms > m1.opens[-1]:
            m1._append_until(trades.open_ms, trades.open)
        bar = m1.bars[-1]
        if bar.trades == 0:
            bar.open, bar.high, bar.low = trades.open, trades.high, trades.low
            bar.first_id = first_id
        else:
            bar.high = max(bar.high, trades.high)
            bar.low = min(bar.low, trades.low)
        bar.close = trades.close
        bar.vol += trades.volume
        bar.qvol += trades.quote_volume
        bar.trades += trades.trades
        bar.last_id = first_id + trades.trades - 1
        bar.tb_vol += trades.taker_buy_volume
        bar.tb_qvol += trades.taker_buy_quote_volume

    def _append_raw(self, minute: LaterMinute, first_id: int) -> bool:
        """Append ``minute`` as its bar, after flat bars for the minutes between, when it opens
        after the last bar (as :meth:`_Series._append_until` would open it, not clamped: then
        its trades go in); False (nothing done) otherwise."""
        m1 = self._m1
        opens, bars = m1.opens, m1.bars
        if not bars:
            return False
        last, open_ms = opens[-1], minute.open_ms
        if open_ms <= last or open_ms - last > (m1.max_bars + 1) * _MIN:
            return False
        if open_ms > last + _MIN:
            price = bars[-1].close
            for nxt in range(last + _MIN, open_ms, _MIN):
                opens.append(nxt)
                bars.append(_Bar(nxt, price))
        m1.append_next(_RawBar(minute, first_id))  # trims once, as _append_until does
        return True

    def add_minutes(self, minutes: Sequence[MinuteTrades | LaterMinute], first_id: int) -> None:
        """:meth:`add_minute` of each of ``minutes`` in turn, trade ids from ``first_id`` on
        (a minute without trades takes none and adds nothing), in one loop: a raw or later
        minute opening the minute after the last bar is appended as it is."""
        m1 = self._m1
        opens, bars = m1.opens, m1.bars
        limit = m1.max_bars * 1.1
        next_id = first_id
        new, later = _RawBar.__new__, cast(Any, minutes)  # (no cast call per minute)
        for minute in later:
            count = minute.trades
            if not count:
                continue
            open_ms = minute.open_ms
            if type(minute) is not MinuteTrades and bars and open_ms == opens[-1] + _MIN:
                bar = new(_RawBar)  # _RawBar(minute, next_id), without its __init__ call
                bar._raw, bar.open_ms, bar.trades = minute, open_ms, count
                bar.first_id, bar.last_id = next_id, next_id + count - 1
                opens.append(open_ms)
                bars.append(bar)
                if len(bars) > limit:
                    m1._trim()
            else:
                self.add_minute(minute, next_id)
            next_id += count

    def roll_quietly(self, now_ms: int) -> None:
        """After :meth:`add_minute`: open bars up to ``now_ms``'s minute like :meth:`roll`,
        counting the 1m bars closed by then as published without making their klines (nobody
        listens for them); the 1s bars, which lack these trades, start again."""
        m1 = self._m1
        current = now_ms - now_ms % _MIN
        if m1.bars and m1.opens[-1] < current:
            m1._append_until(current, None)
        self._emitted_close = max(self._emitted_close, current)
        s1 = self._s1
        if s1.bars or s1.floor_ms is not None:  # the 1s bars start again after them
            self._s1 = _Series(_SEC, s1.max_bars)

    def roll(self, now_ms: int, build: bool = True) -> list[Kline]:
        """Open bars up to ``now_ms``'s minute and return the 1m klines closed since last call
        (``build`` False: count them as returned without making them, nobody listens)."""
        m1 = self._m1
        current = now_ms - now_ms % _MIN
        if not m1.bars and self._seed is not None:
            m1._append_until(self._live_start, self._seed)
        if m1.bars and m1.opens[-1] < current:
            m1._append_until(current, None)
        closed: list[Kline] = []
        if not m1.bars:
            return closed
        if not build:
            if m1.opens[-1] + _MIN <= now_ms:  # every bar is closed by then
                self._emitted_close = max(self._emitted_close, m1.opens[-1] + _MIN)
            elif len(m1.opens) > 1:
                self._emitted_close = max(self._emitted_close, m1.opens[-1])
            return closed
        i = bisect_left(m1.opens, self._emitted_close)
        while i < len(m1.bars) and m1.opens[i] + _MIN <= now_ms:
            closed.append(self._kline("1m", [m1.bars[i]], m1.opens[i], True))
            i += 1
        if closed:
            self._emitted_close = closed[-1].open_ms + _MIN
        return closed

    def current(self, now_ms: int) -> Kline | None:
        """Return the 1m kline containing ``now_ms`` (open), or None before any price."""
        m1 = self._m1
        if not m1.bars or m1.opens[-1] + _MIN <= now_ms:
            return None
        return self._kline("1m", [m1.bars[-1]], m1.opens[-1], False)

    def _kline(self, interval: str, bars: list[_Bar], open_ms: int, closed: bool) -> Kline:
        first = bars[0]
        high, low = first.high, first.low
        vol = qvol = tb = tbq = ZERO
        trades = 0
        first_id = last_id = -1
        for b in bars:
            if b.high > high:
                high = b.high
            if b.low < low:
                low = b.low
            vol += b.vol
            qvol += b.qvol
            tb += b.tb_vol
            tbq += b.tb_qvol
            trades += b.trades
            if b.first_id >= 0:
                if first_id < 0:
                    first_id = b.first_id
                last_id = b.last_id
        return Kline(
            self.symbol,
            interval,
            open_ms,
            next_open(interval, open_ms) - 1,
            first.open,
            high,
            low,
            bars[-1].close,
            vol,
            qvol,
            trades,
            tb,
            tbq,
            closed,
            first_id,
            last_id,
        )

    # ---------------------------------------------------------------- history
    def _ensure_history(self, from_ms: int) -> None:
        m1 = self._m1
        while not self._history_done and (not m1.opens or m1.opens[0] > from_ms):
            if m1.floor_ms is not None or len(m1.bars) >= m1.max_bars:
                self._history_done = True
                break
            end = m1.opens[0] if m1.opens else self._live_start
            count = max(1, min(5_000, (end - from_ms) // _MIN + 1, m1.max_bars - len(m1.bars)))
            assert self._history is not None
            if m1.prepend(self._history(end, count)) == 0:
                self._history_done = True

    # ---------------------------------------------------------------- queries
    def klines(
        self,
        interval: str,
        *,
        now_ms: int,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[Kline]:
        """Return klines with Binance's ``startTime``/``endTime``/``limit`` semantics."""
        if interval not in _FIXED and interval != "1M":
            raise BadParameter(Reason.INVALID_INTERVAL)
        if limit <= 0:
            return []
        series = self._s1 if interval == "1s" else self._m1
        self.roll(now_ms, build=False)
        if self._candles is not None:
            return self._joined(interval, series, now_ms, start_ms, end_ms, limit)
        end = now_ms if end_ms is None or end_ms > now_ms else end_ms
        if start_ms is not None:
            first = bucket_open(interval, start_ms)
            if first < start_ms:
                first = next_open(interval, first)
            if series is self._m1:
                self._ensure_history(first)
        else:
            size = _FIXED.get(interval, 31 * _DAY)
            if series is self._m1:
                self._ensure_history(bucket_open(interval, end) - limit * size)
        opens, bars = series.opens, series.bars
        hi = bisect_left(opens, next_open(interval, bucket_open(interval, end)))
        if start_ms is not None:
            lo = bisect_left(opens, first)
        else:  # walk back over `limit` buckets
            lo, count, bucket = hi, 0, None
            while lo > 0:
                b = opens[lo - 1]
                if bucket is None or b < bucket:
                    if count == limit:
                        break
                    bucket = bucket_open(interval, b)
                    count += 1
                lo -= 1
        return self._group(interval, bars, lo, hi, limit, now_ms)

    def _joined(
        self,
        interval: str,
        series: _Series,
        now_ms: int,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
    ) -> list[Kline]:
        """Klines from the source's pre-start candles joined to the live bars (Binance paging)."""
        assert self._candles is not None
        end = now_ms if end_ms is None or end_ms > now_ms else end_ms
        floor = bucket_open(interval, self._first_ms)
        last_bucket = bucket_open(interval, end)
        if start_ms is not None:
            first = bucket_open(interval, start_ms)
            if first < start_ms:
                first = next_open(interval, first)
            first = max(first, floor)
            last = _step(interval, first, limit - 1, last_bucket)
        else:
            last = last_bucket
            first = max(_step(interval, last, -(limit - 1), floor), floor)
        if first > last:
            return []
        out: list[Kline] = []
        live = self._live_start
        if first < live:
            top = min(last, bucket_open(interval, live - 1))
            for c in self._candles(interval, first, top):
                nxt = next_open(interval, c.open_ms)
                out.append(
                    Kline(
                        self.symbol,
                        interval,
                        c.open_ms,
                        nxt - 1,
                        c.open,
                        c.high,
                        c.low,
                        c.close,
                        c.volume,
                        c.quote_volume,
                        c.trades,
                        ZERO,
                        ZERO,
                        nxt <= now_ms,
                    )
                )
        opens = series.opens
        lo = bisect_left(opens, max(first, live))
        hi = bisect_left(opens, next_open(interval, last))
        for k in self._group(interval, series.bars, lo, hi, limit, now_ms):
            if out and out[-1].open_ms == k.open_ms:
                out[-1] = _merge(out[-1], k)
            else:
                out.append(k)
        return out[:limit]

    def _group(
        self, interval: str, bars: list[_Bar], lo: int, hi: int, limit: int, now_ms: int
    ) -> list[Kline]:
        out: list[Kline] = []
        i = lo
        while i < hi and len(out) < limit:
            bucket = bucket_open(interval, bars[i].open_ms)
            nxt = next_open(interval, bucket)
            j = i + 1
            while j < hi and bars[j].open_ms < nxt:
                j += 1
            out.append(self._kline(interval, bars[i:j], bucket, nxt <= now_ms))
            i = j
        return out

    def _m1_range(self, from_ms: int, now_ms: int) -> tuple[_Series, int, int]:
        """The 1m series (rolled to ``now_ms``) and the index range of its bars opening in
        ``[from_ms, now_ms]`` (empty when ``lo >= hi``)."""
        self.roll(now_ms, build=False)
        m1 = self._m1
        return (
            m1,
            bisect_left(m1.opens, from_ms - from_ms % _MIN),
            bisect_left(m1.opens, now_ms + 1),
        )

    def window(self, from_ms: int, now_ms: int) -> tuple[Kline, Decimal | None] | None:
        """Aggregate the 1m bars opening in ``[from_ms, now_ms]`` into one pseudo-kline.

        Returns it with the close before the window (``None`` if unknown), or None when the
        window holds no bars. Used for the rolling 24h ticker and the average price.
        """
        m1, lo, hi = self._m1_range(from_ms, now_ms)
        if lo >= hi:
            return None
        prev = m1.bars[lo - 1].close if lo > 0 else None
        k = self._kline("1m", m1.bars[lo:hi], m1.opens[lo], False)
        return k, prev

    def volumes(self, from_ms: int, now_ms: int) -> tuple[Decimal, Decimal] | None:
        """The volume and quote volume of :meth:`window`'s bars, summed without making its
        kline or the Decimal values of the raw bars (their whole lots and ticks x lots are
        summed, then made once: the same exact sums); None when the window holds no bars.
        The average price reads it at every market order."""
        m1, lo, hi = self._m1_range(from_ms, now_ms)
        if lo >= hi:
            return None
        vol = qvol = ZERO
        lots = units = 0
        steps: tuple[Decimal, Decimal] | None = None
        for bar in m1.bars[lo:hi]:
            raw = bar.summed() if type(bar) is _RawBar else None
            if raw is not None and (steps is None or steps == (raw.tick, raw.lot)):
                steps = raw.tick, raw.lot
                lots += raw.lots
                units += raw.quote_units
            else:
                vol += bar.vol
                qvol += bar.qvol
        if steps is not None:
            tick, lot = steps
            vol += Decimal(lots) * lot
            qvol += Decimal(units) * (tick * lot)
        return vol, qvol

    def average_range(self, from_ms: int, now_ms: int) -> tuple[Decimal, Decimal] | None:
        """Prices the average of :meth:`volumes` (quote volume over volume) cannot be below
        and above, found without summing the raw and later minutes of the window (each one's
        trades lie within its :meth:`~LaterMinute.tick_range`; the other bars' average is made
        exactly). None when the window holds no raw or later minute: only the sums tell then.
        The bounds are exact fractions: widen them for a rounded average."""
        m1, lo, hi = self._m1_range(from_ms, now_ms)
        low = high = -1
        tick: Decimal | None = None
        vol = qvol = ZERO
        for bar in m1.bars[lo:hi]:
            raw = bar._raw if type(bar) is _RawBar else None
            if raw is not None and (tick is None or tick == raw.tick):
                tick = raw.tick
                a, b = raw.tick_range()
                if low < 0 or a < low:
                    low = a
                if b > high:
                    high = b
            else:
                vol += bar.vol
                qvol += bar.qvol
        if tick is None:
            return None
        bottom, top = Decimal(low) * tick, Decimal(high) * tick
        if vol:
            played = qvol / vol  # rounded: the caller widens the range by far more
            bottom, top = min(bottom, played), max(top, played)
        return bottom, top

    def last_close(self) -> Decimal | None:
        """The latest known price (last bar's close), loading a little history if needed."""
        if not self._m1.bars:
            self._ensure_history(self._live_start - _MIN)
        return self._m1.bars[-1].close if self._m1.bars else self._seed


def _step(interval: str, open_ms: int, buckets: int, bound: int) -> int:
    """The open ``buckets`` intervals after (before, if negative) ``open_ms``, kept within
    ``bound`` (an upper bound going forward, a lower one going back)."""
    if buckets == 0:
        return open_ms
    size = _FIXED.get(interval)
    if size is not None:
        moved = open_ms + buckets * size
        return min(moved, bound) if buckets >= 0 else max(moved, bound)
    cur = open_ms
    for _ in range(abs(buckets)):
        if buckets > 0:
            nxt = next_open(interval, cur)
            if nxt > bound:
                break
        else:
            if cur <= bound:
                break
            nxt = bucket_open(interval, cur - 1)
        cur = nxt
    return cur


def _merge(before: Kline, after: Kline) -> Kline:
    """One kline from its pre-start part and its live part."""
    return Kline(
        after.symbol,
        after.interval,
        before.open_ms,
        after.close_ms,
        before.open,
        max(before.high, after.high),
        min(before.low, after.low),
        after.close,
        before.volume + after.volume,
        before.quote_volume + after.quote_volume,
        before.trades + after.trades,
        after.taker_buy_volume,
        after.taker_buy_quote_volume,
        after.is_closed,
        after.first_trade_id,
        after.last_trade_id,
    )
