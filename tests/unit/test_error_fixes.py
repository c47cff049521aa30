"""Errors that carry their fix: a refused key, an unusable journal (no retry for either)."""

from __future__ import annotations

import pickle
import sqlite3
from pathlib import Path

import ccxt
import pytest

from real_trade.engine import LifecycleManager
from real_trade.errors import AuthenticationError, ConfigError
from real_trade.persistence import Journal, JournalError
from real_trade.venues.ccxt_errors import translate_ccxt_error
from real_trade.venues.retry import RetryPolicy


def test_a_refused_key_names_the_likely_fixes_and_keeps_them_through_pickling() -> None:
    refused = ccxt.AuthenticationError(
        'binance {"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}'
    )
    error = translate_ccxt_error(refused)
    assert isinstance(error, AuthenticationError)
    text = str(error)
    assert text.startswith('binance {"code":-2015')
    for words in ("testnet keys differ from live keys", "clock", "IP allow-list", "permissions"):
        assert words in text
    assert str(pickle.loads(pickle.dumps(error))) == text
    missing = AuthenticationError("fetch_balance on Binance needs API credentials")
    assert str(missing) == "fetch_balance on Binance needs API credentials", "no key: no hints"


@pytest.mark.parametrize("kind", ["text", "foreign", "directory"])
def test_an_unusable_journal_is_a_config_error_that_is_not_retried(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "journal.db"
    if kind == "text":
        path.write_text("hello\n")
    elif kind == "foreign":
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE notes (body TEXT)")
    else:
        path.mkdir()
    calls: list[int] = []

    def open_it() -> None:
        calls.append(1)
        Journal(f"sqlite:///{path}")

    manager = LifecycleManager(open_it, retry=RetryPolicy(max_attempts=4, base_delay=0.0))
    with pytest.raises(ConfigError) as info:
        manager.run_with_retry(open_it)
    assert calls == [1], "said at once, not retried"
    assert isinstance(info.value, JournalError) and info.value.field == "journal.url"
    assert str(info.value).startswith("journal.url: ") and "(fix: " in str(info.value)
    if kind == "foreign":
        with sqlite3.connect(path) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master")]
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
        assert tables == ["notes"] and mode == "delete", "another application's file untouched"


def test_a_fresh_and_an_existing_journal_still_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    with Journal(url) as first:
        first.set_state("k", 1)
    with Journal(url) as again:
        assert again.get_state("k") == 1
