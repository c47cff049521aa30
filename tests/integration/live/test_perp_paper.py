"""Perpetuals on the paper broker: an unchanged backtrader strategy on ``BTC/USDT:USDT``.

Paper executes through the simulator's derivatives core in-process, so what the strategy sees
is checked against that core: the position (signed size, entry price), the wallet as cash, the
value with the unrealized PnL, reduce-only closes, leverage and margin mode from the config,
funding paid at 08:00 UTC, a liquidation as an order event, journal rows and bus events, and the
risk guard on the liquidation price.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd
import pytest

from real_trade.brokers import BaseBroker, BinanceBroker, BybitBroker, OKXBroker
from real_trade.bus import EventBus
from real_trade.errors import ConfigError
from real_trade.execution import FundingPayment, Liquidation, OrderUpdate
from real_trade.persistence import Journal
from real_trade.risk import LiveRiskConfig

pytestmark = pytest.mark.integration

SYMBOL = "BTC/USDT:USDT"
BROKERS: dict[str, type[BaseBroker]] = {
    "binance": BinanceBroker,
    "bybit": BybitBroker,
    "okx": OKXBroker,
}
Row = tuple[float, float, float, float, float]


class Book(bt.Strategy):
    """Runs ``actions[bar]`` and records, after each bar, what the strategy sees."""

    params = (("actions", None),)

    def __init__(self) -> None:
        self.seen: list[tuple[int, float, float, float, float]] = []
        self.notes: list[tuple[str, float, float, Any]] = []
        self.orders: list[Any] = []
        self.funds: list[float] = []

    def next(self) -> None:
        pos = self.position
        self.seen.append((len(self), pos.size, pos.price, self.broker.getcash(), 0.0))
        action = (self.p.actions or {}).get(len(self))
        if action is not None:
            order = action(self)
            if order is not None:
                self.orders.append(order)

    def notify_order(self, order: Any) -> None:
        if order.status in (order.Completed, order.Rejected, order.Margin):
            reason = order.info.get("reason") or order.info.get("risk_rule")
            self.notes.append(
                (order.getstatusname(), order.executed.size, order.executed.price, reason)
            )

    def notify_fund(self, cash: float, value: float, fundvalue: float, shares: float) -> None:
        self.funds.append(cash)


def frame_of(rows: list[Row], start: str = "2024-03-01 00:00") -> pd.DataFrame:
    index = pd.date_range(start, periods=len(rows), freq="1min")
    return pd.DataFrame(rows, index=index, columns=["open", "high", "low", "close", "volume"])


def flat(n: int, price: float = 40_000.0) -> list[Row]:
    return [(price, price + 20.0, price - 20.0, price, 5.0)] * n


def recording_bus() -> tuple[EventBus, list[tuple[str, Any]]]:
    bus, events, lock = EventBus(synchronous=True), [], threading.Lock()

    def keep(topic: str, event: Any) -> None:
        with lock:
            events.append((topic, event))

    bus.subscribe("**", keep)
    return bus, events


def run(
    rows: list[Row],
    actions: dict[int, Callable[[Book], Any]],
    *,
    start: str = "2024-03-01 00:00",
    bus: EventBus | None = None,
    venue: str = "binance",
    **broker_args: Any,
) -> tuple[Book, BaseBroker]:
    broker = BROKERS[venue](None, paper_trading=True, bus=bus or EventBus(), **broker_args)
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.setbroker(broker)
    cerebro.broker.setcash(10_000.0)
    cerebro.broker.setcommission(0.0004)
    feed = bt.feeds.PandasData(dataname=frame_of(rows, start), timeframe=bt.TimeFrame.Minutes)
    cerebro.adddata(feed, name=SYMBOL)
    cerebro.addstrategy(Book, actions=actions)
    return cerebro.run()[0], broker


def core_view(broker: BaseBroker) -> tuple[Any, Any]:
    paper = broker.session.paper
    assert paper is not None and paper.core is not None
    return paper.core, paper._account


@pytest.mark.parametrize("venue", list(BROKERS))
def test_sell_when_flat_goes_short_reverses_and_close_is_reduce_only(venue: str) -> None:
    rows = [
        (40_000.0 + x, 40_030.0 + x, 39_970.0 + x, 40_010.0 + x, 5.0) for x in range(0, 200, 10)
    ]
    states: dict[str, tuple[float, float]] = {}

    def look(name: str) -> Callable[[Book], None]:
        return lambda s: states.__setitem__(name, (s.position.size, s.position.price))

    actions = {
        2: lambda s: s.sell(size=0.01),
        4: look("short"),
        5: lambda s: s.buy(size=0.02),
        7: look("long"),
        8: lambda s: s.close(),
        10: look("closed"),
    }
    strat, broker = run(rows, actions, venue=venue)
    core, account = core_view(broker)
    sizes = [(n[0], n[1]) for n in strat.notes]
    assert sizes == [("Completed", -0.01), ("Completed", 0.02), ("Completed", -0.01)]
    assert states["short"][0] == pytest.approx(-0.01)
    assert states["short"][1] == pytest.approx(strat.notes[0][2])  # entry = the fill price
    assert states["long"][0] == pytest.approx(0.01)
    assert states["long"][1] == pytest.approx(strat.notes[1][2])  # the flip's price
    assert states["closed"] == (0.0, 0.0)
    orders = core.all_orders(account, "BTCUSDT")
    assert [o.reduce_only for o in orders] == [False, False, True]  # close() only
    assert core.positions(account) == []
    wallet = float(core.margin_summary(account, "USDT").wallet_balance)
    assert broker.getcash() == pytest.approx(wallet, abs=1e-9)
    assert broker.getvalue() == pytest.approx(wallet, abs=1e-9)
    # flat again: the wallet moved by the trades' cash flows less the fees, nothing else
    fills = core.my_trades(account, "BTCUSDT")
    flows = sum(float(f.quote_qty) * (-1 if f.is_buyer else 1) for f in fills)
    fees = sum(float(f.commission) for f in fills)
    assert wallet == pytest.approx(10_000.0 + flows - fees, abs=1e-6)


@pytest.mark.parametrize("venue", list(BROKERS))
def test_order_target_percent_goes_long_then_short_then_flat(venue: str) -> None:
    """``order_target_percent(0.05)`` on 10,000 USDT at 40,000: long 0.0125 BTC; ``-0.05``:
    short as much (a sell of twice that); ``0``: flat (it once sold 0 or, with a larger
    account, whole BTC: the position's value was read with the wallet in it)."""
    states: dict[str, float] = {}

    def look(name: str) -> Callable[[Book], None]:
        return lambda s: states.__setitem__(name, s.position.size)

    actions = {
        2: lambda s: s.order_target_percent(target=0.05),
        4: look("long"),
        5: lambda s: s.order_target_percent(target=-0.05),
        7: look("short"),
        8: lambda s: s.order_target_percent(target=0.0),
        10: look("flat"),
    }
    strat, _ = run(flat(12), actions, venue=venue)
    assert [n[0] for n in strat.notes] == ["Completed"] * 3, strat.notes
    assert 0.012 - 1e-9 <= states["long"] <= 0.0125 + 1e-9  # on the venue's amount step
    assert states["short"] == pytest.approx(-states["long"], abs=1e-9)
    assert states["flat"] == 0.0


@pytest.mark.parametrize("venue", list(BROKERS))
def test_position_is_the_exchanges_and_value_adds_unrealized_pnl(venue: str) -> None:
    rows = flat(3) + [(40_000.0 + 100 * i,) * 4 + (5.0,) for i in range(1, 6)]  # type: ignore[misc]
    checks: list[tuple[float, float, float, float, float, float]] = []

    def check(s: Book) -> None:
        core, account = core_view(s.broker)  # type: ignore[arg-type]
        (view,) = core.positions(account)
        wallet = float(core.margin_summary(account, "USDT").wallet_balance)
        checks.append(
            (
                s.position.size,
                float(view.qty),
                s.position.price,
                float(view.entry_price),
                s.broker.getvalue() - s.broker.getcash(),
                wallet,
            )
        )
        unreal = s.position.size * (s.data.close[0] - s.position.price)
        assert s.broker.getvalue() == pytest.approx(s.broker.getcash() + unreal, abs=1e-9)

    actions: dict[int, Callable[[Book], Any]] = {2: lambda s: s.sell(size=0.05)}
    actions.update({n: check for n in (4, 5, 6, 7, 8)})
    _strat, broker = run(rows, actions, venue=venue)
    assert len(checks) == 5
    for size, exch_size, price, exch_entry, _unreal, wallet in checks:
        assert size == pytest.approx(exch_size) == pytest.approx(-0.05)
        assert price == pytest.approx(exch_entry)
        assert broker.getcash() == pytest.approx(wallet)
    assert checks[-1][4] < checks[0][4] < 0  # a short loses as the price rises


@pytest.mark.parametrize("venue", list(BROKERS))
def test_leverage_and_margin_mode_come_from_the_config(venue: str) -> None:
    contracts = {SYMBOL: {"leverage": 7, "margin_mode": "isolated"}}
    buy = {2: lambda s: s.buy(size=0.01)}
    _strat, broker = run(flat(4), buy, contracts=contracts, venue=venue)
    core, account = core_view(broker)
    settings = core.contract_settings(account, "BTCUSDT")
    assert (settings.leverage, settings.margin_mode.value) == (7, "isolated")
    (view,) = core.positions(account)
    assert view.leverage == 7
    assert float(view.isolated_margin) > 0


def test_a_leverage_the_contract_refuses_is_a_clear_error() -> None:
    with pytest.raises(ConfigError) as info:
        run(flat(3), {}, contracts={SYMBOL: {"leverage": 500}})
    assert "BTC/USDT:USDT" in str(info.value)
    assert "leverage" in str(info.value) and info.value.fix


def test_funding_reaches_cash_the_strategy_the_bus_and_the_journal(tmp_path: Path) -> None:
    bus, events = recording_bus()
    url = f"sqlite:///{tmp_path / 'perp.db'}"
    journal = Journal(url)
    rows = flat(20, 40_000.0)
    strat, broker = run(
        rows,
        {2: lambda s: s.sell(size=0.1)},
        start="2024-03-01 07:50",
        bus=bus,
        journal=journal,
        run_id="perp",
    )
    payments = [e for t, e in events if t == "funding"]
    assert len(payments) == 1
    (paid,) = payments
    assert isinstance(paid, FundingPayment) and paid.symbol == SYMBOL
    assert paid.amount != 0 and paid.strategy == "perp"
    assert broker.funding_payments == [paid]
    core, account = core_view(broker)
    (funding,) = [e for e in core.funding_rates("BTCUSDT")]
    assert funding[0] == pd.Timestamp("2024-03-01 08:00", tz="UTC").value // 1_000_000
    # the short receives what a positive rate makes longs pay, at the mark
    assert paid.amount == pytest.approx(0.1 * float(funding[2]) * float(funding[1]), rel=1e-9)
    wallet = float(core.margin_summary(account, "USDT").wallet_balance)
    assert broker.getcash() == pytest.approx(wallet)
    assert strat.funds[-1] == pytest.approx(wallet)  # notify_fund sees the wallet
    journal.flush()
    rows_ = Journal(url).events("funding")
    assert len(rows_) == 1 and rows_[0].payload["amount"] == pytest.approx(paid.amount)


def test_a_liquidation_is_an_order_event_a_journal_row_and_a_bus_event(tmp_path: Path) -> None:
    bus, events = recording_bus()
    url = f"sqlite:///{tmp_path / 'liq.db'}"
    journal = Journal(url)
    crash = [
        (40_000.0 - x, 40_000.0 - x, 39_600.0 - x, 39_600.0 - x, 5.0) for x in range(0, 4000, 400)
    ]
    rows = flat(3) + crash + flat(3, 36_000.0)
    strat, broker = run(
        rows,
        {2: lambda s: s.buy(size=0.2)},
        bus=bus,
        journal=journal,
        run_id="liq",
        contracts={SYMBOL: {"leverage": 20, "margin_mode": "isolated"}},
    )
    liquidations = [e for t, e in events if t == "liquidation"]
    assert len(liquidations) == 1 and isinstance(liquidations[0], Liquidation)
    assert liquidations[0].size == pytest.approx(0.2)
    closing = [n for n in strat.notes if n[3] and str(n[3]).startswith("liquidation")]
    assert len(closing) == 1
    assert closing[0][1] == pytest.approx(-0.2)
    assert closing[0][2] == pytest.approx(liquidations[0].price)
    assert strat.position.size == 0
    core, account = core_view(broker)
    assert core.positions(account) == []
    updates = [e for t, e in events if t == "order.completed" and isinstance(e, OrderUpdate)]
    assert any(u.reason and u.reason.startswith("liquidation") for u in updates)
    assert broker.getcash() == pytest.approx(float(core.margin_summary(account).wallet_balance))
    journal.flush()
    reads = Journal(url)
    assert len(reads.events("liquidation")) == 1
    assert any((o.reason or "").startswith("liquidation") for o in reads.orders())


def test_the_risk_guard_refuses_an_order_that_puts_liquidation_near_the_mark() -> None:
    risk = LiveRiskConfig(min_liquidation_distance=0.1)
    actions: dict[int, Callable[[Book], Any]] = {
        2: lambda s: s.buy(size=0.5),  # 20,000 on 10,000 of equity: liquidation ~50% away
        4: lambda s: s.buy(size=2.0),  # 100,000 on 10,000: liquidation within 10%
    }
    strat, _broker = run(flat(6), actions, risk=risk)
    assert [n[0] for n in strat.notes] == ["Completed", "Rejected"]
    assert strat.notes[1][3].startswith("min_liquidation_distance: the order would put")
    assert strat.position.size == pytest.approx(0.5)


def test_margin_ratio_and_leverage_rules_act_on_the_exchanges_figures() -> None:
    # 0.5 BTC at 40,000 on 10,000: maintenance 0.4% of 20,000 = 80, margin ratio ~0.008;
    # notional / equity after a further 0.1 BTC ~2.4, within max_leverage
    risk = LiveRiskConfig(max_margin_ratio=0.005, max_leverage=3.0)
    actions: dict[int, Callable[[Book], Any]] = {
        2: lambda s: s.buy(size=0.5),  # ratio 0 before, leverage 2 after: passes
        4: lambda s: s.buy(size=0.1),  # the position's real margin ratio is above 0.005
        6: lambda s: s.sell(size=0.2),  # reducing: passes
    }
    contracts = {SYMBOL: {"leverage": 3}}  # the setting itself is checked against max_leverage
    strat, broker = run(flat(8), actions, risk=risk, contracts=contracts)
    assert [n[0] for n in strat.notes] == ["Completed", "Rejected", "Completed"]
    assert strat.notes[1][3].startswith("max_margin_ratio: margin ratio 0.00")
    account = broker.session.contract_account()
    assert account is not None and account.margin_ratio is not None
    core, acct = core_view(broker)
    summary = core.margin_summary(acct, "USDT")
    expected = float(summary.maintenance_margin) / float(summary.margin_balance)
    assert account.margin_ratio == pytest.approx(expected)
    risk2 = LiveRiskConfig(max_leverage=3.0)
    buy = {2: lambda s: s.buy(size=1.0)}  # 40,000 / 10,000 = 4
    strat2, _ = run(flat(6), buy, risk=risk2, contracts=contracts)
    assert strat2.notes[0][0] == "Rejected"
    assert strat2.notes[0][3].startswith("max_leverage: leverage after the order 4")


def test_the_kill_switch_flattens_a_short_with_a_reduce_only_buy() -> None:
    reports: list[Any] = []

    def kill(s: Book) -> None:
        reports.append(s.broker.kill(flatten=True, reason="test"))  # type: ignore[attr-defined]

    strat, broker = run(flat(10), {2: lambda s: s.sell(size=0.05), 4: kill})
    core, account = core_view(broker)
    assert core.positions(account) == []
    assert strat.position.size == 0
    orders = core.all_orders(account, "BTCUSDT")
    assert [(o.side.value, o.reduce_only) for o in orders] == [("sell", False), ("buy", True)]
    (future,) = reports
    report = future.result(timeout=0)
    assert report.ok and len(report.flattens) == 1 and not report.remaining
