"""A database password never shows in the journal's repr, its logs or its errors."""

from __future__ import annotations

import logging
import traceback

import pytest
import sqlalchemy as sa

from real_trade.bus import EventBus
from real_trade.execution.events import FILL_TOPIC
from real_trade.persistence import Journal, JournalError
from tests.integration.persistence.builders import fill, intent

pytestmark = pytest.mark.integration

PASSWORD = "Tr0ub4dor-journal-pw"


def _with_password(url: str) -> str:
    return sa.engine.make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


def _full_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def test_an_unreachable_database_error_hides_the_password() -> None:
    url = f"postgresql+psycopg://trader:{PASSWORD}@127.0.0.1:1/journal?connect_timeout=2"
    with pytest.raises(JournalError, match="cannot open the journal") as info:
        Journal(url)
    assert PASSWORD not in _full_text(info.value)
    assert "***" in str(info.value)


@pytest.mark.parametrize("journal_url", ["postgres"], indirect=True)
def test_repr_logs_and_write_errors_hide_the_password(
    journal_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = _with_password(journal_url)  # the test server trusts local users: any password works
    bus = EventBus(name="secrets")
    with Journal(url) as journal:
        assert PASSWORD not in repr(journal) and PASSWORD not in str(journal.url)
        journal.attach(bus)
        engine = sa.create_engine(journal_url, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE fills")
            conn.exec_driver_sql("DROP TABLE intents")
        engine.dispose()
        with caplog.at_level(logging.DEBUG):
            bus.publish(FILL_TOPIC, fill(1, "T1"))
            journal.flush(timeout=10)
            with pytest.raises(JournalError, match="journal write failed") as info:
                journal.record_intent(intent(1))
        assert journal.stats.errors == 1
        assert PASSWORD not in (journal.stats.last_error or "")
        assert PASSWORD not in _full_text(info.value)
        assert caplog.records and PASSWORD not in caplog.text
    bus.close()
