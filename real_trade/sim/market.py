"""Market sources: the reference price path that drives the simulator's book and tape.

A :class:`MarketSource` is protocol-free: it knows nothing about HTTP, websockets or the
matching engine. The simulator's core pulls :class:`MarketTick` objects from it with
``ticks(symbol, from_ms, to_ms)``; for each tick the core's liquidity provider re-quotes a
ladder shaped by :class:`BookShape` around ``tick.price`` and a flow account takes
``tick.volume`` on ``tick.taker_side`` with a market order, so klines, the trade tape and the
depth all come from real matches. ``history()`` supplies the closed one-minute candles that
existed before the source starts playing.

Two implementations live beside this module: ``market_synthetic.SyntheticMarket`` (a seeded
geometric random walk) and ``market_replay.CandleReplayMarket`` (real one-minute candles from
CSV files, with a plausible intra-candle path). This module also holds the helpers both share:
rounding to a tick or lot step, default exchange-like steps for a price level, a default book
shape, and :func:`candles_from_ticks`, which rebuilds one-minute candles from ticks.

Conventions: numbers crossing this boundary are :class:`decimal.Decimal`; times are integer
milliseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Protocol, runtime_checkable

from real_trade.sim.types import Side
from real_trade.utils.frozen import quick_frozen_init

__all__ = [
    "MINUTE_MS",
    "BookShape",
    "Candle",
    "CandleHistorySource",
    "MarketSource",
    "MarketTick",
    "Side",
    "UnknownSymbolError",
    "candles_from_ticks",
    "default_book_shape",
    "default_lot_step",
    "default_tick_size",
    "floor_minute",
    "round_to_step",
]

MINUTE_MS = 60_000
"""Milliseconds in one minute (the candle interval of :meth:`MarketSource.history`)."""


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class MarketTick:
    """One point of a symbol's reference price path.

    ``price`` is the reference "last trade" price at ``ts_ms``; ``volume`` is the base volume
    the market trades at this point (the tape), taken by a taker on ``taker_side``. A tick with
    ``volume == 0`` is a quote update only (the reference price moves, nothing trades): the
    replay source emits one for a candle whose file volume is zero.
    """

    ts_ms: int
    price: Decimal
    volume: Decimal
    taker_side: Side


@dataclass(frozen=True, slots=True)
class Candle:
    """A closed one-minute OHLCV candle, opened at ``open_ms`` (a multiple of one minute).

    ``quote_volume`` is the sum of price times volume over the candle's trades and ``trades``
    their count, as in Binance klines.
    """

    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    trades: int


@dataclass(frozen=True, slots=True)
class BookShape:
    """How the liquidity provider quotes a symbol's ladder around the reference price.

    Prices are on ``tick_size``; the best bid and ask sit ``half_spread_ticks`` ticks below and
    above the reference price; each side has ``levels`` levels ``level_step_ticks`` ticks apart,
    each holding ``level_qty`` of the base asset.
    """

    tick_size: Decimal
    half_spread_ticks: int
    levels: int
    level_qty: Decimal
    level_step_ticks: int


@runtime_checkable
class MarketSource(Protocol):
    """What the simulator's core needs from a market: ticks, pre-start history and book shapes.

    ``symbols`` are exchange-style ids such as ``"BTCUSDT"``. ``ticks(symbol, from_ms, to_ms)``
    returns the ticks with ``from_ms < ts_ms <= to_ms`` in time order, and the same ticks for
    the same window however the caller slices time. ``history(symbol, end_ms, count_hint)``
    returns at most ``count_hint`` closed one-minute candles ending before ``end_ms`` (the most
    recent ones), ascending. ``reference_price`` is the price of the path at ``ts_ms`` and
    ``book_shape`` the ladder the liquidity provider quotes.
    """

    symbols: tuple[str, ...]

    def start_ms(self) -> int:
        """Return the first instant (ms) the source plays from."""
        ...

    def ticks(self, symbol: str, from_ms: int, to_ms: int) -> list[MarketTick]:
        """Return the ticks with ``from_ms < ts_ms <= to_ms``, ordered and deterministic."""
        ...

    def history(self, symbol: str, end_ms: int, count_hint: int) -> list[Candle]:
        """Return at most ``count_hint`` closed 1m candles before ``end_ms``, ascending."""
        ...

    def reference_price(self, symbol: str, ts_ms: int) -> Decimal:
        """Return the reference price of ``symbol`` at ``ts_ms``."""
        ...

    def book_shape(self, symbol: str) -> BookShape:
        """Return the ladder shape the liquidity provider quotes for ``symbol``."""
        ...


@runtime_checkable
class CandleHistorySource(Protocol):
    """A market that also serves its pre-start candles of any interval (deep history).

    ``candles(symbol, interval, first_open, last_open)`` returns the candles of a Binance
    interval opening in ``[first_open, last_open]`` before :meth:`MarketSource.start_ms` (the
    candle holding the start aggregates only its pre-start part), from ``first_ms()`` on.
    """

    def first_ms(self) -> int:
        """Return the instant (ms) the candle history begins."""
        ...

    def candles(self, symbol: str, interval: str, first_open: int, last_open: int) -> list[Candle]:
        """Return the pre-start candles of ``interval`` opening in ``[first_open, last_open]``."""
        ...


class UnknownSymbolError(KeyError, ValueError):
    """Raised when a market source is asked about a symbol it does not serve.

    It is both a ``KeyError`` (a failed lookup) and a ``ValueError`` (bad input), and its
    message names the symbol and the symbols the source knows.
    """

    def __init__(self, symbol: str, known: Iterable[str]) -> None:
        """Build the error for ``symbol`` given the ``known`` symbols of the source."""
        self.symbol = symbol
        self.known = tuple(known)
        super().__init__(f"unknown symbol {symbol!r}; this market serves {list(self.known)}")

    def __str__(self) -> str:
        """Return the plain message (``KeyError`` would otherwise quote it)."""
        return str(self.args[0])


def floor_minute(ts_ms: int) -> int:
    """Return ``ts_ms`` rounded down to the start of its UTC minute."""
    return ts_ms - ts_ms % MINUTE_MS


def round_to_step(value: Decimal | float | int, step: Decimal, *, floor: bool = False) -> Decimal:
    """Round ``value`` to a multiple of ``step`` (half-even, or down when ``floor``).

    The result carries the exponent of ``step`` (``round_to_step(1.234, Decimal("0.01"))`` is
    ``Decimal("1.23")``), so it prints the way an exchange would send it.
    """
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    if isinstance(value, Decimal):
        dec = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"value must be finite, got {value}")
        dec = Decimal(repr(value))
    else:
        dec = Decimal(value)
    units = (dec / step).to_integral_value(rounding=ROUND_FLOOR if floor else ROUND_HALF_EVEN)
    return (units * step).quantize(step)


def default_tick_size(price: Decimal | float) -> Decimal:
    """Return an exchange-like price tick for an instrument trading around ``price``.

    Binance-style: 0.01 for prices of 100 and above, finer below (five significant digits of
    resolution, e.g. 0.0001 at 1.5 and 1E-7 at 0.002).
    """
    p = float(price)
    if not math.isfinite(p) or p <= 0:
        raise ValueError(f"price must be positive and finite, got {price}")
    exponent = min(-2, math.floor(math.log10(p)) - 4)
    return Decimal(1).scaleb(exponent)


def default_lot_step(price: Decimal | float) -> Decimal:
    """Return an exchange-like quantity step for an instrument trading around ``price``.

    About a tenth of a quote-currency unit per step, capped at 1: 0.00001 for BTC at 60,000,
    0.0001 for ETH at 3,000, 0.001 for BNB at 600 or anything at 100 to 999, 1 below 1.
    """
    p = float(price)
    if not math.isfinite(p) or p <= 0:
        raise ValueError(f"price must be positive and finite, got {price}")
    exponent = min(0, -(math.floor(math.log10(p)) + 1))
    return Decimal(1).scaleb(exponent)


def default_book_shape(
    price: Decimal | float,
    tick_size: Decimal,
    lot_step: Decimal,
    *,
    level_notional: float = 20_000.0,
    levels: int = 15,
    half_spread_ticks: int = 1,
    depth_fraction: float = 0.0003,
) -> BookShape:
    """Return a realistic ladder for an instrument trading around ``price``.

    Each level holds about ``level_notional`` of the quote currency (0.33 BTC at 60,000, so a
    0.1-1 BTC market order walks a level or two); ``levels`` levels per side span about
    ``depth_fraction`` of the price; the spread is ``2 * half_spread_ticks`` ticks.
    """
    p = float(price)
    if not math.isfinite(p) or p <= 0:
        raise ValueError(f"price must be positive and finite, got {price}")
    qty = max(round_to_step(level_notional / p, lot_step), lot_step)
    step_ticks = max(1, round(depth_fraction * p / (levels * float(tick_size))))
    return BookShape(
        tick_size=tick_size,
        half_spread_ticks=half_spread_ticks,
        levels=levels,
        level_qty=qty,
        level_step_ticks=step_ticks,
    )


def candles_from_ticks(ticks: Iterable[MarketTick]) -> list[Candle]:
    """Aggregate ticks (in time order) into one-minute candles, ascending.

    Every tick's price counts toward open, high, low and close (a zero-volume tick is a quote
    that moved the reference price); ``volume`` and ``quote_volume`` sum the ticks' volume and
    price times volume exactly; ``trades`` counts the ticks with positive volume. Minutes
    without ticks produce no candle.
    """
    out: list[Candle] = []
    cur_open: int | None = None
    o = h = low = c = vol = qvol = Decimal(0)
    trades = 0
    for t in ticks:
        minute = floor_minute(t.ts_ms)
        if minute != cur_open:
            if cur_open is not None:
                if minute < cur_open:
                    raise ValueError(f"ticks out of order at ts_ms={t.ts_ms}")
                out.append(Candle(cur_open, o, h, low, c, vol, qvol, trades))
            cur_open = minute
            o = h = low = t.price
            vol = qvol = Decimal(0)
            trades = 0
        if t.price > h:
            h = t.price
        if t.price < low:
            low = t.price
        c = t.price
        if t.volume:
            vol += t.volume
            qvol += t.price * t.volume
            trades += 1
    if cur_open is not None:
        out.append(Candle(cur_open, o, h, low, c, vol, qvol, trades))
    return out
