"""The paper fast path fills exactly like the full path, on real minutes.

The fast path (``PaperExecution(fast_path=True)``, the default) keeps aside the bars no order
can meet and records their trades without the liquidity ladder; the full path
(``RT_PAPER_FULL_PATH=1``) plays every tick through the ladder and the matching engine. The same
strategies run over the same real one-minute candles (``$RT_DATA_DIR``) through both, and every
order notification must agree: status, side, size, price, fee and bar. Then the simulator's own
records after skipped bars: the 1m klines, the average price and the last price.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import backtrader as bt
import pandas as pd
import pytest

from real_trade.brokers import BinanceBroker
from real_trade.execution import PaperBar, PaperExecution
from real_trade.execution.events import FillReport, OrderReport, SubmitFailed
from real_trade.execution.orders import OrderRequest
from real_trade.sim.core import ExchangeCore
from real_trade.sim.rules import DEFAULT_RULES
from real_trade.strategies import SmaCross
from real_trade.vocabulary import OrderKind, OrderSide
from tests.integration.live.parity_support import data_file

pytestmark = pytest.mark.integration

FILE = "binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv"
SYMBOL = "BTC/USDT"


def _frame(rows: int, skip: int = 0) -> pd.DataFrame:
    path = data_file(FILE)
    if path is None:
        pytest.skip(f"{FILE} not found: set RT_DATA_DIR or put it in ../shared/data")
    frame = pd.read_csv(path, skiprows=range(1, skip + 1), nrows=rows)
    frame["open_time"] = pd.to_datetime(frame["open_time"], utc=True).dt.tz_localize(None)
    return frame.set_index("open_time")


class Script(bt.Strategy):
    """A cycle of 60 bars: market buy, limit sell of what is held (cancelled when it has not
    filled), limit buy below (cancelled later), a stop sell under the price, market close."""

    def __init__(self) -> None:
        self.notes: list[tuple[Any, ...]] = []
        self.open: list[Any] = []

    def notify_order(self, order: Any) -> None:
        if order.status in (order.Submitted, order.Accepted):
            return
        self.notes.append(
            (
                len(self),
                "buy" if order.isbuy() else "sell",
                order.getordername(),
                order.getstatusname(),
                round(order.executed.size, 8),
                round(order.executed.price, 8),
                round(order.executed.comm, 10),
                bt.num2date(order.executed.dt) if order.executed.dt else None,
            )
        )

    def _cancel_open(self) -> None:
        for order in self.open:
            if order.alive():
                self.cancel(order)
        self.open = []

    def next(self) -> None:
        step, close = len(self) % 60, self.data.close[0]
        held = self.position.size
        if step == 1:
            self.buy(size=0.01)
        elif step == 3 and held > 0:
            self.open.append(self.sell(size=held, exectype=bt.Order.Limit, price=close * 1.0008))
        elif step == 20:
            self._cancel_open()
        elif step == 22:
            self.open.append(self.buy(size=0.02, exectype=bt.Order.Limit, price=close * 0.999))
            self.open.append(self.buy(size=0.01, exectype=bt.Order.Limit, price=close * 0.95))
        elif step == 40:
            self._cancel_open()
        elif step == 41 and held > 0:
            self.open.append(self.sell(size=held, exectype=bt.Order.Stop, price=close * 0.9993))
        elif step == 55:
            self._cancel_open()
        elif step == 57 and held > 0:
            self.sell(size=held)


def _run(strategy: type, frame: pd.DataFrame, full: bool, monkeypatch: Any, **kw: Any) -> Any:
    if full:
        monkeypatch.setenv("RT_PAPER_FULL_PATH", "1")
    else:
        monkeypatch.delenv("RT_PAPER_FULL_PATH", raising=False)
    cerebro = bt.Cerebro(stdstats=False, runonce=False)
    cerebro.setbroker(
        BinanceBroker(None, paper_trading=True, initial_cash=10_000.0, commission=0.001)
    )
    data = bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes, compression=1)
    cerebro.adddata(data, name=SYMBOL)
    cerebro.addstrategy(strategy, **kw)
    (strat,) = cerebro.run()
    return strat, cerebro.broker.getvalue()


def test_scripted_orders_fill_alike_on_both_paths(monkeypatch: Any) -> None:
    frame = _frame(1_500)
    fast, fast_value = _run(Script, frame, False, monkeypatch)
    full, full_value = _run(Script, frame, True, monkeypatch)
    kinds = {(n[2], n[3]) for n in full.notes}
    # the script met every case: market, limit and stop fills, and cancels
    for case in [("Market", "Completed"), ("Limit", "Completed"), ("Stop", "Completed")]:
        assert case in kinds, (case, kinds)
    assert ("Limit", "Canceled") in kinds and ("Stop", "Canceled") in kinds
    assert len(full.notes) > 60
    for i, (a, b) in enumerate(zip(fast.notes, full.notes, strict=True)):
        assert a == b, f"notification {i}: fast {a} != full {b}"
    assert fast_value == pytest.approx(full_value, abs=1e-9)


def test_sma_cross_fills_alike_on_both_paths(monkeypatch: Any) -> None:
    frame = _frame(1_500, skip=9_000)

    class Noted(SmaCross):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.notes: list[tuple[Any, ...]] = []

        def notify_order(self, order: Any) -> None:
            Script.notify_order(self, order)  # type: ignore[arg-type]
            super().notify_order(order)

    fast, _ = _run(Noted, frame, False, monkeypatch, fast=10, slow=30, size=0.01)
    full, _ = _run(Noted, frame, True, monkeypatch, fast=10, slow=30, size=0.01)
    assert len(full.notes) > 20
    assert fast.notes == full.notes


def _bars(frame: pd.DataFrame) -> list[PaperBar]:
    out = []
    for when, row in frame.iterrows():
        ms = int(pd.Timestamp(when, tz="UTC").timestamp() * 1000)
        prices = (float(row.open), float(row.high), float(row.low), float(row.close))
        out.append(PaperBar(ms, *prices, float(row.volume)))
    return out


def test_records_after_skipped_bars_equal_the_full_path() -> None:
    """Klines (1m, 5m, 1h), average price and last price agree after quiet stretches, with an
    order between them (a limit resting out of reach and a market order)."""
    bars = _bars(_frame(900, skip=3_000))
    paths = [PaperExecution([SYMBOL], fast_path=True), PaperExecution([SYMBOL], fast_path=False)]
    seen: list[list[Any]] = [[], []]
    for i, bar in enumerate(bars):
        for exe, out in zip(paths, seen, strict=True):
            exe.play({SYMBOL: bar}, lambda s, p: None)
            if i == 100:
                side, price = OrderSide.BUY, bar.close * 0.9
                exe.place(
                    OrderRequest(
                        1, SYMBOL, side, OrderKind.LIMIT, 0.01, price=price, client_order_id="t-1"
                    )
                )
            if i == 400:
                exe.place(
                    OrderRequest(
                        2, SYMBOL, OrderSide.BUY, OrderKind.MARKET, 0.01, client_order_id="t-2"
                    )
                )
            if i in (99, 399, 650, len(bars) - 1):
                price = exe.last_price(SYMBOL)  # before anything catches the fast path up
                now = exe.now_ms()
                core = exe.core
                assert core is not None
                sid = "BTCUSDT"
                out.append(
                    (
                        i,
                        now,
                        price,
                        core.klines(sid, "1m", limit=1_000),
                        core.klines(sid, "5m", limit=200),
                        core.klines(sid, "1h", limit=20),
                        core.avg_price(sid),
                        core.last_price(sid),
                    )
                )
    fast, full = seen
    assert len(fast) == 4
    for a, b in zip(fast, full, strict=True):
        assert a[:3] == b[:3]
        assert len(a[3]) > 90
        for ka, kb in zip(a[3], b[3], strict=True):
            assert ka == kb, f"1m kline at {ka.open_ms}: {ka} != {kb}"
        assert a[4:] == b[4:]
    fills = [
        [
            (r.client_order_id, r.fill.price, r.fill.amount, r.fill.commission, r.fill.time_ms)
            for r in exe.drain()
            if isinstance(r, FillReport)
        ]
        for exe in paths
    ]
    assert fills[0] == fills[1]
    assert [f[0] for f in fills[0]] == ["t-2"], "the market order filled, the limit rests"


def test_two_symbols_fill_and_record_alike() -> None:
    """Two symbols share the account and the clock: bars are kept aside together, and orders on
    one (market, limit, stop, cancel) fill as on the full path, the other's klines unchanged."""
    usdt = _bars(_frame(600, skip=6_000))
    path = data_file(FILE.replace("USDT", "USDC"))
    if path is None:
        pytest.skip(
            "the BTCUSDC candles are not there: set RT_DATA_DIR or put them in ../shared/data"
        )
    frame = pd.read_csv(path, skiprows=range(1, 6_001), nrows=600)
    frame["open_time"] = pd.to_datetime(frame["open_time"], utc=True).dt.tz_localize(None)
    usdc = _bars(frame.set_index("open_time"))
    symbols = [SYMBOL, "BTC/USDC"]
    paths = [PaperExecution(symbols, fast_path=True), PaperExecution(symbols, fast_path=False)]
    plan = {
        50: ("BTC/USDC", OrderSide.BUY, OrderKind.MARKET, None, None),
        120: (SYMBOL, OrderSide.BUY, OrderKind.LIMIT, 0.9995, None),
        200: ("BTC/USDC", OrderSide.SELL, OrderKind.STOP, None, 0.999),
        300: (SYMBOL, OrderSide.BUY, OrderKind.LIMIT, 0.98, None),
    }
    for exe in paths:
        exe.set_holdings({"USDC": 10_000.0})
        for i, (a, b) in enumerate(zip(usdt, usdc, strict=True)):
            exe.play({SYMBOL: a, "BTC/USDC": b}, lambda s, p: None)
            if i in plan:
                symbol, side, kind, limit, stop = plan[i]
                close = a.close if symbol == SYMBOL else b.close
                exe.place(
                    OrderRequest(
                        i,
                        symbol,
                        side,
                        kind,
                        0.01,
                        price=None if limit is None else round(close * limit, 2),
                        stop_price=None if stop is None else round(close * stop, 2),
                        client_order_id=f"t-{i}",
                    )
                )
            if i == 400:
                exe.cancel("t-300", SYMBOL, None)
    reports = [
        [
            (type(r).__name__, r.client_order_id, getattr(r, "fill", None), getattr(r, "status", 0))
            for r in exe.drain()
            if isinstance(r, FillReport | OrderReport)
        ]
        for exe in paths
    ]
    assert reports[0] == reports[1]
    fills = {r[1] for r in reports[1] if r[0] == "FillReport"}
    assert {"t-50", "t-120", "t-200"} <= fills and "t-300" not in fills
    assert paths[0].now_ms() == paths[1].now_ms()  # the fast path catches up when asked
    for sid in ("BTCUSDT", "BTCUSDC"):
        a, b = (exe.core.klines(sid, "1m", limit=1_000) for exe in paths if exe.core)
        assert len(a) == len(b) > 500
        for ka, kb in zip(a, b, strict=True):
            assert ka == kb, f"{sid} 1m kline at {ka.open_ms}:\n{ka}\n{kb}"


@pytest.mark.parametrize(
    ("name", "open_move", "volume"),
    [("taker buy", 1.0, 3.0), ("taker sell", -1.0, 3.0), ("no volume", 1.0, 0.0)],
)
@pytest.mark.parametrize("side", [OrderSide.BUY, OrderSide.SELL])
@pytest.mark.parametrize("amount", [0.01, 1.5])  # 1.5 BTC walks past the ladder's top level
def test_market_order_on_the_open_tick_fills_alike(
    name: str, open_move: float, volume: float, side: OrderSide, amount: float, monkeypatch: Any
) -> None:
    """A market order goes in right after its bar's open tick. On the fast path that tick's
    flow trade is recorded, not matched (``ExchangeCore.pass_tick``: one symbol, nothing
    resting); the order fills at the same price, fee, trade id and time as on the full path,
    and the klines, average price and last price agree, with a taker buy, a taker sell and a
    zero-volume open tick (then the ladder only quotes), for an order within the top level and
    one that walks past it (the hit level holds what the flow left of it)."""
    start = 1_677_628_800_000  # 2023-03-01
    bars = [
        PaperBar(start + i * 60_000, 23_000.0 + i, 23_004.0 + i, 22_998.0 + i, 23_001.0 + i, 2.5)
        for i in range(8)
    ]
    last = bars[-1]
    opening = last.close + open_move  # above the close before: a buyer takes it, below: a seller
    bars.append(
        PaperBar(last.open_ms + 60_000, opening, opening + 3, opening - 3, opening + 1, volume)
    )
    bars.append(PaperBar(last.open_ms + 120_000, opening + 1, opening + 5, opening - 1, opening, 2))
    passed: list[int] = []
    original = ExchangeCore.pass_tick

    def counted(core: ExchangeCore, symbol: str, tick: Any) -> bool:
        passed.append(tick.ts_ms)
        return original(core, symbol, tick)

    monkeypatch.setattr(ExchangeCore, "pass_tick", counted)
    paths = [PaperExecution([SYMBOL], fast_path=fast, cash=100_000.0) for fast in (True, False)]
    seen: list[list[Any]] = [[], []]
    for exe, out in zip(paths, seen, strict=True):
        exe.set_holdings({"BTC": 4.0})
        for i, bar in enumerate(bars):
            exe.play({SYMBOL: bar}, lambda s, p: None)
            if i in (len(bars) - 3, len(bars) - 2):  # orders for the last two bars' opens
                exe.place(
                    OrderRequest(
                        i, SYMBOL, side, OrderKind.MARKET, amount, client_order_id=f"t-{i}"
                    )
                )
        core = exe.core
        assert core is not None
        out.append([(r.client_order_id, r.fill) for r in exe.drain() if isinstance(r, FillReport)])
        out.append(core.klines("BTCUSDT", "1m", limit=100))
        out.append((core.avg_price("BTCUSDT"), core.last_price("BTCUSDT"), exe.now_ms()))
    fast, full = seen
    ids = [f"t-{len(bars) - 3}", f"t-{len(bars) - 2}"]
    assert sorted({cid for cid, _ in full[0]}) == ids
    for cid in ids:  # a small order takes one level, the large one more
        prices = {fill.price for c, fill in full[0] if c == cid}
        assert len(prices) == (1 if amount < 1 else 2), (cid, prices)
    assert fast[0] == full[0]  # trade id, price, size, fee, its asset, time, maker
    assert fast[1] == full[1]
    assert fast[2] == full[2]
    assert len(passed) == 2, "both orders' open ticks were recorded, not matched"


def test_market_orders_at_the_min_notional_edge_decide_alike() -> None:
    """Market buys sized lot by lot around MIN_NOTIONAL at the last close, after stretches of
    kept-aside bars: the fast path's notional filter (the exact average only when the price
    range of the window's trades cannot decide) rejects and accepts exactly the orders the
    full path does. A MIN_NOTIONAL of 500 USDT makes a lot 0.05 % of it, well inside the
    range of 5 minutes' prices, so the range often cannot decide."""
    bars = _bars(_frame(700, skip=12_000))
    rules = {"BTCUSDT": dataclasses.replace(DEFAULT_RULES["BTCUSDT"], min_notional=Decimal(500))}
    paths = [
        PaperExecution([SYMBOL], fast_path=fast, rules=rules, cash=1_000_000.0)
        for fast in (True, False)
    ]
    lot = 0.00001
    for i, bar in enumerate(bars):
        for exe in paths:
            exe.play({SYMBOL: bar}, lambda s, p: None)
            if i % 23 == 11:
                edge = round(500 / bar.close / lot)  # lots at the edge at the close
                for k in range(-6, 7):
                    exe.place(
                        OrderRequest(
                            i,
                            SYMBOL,
                            OrderSide.BUY,
                            OrderKind.MARKET,
                            round((edge + k) * lot, 5),
                            client_order_id=f"t-{i}-{k + 6}",
                        )
                    )
    fast, full = (
        [
            (
                type(r).__name__,
                r.client_order_id,
                getattr(r, "state", None),
                getattr(r, "fill", None),
            )
            for r in exe.drain()
            if isinstance(r, SubmitFailed | FillReport)
        ]
        for exe in paths
    )
    assert fast == full
    outcomes = {cid: name for name, cid, *_ in full}
    straddled = [
        i for i in range(11, 700, 23) if len({outcomes[f"t-{i}-{k}"] for k in (0, 12)}) == 2
    ]
    assert len(straddled) > 20, "the sizes straddle the edge"


def test_kept_bars_fit_their_gap_like_played_bars() -> None:
    """1m bars opening every 30 s (a feed declaring a longer timeframe than it delivers) are
    cut to the gap when kept aside (``keep_aside``) as when played: the same clock, klines
    (1m, 5m), average price and last price as the full path."""
    rows = _bars(_frame(400, skip=20_000))
    start = rows[0].open_ms
    bars = [bar._replace(open_ms=start + i * 30_000) for i, bar in enumerate(rows)]
    kept, full = PaperExecution([SYMBOL], fast_path=True), PaperExecution([SYMBOL], fast_path=False)
    aside = 0
    for i, bar in enumerate(bars):
        if kept.keep_aside({SYMBOL: bar}):
            aside += 1
        else:
            kept.play({SYMBOL: bar}, lambda s, p: None)
        full.play({SYMBOL: bar}, lambda s, p: None)
        if i % 97 == 96 or i == len(bars) - 1:
            assert kept.last_price(SYMBOL) == full.last_price(SYMBOL)
            assert kept.now_ms() == full.now_ms()
            assert kept.core is not None and full.core is not None
            for interval in ("1m", "5m"):
                a = kept.core.klines("BTCUSDT", interval, limit=500)
                assert a == full.core.klines("BTCUSDT", interval, limit=500)
            assert kept.core.avg_price("BTCUSDT") == full.core.avg_price("BTCUSDT")
    assert aside == len(bars) - 1  # all but the first, which starts the engine
