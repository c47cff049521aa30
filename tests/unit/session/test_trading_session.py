"""TradingSession without backtrader: a paper session trades, books positions, kills, halts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from real_trade.bus import EventBus
from real_trade.execution import (
    FillEvent,
    OrderKind,
    OrderRequest,
    OrderSide,
    OrderState,
    PaperBar,
    PositionDust,
    SymbolLimits,
)
from real_trade.persistence import Journal
from real_trade.risk import KillReport, TradingState
from real_trade.session.config import SessionConfig, SessionUpdate
from real_trade.session.control import KILL_DONE_KEY, KILL_REQUEST_KEY
from real_trade.session.positions import SymbolPositions
from real_trade.session.session import TradingSession

SYMBOL = "BTC/USDT"
T0 = 1_700_000_000_000
MINUTE = 60_000


class PaperRun:
    """A started paper session fed one-minute bars by hand; every update it reported."""

    def __init__(self, journal: Journal | None = None) -> None:
        self.bus = EventBus(synchronous=True)
        self.topics: list[str] = []
        self.bus.subscribe("**", lambda topic, _event: self.topics.append(topic))
        self.session = TradingSession(SessionConfig(bus=self.bus, run_id="unit", journal=journal))
        self.session.start([SYMBOL])
        self.updates: list[SessionUpdate] = []
        self.bars = 0
        self.bar(30_000.0)

    def bar(self, price: float) -> None:
        """One cycle with a new bar at ``price``, as a host runs it."""
        time_ms = T0 + self.bars * MINUTE
        bar = PaperBar(time_ms, price, price * 1.001, price * 0.999, price, 10.0, MINUTE)
        self.bars += 1
        self.session.advance({SYMBOL: bar}, time_ms)
        self.collect()
        self.session.after_cycle()
        self.collect()

    def collect(self) -> None:
        self.updates += self.session.take_updates()
        self.session.settle_positions()

    def order(self, local_id: int, side: OrderSide, amount: float, **kw: float) -> None:
        kind = OrderKind.LIMIT if "price" in kw else OrderKind.MARKET
        request = OrderRequest(local_id, SYMBOL, side, kind, amount, **kw)
        self.session.submit(request, reference_price=self.session.last_price(SYMBOL))
        self.collect()

    def states(self, local_id: int) -> list[OrderState]:
        return [
            u.event.state
            for u in self.updates
            if not isinstance(u.event, FillEvent) and u.event.local_id == local_id
        ]


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(f"sqlite:///{tmp_path / 'session.db'}") as j:
        yield j


def test_a_market_buy_fills_on_the_next_bar_and_becomes_the_position() -> None:
    run = PaperRun()
    run.order(1, OrderSide.BUY, 0.01)
    run.bar(30_010.0)

    assert run.states(1)[-1] is OrderState.COMPLETED
    fills = [u for u in run.updates if isinstance(u.event, FillEvent)]
    assert len(fills) == 1 and fills[0].position_change == pytest.approx(0.00999)  # BTC fee
    assert run.session.positions.size(SYMBOL) == pytest.approx(0.00999)
    cash = run.session.cash()
    assert cash == pytest.approx(10_000.0 - 0.01 * 30_010.0)
    assert run.session.equity() == pytest.approx(cash + 0.00999 * 30_010.0)


def test_kill_with_flatten_cancels_resting_orders_closes_the_position_and_halts() -> None:
    run = PaperRun()
    run.order(1, OrderSide.BUY, 0.01)
    run.bar(30_010.0)
    run.order(2, OrderSide.BUY, 0.01, price=20_000.0)  # rests far below the market
    run.bar(30_000.0)
    assert run.states(2)[-1] is OrderState.ACCEPTED

    future = run.session.kill(flatten=True, reason="unit test")
    assert run.session.trading_state.state is TradingState.REDUCING  # at once, any thread
    run.bar(30_005.0)  # cancel confirmed, closing sell placed
    run.bar(30_000.0)  # the close fills: flat, HALTED

    report: KillReport = future.result(0)
    assert [c.status for c in report.cancels] == ["canceled"]
    assert report.cancels[0].order.client_order_id == "rt-unit-0002"
    assert [(f.position.symbol, f.amount) for f in report.closes("closed")] == [
        (SYMBOL, pytest.approx(0.00999))
    ]
    assert report.ok and not report.already_halted
    assert report.reason == "kill switch: unit test"
    assert run.states(2)[-1] is OrderState.CANCELED
    assert run.session.positions.size(SYMBOL) == 0.0
    assert run.session.trading_state.state is TradingState.HALTED
    assert run.topics.count("killswitch.engaged") == 1 and "killswitch.halted" in run.topics


def test_a_halted_session_refuses_new_entries_with_the_risk_decision() -> None:
    run = PaperRun()
    run.session.kill(reason="drill")
    run.bar(30_000.0)
    assert run.session.trading_state.state is TradingState.HALTED

    run.order(7, OrderSide.BUY, 0.01)

    assert run.states(7) == [OrderState.SUBMITTED, OrderState.REJECTED]
    rejected = [u for u in run.updates if u.denial is not None]
    assert len(rejected) == 1 and rejected[0].denial.rule == "trading_state"
    assert "HALTED (kill switch: drill)" in str(rejected[0].event.reason)


def test_a_second_kill_finds_nothing_to_do() -> None:
    run = PaperRun()
    first = run.session.kill(reason="one")
    run.bar(30_000.0)
    second = run.session.kill(reason="two")
    run.bar(30_000.0)
    assert not first.result(0).already_halted
    assert second.result(0).already_halted and second.result(0).nothing_to_do


def test_the_journal_gets_intents_snapshots_and_the_halt(journal: Journal) -> None:
    run = PaperRun(journal)
    run.order(1, OrderSide.BUY, 0.01)
    run.bar(30_010.0)
    run.session.kill(reason="journaled")
    run.bar(30_010.0)
    run.session.stop()

    assert journal.client_order_ids(strategy="unit") == {"rt-unit-0001"}
    snapshot = journal.latest_snapshot(strategy="unit")
    assert snapshot is not None and snapshot.positions[SYMBOL] == pytest.approx(0.00999)
    assert journal.get_state("trading_state")["state"] == "halted"
    assert {e.kind for e in journal.events("killswitch.*")} >= {
        "killswitch.engaged",
        "killswitch.halted",
    }
    halted = journal.events("killswitch.halted")[-1].payload
    assert halted["summary"].endswith("trading HALTED") and halted["ok"] is True


def test_a_session_follows_the_journals_kill_request_and_trading_state(journal: Journal) -> None:
    run = PaperRun(journal)
    journal.set_state(KILL_REQUEST_KEY, {"id": "k1", "flatten": False, "reason": "ops"})
    run.session.control._last = None  # type: ignore[union-attr]  # poll at this cycle
    run.bar(30_000.0)
    run.bar(30_000.0)
    assert journal.get_state(KILL_DONE_KEY) == "k1"
    assert run.session.trading_state.state is TradingState.HALTED

    journal.set_state("trading_state", {"state": "active", "reason": "resumed by ops"})
    run.session.control.poll()  # type: ignore[union-attr]
    assert run.session.trading_state.snapshot().state is TradingState.ACTIVE
    assert run.session.trading_state.snapshot().reason == "resumed by ops"


def test_a_pause_in_the_journal_lets_only_exposure_reducing_orders_through(
    journal: Journal,
) -> None:
    run = PaperRun(journal)
    run.order(1, OrderSide.BUY, 0.01)
    run.bar(30_000.0)
    journal.set_state("trading_state", {"state": "reducing", "reason": "paused: ops"})
    run.session.control.poll()  # type: ignore[union-attr]
    assert run.session.trading_state.snapshot().state is TradingState.REDUCING

    run.order(2, OrderSide.BUY, 0.01)  # a new entry: refused
    run.order(3, OrderSide.SELL, 0.005)  # reduces the position: passes
    run.bar(30_000.0)

    assert run.states(2) == [OrderState.SUBMITTED, OrderState.REJECTED]
    assert OrderState.COMPLETED in run.states(3)


def test_a_restarted_session_starts_halted_when_the_journal_says_so(journal: Journal) -> None:
    journal.set_state("trading_state", {"state": "halted", "reason": "operator kill"})
    run = PaperRun(journal)
    assert run.session.trading_state.snapshot().state is TradingState.HALTED
    run.session.resume_trading("back to work")
    assert run.session.trading_state.state is TradingState.ACTIVE
    assert journal.get_state("trading_state")["state"] == "active"


def test_dust_is_no_position_reported_once_and_taken_back_by_the_next_buy() -> None:
    events: list[PositionDust] = []
    cleared: list[str] = []
    positions = SymbolPositions(lambda _t, e: events.append(e), cleared.append, "unit")  # type: ignore[arg-type]
    limits = SymbolLimits(amount_step=0.00001, min_amount=0.0001, min_cost=5.0)

    def fill(side: str, change: float, price: float = 30_000.0) -> FillEvent:
        return FillEvent(
            1, "c", "x", SYMBOL, side, "t", price, abs(change), 0.0, "USDT", T0, False, change, 0.0
        )

    assert positions.book(fill("buy", 0.00999), limits) == pytest.approx(0.00999)
    assert positions.book(fill("sell", -0.00998), limits) == pytest.approx(-0.00999)  # closes
    assert positions.size(SYMBOL) == 0.0 and positions.dust[SYMBOL] == pytest.approx(0.00001)
    assert len(events) == 1 and events[0].amount == pytest.approx(0.00001)
    assert positions.settle(SYMBOL, 0.00001, limits, 30_000.0, T0) is None  # still dust, quiet
    assert len(events) == 1  # reported once
    assert positions.book(fill("buy", 0.01), limits) == pytest.approx(0.01001)  # takes it back
    assert SYMBOL not in positions.dust and cleared == [SYMBOL]  # the sell to dust cleared it


def test_a_holding_turns_to_dust_as_its_price_falls_and_back_as_it_rises() -> None:
    """No report comes while the price moves: the holding's value at the price decides whether
    an order could sell it (BTC/USDT's minimum order value is 5 USDT)."""
    run = PaperRun()
    run.order(1, OrderSide.BUY, 0.0003)
    run.bar(30_000.0)
    positions = run.session.positions
    assert positions.size(SYMBOL) == pytest.approx(0.0002997)  # the fee is paid in BTC
    for price in (29_000.0, 25_000.0, 20_000.0):
        run.bar(price)
    assert positions.size(SYMBOL) == pytest.approx(0.0002997)  # 0.00029 x 20,000 = 5.8 USDT
    run.bar(15_000.0)  # 4.35 USDT
    assert positions.size(SYMBOL) == 0.0 and positions.dust[SYMBOL] == pytest.approx(0.0002997)
    run.bar(30_000.0)
    assert positions.size(SYMBOL) == pytest.approx(0.0002997) and SYMBOL not in positions.dust


def test_a_submission_publishes_its_events_once_the_order_is_handed_to_the_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = PaperRun()
    port = run.session.manager.port  # type: ignore[union-attr]
    seen_at_place: list[list[str]] = []
    place = port.place

    def placing(request: OrderRequest) -> None:
        seen_at_place.append(list(run.topics))
        place(request)

    monkeypatch.setattr(port, "place", placing)
    before = len(run.topics)
    run.order(1, OrderSide.BUY, 0.01)
    assert len(seen_at_place) == 1 and len(seen_at_place[0]) == before  # nothing yet
    assert "order.submitted" in run.topics[before:]  # then


def test_a_submission_is_published_once_the_order_is_handed_to_the_wire() -> None:
    run = PaperRun()
    assert run.session.manager is not None
    port = run.session.manager.port
    seen: list[str] = []
    place = port.place

    def placing(request: OrderRequest) -> None:
        seen.append("place")
        place(request)

    port.place = placing  # type: ignore[method-assign]
    run.bus.subscribe("order.submitted", lambda topic, _event: seen.append(topic))
    run.order(1, OrderSide.BUY, 0.01)
    assert seen == ["place", "order.submitted"]  # held while the order went out


def test_a_submission_on_a_bus_nobody_listens_to_is_not_held() -> None:
    bus = EventBus(synchronous=True)
    session = TradingSession(SessionConfig(bus=bus, run_id="unit"))
    session.start([SYMBOL])
    assert not bus.subscribed
    session.submit(OrderRequest(1, SYMBOL, OrderSide.BUY, OrderKind.MARKET, 0.01))
    assert bus.stats.published == 1  # order.submitted, published at once to nobody
    assert session.manager is not None and session.manager.orders[1].sent
    assert [u.event.state for u in session.take_updates()] == [OrderState.SUBMITTED]
    seen: list[str] = []
    bus.subscribe("**", lambda topic, _event: seen.append(topic))
    assert bus.subscribed and seen == []
