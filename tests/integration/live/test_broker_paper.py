"""The paper broker in real cerebro runs: every order type, partial fills, cash and fees.

Bars are hand-made one-minute candles around 40,000 (BTC/USDT with Binance's real rules: tick
0.01, step 0.00001, minimum order value 5). Each bar plays open -> low -> high -> close when it
rises (open -> high -> low -> close when it falls) on the simulator's matching engine, so the
expected fills follow from the bars: a market order fills at the next bar's open (plus the
spread when the open ticks down), a resting limit at its price when the path reaches it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import backtrader as bt
import pandas as pd
import pytest

from real_trade.brokers import BaseBroker, BinanceBroker
from real_trade.bus import EventBus
from real_trade.errors import ConfigError
from real_trade.execution import FillEvent, OrderUpdate
from real_trade.stores import BinanceStore

pytestmark = pytest.mark.integration

Row = tuple[float, float, float, float, float]  # open, high, low, close, volume
FLAT: Row = (40_000.0, 40_010.0, 39_990.0, 40_000.0, 5.0)
SPREAD = 0.02  # the paper ladder's best ask sits two ticks above a falling tick


class Recorder(bt.Strategy):
    """Runs ``actions[bar](strategy)`` on each bar and records every order notification."""

    params = (("actions", None),)

    def __init__(self) -> None:
        self.notes: list[tuple[int, int, str, float, float, float, Any]] = []
        self.trades: list[bt.Trade] = []
        self.refs: list[int] = []  # every order this strategy made, in order

    def buy(self, *args: Any, **kwargs: Any) -> Any:
        order = super().buy(*args, **kwargs)
        self.refs.append(order.ref)
        return order

    def sell(self, *args: Any, **kwargs: Any) -> Any:
        order = super().sell(*args, **kwargs)
        self.refs.append(order.ref)
        return order

    def notify_order(self, order: Any) -> None:
        self.notes.append(
            (
                len(self),
                order.ref,
                order.getstatusname(),
                order.executed.size,
                order.executed.price,
                order.executed.comm,
                order.info.get("reason"),
            )
        )

    def notify_trade(self, trade: bt.Trade) -> None:
        if trade.isclosed:
            self.trades.append(trade)

    def next(self) -> None:
        action = (self.p.actions or {}).get(len(self))
        if action is not None:
            action(self)

    def statuses(self, nth: int) -> list[str]:
        """The statuses notified for the ``nth`` order this strategy made (1-based)."""
        return [n[2] for n in self.notes if n[1] == self.refs[nth - 1]]

    def last(self, nth: int) -> tuple[int, int, str, float, float, float, Any]:
        """The last notification of the ``nth`` order this strategy made (1-based)."""
        return [n for n in self.notes if n[1] == self.refs[nth - 1]][-1]


def run(
    rows: list[Row],
    actions: dict[int, Callable[[Recorder], None]],
    broker: BaseBroker | None = None,
    cash: float = 10_000.0,
    commission: float = 0.001,
) -> tuple[Recorder, BaseBroker]:
    """Run ``Recorder`` over ``rows`` with a paper broker; return the strategy and broker."""
    index = pd.date_range("2024-03-01", periods=len(rows), freq="1min")
    frame = pd.DataFrame(rows, index=index, columns=["open", "high", "low", "close", "volume"])
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.setbroker(broker or BinanceBroker(None, paper_trading=True, bus=EventBus()))
    cerebro.broker.setcash(cash)
    cerebro.broker.setcommission(commission)
    feed = bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes)
    cerebro.adddata(feed, name="BTC/USDT")
    cerebro.addstrategy(Recorder, actions=actions)
    strategy = cerebro.run()[0]
    return strategy, cerebro.broker


def rising(n: int, start: float = 40_000.0, step: float = 50.0, volume: float = 5.0) -> list[Row]:
    rows = []
    for i in range(n):
        o = start + i * step
        rows.append((o, o + step + 10, o - 10, o + step, volume))
    return rows


def test_market_order_fills_at_the_next_open_with_fees_in_cash_and_position() -> None:
    rows = [FLAT, (40_100.0, 40_150.0, 40_090.0, 40_140.0, 5.0), FLAT]
    strat, broker = run(rows, {1: lambda s: s.buy(size=0.1)})
    assert strat.statuses(1) == ["Submitted", "Accepted", "Completed"]
    bar, _, _, size, price, comm, _ = strat.last(1)
    assert bar == 2
    assert price == pytest.approx(40_100.0, abs=SPREAD)
    assert size == pytest.approx(0.1)
    assert comm == pytest.approx(0.1 * 0.001 * price)  # 0.0001 BTC at the fill price
    assert broker.getposition(strat.data).size == pytest.approx(0.0999)  # fee paid in BTC
    assert broker.getcash() == pytest.approx(10_000.0 - 0.1 * price)
    assert broker.paper_cash == pytest.approx(broker.getcash())
    assert broker.paper_positions == {"BTC/USDT": pytest.approx(0.0999)}
    assert broker.getvalue() == pytest.approx(broker.getcash() + 0.0999 * 40_000.0)


def test_limit_order_waits_for_the_path_and_fills_at_its_price() -> None:
    rows = [
        FLAT,
        FLAT,
        (40_000.0, 40_010.0, 39_950.0, 39_960.0, 5.0),
        (39_960.0, 39_970.0, 39_850.0, 39_940.0, 5.0),
        FLAT,
    ]
    strat, broker = run(
        rows, {1: lambda s: s.buy(size=0.05, exectype=bt.Order.Limit, price=39_900.0)}
    )
    assert strat.statuses(1) == ["Submitted", "Accepted", "Completed"]
    assert [n[0] for n in strat.notes] == [2, 2, 4]
    _, _, _, size, price, comm, _ = strat.last(1)
    assert (size, price) == (pytest.approx(0.05), 39_900.0)
    assert comm == pytest.approx(0.05 * 0.001 * 39_900.0)
    assert broker.getcash() == pytest.approx(10_000.0 - 0.05 * 39_900.0)


def test_stop_and_stop_limit_sells_trigger_on_the_way_down() -> None:
    """A falling bar (open, high, low, close) crosses both stops."""
    down = (40_000.0, 40_010.0, 39_700.0, 39_720.0, 5.0)
    rows = [FLAT, FLAT, FLAT, down, FLAT]

    def entries(s: Recorder) -> None:
        s.buy(size=0.2)

    def exits(s: Recorder) -> None:
        s.sell(size=0.1, exectype=bt.Order.Stop, price=39_800.0)
        s.sell(size=0.0998, exectype=bt.Order.StopLimit, price=39_850.0, plimit=39_840.0)

    strat, broker = run(rows, {1: entries, 2: exits})
    assert strat.statuses(2) == ["Submitted", "Accepted", "Completed"]
    assert strat.statuses(3) == ["Submitted", "Accepted", "Completed"]
    _, _, _, size, stop_fill, _, _ = strat.last(2)
    assert size == pytest.approx(-0.1)
    assert 39_700.0 <= stop_fill <= 39_800.0
    assert strat.last(2)[0] == 4
    # the stop-limit triggered on the way down below its limit and rests until the price is back
    bar, _, _, _, limit_fill, _, _ = strat.last(3)
    assert (bar, limit_fill) == (5, 39_840.0)
    assert broker.getposition(strat.data).size == pytest.approx(0.0)


def test_stop_trail_follows_the_high_and_sells_on_the_reversal() -> None:
    rows = [FLAT, FLAT, *rising(4, 40_000.0, 100.0), (40_400.0, 40_410.0, 40_000.0, 40_020.0, 5.0)]
    actions = {
        1: lambda s: s.buy(size=0.1),
        2: lambda s: s.sell(size=0.0999, exectype=bt.Order.StopTrail, trailamount=150.0),
    }
    strat, _ = run(rows, actions)
    assert strat.statuses(2) == ["Submitted", "Accepted", "Completed"]
    bar, _, _, size, price, _, _ = strat.last(2)
    assert bar == 7 and size == pytest.approx(-0.0999)
    high = 40_300.0 + 110.0  # the last rising bar's high
    assert high - 150.0 - 60.0 <= price <= high - 150.0  # sold as the price fell through the trail


def test_bracket_take_profit_completes_and_cancels_the_stop() -> None:
    rows = [FLAT, FLAT, (40_000.0, 40_010.0, 39_890.0, 39_950.0, 5.0), *rising(4, 39_950.0, 60.0)]
    holder: dict[str, Any] = {}

    def enter(s: Recorder) -> None:
        holder["orders"] = s.buy_bracket(
            size=0.05, price=39_900.0, stopprice=39_500.0, limitprice=40_100.0
        )

    strat, broker = run(rows, {1: enter})
    parent, stop, take = 1, 2, 3  # buy_bracket makes the parent, the stop, the limit
    assert strat.statuses(parent) == ["Submitted", "Accepted", "Completed"]
    assert strat.statuses(take) == ["Submitted", "Accepted", "Completed"]
    assert strat.statuses(stop) == ["Submitted", "Accepted", "Canceled"]
    assert strat.last(parent)[4] == 39_900.0 and strat.last(take)[4] == 40_100.0
    assert strat.last(take)[3] == pytest.approx(-0.04995)  # sells what the parent delivered
    assert broker.getposition(strat.data).size == pytest.approx(0.0)
    assert len(strat.trades) == 1
    assert strat.trades[0].pnlcomm == pytest.approx(broker.getcash() - 10_000.0)


def test_bracket_stop_loss_completes_and_cancels_the_take_profit() -> None:
    crash = (39_900.0, 39_910.0, 39_300.0, 39_350.0, 5.0)
    rows = [FLAT, FLAT, (40_000.0, 40_010.0, 39_890.0, 39_950.0, 5.0), FLAT, crash, FLAT]
    holder: dict[str, Any] = {}

    def enter(s: Recorder) -> None:
        holder["orders"] = s.buy_bracket(
            size=0.05, price=39_900.0, stopprice=39_500.0, limitprice=40_500.0
        )

    strat, broker = run(rows, {1: enter})
    stop, take = 2, 3  # buy_bracket makes the parent, the stop, the limit
    assert strat.statuses(1) == ["Submitted", "Accepted", "Completed"]
    assert strat.statuses(stop)[-1] == "Completed"
    assert strat.statuses(take)[-1] == "Canceled"
    assert 39_300.0 <= strat.last(stop)[4] <= 39_500.0
    assert strat.last(stop)[0] == 5
    assert broker.getposition(strat.data).size == pytest.approx(0.0)
    assert broker.getcash() == pytest.approx(10_000.0 + strat.trades[0].pnlcomm)


def test_oco_fill_of_one_cancels_the_other() -> None:
    rows = [FLAT, FLAT, (40_000.0, 40_010.0, 39_850.0, 39_900.0, 5.0), FLAT]

    def enter(s: Recorder) -> None:
        first = s.buy(size=0.05, exectype=bt.Order.Limit, price=39_900.0)
        s.buy(size=0.05, exectype=bt.Order.Limit, price=39_800.0, oco=first)

    strat, _ = run(rows, {1: enter})
    first, second = 1, 2
    assert strat.statuses(first) == ["Submitted", "Accepted", "Completed"]
    assert strat.statuses(second) == ["Submitted", "Accepted", "Canceled"]


def test_a_limit_order_bigger_than_the_traded_volume_fills_partially() -> None:
    """Bars that only touch the limit trade 0.02 BTC each: the order fills a share per bar."""
    thin = (40_000.0, 40_010.0, 39_900.0, 39_950.0, 0.02)
    rows = [FLAT, FLAT, thin, thin, thin, FLAT]
    holder: dict[str, Any] = {}

    def place(s: Recorder) -> None:
        holder["o"] = s.buy(size=0.05, exectype=bt.Order.Limit, price=39_900.0)

    strat, broker = run(rows, {1: place, 5: lambda s: s.cancel(holder["o"])})
    assert strat.statuses(1) == [
        "Submitted",
        "Accepted",
        "Partial",
        "Partial",
        "Partial",
        "Canceled",
    ]
    mine = [n for n in strat.notes if n[1] == strat.refs[0]]
    partial_bars = [n[0] for n in mine if n[2] == "Partial"]
    assert partial_bars == [3, 4, 5]
    sizes = [n[3] for n in mine if n[2] == "Partial"]
    assert sizes[0] > 0 and sizes == sorted(sizes) and sizes[-1] < 0.05
    assert all(n[4] == 39_900.0 for n in mine if n[3])
    filled = mine[-1][3]
    assert filled == pytest.approx(sizes[-1])
    assert broker.getcash() == pytest.approx(10_000.0 - filled * 39_900.0)
    assert broker.getposition(strat.data).size == pytest.approx(filled * (1 - 0.001))


def test_a_round_trip_books_cash_position_and_fees_exactly() -> None:
    rows = [
        FLAT,
        FLAT,
        (40_200.0, 40_260.0, 40_190.0, 40_250.0, 5.0),
        FLAT,
        (40_500.0, 40_560.0, 40_490.0, 40_550.0, 5.0),
        FLAT,
    ]
    actions = {1: lambda s: s.buy(size=0.1), 3: lambda s: s.close()}
    strat, broker = run(rows, actions, commission=0.002)
    buy_price, buy_comm = strat.last(1)[4], strat.last(1)[5]
    sell_size, sell_price, sell_comm = strat.last(2)[3], strat.last(2)[4], strat.last(2)[5]
    assert sell_size == pytest.approx(-0.1 * (1 - 0.002))  # closes the real position
    assert buy_comm == pytest.approx(0.1 * 0.002 * buy_price)
    assert sell_comm == pytest.approx(0.0998 * sell_price * 0.002)
    expected_cash = 10_000.0 - 0.1 * buy_price + 0.0998 * sell_price - sell_comm
    assert broker.getcash() == pytest.approx(expected_cash, abs=1e-6)
    assert broker.getvalue() == pytest.approx(expected_cash, abs=1e-6)
    assert broker.getposition(strat.data).size == 0.0
    (trade,) = strat.trades
    assert trade.pnlcomm == pytest.approx(expected_cash - 10_000.0, abs=1e-6)


def test_below_minimum_is_rejected_before_sending_with_the_minimum_named() -> None:
    strat, broker = run([FLAT, FLAT, FLAT], {1: lambda s: s.buy(size=0.0001)})
    assert strat.statuses(1) == ["Submitted", "Rejected"]
    assert "minimum order value 5" in strat.last(1)[6]
    assert broker.getcash() == 10_000.0


def test_insufficient_cash_is_margin_with_the_exchange_reason() -> None:
    strat, broker = run([FLAT, FLAT, FLAT], {1: lambda s: s.buy(size=1.0)})
    assert strat.statuses(1) == ["Submitted", "Margin"]
    assert "insufficient balance" in strat.last(1)[6]
    assert broker.getcash() == 10_000.0


def test_a_refused_order_is_logged_with_the_fix_once_per_kind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The seeds' ``self.buy()`` (one BTC) on 10,000 USDT is refused on every bar: one warning
    names the reason, the cost and the fix; the repeats are counted, not logged again. A spot
    sell of what is not held names the perpetual."""
    buys = {bar: (lambda s: s.buy()) for bar in range(1, 13)}
    with caplog.at_level(logging.WARNING, logger="real_trade.brokers"):
        strat, _ = run([FLAT] * 14, {**buys, 13: lambda s: s.sell(size=0.01)})
    assert strat.statuses(1) == ["Submitted", "Margin"]
    lines = [r.getMessage() for r in caplog.records if r.name == "real_trade.brokers"]
    assert len(lines) == 3, lines
    first, tenth, short = lines
    assert f"order {strat.refs[0]} (buy 1 BTC/USDT) Margin: insufficient balance" in first
    assert "it costs about 40,000.00 USDT, the cash is 10,000.00 USDT" in first
    assert "size=" in first and "cerebro.addsizer" in first and "broker.setcash" in first
    assert "(10 refusals like this so far)" in tenth
    assert "sell 0.01 BTC/USDT" in short and "perpetual BTC/USDT:USDT" in short


def test_order_target_percent_buys_that_share_of_the_value_and_zero_closes() -> None:
    """backtrader's ``order_target_percent``: 5 % of 10,000 USDT at 40,000 is 0.0125 BTC (a
    fraction: the commission scheme does not round sizes down to whole units), and
    ``getvalue([data])`` is the position's value alone, as BackBroker's (it held the cash too,
    so the target looked reached and the order was a sell of the difference)."""
    looks: list[tuple[float, float]] = []

    def look(s: Recorder) -> None:
        looks.append((s.broker.getvalue([s.data]), s.position.size * s.data.close[0]))

    strat, broker = run(
        [FLAT] * 8,
        {
            1: lambda s: s.order_target_percent(target=0.05),
            3: look,
            4: lambda s: s.order_target_percent(target=0.0),
            6: lambda s: s.order_target_percent(target=0.0),  # flat with dust: nothing to do
        },
    )
    assert len(strat.refs) == 2, "flat (the dust is no position): no third order"
    assert strat.statuses(1)[-1] == "Completed" and strat.statuses(2)[-1] == "Completed"
    assert strat.last(1)[3] == pytest.approx(0.0125)  # bought
    assert strat.last(2)[3] == pytest.approx(-0.01248)  # the holding, on the amount step
    ((value, held),) = looks
    assert value == pytest.approx(held) and held == pytest.approx(0.0125 * 0.999 * 40_000.0)
    assert broker.getposition(strat.data).size == 0.0  # the rest is dust


def test_cancel_notifies_canceled_and_releases_the_cash() -> None:
    holder: dict[str, Any] = {}

    def place(s: Recorder) -> None:
        holder["o"] = s.buy(size=0.1, exectype=bt.Order.Limit, price=39_000.0)

    strat, broker = run([FLAT] * 5, {1: place, 3: lambda s: s.cancel(holder["o"])})
    assert strat.statuses(1) == ["Submitted", "Accepted", "Canceled"]
    assert broker.getcash() == 10_000.0 and not broker.open_orders


def test_bus_receives_order_updates_and_fills() -> None:
    bus = EventBus(synchronous=True)
    seen: list[Any] = []
    bus.subscribe("order.*", lambda _t, e: seen.append(e))
    bus.subscribe("fill", lambda _t, e: seen.append(e))
    broker = BinanceBroker(None, paper_trading=True, bus=bus, run_id="paperbus")
    run([FLAT, FLAT, FLAT], {1: lambda s: s.buy(size=0.01)}, broker=broker)
    kinds = [(type(e).__name__, getattr(e, "state", None)) for e in seen]
    assert [k[0] for k in kinds] == ["OrderUpdate", "OrderUpdate", "FillEvent", "OrderUpdate"]
    fill = next(e for e in seen if isinstance(e, FillEvent))
    done = [e for e in seen if isinstance(e, OrderUpdate)][-1]
    assert fill.client_order_id == done.client_order_id == "rt-paperbus-0001"
    assert (fill.amount, fill.commission_asset) == (pytest.approx(0.01), "BTC")


def test_seed_usage_with_a_store_trades_on_paper_without_network() -> None:
    store = BinanceStore(sim_url="http://127.0.0.1:9", bus=EventBus())
    broker = BinanceBroker(store, paper_trading=True, bus=EventBus())
    strat, _ = run([FLAT, FLAT, FLAT], {1: lambda s: s.buy(size=0.01)}, broker=broker)
    assert strat.statuses(1) == ["Submitted", "Accepted", "Completed"]
    assert not store.client.is_started


def test_live_mode_without_keys_is_refused_naming_the_fields() -> None:
    with pytest.raises(ConfigError, match="store") as no_store:
        BaseBroker(paper_trading=False)
    assert "apikey" in str(no_store.value) and "secret" in str(no_store.value)
    store = BinanceStore(sim_url="http://127.0.0.1:9", bus=EventBus())
    with pytest.raises(ConfigError, match="apikey"):
        BinanceBroker(store, paper_trading=False)


def test_an_unknown_broker_argument_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError, match="paper_trade") as err:
        BinanceBroker(None, paper_trade=True)
    assert "paper_trading" in str(err.value)


def test_cash_and_value_read_twice_a_bar_follow_fills_orders_and_deposits() -> None:
    """The paper broker keeps cash and value between reads of one cycle: every read must equal
    the account's own figures, after fills, a submitted order and a deposit mid-bar."""
    seen: list[tuple[float, float, float, float]] = []

    def check(s: Recorder) -> None:
        broker = s.broker
        held = broker.getposition(s.data).size + broker.session.positions.dust.get("BTC/USDT", 0.0)
        for _ in range(2):
            cash, value = broker.getcash(), broker.getvalue()
            seen.append((cash, broker.session.cash(), value, cash + held * s.data.close[0]))

    def buy_then_check(s: Recorder) -> None:
        check(s)
        s.buy(size=0.1, exectype=bt.Order.Limit, price=40_005.0)  # reserves cash now
        check(s)

    def deposit_then_check(s: Recorder) -> None:
        check(s)
        s.broker.setcash(s.broker.getcash() + 1_000.0)
        check(s)

    actions = {1: buy_then_check, 3: deposit_then_check, 5: lambda s: s.close()}
    actions |= {n: check for n in (2, 4, 6, 7)}
    strat, _ = run(rising(4) + [FLAT] * 4, actions)
    assert strat.statuses(1)[-1] == "Completed" and strat.statuses(2)[-1] == "Completed"
    for cash, truth, value, worth in seen:
        assert cash == truth
        assert value == pytest.approx(worth, abs=1e-9)
    assert len({round(c, 6) for c, *_ in seen}) >= 3  # the figures moved: fills and a deposit
