"""The paper broker's quiet cycle (a bar no order works on) decides as the full cycle does.

On most bars of a backtest nothing works: :meth:`TradingSession.pass_quiet_bars` keeps the bar
aside and answers the settlement without :meth:`TradingSession.settle_positions` when it can
tell (flat and no report since; holding, no report since and the kept bar shows the price a
tick or more above every holding's dust floor: :meth:`PaperExecution.above`). The same
backtest runs three ways: as it is, with every bar through :meth:`TradingSession.advance` (the
cycle that books reports and settles every time), and with :meth:`PaperExecution.above` never
telling (the price read exactly each bar); every notification, position, cash, value, dust
report, last price and the paper market's klines must agree. The synthetic prices walk back
and forth across the holding's dust floor in fractions of a tick, with bars that trade less
than a lot, so the holding turns to dust and back.
"""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal
from typing import Any

import backtrader as bt
import pandas as pd
import pytest

from real_trade.brokers import BinanceBroker
from real_trade.bus import EventBus
from real_trade.execution import PaperBar, PaperExecution
from real_trade.execution.events import FillReport
from real_trade.execution.orders import OrderRequest
from real_trade.session.session import TradingSession
from real_trade.sim.rules import DEFAULT_RULES
from real_trade.vocabulary import OrderKind, OrderSide

pytestmark = pytest.mark.integration

SYMBOL = "BTC/USDT"
T0 = 1_700_000_000_000
MINUTE = 60_000
# 0.01 BTC bought leaves 0.00999 after the fee (paid in BTC): its dust floor is then 19,999.5
MIN_NOTIONAL = 19_999.5 * 0.00999 / (1 + 1e-6)
RULES = {
    "BTCUSDT": dataclasses.replace(
        DEFAULT_RULES["BTCUSDT"], min_notional=Decimal(repr(round(MIN_NOTIONAL, 6)))
    )
}


def _frame(bars: int, seed: int) -> pd.DataFrame:
    """Minutes whose closes walk around 20,000 in steps of a few thousandths of a tick to a few
    ticks (most closes off the tick), some bars trading nothing or less than a lot."""
    rng = random.Random(seed)
    rows, price = [], 20_000.3
    for i in range(bars):
        step = rng.choice([0.0013, 0.0037, 0.006, 0.011, 0.023, 0.07, 0.4])
        price += step * rng.choice([-1, 1]) - (price - 19_999.6) * 0.01  # pulled to the floor
        opening = round(price + rng.uniform(-0.05, 0.05), 3)
        close = round(price, 4)
        volume = rng.choice([0.0, 0.000004, 0.00001, 0.00002, 0.4, 1.7, 3.0])
        rows.append(
            {
                "open_time": pd.Timestamp(T0 + i * MINUTE, unit="ms"),
                "open": opening,
                "high": max(opening, close) + rng.uniform(0, 0.3),
                "low": min(opening, close) - rng.uniform(0, 0.3),
                "close": close,
                "volume": volume,
            }
        )
    return pd.DataFrame(rows).set_index("open_time")


class Recorder(bt.Strategy):  # type: ignore[misc]
    """Buys 0.01 BTC (its dust floor near the prices), holds, rests a limit far below for a
    while (cycles with an order working), sells what it holds, buys again; records every bar."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []
        self.notes: list[tuple[Any, ...]] = []
        self.resting: Any = None
        self.refs: dict[int, int] = {}  # order refs count on across runs: numbered here

    def notify_order(self, order: Any) -> None:
        self.notes.append(
            (
                len(self),
                self.refs.setdefault(order.ref, len(self.refs)),
                order.getstatusname(),
                round(order.executed.size, 10),
                round(order.executed.price, 8),
                round(order.executed.comm, 12),
                order.executed.dt,
            )
        )

    def next(self) -> None:
        broker = self.broker
        paper = broker.session.paper
        self.rows.append(
            (
                len(self),
                self.position.size,
                self.position.price,
                broker.getcash(),
                broker.getvalue(),
                dict(broker.session.positions.dust),
                None if paper is None else paper.last_price(SYMBOL),
            )
        )
        step = len(self)
        if step in (5, 330):
            self.buy(size=0.01)
        elif step == 120:
            self.resting = self.buy(size=0.02, exectype=bt.Order.Limit, price=15_000.0)
        elif step == 160:
            self.cancel(self.resting)
        elif step == 260 and self.position.size:
            self.sell(size=self.position.size)


def _run(frame: pd.DataFrame) -> tuple[list[Any], list[Any], list[Any], Any]:
    events: list[tuple[str, Any]] = []
    bus = EventBus(synchronous=True)
    bus.subscribe("position.**", lambda topic, event: events.append((topic, event)))
    cerebro = bt.Cerebro(stdstats=False, runonce=False)
    broker = BinanceBroker(
        None, paper_trading=True, initial_cash=10_000.0, commission=0.001, rules=RULES, bus=bus
    )
    cerebro.setbroker(broker)
    data = bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes, compression=1)
    cerebro.adddata(data, name=SYMBOL)
    cerebro.addstrategy(Recorder)
    (strat,) = cerebro.run()
    paper = broker.session.paper
    assert paper is not None and paper.core is not None
    end = (
        paper.now_ms(),
        paper.core.klines("BTCUSDT", "1m", limit=1_000),
        paper.core.avg_price("BTCUSDT"),
        paper.core.last_price("BTCUSDT"),
        broker.getvalue(),
    )
    return strat.rows, strat.notes, events, end


@pytest.mark.parametrize("seed", [1, 2])
def test_quiet_cycles_decide_as_full_cycles(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _frame(420, seed)
    quiet = TradingSession.pass_quiet_bars
    answered = {"settled": 0, "shortcut": 0, "above": 0}

    def counted(session: TradingSession, bars: Any) -> Any:
        settle = TradingSession.settle_positions
        calls = []
        monkeypatch.setattr(
            TradingSession, "settle_positions", lambda s, *a: calls.append(1) or settle(s, *a)
        )
        try:
            out = quiet(session, bars)
        finally:
            monkeypatch.setattr(TradingSession, "settle_positions", settle)
        if out is not None:
            answered["settled" if calls else "shortcut"] += 1
        return out

    above = PaperExecution.above

    def told(paper: PaperExecution, symbol: str, floor: float) -> bool:
        out = above(paper, symbol, floor)
        answered["above"] += out
        return out

    with monkeypatch.context() as m:
        m.setattr(TradingSession, "pass_quiet_bars", counted)
        m.setattr(PaperExecution, "above", told)
        fast = _run(frame)
    with monkeypatch.context() as m:  # every bar through advance(): reports, full settlement
        m.setattr(TradingSession, "pass_quiet_bars", lambda session, bars: None)
        full = _run(frame)
    with monkeypatch.context() as m:  # the floors checked on the exact price every bar
        m.setattr(PaperExecution, "above", lambda paper, symbol, floor: False)
        exact = _run(frame)

    rows = [run[0] for run in (fast, full, exact)]
    for i, (a, b, c) in enumerate(zip(*rows, strict=True)):
        assert a == b == c, f"bar {i}: fast {a}, full {b}, exact {c}"
    for k, name in enumerate(("notifications", "dust reports", "klines, prices and value")):
        assert fast[k + 1] == full[k + 1] == exact[k + 1], name
    # the run met what the quiet cycle decides: dust both ways, shortcuts and settlements
    dust_bars = [row[0] for row in fast[0] if row[5]]
    held_bars = [row[0] for row in fast[0] if row[1]]
    assert dust_bars and held_bars and max(held_bars) > min(dust_bars), "dust and back"
    assert len(fast[2]) >= 2, "dust reported more than once (it came back)"
    assert sum(1 for n in fast[1] if n[2] == "Completed") >= 2
    assert answered["shortcut"] > 100 and answered["settled"] > 20 and answered["above"] > 50
    assert fast[3][1], "the paper market recorded klines"


def test_above_only_tells_a_price_above_the_floor() -> None:
    """``above`` says True only when ``last_price`` is above the floor: it tells most bars
    that trade and close a tick or more above it, none that trade less than a lot, and
    nothing about a symbol whose bar is not the last kept (two symbols kept together)."""
    rng = random.Random(7)
    eth = "ETH/USDT"
    exe = PaperExecution([eth, SYMBOL])
    first = {
        eth: PaperBar(T0, 2_000.0, 2_001.0, 1_999.0, 2_000.0, 1.0),
        SYMBOL: PaperBar(T0, 20_000.0, 20_001.0, 19_999.0, 20_000.0, 1.0),
    }
    exe.play(first, lambda s, p: None)
    told = 0
    for i in range(1, 3_000):
        bars, closes = {}, {}
        for symbol, level, lot in ((eth, 2_000, 0.0001), (SYMBOL, 20_000, 0.00001)):
            close = round(level + rng.uniform(-0.05, 0.05), rng.choice([2, 3, 4, 6]))
            volume = rng.choice([0.0, lot * 0.4, lot, lot * 1.01, 0.5])
            bars[symbol] = PaperBar(
                T0 + i * MINUTE, close, close + 0.02, close - 0.02, close, volume
            )
            closes[symbol] = close
        assert exe.keep_aside(bars)  # ETH's bar first: BTC's is the last kept
        for symbol in (eth, SYMBOL):
            floor = closes[symbol] + rng.uniform(-0.03, 0.03)
            price = exe.last_price(symbol)
            if exe.above(symbol, floor):
                told += symbol == SYMBOL
                assert symbol == SYMBOL, "only the last kept bar's symbol is told"
                assert price is not None and price > floor, (bars[symbol], floor, price)
                assert bars[symbol].volume > 0.00001, "a bar of less than a lot tells nothing"
            elif symbol == SYMBOL and bars[symbol].volume == 0.5 and closes[symbol] >= floor + 0.01:
                raise AssertionError(f"{bars[symbol]} trades a tick above {floor}: it tells")
        if i % 500 == 0:
            exe.now_ms()  # the kept bars are recorded: none kept, nothing to tell
            assert not exe.above(SYMBOL, 0.0)
    assert told > 300


def test_last_price_after_catch_up_is_not_a_kept_bars_price() -> None:
    """A symbol's price cached from kept bars goes with them when they are recorded: after a
    catch-up, a bar of one symbol played in full (an order fills in it) and a cycle keeping
    only the other's bar, ``last_price`` of the first is the market's, not the close of its
    last kept bar."""
    eth = "ETH/USDT"
    exe = PaperExecution([eth, SYMBOL])
    bars = {
        eth: PaperBar(T0, 2_000.0, 2_001.0, 1_999.0, 2_000.0, 1.0),
        SYMBOL: PaperBar(T0, 20_000.0, 20_001.0, 19_999.0, 20_000.0, 1.0),
    }
    exe.play(bars, lambda s, p: None)
    kept = {s: bar._replace(open_ms=T0 + MINUTE, close=bar.close + 0.5) for s, bar in bars.items()}
    assert exe.keep_aside(kept)
    assert exe.last_price(SYMBOL) == 20_000.5  # cached from the kept bar
    # a market order waits for BTC's next bar: the kept bars are recorded, BTC's bar played
    buy = OrderRequest(1, SYMBOL, OrderSide.BUY, OrderKind.MARKET, 0.01, client_order_id="b1")
    exe.place(buy)
    moved = bars[SYMBOL]._replace(open_ms=T0 + 2 * MINUTE, high=21_100.0, close=21_000.0)
    exe.play({SYMBOL: moved}, lambda s, p: None)
    assert any(isinstance(r, FillReport) for r in exe.drain())
    assert exe.core is not None
    market = exe.core.last_price("BTCUSDT")
    assert market is not None and market != Decimal("20000.5")
    later = bars[eth]._replace(open_ms=T0 + 3 * MINUTE, close=2_000.7)
    assert exe.keep_aside({eth: later})  # only ETH's bar kept: BTC's price is the market's
    assert exe.last_price(eth) == 2_000.7
    assert exe.last_price(SYMBOL) == float(market)
