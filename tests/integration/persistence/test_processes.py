"""Several processes on one journal, and a writer killed with SIGKILL at any moment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from real_trade.persistence import Journal, OrderIntent
from tests.support import eventually

pytestmark = pytest.mark.integration

WRITER = Path(__file__).with_name("journal_writer.py")
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def spawn() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def _start(procs: list[subprocess.Popen[str]], url: str, count: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), url, str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    procs.append(proc)
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    assert first == "READY", f"writer did not start: {first}{proc.stdout.read()}"
    return proc


def _integrity(url: str) -> str:
    if not url.startswith("sqlite"):
        return "ok"
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())
    finally:
        engine.dispose()


def test_one_process_reads_and_writes_while_another_writes(
    journal_url: str, spawn: list[subprocess.Popen[str]]
) -> None:
    with Journal(journal_url) as reader:
        proc = _start(spawn, journal_url, 300)
        seen: list[int] = []

        def all_there() -> bool:
            seen.append(len(reader.client_order_ids(strategy="w")))
            reader.set_state("status_reads", len(seen))  # this process writes too
            return seen[-1] == 300

        eventually(all_there, timeout=60, message="the writer's 300 intents")
        assert seen == sorted(seen)  # each read sees a committed prefix, never less
        assert proc.wait(timeout=30) == 0
        assert reader.get_state("status_reads") == len(seen)
        assert [o.params["n"] for o in reader.orders(strategy="w")] == list(range(300))
    assert _integrity(journal_url) == "ok"


def test_an_intent_survives_sigkill_right_after_it_was_recorded(
    journal_url: str, spawn: list[subprocess.Popen[str]]
) -> None:
    proc = _start(spawn, journal_url, 0)
    assert proc.stdout is not None
    recorded = proc.stdout.readline().strip()
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert recorded == "rt-w-0000"
    assert _integrity(journal_url) == "ok"
    with Journal(journal_url) as journal:
        assert recorded in journal.client_order_ids()
        assert recorded in {o.client_order_id for o in journal.intents_without_outcome()}


def test_a_writer_killed_mid_stream_loses_no_commit_and_corrupts_nothing(
    journal_url: str, spawn: list[subprocess.Popen[str]]
) -> None:
    proc = _start(spawn, journal_url, 0)
    assert proc.stdout is not None
    committed = [proc.stdout.readline().strip() for _ in range(100)]
    proc.send_signal(signal.SIGKILL)  # lands somewhere inside a write
    proc.wait(timeout=30)
    committed += [line.strip() for line in proc.stdout if line.startswith("rt-w-")]
    assert _integrity(journal_url) == "ok"
    with Journal(journal_url, strategy="w") as journal:
        assert set(committed) <= journal.client_order_ids()
        assert journal.fills() and journal.latest_snapshot() is not None
        assert journal.record_intent(
            OrderIntent("rt-w-after", "w", 0, "BTC/USDT", "sell", "Market", 0.1)
        )  # still writable after the crash
