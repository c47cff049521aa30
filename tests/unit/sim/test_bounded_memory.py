"""The simulator stays bounded and current however much market time goes through it.

Driven with a stepped clock (no wall-clock timing): large stretches of market time are pumped
through the core and the structures that grow with it (tape, kline series, the market's caches)
are checked against their caps; the pump's own windows and its wall budget are checked too.
"""

from __future__ import annotations

from real_trade.sim import SimClock, SimExchange, SyntheticMarket
from real_trade.sim.core import ExchangeCore
from real_trade.sim.market import MarketTick
from real_trade.sim.server import synthetic_tick_ms
from real_trade.sim.symbol_market import PUMP_WINDOW_TICKS
from real_trade.sim.types import OrderType, Side

START = 1_750_000_000_000 - 1_750_000_000_000 % 60_000
DAY_S = 86_400


class CountingMarket(SyntheticMarket):
    """A synthetic market that remembers the largest batch of ticks it was asked for."""

    largest = 0

    def ticks(self, symbol: str, from_ms: int, to_ms: int) -> list[MarketTick]:
        out = super().ticks(symbol, from_ms, to_ms)
        self.largest = max(self.largest, len(out))
        return out


def test_a_long_stretch_of_market_time_is_played_in_bounded_windows() -> None:
    market = CountingMarket(("BTCUSDT",), seed=2, start_ms=START, tick_ms=50, history_days=0)
    clock = SimClock(start_ms=START, stepped=True)
    core = ExchangeCore(clock, market)
    clock.advance(10 * 60)  # 12,000 ticks behind
    assert core.pump() == 12_000
    assert market.largest <= PUMP_WINDOW_TICKS, "never the whole stretch in memory at once"
    st = core._states["BTCUSDT"]
    assert st.pumped_ms == clock.now_ms() and st.skipped_ms == 0


def test_what_grows_with_market_time_stays_under_its_caps() -> None:
    market = SyntheticMarket(("BTCUSDT",), seed=3, start_ms=START, tick_ms=30_000, history_days=1)
    clock = SimClock(start_ms=START, stepped=True)
    core = ExchangeCore(clock, market, max_tape_trades=1_000)
    acct = core.create_account({"USDT": 1_000_000})
    st = core._states["BTCUSDT"]
    walk = market._walks["BTCUSDT"]
    for day in range(4):
        clock.advance(DAY_S)
        core.pump()
        core.place_order(acct, "BTCUSDT", Side.BUY, OrderType.MARKET, quantity="0.001")
        core.klines("BTCUSDT", "1d", limit=1000)
        core.klines("BTCUSDT", "1s", start_ms=START + day * DAY_S * 1000)
        core.ticker_24h("BTCUSDT")
    assert st.pumped_ms == clock.now_ms()
    assert len(st.tape.trades) <= 1_200 and len(st.tape.aggs) <= 1_200
    assert len(st.klines._m1.bars) <= 4 * 1_440 + 1_500, "live minutes, some history"
    assert len(st.klines._s1.bars) <= 21_600 * 1.1, "six market hours of 1s bars"
    assert len(walk._cache) <= 64
    hist = market._history("BTCUSDT")
    assert len(hist._days) <= 48 and len(hist._summaries) <= 1_300
    # what is kept is still served: the last 1m bars and the latest trades
    assert core.klines("BTCUSDT", "1m", limit=5)[-1].open_ms == clock.now_ms() // 60_000 * 60_000
    assert core.recent_trades("BTCUSDT", 5)[-1].time_ms <= clock.now_ms()


def test_a_pump_over_budget_skips_ahead_and_the_exchange_stays_current() -> None:
    market = SyntheticMarket(("BTCUSDT",), seed=4, start_ms=START, tick_ms=250, history_days=0)
    clock = SimClock(start_ms=START, stepped=True)
    core = ExchangeCore(clock, market, pump_budget_s=0.0)  # no time to play: one window only
    clock.advance(DAY_S)  # 345,600 ticks behind
    played = core.pump()
    st = core._states["BTCUSDT"]
    assert 0 < played <= PUMP_WINDOW_TICKS
    assert st.pumped_ms == clock.now_ms()
    assert st.skipped_ms > 0.9 * DAY_S * 1000
    # it answers for now: the latest 1m kline is the current minute, the book is quoted
    assert core.klines("BTCUSDT", "1m", limit=1)[-1].open_ms == clock.now_ms() // 60_000 * 60_000
    ticker = core.book_ticker("BTCUSDT")
    assert ticker.bid_price is not None and ticker.ask_price is not None
    clock.advance(60)  # back within budget: the next minute is played in full
    assert core.pump() == 240 and st.skipped_ms < DAY_S * 1000


def test_a_synthetic_simulator_spaces_its_ticks_for_its_speed() -> None:
    assert synthetic_tick_ms(1.0) == 250 and synthetic_tick_ms(60.0) == 300
    assert synthetic_tick_ms(3600.0) == 18_000 and synthetic_tick_ms(1e6) == 60_000
    assert synthetic_tick_ms(3600.0, stepped=True) == 250
    sim = SimExchange(speed=3600.0, start_ms=START)
    assert isinstance(sim.market, SyntheticMarket) and sim.market.tick_ms == 18_000
    assert sim.core._pump_budget_s is not None
