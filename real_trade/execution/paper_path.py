"""A bar's tick path in whole ticks and lots, and the sum of the trades it makes per minute.

:func:`path_points` is the one computation of a paper bar's path (:func:`~real_trade.execution.
paper.bar_path` builds its ticks from it): integer prices (in ticks of the symbol's PRICE_FILTER)
and volumes (in lots), so the paper fast path can sum a bar's trades without building a
:class:`~real_trade.sim.market.MarketTick` or a trade for each. :class:`QuietTape` sums the
trades of the ticks no user order can meet into :class:`~real_trade.sim.klines.RawMinute`,
exactly the trades the liquidity provider and the tape flow would make for them (one trade of
the tick's volume at the tick's price, taken on the tick's side). A kept-aside bar is only
counted (:meth:`QuietTape.defer_bar`) and waits in a :class:`KeptMinute` until a query reads
its minute; then the same sums are made.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import cast

from real_trade.sim.klines import MinuteTrades, RawMinute

__all__ = [
    "KeptMinute",
    "PathPoints",
    "QuietTape",
    "decimal_places",
    "lots_in",
    "on_tick",
    "on_tick_fast",
    "path_points",
    "path_prices",
    "ticks_of",
]

_MIN = 60_000
_NEAR = 1e-6  # float quotients this close to a rounding edge are redone in Decimal

Bar = tuple[int, float, float, float, float, float, int]
"""A bar as the paper broker gives it (``PaperBar``): open time (ms), open, high, low, close,
volume, duration (ms)."""


def on_tick(value: float, tick: Decimal) -> int:
    """``value`` rounded to a whole number of ``tick`` (half to even), at least one tick."""
    n = int((Decimal(repr(value)) / tick).to_integral_value(rounding=ROUND_HALF_EVEN))
    return n if n > 1 else 1


def on_tick_fast(value: float, tick: Decimal, tick_f: float) -> int:
    """:func:`on_tick` in floats, exactly: near a half tick it asks :func:`on_tick`."""
    x = value / tick_f
    frac = x - math.floor(x)
    if abs(frac - 0.5) < _NEAR:
        return on_tick(value, tick)
    n = math.floor(x) + (1 if frac > 0.5 else 0)
    return n if n > 1 else 1


def lots_in(volume: float, lot: Decimal, lot_f: float, places: int | None = None) -> int:
    """Whole ``lot`` units in ``volume`` (floored), in floats unless near a whole unit.

    ``places``: the lot is ``10 ** -places`` (:func:`decimal_places`): near a whole unit, a
    volume written with at most that many decimals is that whole unit (no Decimal needed).
    """
    if volume <= 0:
        return 0
    y = volume / lot_f
    n = math.floor(y)
    if y - n < _NEAR or n + 1 - y < _NEAR:
        if places is not None:
            text = repr(volume)
            dot = text.find(".")
            if dot >= 0 and "e" not in text and len(text) - dot - 1 <= places:
                return round(y)
        return int(Decimal(repr(volume)) / lot)
    return n


@functools.lru_cache(maxsize=256)
def decimal_places(step: Decimal) -> int | None:
    """``k`` when ``step`` is ``10 ** -k`` (k >= 0), else None (remembered per step)."""
    sign, digits, exponent = step.normalize().as_tuple()
    if sign or digits != (1,) or not isinstance(exponent, int) or exponent > 0:
        return None
    return -exponent


@dataclass(slots=True)
class PathPoints:
    """A bar's path: times (ms), prices (ticks), volumes (lots) and taker sides (True: buy)."""

    times: list[int]
    prices: list[int]
    lots: list[int]
    buys: list[bool]


def path_prices(
    prices: tuple[float, float, float, float],
    tick: Decimal,
    inner_points: int = 3,
    tick_f: float | None = None,
) -> list[int]:
    """The prices (ticks) of a bar's path (see :func:`path_points`), repeats dropped
    (``tick_f``: ``float(tick)``, when the caller has it)."""
    tf = float(tick) if tick_f is None else tick_f
    o = on_tick_fast(prices[0], tick, tf)
    h = on_tick_fast(prices[1], tick, tf)
    lo = on_tick_fast(prices[2], tick, tf)
    c = on_tick_fast(prices[3], tick, tf)
    keys = (o, lo, h, c) if c >= o else (o, h, lo, c)
    den = inner_points + 1
    path = [o]
    last_p = o
    for k in range(3):
        a, b = keys[k], keys[k + 1]
        if a == b:  # every point between repeats it
            continue
        base, step = den * a, b - a
        for i in range(1, den):
            q, r = divmod(base + step * i, den)  # a + (b - a) * i / den, half to even
            if 2 * r > den or (2 * r == den and q & 1):
                q += 1
            if q < 1:
                q = 1
            if q != last_p:
                path.append(q)
                last_p = q
        if b != last_p:
            path.append(b)
            last_p = b
    return path


def path_points(
    open_ms: int,
    prices: tuple[float, float, float, float],
    volume: float,
    duration_ms: int,
    tick: Decimal,
    lot: Decimal,
    prev: Decimal | int | None,
    inner_points: int = 3,
) -> PathPoints:
    """The path of a bar opening at ``open_ms`` with (open, high, low, close) ``prices``.

    Open, the two extremes (low first when the bar rises), close, ``inner_points`` evenly
    spaced points between each, on ``tick`` (half to even, as ``Decimal`` rounds); repeated
    prices dropped. Times spread over ``duration_ms`` from ``open_ms``; ``volume`` split in
    whole ``lot`` units (the close takes the remainder). ``prev`` is the price (ticks) before
    the bar: a tick below the one before it is taken by a seller, else by a buyer.
    """
    path = path_prices(prices, tick, inner_points)
    n = len(path)
    span = max(1, duration_ms - 1)
    last = max(1, n - 1)
    if span >= last:  # a step of at least 1 ms: the times rise by themselves
        times = [open_ms + (span * i) // last for i in range(n)]
    else:
        times = [open_ms]
        prev_ts = open_ms
        for i in range(1, n):
            ts = open_ms + (span * i) // last
            prev_ts = ts if ts > prev_ts else prev_ts + 1
            times.append(prev_ts)
    lots = lots_in(volume, lot, float(lot), decimal_places(lot))
    share, rest = divmod(lots, n)
    volumes = [share] * n
    volumes[-1] += rest
    buys = [path[0] >= (path[0] if prev is None else prev)]
    buys += [path[i] >= path[i - 1] for i in range(1, n)]
    return PathPoints(times, path, volumes, buys)


def ticks_of(price: Decimal | int | float, tick: Decimal, tick_f: float) -> Decimal | int:
    """A price before a bar in ticks (a float: a bar's close, put on the tick)."""
    if type(price) is float:
        return on_tick_fast(price, tick, tick_f)
    return cast(Decimal | int, price)


def path_length(prices: tuple[float, float, float, float], tick: Decimal, tick_f: float) -> int:
    """How many points :func:`path_prices` (3 inner points) gives a bar of ``prices``
    (open, high, low, close), without building them: 1 + min(|move|, 4) per key move."""
    o, h, lo, c = (on_tick_fast(v, tick, tick_f) for v in prices)
    keys = (o, lo, h, c) if c >= o else (o, h, lo, c)
    n = 1
    for k in range(3):
        step = keys[k + 1] - keys[k]
        n += min(step if step > 0 else -step, 4)
    return n


class KeptMinute:
    """One minute's kept-aside bars (a :class:`~real_trade.sim.klines.LaterMinute`): their
    trades counted at once (the trade ids follow the count), summed by :class:`QuietTape` only
    when a query reads them (:meth:`summed`), from the bars themselves.

    The first bar's values are kept in its slots (the minute of a 1m bar holds one bar), the
    others' in :attr:`more`: no list and no bar tuple stays alive per minute, which the
    garbage collector would walk. ``prev`` is the price before a bar (a float: the close of
    the bar before, put on the tick when summed).
    """

    __slots__ = (
        "_raw",
        "bar_ms",
        "close",
        "duration_ms",
        "high",
        "lot",
        "low",
        "more",
        "open",
        "open_ms",
        "prev",
        "tick",
        "tick_f",
        "trades",
        "volume",
    )

    def __init__(
        self,
        open_ms: int,
        steps: tuple[Decimal, Decimal, float],
        bar: Bar,
        prev: Decimal | int | float,
        trades: int,
    ) -> None:
        """The minute opening at ``open_ms`` with its first ``bar`` (``trades`` counted);
        ``steps``: the tick, the lot and the tick as a float."""
        self.open_ms, self.trades, self.prev = open_ms, trades, prev
        self.tick, self.lot, self.tick_f = steps
        (
            self.bar_ms,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.duration_ms,
        ) = bar
        self.more: list[tuple[Bar, Decimal | int | float]] | None = None
        self._raw: RawMinute | None = None

    def _bars(self) -> list[tuple[Bar, Decimal | int | float]]:
        first = (self.bar_ms, self.open, self.high, self.low, self.close, self.volume)
        return [((*first, self.duration_ms), self.prev), *(self.more or ())]

    def summed(self) -> RawMinute:
        """The minute's trades summed, as :meth:`QuietTape.add_bar` sums its bars (once)."""
        raw = self._raw
        if raw is None:
            tape = QuietTape(self.tick, self.lot)
            tape.add_kept(self)
            (summed,), _last = tape.finish()
            self._raw = raw = cast(RawMinute, summed)  # add_bar sums at once
        return raw

    def decimal(self) -> MinuteTrades:
        """The same trades in prices and quantities."""
        return self.summed().decimal()

    def last_tick(self) -> int:
        """The last trade's price in ticks: its last bar's close on the tick."""
        if self._raw is not None:
            return self._raw.close_ticks
        close = self.close if self.more is None else self.more[-1][0][4]
        return on_tick_fast(close, self.tick, self.tick_f)

    def tick_range(self) -> tuple[int, int]:
        """Ticks no trade is below or above: every point of a bar's path lies between its
        lowest and highest price on the tick, so between the floor of the lowest price in
        ticks and the ceiling of the highest (a tick more each way for the float quotient)."""
        raw = self._raw
        if raw is not None:
            return raw.low_ticks, raw.high_ticks
        o, h, lo, c = self.open, self.high, self.low, self.close
        if self.more is None and lo <= o <= h and lo <= c <= h:
            low, high = lo, h
        else:
            prices = [p for bar, _prev in self._bars() for p in bar[1:5]]
            low, high = min(prices), max(prices)
        tick_f = self.tick_f
        return int(low / tick_f) - 1, int(high / tick_f) + 2


@functools.lru_cache(maxsize=256)
def _tape_steps(tick: Decimal, lot: Decimal) -> tuple[float, float, int | None, float]:
    """What :class:`QuietTape` derives from its steps, by value (remembered per tick and
    lot): the tick and the lot as floats, the lot's decimal places, a move of 4 ticks or
    more."""
    tick_f = float(tick)
    # each price is within half a tick of its tick (the float error is far below that)
    return tick_f, float(lot), decimal_places(lot), tick_f * 4.5


@dataclass
class QuietTape:
    """The trades of ticks played without the ladder, summed per minute (see the module)."""

    tick: Decimal
    lot: Decimal
    minutes: list[RawMinute | KeptMinute] = field(default_factory=list)
    last_price: int | None = None
    last_ms: int | None = None
    _minute: int = -1
    _acc: list[int] = field(default_factory=list)
    _tick_f: float = 0.0
    _lot_f: float = 0.0
    _places: int | None = None
    _kept: KeptMinute | None = None  # the current minute, when its bars are kept (defer_bar)
    _last_close: float | None = None  # the last trade's price is this close on the tick
    _moved: float = 0.0  # two prices this far apart are 4 ticks or more apart on the tick
    _steps: tuple[Decimal, Decimal, float] = (Decimal(1), Decimal(1), 1.0)

    def __post_init__(self) -> None:
        self._tick_f, self._lot_f, self._places, self._moved = _tape_steps(self.tick, self.lot)
        self._steps = self.tick, self.lot, self._tick_f

    def defer_bar(self, bar: Bar, prev: Decimal | int | float) -> int | None:
        """Count the trades of ``bar``'s path (as :meth:`add_bar` would add them) and keep the
        bar to sum them when read (:class:`KeptMinute`); return the path's end time. None
        (nothing added) when the path spans minutes: use :meth:`add`. ``prev``: the price
        before it in ticks, or the close of the bar before (a float, put on the tick when
        summed). (:meth:`defer_bars` of one bar.)
        """
        done, end = self.defer_bars((bar,), 0, prev, None)
        return end if done else None

    def defer_bars(
        self,
        bars: Sequence[Bar],
        start: int,
        prev: Decimal | int | float,
        after_ms: int | None,
    ) -> tuple[int, int | None]:
        """:meth:`defer_bar` of ``bars`` from ``start`` on, in one loop, each after the one
        before (its price before is that bar's close; ``prev`` the first's), while each opens
        after ``after_ms`` (the market's last point, None: none) and its path lies in its
        minute; return the index of the first bar not kept (``start``: none) and the last
        kept path's end time.

        The count is the path's length (:func:`path_length`): a key move of 4.5 ticks or more
        (in floats: over 4 on the tick) adds 4 points and an unchanged price none; a move of
        a few ticks is counted on the tick. The volume's lots are counted only when near the
        length.
        """
        tf, far, lot_f = self._tick_f, self._moved, self._lot_f
        steps, new_kept = self._steps, KeptMinute.__new__
        last_end: int | None = None
        i, size = start, len(bars)
        while i < size:
            bar = bars[i]
            open_ms, o, h, lo, c, volume, duration_ms = bar
            if after_ms is not None and open_ms <= after_ms:
                break  # it overlaps the market's last point: re-timed by the full path
            n = 0
            if o > tf and h > tf and lo > tf and c > tf:  # none floored to one tick
                # a close above the open is not below it on the tick; on the same tick, rising
                # and falling paths have the same moves (in another order)
                moves = (lo - o, h - lo, c - h) if c >= o else (h - o, lo - h, c - lo)
                n = 1
                for m in moves:
                    if m >= far or -m >= far:
                        n += 4
                    elif m:  # a few ticks: count on the tick
                        n = 0
                        break
            if not n:
                n = path_length((o, h, lo, c), self.tick, tf)
            span = duration_ms - 1 if duration_ms > 1 else 1
            end = open_ms + span if n > 1 else open_ms
            minute = open_ms - open_ms % _MIN
            if span < n - 1 or end - end % _MIN != minute:
                break
            i += 1
            last_end = after_ms = end
            if volume <= 0:
                prev = c
                continue
            if volume / lot_f >= n + 1:
                count = n
            else:
                lots = lots_in(volume, self.lot, lot_f, self._places)
                if lots <= 0:
                    prev = c
                    continue
                count = n if lots >= n else 1
            if self._acc:  # the minute so far is summed: add to it
                if minute == self._minute:
                    before = ticks_of(prev, self.tick, tf)
                    self.add_bar(open_ms, (o, h, lo, c), volume, duration_ms, before)
                    prev = c
                    continue
                self._close(self._minute, self._acc)
                self._acc, self._minute = [], -1
            kept = self._kept
            if kept is not None and kept.open_ms == minute:
                if kept.more is None:
                    kept.more = []
                kept.more.append((bar, prev))
                kept.trades += count
            else:
                if kept is not None:
                    self.minutes.append(kept)
                # KeptMinute(minute, self._steps, bar, prev, count), without its __init__ call
                self._kept = kept = new_kept(KeptMinute)
                kept.open_ms, kept.trades, kept.prev = minute, count, prev
                kept.tick, kept.lot, kept.tick_f = steps
                kept.bar_ms, kept.open, kept.high, kept.low = open_ms, o, h, lo
                kept.close, kept.volume, kept.duration_ms = c, volume, duration_ms
                kept.more = kept._raw = None
            self._last_close, self.last_ms = c, end
            prev = c
        return i, last_end

    def _sum_kept(self) -> None:
        """Sum the current kept minute's bars into the running minute (before adding to it)."""
        kept = self._kept
        if kept is None:
            return
        self._kept = None
        self.add_kept(kept)  # the last trades of all

    def add_kept(self, kept: KeptMinute) -> None:
        """Add the trades of ``kept``'s bars, as :meth:`add_bar` adds a bar's."""
        for bar, prev in kept._bars():
            open_ms, o, h, lo, c, volume, duration = bar
            before = ticks_of(prev, self.tick, self._tick_f)
            self.add_bar(open_ms, (o, h, lo, c), volume, duration, before)

    def add(self, points: PathPoints, start: int = 0) -> None:
        """Add the trades of ``points`` from index ``start`` on (ticks without volume trade
        nothing)."""
        if self._kept is not None:
            self._sum_kept()
        acc, minute = self._acc, self._minute
        times, prices, lots, buys = points.times, points.prices, points.lots, points.buys
        for i in range(start, len(prices)):
            q = lots[i]
            if q <= 0:
                continue
            ts, p = times[i], prices[i]
            m = ts - ts % _MIN
            pq = p * q
            if m != minute:
                if acc:
                    self._close(minute, acc)
                minute = m
                # open, high, low, close, lots, price x lots, trades, taker-buy lots, its p x q
                acc = [p, p, p, p, 0, 0, 0, 0, 0]
                self._acc = acc
            elif p > acc[1]:
                acc[1] = p
            elif p < acc[2]:
                acc[2] = p
            acc[3] = p
            acc[4] += q
            acc[5] += pq
            acc[6] += 1
            if buys[i]:
                acc[7] += q
                acc[8] += pq
            self.last_price = p
            self.last_ms = ts
            self._last_close = None
        self._minute = minute

    def add_bar(
        self,
        open_ms: int,
        prices: tuple[float, float, float, float],
        volume: float,
        duration_ms: int,
        prev: Decimal | int | None,
    ) -> tuple[int, int] | None:
        """Add the trades of a bar's path (as :meth:`add` of :func:`path_points` would) when
        the whole path lies in one minute, without building it; return its last point (time,
        price in ticks). None (nothing added) when it spans minutes: use :meth:`add`.

        The path of :func:`path_prices` is walked once, inline (this runs for every bar the
        paper fast path keeps aside): its length, sum, extremes and taker-buy share.
        """
        if self._kept is not None:
            self._sum_kept()
        tick, tf = self.tick, self._tick_f
        keys = []
        for value in prices:  # on_tick_fast, inline
            x = value / tf
            fl = math.floor(x)
            frac = x - fl
            if -_NEAR < frac - 0.5 < _NEAR:
                q = on_tick(value, tick)
            else:
                q = fl + 1 if frac > 0.5 else fl
                if q < 1:
                    q = 1
            keys.append(q)
        o, h, lo, c = keys
        if c >= o:
            keys[1], keys[2] = lo, h
        # the path: o, then 3 points between each two keys and the key, repeats dropped
        before: Decimal | int = o if prev is None else prev
        buy = o >= before
        n, total, last = 1, o, o
        buy_count, buy_sum = (1, o) if buy else (0, 0)
        for k in range(3):
            a, b = keys[k], keys[k + 1]
            if a == b:
                continue
            step = b - a
            if -4 < step < 4:  # the points between step one tick at a time: a +- 1 .. b
                size = step if step > 0 else -step
                part = size * a + step * (size + 1) // 2
            else:  # 3 distinct points between (a + step * i / 4, half to even), then b
                # y / 4 half to even is (y + 1 + (y // 4 odd)) // 4 for y > 0
                size, x = 4, 4 * a + step
                y = x + step
                z = y + step
                part = b + (x + 1 + (x >> 2 & 1) >> 2) + (y + 1 + (y >> 2 & 1) >> 2)
                part += z + 1 + (z >> 2 & 1) >> 2
            n += size
            total += part
            buy = step > 0
            if buy:
                buy_count += size
                buy_sum += part
            last = b
        span = duration_ms - 1 if duration_ms > 1 else 1
        end = open_ms + span if n > 1 else open_ms
        minute = open_ms - open_ms % _MIN
        if span < n - 1 or end - end % _MIN != minute:
            return None
        lots = lots_in(volume, self.lot, self._lot_f, self._places)
        close = last
        if lots <= 0:
            return end, close
        share, rest = divmod(lots, n)
        if share:
            high, low = max(keys), min(keys)
            first, vol, count = o, lots, n
            quote = share * total + rest * close
            tb_lots, tb_quote = share * buy_count, share * buy_sum
            if buy:
                tb_lots += rest
                tb_quote += rest * close
        else:
            first = high = low = close
            vol, quote, count = rest, rest * close, 1
            tb_lots, tb_quote = (rest, quote) if buy else (0, 0)
        acc = self._acc
        if minute != self._minute or not acc:
            if acc:
                self._close(self._minute, acc)
            self._acc = [first, high, low, close, vol, quote, count, tb_lots, tb_quote]
            self._minute = minute
        else:
            if high > acc[1]:
                acc[1] = high
            if low < acc[2]:
                acc[2] = low
            acc[3] = close
            acc[4] += vol
            acc[5] += quote
            acc[6] += count
            acc[7] += tb_lots
            acc[8] += tb_quote
        self.last_price, self.last_ms = close, end
        self._last_close = None
        return end, close

    def finish(self) -> tuple[list[RawMinute | KeptMinute], Decimal | None]:
        """The minutes so far (summed, or kept to sum when read) and the last trade's price
        (None: no trade; its time is :attr:`last_ms`)."""
        if self._acc:
            self._close(self._minute, self._acc)
            self._acc, self._minute = [], -1
        if self._kept is not None:
            self.minutes.append(self._kept)
            self._kept = None
        if self._last_close is not None:
            self.last_price = on_tick_fast(self._last_close, self.tick, self._tick_f)
            self._last_close = None
        out, self.minutes = self.minutes, []
        last = None if self.last_price is None else Decimal(self.last_price) * self.tick
        return out, last

    def _close(self, minute: int, acc: list[int]) -> None:
        o, h, lo, c, lots, quote, trades, buy_lots, buy_quote = acc
        raw = RawMinute(
            minute, o, h, lo, c, lots, quote, trades, buy_lots, buy_quote, self.tick, self.lot
        )
        self.minutes.append(raw)
