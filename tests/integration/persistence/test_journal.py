"""Every write and every query of the journal, on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from real_trade.execution.orders import OrderState
from real_trade.persistence import AccountSnapshot, EquityPoint, Journal, JournalError, OrderRow
from tests.integration.persistence.builders import fill, intent, update

pytestmark = pytest.mark.integration


@pytest.fixture
def journal(journal_url: str) -> Iterator[Journal]:
    with Journal(journal_url) as opened:
        yield opened


def test_an_intent_is_written_once_however_often_it_is_recorded(journal: Journal) -> None:
    assert journal.record_intent(intent(1)) is True
    assert journal.record_intent(intent(1, amount=9.0)) is False
    (order,) = journal.orders()
    assert (order.client_order_id, order.strategy, order.amount) == ("rt-sma-0001", "sma", 0.5)
    assert order.params == {"signal": "cross", "fast": 10}
    assert order.state is None and order.is_open
    assert journal.stats.written == 1 and journal.stats.duplicates == 1


def test_an_order_carries_its_latest_state(journal: Journal) -> None:
    journal.record_intent(intent(1))
    journal.record_update(update(1, OrderState.SUBMITTED, exchange_order_id=None))
    journal.record_update(update(1, OrderState.ACCEPTED))
    journal.record_update(
        update(1, OrderState.COMPLETED, filled=0.5, average_price=99.5, time_ms=1_500)
    )
    (order,) = journal.orders()
    assert order.order_state is OrderState.COMPLETED and not order.is_open
    assert (order.exchange_order_id, order.filled, order.average_price) == ("X1", 0.5, 99.5)
    assert order.updated_ms == 1_500
    assert journal.orders(open_only=True) == []


def test_a_fill_written_twice_counts_once(journal: Journal) -> None:
    assert journal.record_fill(fill(1, "T1")) is True
    assert journal.record_fill(fill(1, "T1")) is False
    assert journal.record_fill(fill(1, "T2", amount=0.25)) is True
    rows = journal.fills()
    assert [(f.trade_id, f.amount) for f in rows] == [("T1", 0.5), ("T2", 0.25)]
    assert rows[0].fee_in_quote == pytest.approx(0.05) and rows[0].commission_asset == "USDT"
    assert journal.last_fill_ms() == 1_020
    assert journal.last_fill_ms(symbol="ETH/USDT") is None


def test_time_ranges_are_half_open(journal: Journal) -> None:
    for n in (1, 2, 3):
        journal.record_intent(intent(n))
        journal.record_fill(fill(n, f"T{n}"))
    assert [o.local_id for o in journal.orders(2_000, 3_000)] == [2]
    assert [o.local_id for o in journal.orders(start_ms=2_000)] == [2, 3]
    assert [f.local_id for f in journal.fills(end_ms=2_020)] == [1]
    assert [f.local_id for f in journal.fills(1_020, 3_021)] == [1, 2, 3]


def test_orders_refused_before_they_were_sent_are_reported_too(journal: Journal) -> None:
    journal.record_update(
        update(
            9,
            OrderState.REJECTED,
            client_order_id="",
            exchange_order_id=None,
            reason="max_notional: 50000 exceeds 10000",
            time_ms=5_000,
        )
    )
    (order,) = journal.orders()
    assert (order.client_order_id, order.local_id, order.state) == ("", 9, "REJECTED")
    assert order.reason == "max_notional: 50000 exceeds 10000" and order.time_ms == 5_000
    assert journal.intents_without_outcome() == []
    assert journal.client_order_ids() == set()


def test_intents_without_outcome_include_those_never_acknowledged(journal: Journal) -> None:
    for n in (1, 2, 3, 4):
        journal.record_intent(intent(n))
    journal.record_update(update(2, OrderState.ACCEPTED))
    journal.record_update(update(3, OrderState.CANCELED))
    journal.record_update(update(4, OrderState.PARTIAL, filled=0.1))
    pending = journal.intents_without_outcome()
    assert [(o.local_id, o.state) for o in pending] == [(1, None), (2, "ACCEPTED"), (4, "PARTIAL")]
    assert all(isinstance(o, OrderRow) for o in pending)


def test_client_order_ids_cover_intents_updates_and_fills(journal: Journal) -> None:
    journal.record_intent(intent(1))
    journal.record_update(update(2, OrderState.ACCEPTED))
    journal.record_fill(fill(3, "T3"))
    journal.record_intent(intent(1, strategy="other"))
    assert journal.client_order_ids() == {
        "rt-sma-0001",
        "rt-sma-0002",
        "rt-sma-0003",
        "rt-other-0001",
    }
    assert journal.client_order_ids(strategy="other") == {"rt-other-0001"}


def test_a_snapshot_is_kept_and_extends_the_equity_curve(journal: Journal) -> None:
    assert journal.latest_snapshot() is None
    for t, value in ((1_000, 100.0), (2_000, 110.0), (3_000, 105.0)):
        journal.record_snapshot(
            AccountSnapshot("sma", t, 50.0, value, {"USDT": (50.0, 1.5)}, {"BTC/USDT": 0.5})
        )
    latest = journal.latest_snapshot(strategy="sma")
    assert latest == AccountSnapshot(
        "sma", 3_000, 50.0, 105.0, {"USDT": (50.0, 1.5)}, {"BTC/USDT": 0.5}
    )
    assert journal.equity(2_000) == [
        EquityPoint(2_000, 110.0, 50.0, "sma"),
        EquityPoint(3_000, 105.0, 50.0, "sma"),
    ]
    assert journal.latest_snapshot(strategy="nobody") is None


def test_trades_are_round_trips_of_the_fills(journal: Journal) -> None:
    journal.record_fill(fill(1, "T1", "buy", 1.0, 100.0))
    journal.record_fill(fill(2, "T2", "sell", 1.0, 110.0))
    journal.record_fill(fill(3, "T3", "buy", 1.0, 120.0))
    (trade,) = journal.trades()
    assert (trade.side, trade.entry_price, trade.exit_price) == ("long", 100.0, 110.0)
    assert trade.pnl == pytest.approx(10.0 - 0.1 - 0.11)
    assert journal.trades(start_ms=trade.exit_ms + 1) == []
    assert journal.trades(strategy="other") == []


def test_events_keep_their_payload_and_filter_by_kind(journal: Journal) -> None:
    journal.record_event(
        "reconcile.intent_lost", {"client_order_id": "rt-sma-0001"}, strategy="sma", time_ms=1_000
    )
    journal.record_event("killswitch.triggered", {"reason": "drawdown", "level": 2}, time_ms=2_000)
    assert [e.kind for e in journal.events()] == ["reconcile.intent_lost", "killswitch.triggered"]
    (event,) = journal.events("killswitch.triggered")
    assert event.payload == {"reason": "drawdown", "level": 2} and event.strategy == ""
    assert [e.time_ms for e in journal.events("reconcile.*")] == [1_000]
    assert journal.events(strategy="sma")[0].payload == {"client_order_id": "rt-sma-0001"}
    assert journal.events(start_ms=1_500) == [journal.events("killswitch.**")[0]]


def test_control_state_holds_json_values(journal: Journal) -> None:
    assert journal.get_state("trading_state", "active") == "active"
    journal.set_state("trading_state", "halted")
    journal.set_state("kill_request", {"by": "ops", "flatten": True})
    journal.set_state("trading_state", "reducing")
    assert journal.get_state("trading_state") == "reducing"
    assert journal.get_state("kill_request") == {"by": "ops", "flatten": True}


def test_a_named_journal_files_its_own_events_and_refuses_others(journal_url: str) -> None:
    with Journal(journal_url, strategy="sma") as named:
        named.record_update(update(1, OrderState.ACCEPTED, strategy=""))
        named.record_fill(fill(1, "T1", strategy=""))
        with pytest.raises(ValueError, match="strategy 'other'"):
            named.record_intent(intent(2, strategy="other"))
        assert [o.strategy for o in named.orders()] == ["sma"]
        assert [f.strategy for f in named.fills()] == ["sma"]
    with Journal(journal_url) as shared:
        shared.record_intent(intent(5, strategy="other"))
        assert {o.strategy for o in shared.orders()} == {"sma", "other"}
    with Journal(journal_url, strategy="sma") as named:
        assert [o.strategy for o in named.orders()] == ["sma"]
        assert [o.strategy for o in named.orders(strategy="other")] == ["other"]


def test_rows_survive_reopening(journal_url: str) -> None:
    with Journal(journal_url) as first:
        first.record_intent(intent(1))
        first.record_fill(fill(1, "T1"))
    with Journal(journal_url) as second:
        assert second.client_order_ids() == {"rt-sma-0001"}
        assert second.record_fill(fill(1, "T1")) is False


def test_a_failed_write_leaves_nothing_half_written(journal_url: str) -> None:
    with Journal(journal_url) as journal:
        engine = sa.create_engine(journal_url, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE equity")
        with pytest.raises(JournalError, match="journal write failed"):
            journal.record_snapshot(AccountSnapshot("sma", 1, 1.0, 1.0))
        assert journal.latest_snapshot() is None  # the snapshot row went with the equity row
        journal.record_intent(intent(1))  # the journal is still usable
        assert journal.client_order_ids() == {"rt-sma-0001"}
        engine.dispose()


@pytest.mark.parametrize("journal_url", ["postgres"], indirect=True)
def test_the_journal_reconnects_after_the_database_dropped_it(journal_url: str) -> None:
    with Journal(journal_url) as journal:
        journal.record_intent(intent(1))
        engine = sa.create_engine(journal_url, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        engine.dispose()
        with contextlib.suppress(JournalError):  # the write that finds the link dead may fail
            journal.record_intent(intent(2))
        journal.record_intent(intent(3))
        assert {"rt-sma-0001", "rt-sma-0003"} <= journal.client_order_ids()
