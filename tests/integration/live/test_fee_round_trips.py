"""Fees in the base asset do not break round trips (issue 10, item 1).

On Binance spot a buy's fee is taken from the bought asset: buy 0.001 BTC, hold 0.000999. The
seed 000/001 quick start ("if not self.position: buy(size=0.001) else: sell(size=0.001)") used
to get Margin on every sell, forever: 1 fill in 168 one-hour bars. Now the sell is trimmed to
what is held (rounded down to the lot step, the order's ``info`` says so), the remainder below
the venue's minimums is dust (no position, still in the value, reported once) and the strategy
trades every bar, in backtest (``create_binance_engine(backtest=True)``: the paper broker over
history), paper and testnet (``paper_trading=False`` on a simulator account) alike. A
hypothesis property drives random buy/sell/close sequences through the paper broker and checks
the strategy can always close what it holds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from real_trade.binance import create_binance_engine
from real_trade.brokers import BaseBroker
from real_trade.bus import EventBus
from real_trade.execution import DUST_TOPIC, PositionDust
from real_trade.sim import SimExchange, SyntheticMarket
from real_trade.stores import BaseStore
from tests.integration.live.parity_support import (
    LiveRun,
    clear_proxy_env,
    ms_of,
    start_live_run,
)

pytestmark = pytest.mark.integration

BARS = 168  # one week of one-hour bars
MIN_FILLS = 160
SIZE = 0.001
STEP = 0.00001  # BTCUSDT's lot step (and minimum amount) on Binance and in the simulator
HOUR_MS = 3_600_000
START = datetime(2026, 3, 2, tzinfo=timezone.utc)  # the simulators' market starts here


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No simulator redirect or proxy from the environment; cached stores are stopped after."""
    clear_proxy_env(monkeypatch)
    BaseStore.clear_instances()
    yield
    BaseStore.clear_instances()


def _market() -> SyntheticMarket:
    """A deterministic BTC/USDT market with more than a week of history before ``START``."""
    return SyntheticMarket(
        ("BTCUSDT",), seed=7, start_ms=ms_of(START), tick_ms=60_000, history_days=8
    )


class QuickStart(bt.Strategy):
    """Seed 000/001's quick start, recording what it saw (as the live-run driver expects).

    On every bar (on a live feed: every live bar; the backfill only warms up) it buys ``size``
    when flat and sells ``size`` when long, for ``bars`` bars. ``registry`` receives the
    strategy; ``orders`` holds every ended order, ``flat_holdings`` the base balance each time
    ``not self.position`` held.
    """

    params = (("registry", None), ("bars", BARS), ("size", SIZE))

    def __init__(self) -> None:
        self.orders: list[Any] = []
        self.data_states: list[str] = []
        self.traded = 0
        self.processed_ms: int | None = None
        self.flat_values: list[tuple[float, float]] = []  # (broker value, cash + held x close)
        if self.p.registry is not None:
            self.p.registry.append(self)

    def notify_data(self, data: Any, status: int, *args: Any, **kwargs: Any) -> None:
        self.data_states.append(data._getstatusname(status))

    def notify_order(self, order: Any) -> None:
        if not order.alive():
            self.orders.append(order)

    def next(self) -> None:
        live = not self.data.islive() or self.data_states[-1:] == ["LIVE"]
        if live and self.traded < self.p.bars:
            self.traded += 1
            if not self.position:
                self._check_value()
                self.buy(size=self.p.size)
            else:
                self.sell(size=self.p.size)
        self.processed_ms = ms_of(bt.num2date(self.data.datetime[0]))

    def _check_value(self) -> None:
        """Record the value with any dust, against the account's cash and base balance."""
        broker = self.broker
        port = broker._paper if broker.p.paper_trading else broker._live
        held = port.balances().get("BTC")
        amount = held.total if held is not None else 0.0
        self.flat_values.append((broker.getvalue(), broker.getcash() + amount * self.data.close[0]))


def _check_round_trips(strategy: QuickStart, broker: BaseBroker, dust: list[PositionDust]) -> int:
    """Every order filled; sells were trimmed only to what was held; dust reported once each.
    Returns the number of fills."""
    statuses = [o.getstatusname() for o in strategy.orders]
    assert set(statuses) == {"Completed"}, f"only fills, got {sorted(set(statuses))}"
    trimmed = [o for o in strategy.orders if "trimmed" in o.info]
    assert trimmed, "the first sell after a buy is trimmed to the holding, net of the fee"
    first = trimmed[0]
    assert first.info["requested"] == SIZE and first.info["sent"] == pytest.approx(0.00099)
    assert abs(first.executed.size) == pytest.approx(first.info["sent"])
    assert "fees" in first.info["trimmed"] and "0.000999" in first.info["trimmed"]
    for order in trimmed:
        assert order.isbuy() is False and order.info["sent"] < order.info["requested"]
        assert order.info["requested"] - order.info["sent"] < 2 * SIZE * 0.001 + STEP
    assert dust, "the remainder below the minimums was reported as dust"
    assert all(d.amount < STEP and d.asset == "BTC" for d in dust)
    sells = sum(1 for o in strategy.orders if o.issell())
    assert len(dust) <= sells, "each remainder is reported once, not on every bar"
    for value, expected in strategy.flat_values:
        assert value == pytest.approx(expected, abs=1e-6), "dust still counts in the value"
    return len(strategy.orders)


def _dust_events(bus: EventBus) -> list[PositionDust]:
    events: list[PositionDust] = []
    bus.subscribe(DUST_TOPIC, lambda _topic, event: events.append(event))
    return events


def test_the_quick_start_round_trips_every_bar_in_backtest(monkeypatch: pytest.MonkeyPatch) -> None:
    with SimExchange(market=_market(), stepped=True, seed=7) as sim:
        monkeypatch.setenv("RT_SIM_URL", sim.url)
        first = START - timedelta(hours=BARS + 2)
        _store, broker, data = create_binance_engine(
            symbol="BTC/USDT",
            timeframe="1h",
            testnet=True,
            backtest=True,
            fromdate=first.replace(tzinfo=None),
            todate=(first + timedelta(hours=BARS - 1)).replace(tzinfo=None),
        )
        bus = broker.p.bus = EventBus(synchronous=True)
        dust = _dust_events(bus)
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.setbroker(broker)
        cerebro.adddata(data)
        cerebro.addstrategy(QuickStart)
        (strategy,) = cerebro.run()
    assert len(data) == BARS and strategy.traded == BARS
    fills = _check_round_trips(strategy, broker, dust)
    print(f"\nbacktest: {fills} fills over {BARS} one-hour bars, {len(dust)} dust remainders")
    assert fills >= MIN_FILLS


@pytest.mark.parametrize("paper", [True, False], ids=["paper", "testnet"])
def test_the_quick_start_round_trips_every_bar_live(paper: bool) -> None:
    with SimExchange(market=_market(), stepped=True, seed=7) as sim:
        run: LiveRun = start_live_run(
            sim, paper=paper, history_bars=2, strategy=QuickStart, timeframe="1h"
        )
        dust = _dust_events(run.broker.p.bus)
        try:
            run.wait_live()
            for _ in range(BARS):
                run.step()
            strategy: Any = run.strategy
            assert strategy.traded == BARS
        finally:
            run.finish(stop=True)
    fills = _check_round_trips(strategy, run.broker, dust)
    print(f"\n{'paper' if paper else 'testnet'}: {fills} fills over {BARS} one-hour bars")
    assert fills >= MIN_FILLS
    if not paper:  # the broker's view is the exchange's account
        account = sim.core.account_by_key(run.key or "")
        btc = float(sum(sim.core.balances(account).get("BTC", (0, 0))))
        position = run.broker.getposition(run.data).size
        assert position == pytest.approx(btc, abs=1e-12) or (position == 0 and btc < STEP)


# -- the property: whatever the strategy did, it can close what it holds ---------------------
class Scripted(bt.Strategy):
    """Plays ``actions`` (one per bar: ``("buy", size)``, ``("sell", size)``, ``("close",)``,
    ``("wait",)``), then closes until flat; records what the closing orders became and checks
    on every bar that the position is the account's holding, or that the holding is dust."""

    params = (("actions", ()),)

    def __init__(self) -> None:
        self.closing: list[Any] = []
        self.mismatches: list[str] = []
        self.flat_at: int | None = None

    def notify_order(self, order: Any) -> None:
        if order.alive() or order.info.get("closing") is None:
            return
        self.closing.append(order)

    def next(self) -> None:
        bar = len(self)
        self._check_position(bar)
        actions = self.p.actions
        if bar <= len(actions):
            action = actions[bar - 1]
            if action[0] == "buy":
                self.buy(size=action[1])
            elif action[0] == "sell":
                self.sell(size=action[1])
            elif action[0] == "close":
                self.close()
        elif self.position:
            self.close(closing=True)
        elif self.flat_at is None:
            self.flat_at = bar

    def _check_position(self, bar: int) -> None:
        held = self.broker._paper.balances().get("BTC")
        amount = held.total if held is not None else 0.0
        size = self.position.size
        limits = self.broker.manager.port.limits("BTC/USDT")
        dust = limits.problem(limits.round_amount(amount), self.data.close[0]) is not None
        if not (math.isclose(size, amount, abs_tol=1e-12) or (size == 0 and dust)):
            self.mismatches.append(f"bar {bar}: position {size} but {amount} BTC held")


_SIZES = st.sampled_from(
    [
        0.00001,
        0.0001,
        0.0005,
        0.00099,
        0.000999,
        0.001,
        0.00101,
        0.0012,
        0.0025,
        0.01,
        0.01001,
        0.0333,
    ]
)
_ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), _SIZES),
        st.tuples(st.just("sell"), _SIZES),
        st.just(("close",)),
        st.just(("wait",)),
    ),
    min_size=1,
    max_size=14,
)


def _bars(count: int, seed: int) -> pd.DataFrame:
    """``count`` one-hour bars of a random walk around 60,000."""
    rng = np.random.default_rng(seed)
    closes = 60_000 * np.exp(np.cumsum(rng.normal(0, 0.004, count)))
    opens = np.concatenate([[60_000], closes[:-1]])
    spread = np.abs(rng.normal(0, 0.002, count)) * closes
    index = pd.date_range("2026-01-01", periods=count, freq="h")
    return pd.DataFrame(
        {
            "open": opens,
            "high": np.maximum(opens, closes) + spread,
            "low": np.minimum(opens, closes) - spread,
            "close": closes,
            "volume": 50.0,
        },
        index=index,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=_ACTIONS, seed=st.integers(0, 1000))
def test_a_strategy_can_always_close_its_position_on_paper(
    actions: list[tuple[Any, ...]], seed: int
) -> None:
    strategy = _run_script(actions, seed)
    assert not strategy.mismatches, strategy.mismatches
    refused = [
        (o.getstatusname(), o.info.get("reason"))
        for o in strategy.closing
        if o.status != o.Completed
    ]
    assert not refused, f"a close was refused: {refused}"
    assert strategy.flat_at is not None, "the strategy closed its position"


def _run_script(actions: list[tuple[Any, ...]], seed: int) -> Scripted:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.setbroker(BaseBroker(symbol="BTC/USDT", bus=EventBus(synchronous=True)))
    bars = _bars(len(actions) + 6, seed)
    cerebro.adddata(
        bt.feeds.PandasData(dataname=bars, timeframe=bt.TimeFrame.Minutes, compression=60)
    )
    cerebro.addstrategy(Scripted, actions=tuple(actions))
    (strategy,) = cerebro.run()
    return strategy


def test_only_the_fee_is_trimmed_and_close_sells_the_real_position_on_paper() -> None:
    strategy = _run_script([("buy", SIZE), ("sell", 0.0012), ("close",), ("wait",)], seed=1)
    buy, over, close = (strategy.broker._orders[ref] for ref in sorted(strategy.broker._orders))
    assert buy.getstatusname() == "Completed" and buy.executed.size == SIZE
    assert over.getstatusname() == "Margin", "more than the fees over the holding: refused"
    assert "trimmed" not in over.info
    assert close.getstatusname() == "Completed" and "trimmed" not in close.info
    assert close.executed.size == pytest.approx(-0.00099), "the holding, on the lot step"
    assert strategy.flat_at is not None and not strategy.mismatches
