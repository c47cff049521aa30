"""Intents and snapshots as callers build them, URLs as users write them, an in-memory journal."""

from __future__ import annotations

import enum
import threading

import pytest

from real_trade.config import JournalConfig, RealTradeConfig
from real_trade.execution.orders import OrderRequest
from real_trade.persistence import (
    ACCOUNT_SNAPSHOT_TOPIC,
    AccountSnapshot,
    Journal,
    JournalError,
    OrderIntent,
)
from real_trade.persistence.records import to_json
from real_trade.vocabulary import OrderKind, OrderSide


def test_an_intent_takes_enum_sides_and_kinds_as_their_values() -> None:
    intent = OrderIntent("rt-a-1", "a", 1, "BTC/USDT", OrderSide.SELL, OrderKind.STOP_LIMIT, 1.0)
    assert (intent.side, intent.kind) == ("sell", "StopLimit")
    assert intent.params == {} and intent.time_ms == 0


def test_an_intent_needs_its_client_order_id() -> None:
    with pytest.raises(ValueError, match="client order id"):
        OrderIntent("", "a", 1, "BTC/USDT", "buy", "Market", 1.0)


def test_an_intent_from_a_request_keeps_every_field() -> None:
    request = OrderRequest(
        7, "ETH/USDT", OrderSide.BUY, OrderKind.LIMIT, 2.0, price=1500.0, client_order_id="rt-x-7"
    )
    intent = OrderIntent.from_request(request, strategy="x", params={"why": "dip"}, time_ms=5)
    assert intent == OrderIntent(
        "rt-x-7", "x", 7, "ETH/USDT", "buy", "Limit", 2.0, 1500.0, None, {"why": "dip"}, 5
    )


def test_a_snapshot_names_its_topic() -> None:
    snap = AccountSnapshot("a", 1, 10.0, 12.0, {"USDT": (10.0, 0.0)}, {"BTC/USDT": 0.1})
    assert snap.topic == ACCOUNT_SNAPSHOT_TOPIC == "account.snapshot"


def test_to_json_stores_what_json_cannot_hold_as_plain_values() -> None:
    class Colour(enum.Enum):
        RED = "red"

    text = to_json({"c": Colour.RED, "s": {1}, "t": (1, 2), "o": threading.Lock})
    assert '"c":"red"' in text and '"s":[1]' in text and '"t":[1,2]' in text


@pytest.mark.parametrize(
    "url",
    ["mysql://root:hunter2secret@db/x", "oracle://u:hunter2secret@h/x"],
)
def test_an_unsupported_database_is_refused_without_showing_the_password(url: str) -> None:
    with pytest.raises(JournalError, match="unsupported journal database") as info:
        Journal(url)
    assert "hunter2secret" not in str(info.value)


def test_a_bare_path_is_a_sqlite_file(tmp_path: object) -> None:
    path = f"{tmp_path}/deeper/dir/j.db"
    with Journal(path) as journal:
        assert journal.url.get_backend_name() == "sqlite"
        journal.set_state("k", 1)
    with Journal(f"sqlite:///{path}") as journal:
        assert journal.get_state("k") == 1


def test_from_config_reads_the_journal_section(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/cfg.db"
    with Journal.from_config(RealTradeConfig(journal=JournalConfig(url=url))) as journal:
        assert journal.url.database == f"{tmp_path}/cfg.db" and journal.strategy is None
    with Journal.from_config(JournalConfig(url=url), strategy="sma") as journal:
        assert journal.strategy == "sma"


def test_an_in_memory_journal_works_from_several_threads() -> None:
    with Journal("sqlite://") as journal:

        def write(base: int) -> None:
            for n in range(base, base + 50):
                journal.record_intent(
                    OrderIntent(f"rt-m-{n}", "m", n, "BTC/USDT", "buy", "Market", 1.0)
                )

        threads = [threading.Thread(target=write, args=(b,)) for b in (0, 100, 200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(journal.client_order_ids()) == 150


def test_a_closed_journal_refuses_writes(tmp_path: object) -> None:
    journal = Journal(f"sqlite:///{tmp_path}/c.db")
    journal.close()
    journal.close()
    with pytest.raises(JournalError, match="closed"):
        journal.set_state("k", 1)
