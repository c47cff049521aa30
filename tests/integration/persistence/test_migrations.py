"""Schema versions: a fresh journal, the upgrade from version 1, and a newer database refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from real_trade.execution.orders import OrderState
from real_trade.persistence import SCHEMA_VERSION, Journal, SchemaVersionError, migrate
from real_trade.persistence.database import normalise_url, open_engine
from real_trade.persistence.schema import metadata
from tests.integration.persistence.builders import update

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(journal_url: str) -> Iterator[sa.Engine]:
    opened = open_engine(normalise_url(journal_url))
    yield opened
    opened.dispose()


def _versions(engine: sa.Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.exec_driver_sql("SELECT version FROM schema_version ORDER BY 1").scalars())


def test_the_migrations_build_exactly_the_schema_the_code_uses(
    journal_url: str, engine: sa.Engine
) -> None:
    with Journal(journal_url) as journal:
        assert journal.schema_version == SCHEMA_VERSION == 3
    inspector = sa.inspect(engine)
    assert set(inspector.get_table_names()) == set(metadata.tables)
    for name, table in metadata.tables.items():
        assert [c["name"] for c in inspector.get_columns(name)] == [c.name for c in table.columns]
        assert {i["name"] for i in inspector.get_indexes(name)} >= {i.name for i in table.indexes}
        expected = {
            tuple(c.columns.keys()) for c in table.constraints if isinstance(c, sa.UniqueConstraint)
        }
        assert {
            tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)
        } == expected
    assert _versions(engine) == [1, 2, 3]


def test_a_version_1_journal_is_upgraded_and_keeps_its_rows(
    journal_url: str, engine: sa.Engine
) -> None:
    assert migrate(engine, target=1) == 1
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO intents (client_order_id, strategy, local_id, symbol, side, kind, "
                "amount, price, stop_price, params, time_ms) VALUES ('rt-old-0001', 'old', 1, "
                "'BTC/USDT', 'buy', 'Market', 1.0, NULL, NULL, '{\"v\": 1}', 1000)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO order_events (strategy, local_id, client_order_id, exchange_order_id,"
                " symbol, side, kind, state, amount, filled, average_price, price, stop_price, "
                "reason, time_ms) VALUES ('old', 1, 'rt-old-0001', 'X1', 'BTC/USDT', 'buy', "
                "'Market', 'ACCEPTED', 1.0, 0.0, NULL, NULL, NULL, NULL, 1100)"
            )
        )
    assert _versions(engine) == [1]
    with Journal(journal_url) as journal:
        assert journal.schema_version == SCHEMA_VERSION
        (order,) = journal.orders()
        assert (order.client_order_id, order.state, order.params) == (
            "rt-old-0001",
            "ACCEPTED",
            {"v": 1},
        )
        journal.record_update(
            update(
                1, OrderState.CANCELED, strategy="old", client_order_id="rt-old-0001", emulated=True
            )
        )
        journal.record_event("reconcile.checked", {"ok": True})
        journal.set_state("trading_state", "active")
        assert journal.orders()[0].state == "CANCELED"
        assert len(journal.events()) == 1
    with engine.connect() as conn:
        flags = conn.exec_driver_sql("SELECT emulated FROM order_events ORDER BY id").scalars()
        assert [bool(f) for f in flags] == [False, True]
    assert _versions(engine) == [1, 2, 3]


def test_a_version_2_journal_gains_only_the_outbox_and_keeps_its_rows(
    journal_url: str, engine: sa.Engine
) -> None:
    assert migrate(engine, target=2) == 2
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO events (kind, strategy, time_ms, payload) "
                "VALUES ('reconcile.checked', 'old', 1000, '{}')"
            )
        )
    before = set(sa.inspect(engine).get_table_names())
    assert "notification_outbox" not in before
    assert migrate(engine) == 3
    after = set(sa.inspect(engine).get_table_names())
    assert after - before == {"notification_outbox"}
    with Journal(journal_url) as journal:
        assert [e.kind for e in journal.events()] == ["reconcile.checked"]
    assert _versions(engine) == [1, 2, 3]


def test_a_journal_newer_than_the_code_is_refused_naming_both_versions(
    journal_url: str, engine: sa.Engine
) -> None:
    Journal(journal_url).close()
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO schema_version (version, description, applied_ms) "
            "VALUES (7, 'from the future', 0)"
        )
    with pytest.raises(SchemaVersionError) as info:
        Journal(journal_url)
    message = str(info.value)
    assert "schema version 7" in message and f"schema version {SCHEMA_VERSION}" in message
    assert "upgrade real_trade" in message


def test_several_openers_of_a_fresh_journal_migrate_it_once(journal_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_one() -> None:
        try:
            barrier.wait()
            Journal(journal_url).close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine = open_engine(normalise_url(journal_url))
    try:
        assert _versions(engine) == [1, 2, 3]
    finally:
        engine.dispose()


def test_a_target_outside_the_known_versions_is_refused(engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match="target schema version"):
        migrate(engine, target=SCHEMA_VERSION + 1)
