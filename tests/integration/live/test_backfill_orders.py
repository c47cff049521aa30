"""Orders placed on backfill bars: paper does what the exchange does (issue 10, item 3).

A live feed first replays history (backfill, data status DELAYED), then goes LIVE. A strategy
that trades on a backfill bar sends its order *now*: on an exchange it meets the market as it
stands now, not the week-old bar it was decided on. Paper must do the same.

Each test runs the full stack twice against two stepped simulators replaying the same real
one-minute candles, both standing at 2023-03-10 14:00 UTC, with five hours of backfill
(09:00-13:59, in which BTC moved between about 19,565 and 20,306):

* paper: ``BinanceBroker(paper_trading=True)``, fed by its simulator's klines;
* testnet: ``BinanceBroker(paper_trading=False, testnet=True)`` trading a simulator account.

The strategy orders on the first backfill bar it sees (09:19, after the SMA warm-up).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import backtrader as bt
import pytest

from real_trade.sim import SimExchange
from tests.integration.live.parity_support import (
    FILE,
    MIN,
    LiveRun,
    clear_proxy_env,
    data_file,
    fills_of,
    ms_of,
    start_live_run,
)

pytestmark = pytest.mark.integration

CSV = data_file()
START = datetime(2023, 3, 10, 14, 0)  # the simulators' clocks stand here (UTC)
START_MS = ms_of(START)
BACKFILL = 300  # minutes of history before START: 09:00 to 13:59
SIZE, TICK = 0.01, 0.01
BACKFILL_LOW = 19_565.40  # the lowest low of the backfill after the order's bar
LIMIT = 19_700.00  # a buy limit the backfill crosses and the market near 20,180 does not

needs_data = pytest.mark.skipif(CSV is None, reason=f"{FILE} not found: set RT_DATA_DIR or put "
                                "the real candle files in ../shared/data")  # fmt: skip


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


def _decided_on(run: LiveRun) -> int:
    order = run.strategy.backfill_order
    assert order is not None, "the strategy placed no order during the backfill"
    return ms_of(bt.num2date(order.created.dt))


MARKET_BUY = order_once(lambda s: s.buy(size=SIZE))


@needs_data
@pytest.mark.parametrize("runs", [MARKET_BUY], indirect=True, ids=["market-buy"])
def test_a_market_order_on_a_backfill_bar_fills_at_the_live_price_in_paper_as_on_testnet(
    runs: tuple[LiveRun, LiveRun],
) -> None:
    paper, testnet = runs
    for run in runs:
        run.wait_live()
        run.wait(lambda r=run: fills_of(r.strategy.orders), "the backfill order filled")
    decided = {_decided_on(run) for run in runs}
    assert len(decided) == 1 and decided.pop() < START_MS - 4 * 60 * MIN  # hours-old bar
    (p,), (t,) = fills_of(paper.strategy.orders), fills_of(testnet.strategy.orders)
    live = float(testnet.sim.core.last_price("BTCUSDT") or 0)
    print(f"\nbackfill market buy: paper {p.price:.2f}  testnet {t.price:.2f}  market {live:.2f}")
    assert abs(p.price - t.price) <= 2 * TICK + 1e-9, (p, t)
    assert p.filled_ms >= START_MS - MIN  # filled now, not on a bar of the backfill
    # cash moved by the live price in both accounts (the fee is taken in BTC in both)
    assert paper.broker.getcash() == pytest.approx(10_000.0 - SIZE * p.price, abs=1e-6)
    assert testnet.broker.getcash() == pytest.approx(10_000.0 - SIZE * t.price, abs=1e-6)
    for run in runs:
        assert run.broker.getposition(run.data).size == pytest.approx(SIZE * (1 - 0.001))


LIMIT_BUY = order_once(lambda s: s.buy(size=SIZE, price=LIMIT, exectype=bt.Order.Limit))


@needs_data
@pytest.mark.parametrize("runs", [LIMIT_BUY], indirect=True, ids=["limit-buy"])
def test_a_limit_order_on_a_backfill_bar_is_judged_against_the_live_market_not_history(
    runs: tuple[LiveRun, LiveRun],
) -> None:
    testnet = runs[1]
    for run in runs:
        run.wait_live()
    testnet.wait(lambda: testnet.broker.open_orders, "the testnet limit order rests")
    live = float(testnet.sim.core.last_price("BTCUSDT") or 0)
    assert BACKFILL_LOW < LIMIT < live - 100  # history crossed the limit, the market has not
    for run in runs:  # one live minute later: still resting on both venues
        bar_ms = run.advance()
        run.wait(lambda r=run, b=bar_ms: r.strategy.processed_ms == b, "a live bar processed")
    for run in runs:
        assert not fills_of(run.strategy.orders), run.strategy.orders
        assert [o.getstatusname() for o in run.broker.open_orders.values()] == ["Accepted"]
        assert run.broker.getcash() == pytest.approx(10_000.0)
