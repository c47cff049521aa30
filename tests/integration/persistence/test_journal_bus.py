"""The journal as a bus subscriber: a real asynchronous EventBus, flushed, on SQLite and PG."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from real_trade.bus import EventBus
from real_trade.execution.events import FILL_TOPIC
from real_trade.execution.orders import OrderState
from real_trade.persistence import ACCOUNT_SNAPSHOT_TOPIC, AccountSnapshot, Journal
from real_trade.risk.config import LiveRiskConfig
from real_trade.risk.engine import AccountContext, PreTradeOrder, RiskEngine
from tests.integration.persistence.builders import fill, intent, update
from tests.support import eventually

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class KillSwitchTriggered:
    """A kill-switch action as another component might publish it."""

    reason: str
    flatten: bool
    time_ms: int


@pytest.fixture
def bus() -> Iterator[EventBus]:
    events = EventBus(name="journal-test")
    yield events
    events.close()


def _order_lifecycle(bus: EventBus, n: int, strategy: str) -> None:
    for state in (OrderState.SUBMITTED, OrderState.ACCEPTED):
        event = update(n, state, strategy=strategy)
        bus.publish(event.topic, event)
    bus.publish(FILL_TOPIC, fill(n, f"T{n}", strategy=strategy))
    done = update(n, OrderState.COMPLETED, strategy=strategy, filled=0.5, average_price=100.0)
    bus.publish(done.topic, done)


def test_everything_published_is_journaled_after_a_flush(journal_url: str, bus: EventBus) -> None:
    with Journal(journal_url) as journal:
        journal.attach(bus)
        journal.record_intent(intent(1))
        _order_lifecycle(bus, 1, "sma")
        bus.publish(FILL_TOPIC, fill(1, "T1"))  # the websocket and REST both report it
        bus.publish(ACCOUNT_SNAPSHOT_TOPIC, AccountSnapshot("sma", 5_000, 50.0, 100.0))
        bus.publish(
            "reconcile.intent_lost",
            {"client_order_id": "rt-sma-0009", "strategy": "sma", "time_ms": 6_000},
        )
        bus.publish("killswitch.triggered", KillSwitchTriggered("drawdown", True, 7_000))
        bus.publish("order.accepted", "not an order update")
        assert journal.flush(timeout=10)
        (order,) = journal.orders()
        assert (order.state, order.filled, order.exchange_order_id) == ("COMPLETED", 0.5, "X1")
        assert [f.trade_id for f in journal.fills()] == ["T1"]
        assert [p.equity for p in journal.equity()] == [100.0]
        lost, kill = journal.events()
        assert (lost.kind, lost.strategy, lost.time_ms) == ("reconcile.intent_lost", "sma", 6_000)
        assert kill.payload == {"reason": "drawdown", "flatten": True, "time_ms": 7_000}
        assert journal.stats.duplicates == 1 and journal.stats.ignored == 1
        assert journal.stats.errors == 0 and bus.stats.handler_errors == 0


def test_risk_denials_are_journaled_and_approvals_are_not(journal_url: str, bus: EventBus) -> None:
    engine = RiskEngine(LiveRiskConfig(max_order_amount=1.0), bus=bus)
    with Journal(journal_url) as journal:
        journal.attach(bus)
        ctx = AccountContext(last_price=100.0)
        assert engine.check(PreTradeOrder("BTC/USDT", "buy", 0.5, 100.0), ctx).allowed
        assert not engine.check(PreTradeOrder("BTC/USDT", "sell", 2.0, 101.0), ctx).allowed
        journal.flush(timeout=10)
        (denial,) = journal.events("risk.rejected")
        payload = denial.payload
        assert (payload["rule"], payload["limit"], payload["value"]) == (
            "max_order_amount",
            1.0,
            2.0,
        )
        assert (payload["symbol"], payload["side"], payload["amount"], payload["price"]) == (
            "BTC/USDT",
            "sell",
            2.0,
            101.0,
        )
        assert "max_order_amount" in payload["reason"]


def test_a_shared_journal_keys_by_strategy_and_a_named_one_keeps_its_own(
    journal_url: str, bus: EventBus
) -> None:
    with Journal(journal_url) as shared, Journal(journal_url, strategy="b") as named:
        shared.attach(bus)
        named.attach(bus)
        _order_lifecycle(bus, 1, "a")
        _order_lifecycle(bus, 2, "b")
        _order_lifecycle(bus, 3, "")
        bus.publish(ACCOUNT_SNAPSHOT_TOPIC, AccountSnapshot("a", 1, 1.0, 1.0))
        bus.publish("killswitch.flatten", {"reason": "manual"})
        bus.flush(timeout=10)
        assert {(o.strategy, o.local_id) for o in shared.orders()} == {("a", 1), ("b", 2), ("", 3)}
        assert [(o.strategy, o.local_id) for o in named.orders()] == [("b", 2)]
        assert [f.strategy for f in named.fills()] == ["b"]
        assert named.equity() == [] and len(shared.equity()) == 1
        assert named.stats.skipped == 2 * 4 + 1  # a's and ""'s updates and fills, a's snapshot
        # strategy-less events belong to whoever hears them: both journals file the kill switch
        assert sorted(e.strategy for e in shared.events(strategy=None)) == ["", "b"]
        assert named.stats.duplicates == 1  # same database: the shared journal wrote b's fill


def test_a_failed_write_is_logged_and_counted_and_the_bus_goes_on(
    journal_url: str, bus: EventBus, caplog: pytest.LogCaptureFixture
) -> None:
    with Journal(journal_url) as journal:
        journal.attach(bus)
        engine = sa.create_engine(journal_url, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE fills")
        engine.dispose()
        with caplog.at_level(logging.ERROR, logger="real_trade.persistence"):
            _order_lifecycle(bus, 1, "sma")
            journal.flush(timeout=10)
        assert journal.stats.errors == 1 and journal.stats.last_error
        assert "fills" in journal.stats.last_error
        assert bus.stats.handler_errors == 0
        assert journal.orders()[0].state == "COMPLETED"
        assert any("could not record the event on fill" in r.getMessage() for r in caplog.records)


def test_detach_stops_recording_and_close_writes_what_was_queued(
    journal_url: str, bus: EventBus
) -> None:
    journal = Journal(journal_url)
    journal.attach(bus)
    with pytest.raises(RuntimeError, match="already attached"):
        journal.attach(bus)
    for n in range(1, 51):
        bus.publish(FILL_TOPIC, fill(n, f"T{n}"))
    journal.close()  # flushes first
    assert bus.stats.delivered == 50
    bus.publish(FILL_TOPIC, fill(99, "T99"))
    bus.flush(timeout=10)
    with Journal(journal_url) as reopened:
        assert len(reopened.fills()) == 50
        reopened.attach(bus)
        bus.publish(FILL_TOPIC, fill(100, "T100"))
        eventually(lambda: len(reopened.fills()) == 51, message="fill T100 journaled")
        reopened.detach()
        bus.publish(FILL_TOPIC, fill(101, "T101"))
        bus.flush(timeout=10)
        assert len(reopened.fills()) == 51
