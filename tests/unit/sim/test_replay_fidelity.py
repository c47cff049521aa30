"""Replay fidelity: the core's tape prints at the market source's prices with its exact volumes.

The liquidity provider quotes the side the tick's taker hits exactly at ``tick.price`` and the
flow's order is not rounded to the user LOT_SIZE step, so 1m klines rebuilt from the core's own
matches equal the source's candles; user orders at better prices still fill first.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from real_trade.bus import EventBus
from real_trade.sim.clock import SimClock
from real_trade.sim.core import ExchangeCore
from real_trade.sim.market import BookShape, MarketTick
from real_trade.sim.market import Side as TakerSide
from real_trade.sim.market_replay import CandleReplayMarket
from real_trade.sim.types import FilterError, OrderStatus, OrderType, Side, TimeInForce, Trade
from tests.unit.sim.fakes import Recorder, ScriptedMarket, SteppedMarket

D = Decimal
START = 1_709_553_600_000  # 2024-03-04 12:00 UTC
FILE = "binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv"
SHAPE = BookShape(
    tick_size=D("0.01"), half_spread_ticks=1, levels=5, level_qty=D("0.5"), level_step_ticks=1
)


def _data_dir() -> Path | None:
    env = os.environ.get("RT_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[3].parent / "shared" / "data")
    return next((c for c in candidates if (c / FILE).is_file()), None)


DATA = _data_dir()


def _core(market: ScriptedMarket) -> tuple[ExchangeCore, SimClock, Recorder]:
    clock = SimClock(start_ms=START, stepped=True)
    bus = EventBus(synchronous=True)
    rec = Recorder()
    bus.subscribe("**", rec)
    return ExchangeCore(clock, market, bus), clock, rec


def _trades(rec: Recorder) -> list[Trade]:
    return [e for e in rec.of("sim.trade.") if isinstance(e, Trade)]


@pytest.mark.skipif(
    DATA is None,
    reason=f"{FILE} not found: set RT_DATA_DIR or put the real candle files in ../shared/data",
)
def test_replaying_the_real_file_reproduces_its_one_minute_candles() -> None:
    assert DATA is not None
    # from minute 2600 on, so the window also holds zero-volume candles (2713, 2770, ...)
    market = CandleReplayMarket(DATA / FILE, history_bars=2600)
    clock = SimClock(start_ms=market.start_ms(), stepped=True)
    core = ExchangeCore(clock, market)
    for _ in range(10):  # 300 minutes, played 30 at a time
        clock.advance(1800)
        core.pump()
    played = core.klines("BTCUSDT", "1m", start_ms=market.start_ms(), limit=1000)
    closed = [(k.open_ms, k.open, k.high, k.low, k.close, k.volume) for k in played if k.is_closed]
    candles = market.candle_file("BTCUSDT").candles[2600:2900]
    assert any(c.volume == 0 for c in candles)
    assert closed == [(c.open_ms, c.open, c.high, c.low, c.close, c.volume) for c in candles]


def test_the_tape_prints_each_tick_at_its_price_with_its_exact_volume() -> None:
    sides: list[TakerSide] = [Side.BUY, Side.SELL, Side.SELL, Side.BUY, Side.BUY, Side.SELL]
    prices = ["30000.05", "29999.50", "29998.00", "30001.27", "30001.27", "29990.10"]
    volumes = ["0.860795", "2.345678", "0.000001", "0.5", "1.000001", "0.123457"]
    ticks = [
        MarketTick(START + (i + 1) * 1000, D(p), D(v), s)
        for i, (s, p, v) in enumerate(zip(sides, prices, volumes, strict=True))
    ]
    core, clock, rec = _core(SteppedMarket(START, {"BTCUSDT": ticks}, shape=SHAPE))
    clock.advance(10)
    assert core.pump() == len(ticks)
    trades = _trades(rec)
    for tick in ticks:
        mine = [t for t in trades if t.time_ms == tick.ts_ms]
        assert {t.price for t in mine} == {tick.price}, tick
        assert sum(t.qty for t in mine) == tick.volume, tick
        assert all(t.is_buyer_maker is (tick.taker_side == Side.SELL) for t in mine), tick
    (kline,) = core.klines("BTCUSDT", "1m", start_ms=START)
    assert (kline.open, kline.high, kline.low, kline.close) == (
        D("30000.05"),
        D("30001.27"),
        D("29990.10"),
        D("29990.10"),
    )
    assert kline.volume == sum(D(v) for v in volumes)


def test_without_a_lot_step_the_flow_keeps_the_base_asset_precision() -> None:
    ticks = [MarketTick(START + 1000, D("30000"), D("0.123456789"), Side.BUY)]
    core, clock, rec = _core(ScriptedMarket(START, {"BTCUSDT": ticks}, shape=SHAPE))
    clock.advance(2)
    core.pump()
    (trade,) = _trades(rec)
    assert (trade.price, trade.qty) == (D("30000"), D("0.12345678"))  # not the 1e-5 LOT_SIZE


@pytest.mark.parametrize(
    ("taker", "user_side", "user_price", "tick_price"),
    [(Side.SELL, Side.BUY, "29990", "29980"), (Side.BUY, Side.SELL, "30010", "30020")],
)
def test_a_user_order_better_than_the_tick_fills_before_the_flow_reaches_the_provider(
    taker: TakerSide, user_side: Side, user_price: str, tick_price: str
) -> None:
    ticks = [MarketTick(START + 1000, D(tick_price), D("0.3"), taker)]
    core, clock, rec = _core(ScriptedMarket(START, {"BTCUSDT": ticks}, shape=SHAPE))
    user = core.create_account({"USDT": "10000", "BTC": "1"})
    resting = core.place_order(
        user,
        "BTCUSDT",
        user_side,
        OrderType.LIMIT,
        quantity="0.1",
        price=user_price,
        time_in_force=TimeInForce.GTC,
    )
    assert resting.status is OrderStatus.NEW
    rec.events.clear()
    clock.advance(2)
    core.pump()
    first, second = _trades(rec)
    # one taker (the flow's market order) met the user first, then the provider at the tick
    taker_of = (lambda t: t.seller_order_id) if taker == Side.SELL else (lambda t: t.buyer_order_id)
    assert taker_of(first) == taker_of(second)
    assert (first.price, first.qty) == (D(user_price), D("0.1"))
    assert (second.price, second.qty) == (D(tick_price), D("0.2"))
    filled = core.get_order(user, "BTCUSDT", order_id=resting.order_id)
    assert filled.status is OrderStatus.FILLED
    assert [(f.price, f.is_maker) for f in filled.fills] == [(D(user_price), True)]


def test_rules_derived_for_a_market_symbol_use_the_sources_tick_size() -> None:
    ticks = [MarketTick(START + 1000, D("21.50"), D("3"), Side.BUY)]
    shape = BookShape(
        tick_size=D("0.05"), half_spread_ticks=1, levels=3, level_qty=D("10"), level_step_ticks=1
    )
    market = SteppedMarket(
        START, {"SOLUSDT": ticks}, tick=D("0.05"), lot=D("0.01"), base_price=D("21.50"), shape=shape
    )
    core, _, _ = _core(market)
    rules = core.rules_for("SOLUSDT")
    assert rules.tick_size == D("0.05")  # the default for ~21.5 would be 0.001
    user = core.create_account({"USDT": "1000"})
    with pytest.raises(FilterError, match="price filter"):
        core.place_order(
            user,
            "SOLUSDT",
            Side.BUY,
            OrderType.LIMIT,
            quantity="1",
            price="21.02",
            time_in_force=TimeInForce.GTC,
        )
    ok = core.place_order(
        user,
        "SOLUSDT",
        Side.BUY,
        OrderType.LIMIT,
        quantity="1",
        price="21.05",
        time_in_force=TimeInForce.GTC,
    )
    assert ok.status is OrderStatus.NEW
