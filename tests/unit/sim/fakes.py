"""Small fakes for the simulator-core tests: a scripted market source and an event recorder."""

from __future__ import annotations

from decimal import Decimal

from real_trade.sim.market import BookShape, Candle, MarketTick

D = Decimal

MIN = 60_000


class ScriptedMarket:
    """A MarketSource whose ticks are given up front, with flat 1m history before the start.

    History: one candle per minute before ``start`` back to ``history_from`` (closing at
    ``base_price`` plus the minute index modulo 7, so bars differ), ``volume`` 1.
    """

    def __init__(
        self,
        start: int,
        ticks: dict[str, list[MarketTick]],
        *,
        base_price: Decimal = Decimal("30000"),
        history_minutes: int = 0,
        shape: BookShape | None = None,
    ) -> None:
        self.symbols = tuple(ticks)
        self._start = start
        self._ticks = ticks
        self._base = base_price
        self._history_from = start - history_minutes * MIN
        self._shape = shape or BookShape(
            tick_size=Decimal("0.01"),
            half_spread_ticks=1,
            levels=5,
            level_qty=Decimal("0.5"),
            level_step_ticks=1,
        )
        self.history_calls: list[tuple[int, int]] = []

    def start_ms(self) -> int:
        return self._start

    def ticks(self, symbol: str, from_ms: int, to_ms: int) -> list[MarketTick]:
        return [t for t in self._ticks[symbol] if from_ms < t.ts_ms <= to_ms]

    def history(self, symbol: str, end_ms: int, count_hint: int) -> list[Candle]:
        self.history_calls.append((end_ms, count_hint))
        end = min(end_ms, self._start)
        end -= end % MIN
        opens = range(max(end - count_hint * MIN, self._history_from), end, MIN)
        out = []
        for o in opens:
            p = self._base + (o // MIN) % 7
            out.append(Candle(o, p, p + 1, p - 1, p, Decimal(1), p, 3))
        return out

    def reference_price(self, symbol: str, ts_ms: int) -> Decimal:
        past = [t for t in self._ticks[symbol] if t.ts_ms <= ts_ms]
        return past[-1].price if past else self._base

    def book_shape(self, symbol: str) -> BookShape:
        return self._shape


class Recorder:
    """Collects ``(topic, event)`` pairs; use as a bus handler."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def __call__(self, topic: str, event: object) -> None:
        self.events.append((topic, event))

    def of(self, prefix: str) -> list[object]:
        return [e for t, e in self.events if t.startswith(prefix)]


class SteppedMarket(ScriptedMarket):
    """A ScriptedMarket that also tells its price tick and lot step, like the built-in sources."""

    def __init__(
        self,
        start: int,
        ticks: dict[str, list[MarketTick]],
        *,
        tick: Decimal = Decimal("0.01"),
        lot: Decimal = Decimal("0.000001"),
        base_price: Decimal = Decimal("30000"),
        shape: BookShape | None = None,
    ) -> None:
        super().__init__(start, ticks, base_price=base_price, shape=shape)
        self._tick = tick
        self._lot = lot

    def tick_size(self, symbol: str) -> Decimal:
        return self._tick

    def lot_step(self, symbol: str) -> Decimal:
        return self._lot
