"""Orders placed on backfill bars: paper does what the exchange does (issue 10, item 3).

A live feed first replays history (backfill, data status DELAYED), then goes LIVE. A strategy
that trades on a backfill bar sends its order *now*: on an exchange it meets the market as it
stands now, not the week-old bar it was decided on. Paper must do the same.

Each test runs the full stack twice against two stepped simulators replaying the same real
one-minute candles, both standing at 2023-03-10 14:00 UTC, with five hours of backfill
(09:00-13:59, in which BTC moved between about 19,565 and 20,306):

* paper: ``BinanceBroker(paper_trading=True)``, fed by its simulator's klines;
* testnet: ``BinanceBroker(paper_trading=False, testnet=True)`` trading a simulator account.

The strategy orders on the first backfill bar it sees (09:19, after the SMA warm-up): a market
buy fills at the same price in both (within 2 ticks), a buy limit below and a buy stop above the
live market rest in both although the backfill crossed them. A paper order the venue cannot price
is Rejected with the reason; in a backtest (``historical=True``) history stays the market.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import backtrader as bt
import pandas as pd
import pytest

from real_trade.brokers import BinanceBroker
from real_trade.bus import EventBus
from real_trade.feeds import BinanceData
from real_trade.sim import SimExchange
from real_trade.stores import BinanceStore
from real_trade.venues.retry import RetryPolicy
from tests.integration.live.parity_support import (
    MIN,
    SYMBOL,
    LiveRun,
    RecordingSmaCross,
    clear_proxy_env,
    data_file,
    fills_of,
    ms_of,
    needs_data,
    start_live_run,
)

pytestmark = pytest.mark.integration

CSV = data_file()
START = datetime(2023, 3, 10, 14, 0)  # the simulators' clocks stand here (UTC)
START_MS = ms_of(START)
BACKFILL = 300  # minutes of history before START: 09:00 to 13:59
SIZE, TICK = 0.01, 0.01
BACKFILL_LOW, BACKFILL_HIGH = 19_565.40, 20_306.44  # the backfill's range after the order
LIMIT = 19_700.00  # a buy limit the backfill crosses and the market near 20,180 does not
STOP = 20_250.00  # a buy stop the backfill crosses and the market (high 20,194.81 at 14:00) not


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxy_env(monkeypatch)


def order_once(place: Callable[[Any], Any]) -> Callable[[Any], None]:
    """An ``on_bar`` hook placing one order (``place(strategy)``) on the first backfill bar."""

    def on_bar(strategy: Any) -> None:
        if not strategy.is_live and not getattr(strategy, "backfill_order", None):
            strategy.backfill_order = place(strategy)

    return on_bar


@pytest.fixture
def runs(request: pytest.FixtureRequest) -> Iterator[tuple[LiveRun, LiveRun]]:
    """Paper and testnet runs, each on its own stepped simulator at START, with five hours of
    backfill and the ``on_bar`` hook given by the test's parametrization."""
    assert CSV is not None
    on_bar = request.param
    with (
        SimExchange(market=CSV, stepped=True, start_ms=START_MS) as paper_sim,
        SimExchange(market=CSV, stepped=True, start_ms=START_MS) as testnet_sim,
    ):
        params = {"history_bars": BACKFILL, "max_live_bars": 10, "on_bar": on_bar}
        paper = start_live_run(paper_sim, paper=True, **params)
        testnet = start_live_run(testnet_sim, paper=False, **params)
        try:
            yield paper, testnet
        finally:
            for run in (paper, testnet):
                run.cerebro.runstop()
                run.thread.join(5)
                run.store.stop()


def backfill_order(run: LiveRun) -> Any:
    """The order the strategy placed on a backfill bar: the broker's own order object, which the
    broker books at once (the strategy hears of it at its next bar)."""

    def placed() -> Any:
        return run.registry and getattr(run.strategy, "backfill_order", None)

    run.wait(placed, "an order on a backfill bar")
    return run.strategy.backfill_order


def _name(run: LiveRun) -> str:
    return "paper" if run.broker.paper_trading else "testnet"


MARKET_BUY = order_once(lambda s: s.buy(size=SIZE))


@needs_data
@pytest.mark.parametrize("runs", [MARKET_BUY], indirect=True, ids=["market-buy"])
def test_a_market_order_on_a_backfill_bar_fills_at_the_live_price_in_paper_as_on_testnet(
    runs: tuple[LiveRun, LiveRun],
) -> None:
    for run in runs:
        run.wait_live()
        order = backfill_order(run)
        run.wait(
            lambda o=order: o.status == o.Completed,
            f"{_name(run)}: the backfill order filled ({order.getstatusname()}, {order.info})",
        )
    p, t = (run.strategy.backfill_order for run in runs)
    decided = {ms_of(bt.num2date(o.created.dt)) for o in (p, t)}
    assert len(decided) == 1 and decided.pop() < START_MS - 4 * 60 * MIN  # hours-old bar
    paper_price, testnet_price = float(p.executed.price), float(t.executed.price)
    live = float(runs[1].sim.core.last_price("BTCUSDT") or 0)
    print(
        f"\nbackfill market buy: paper {paper_price:.2f}  testnet {testnet_price:.2f}  "
        f"market {live:.2f}"
    )
    assert abs(paper_price - testnet_price) <= 2 * TICK + 1e-9
    for order in (p, t):  # filled now, not on a bar of the backfill
        assert ms_of(bt.num2date(order.executed.dt)) >= START_MS - MIN
    # cash moved by the live price in both accounts (the fee is taken in BTC in both)
    for run, price in zip(runs, (paper_price, testnet_price), strict=True):
        cash = 10_000.0 - SIZE * price
        run.wait(
            lambda r=run, c=cash: abs(r.broker.getcash() - c) < 1e-6,
            f"{_name(run)}: cash {run.broker.getcash()} == {cash}",
        )
        assert run.broker.getposition(run.data).size == pytest.approx(SIZE * (1 - 0.001))


LIMIT_BUY = order_once(lambda s: s.buy(size=SIZE, price=LIMIT, exectype=bt.Order.Limit))
STOP_BUY = order_once(lambda s: s.buy(size=SIZE, price=STOP, exectype=bt.Order.Stop))


@needs_data
@pytest.mark.parametrize(
    "runs", [LIMIT_BUY, STOP_BUY], indirect=True, ids=["limit-buy", "stop-buy"]
)
def test_limit_and_stop_orders_on_a_backfill_bar_are_judged_against_the_live_market(
    runs: tuple[LiveRun, LiveRun],
) -> None:
    for run in runs:
        run.wait_live()
        order = backfill_order(run)
        run.wait(lambda o=order: o.status == o.Accepted, f"{_name(run)}: the order rests")
    live = float(runs[1].sim.core.last_price("BTCUSDT") or 0)
    # history crossed both prices, the market has not
    assert BACKFILL_LOW < LIMIT < live - 100 and live + 50 < STOP < BACKFILL_HIGH
    for run in runs:  # one live minute later: still resting on both venues
        bar_ms = run.advance()
        run.wait(lambda r=run, b=bar_ms: r.strategy.processed_ms == b, "a live bar processed")
    for run in runs:
        order = run.strategy.backfill_order
        assert (order.getstatusname(), order.executed.size) == ("Accepted", 0.0), _name(run)
        assert not fills_of(run.strategy.orders), _name(run)
        assert run.broker.getcash() == pytest.approx(10_000.0)


@needs_data
def test_a_paper_order_on_a_backfill_bar_is_rejected_naming_why_if_the_venue_cannot_price_it() -> (
    None
):
    assert CSV is not None
    with SimExchange(market=CSV, stepped=True, start_ms=START_MS) as sim:
        sim.faults.fail_next(1, "503", path_prefix="/api/v3/ticker")  # the one ticker call fails
        once = {"retry_policy": RetryPolicy(max_attempts=1)}
        run = start_live_run(
            sim,
            paper=True,
            history_bars=BACKFILL,
            max_live_bars=10,
            on_bar=MARKET_BUY,
            store_kwargs=once,
        )
        try:
            order = backfill_order(run)
            run.wait(lambda: order.status == order.Rejected, f"rejected ({order.getstatusname()})")
            reason = order.info["reason"]
            assert "backfill bar" in reason and "ticker of BTC/USDT failed" in reason, reason
            assert order.executed.size == 0 and run.broker.getcash() == 10_000.0
        finally:
            run.finish(stop=True)


@needs_data
def test_in_a_backtest_history_is_the_market_and_the_order_fills_on_the_next_history_bar() -> None:
    """The same market buy on the same bar, with the feed in backtest mode (``historical=True``):
    no live market is asked for; the order fills at the next bar's open, as before."""
    assert CSV is not None
    with SimExchange(market=CSV, stepped=True, start_ms=START_MS) as sim:
        sim.faults.fail_next(5, "503", path_prefix="/api/v3/ticker")  # a ticker call would fail
        store = BinanceStore(
            testnet=True, sim_url=sim.url, bus=EventBus(), retry_policy=RetryPolicy(max_attempts=1)
        )
        first = START - timedelta(minutes=BACKFILL)
        data = BinanceData.from_timeframe_string(
            "1m",
            store,
            symbol=SYMBOL,
            historical=True,
            fromdate=first,
            todate=START - timedelta(minutes=1),
        )
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.setbroker(BinanceBroker(store, paper_trading=True, bus=EventBus()))
        cerebro.adddata(data)
        cerebro.addstrategy(RecordingSmaCross, on_bar=MARKET_BUY, max_live_bars=10)
        try:
            strategy = cerebro.run()[0]
        finally:
            store.stop()
    order = strategy.backfill_order
    decided = ms_of(bt.num2date(order.created.dt))
    frame = pd.read_csv(CSV, parse_dates=["open_time"])
    opens = {
        int(t.timestamp() * 1000): float(o)
        for t, o in zip(frame["open_time"], frame["open"], strict=True)
    }
    assert order.status == order.Completed
    assert ms_of(bt.num2date(order.executed.dt)) // MIN * MIN == decided + MIN
    assert abs(order.executed.price - opens[decided + MIN]) <= 2 * TICK + 1e-9
    assert decided < START_MS - 4 * 60 * MIN and not sim.faults.injected
