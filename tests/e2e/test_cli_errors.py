"""Errors that tell the fix, as a new user meets them on the command line.

A run that cannot start (an API key the venue refuses, a symbol it does not list, a journal URL
naming a damaged file or another application's database) says so at once, with the reason and
the fix, exit code 2 and no restart; "stopped after a crash" is kept for crashes.
``real-trade status`` reads the journal without keys, and ``real-trade sim --account`` takes
the seeds' placeholder keys.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import ccxt
import pytest

from real_trade.cli import main
from real_trade.persistence import Journal
from real_trade.sim import SimExchange
from real_trade.sim.server import ccxt_urls_for
from tests.e2e.test_cli_run import EXIT_BOUND_S, environment, run_cli, script, write_config

pytestmark = pytest.mark.integration


@pytest.fixture
def sim() -> Iterator[SimExchange]:
    """A simulator with a few markets; stepped, as no run here gets as far as its first bar."""
    symbols = ("BTC/USDT", "ETH/USDT", "ETH/BTC")
    with SimExchange(stepped=True, seed=23, symbols=symbols) as exchange:
        yield exchange


def _could_not_start(out: subprocess.CompletedProcess[str]) -> str:
    """The checks every start failure shares; returns stdout + stderr."""
    text = out.stdout + out.stderr
    assert out.returncode == 2, text[-3000:]
    assert "real-trade run: could not start: " in out.stderr, text[-3000:]
    assert "after a crash" not in text and "the run failed" not in text
    assert "retrying" not in text and "Traceback" not in text, "not retried as a crash"
    return text


def test_a_refused_key_could_not_start_and_names_the_likely_fixes(
    sim: SimExchange, tmp_path: Path
) -> None:
    config = write_config(tmp_path, sim, mode="testnet", key=("NOSUCHKEY", "nosuchsecret"))
    out = run_cli(str(config), "--duration", "50")
    text = _could_not_start(out)
    assert "Invalid API-key" in out.stderr
    assert f"the simulator at {sim.url}, which knows only the keys of its accounts" in out.stderr
    assert "testnet keys differ from live keys" in out.stderr
    assert "clock" in out.stderr and "IP allow-list" in out.stderr
    assert "could not start (AuthenticationError)" in out.stdout
    assert "nosuchsecret" not in text


def test_an_unknown_symbol_could_not_start_and_lists_the_closest_symbols(
    sim: SimExchange, tmp_path: Path
) -> None:
    key = sim.create_account({"USDT": 10_000})
    config = write_config(tmp_path, sim, mode="testnet", key=key)
    config.write_text(config.read_text().replace('"BTC/USDT"', '"ETH/USDX"'))
    out = run_cli(str(config), "--duration", "50")
    _could_not_start(out)
    assert "unknown symbol 'ETH/USDX'" in out.stderr
    assert "did you mean 'ETH/USDT'" in out.stderr


def _foreign_database(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO users (name) VALUES ('ada')")


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p.write_text("these are my notes, not a database\n"), "not a SQLite database"),
        (_foreign_database, "not a real_trade journal"),
    ],
    ids=["text-file", "another-apps-sqlite"],
)
def test_a_corrupt_or_foreign_journal_is_a_config_error_said_at_once(
    sim: SimExchange, tmp_path: Path, make: object, words: str
) -> None:
    target = tmp_path / "other.db"
    make(target)  # type: ignore[operator]
    before = target.read_bytes()
    config = write_config(tmp_path, sim)  # paper: no keys involved
    text = config.read_text().replace(str(tmp_path / "journal.db"), str(target))
    config.write_text(text)
    out = run_cli(str(config), "--duration", "50")
    _could_not_start(out)
    assert "journal.url" in out.stderr and words in out.stderr
    assert "fix: point journal.url at a new file" in out.stderr
    assert target.read_bytes() == before, "the other file was left exactly as it was"
    status = subprocess.run(
        [script(), "status", str(config)],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=EXIT_BOUND_S,
    )
    assert status.returncode == 2 and words in status.stderr
    assert target.read_bytes() == before


def test_status_reads_the_journal_without_keys(
    sim: SimExchange, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, sim, mode="testnet")  # a testnet config without keys
    with Journal(f"sqlite:///{tmp_path / 'journal.db'}") as journal:
        journal.set_state("trading_state", {"state": "halted", "reason": "drill", "time_ms": 1})
    assert main(["status", str(config)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert f"journal   sqlite:///{tmp_path / 'journal.db'}" in out
    assert "trading   HALTED: drill" in out


def test_sim_takes_the_seeds_placeholder_keys(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            script(),
            "sim",
            "--port",
            "0",
            "--stepped",
            "--account",
            "YOUR_API_KEY:YOUR_SECRET:USDT=10000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    try:
        assert proc.stdout is not None
        banner: list[str] = []
        for line in iter(proc.stdout.readline, ""):
            banner.append(line)
            if line.startswith("ready"):
                break
        text = "".join(banner)
        assert "key=YOUR_API_KEY secret=(as given)" in text, text + proc.stderr.read()  # type: ignore[union-attr]
        rest = next(line.split()[1] for line in banner if line.startswith("REST"))
        base = rest.removesuffix("/api/v3")
        client = ccxt.binance(
            {
                "urls": ccxt_urls_for(base),
                "options": {"fetchMarkets": {"types": ["spot"]}},
                "apiKey": "YOUR_API_KEY",
                "secret": "YOUR_SECRET",
            }
        )
        assert client.fetch_balance()["USDT"]["total"] == 10_000.0
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0
