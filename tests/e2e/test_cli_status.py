"""``real-trade status`` reads back what a ``real-trade run`` wrote to its journal."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from real_trade.engine.control import KILL_REQUEST_KEY
from real_trade.persistence import Journal
from real_trade.sim import SimExchange
from tests.e2e.test_cli_run import EXIT_BOUND_S, environment, script, write_config
from tests.support import assert_no_leak_warnings, eventually

pytestmark = pytest.mark.integration


@pytest.fixture
def sim() -> Iterator[SimExchange]:
    with SimExchange(speed=240.0, seed=22) as exchange:
        yield exchange


def status(*args: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [script(), "status", *args],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=EXIT_BOUND_S,
    )
    assert_no_leak_warnings(out.stdout + out.stderr, "real-trade status")
    return out


def test_status_shows_a_live_runner_then_the_account_it_left(
    sim: SimExchange, tmp_path: Path
) -> None:
    key = sim.create_account({"USDT": 10_000})
    config = write_config(tmp_path, sim, mode="testnet", key=key)
    proc = subprocess.Popen(
        [script(), "run", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment(),
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")))  # type: ignore[union-attr]
    reader.start()
    try:
        eventually(
            lambda: any("] fill  #" in line for line in lines),
            timeout=EXIT_BOUND_S,
            message="the runner filled an order",
        )
        alive = status(str(config))
        assert alive.returncode == 0, alive.stderr
        assert re.search(r"runner +cli-sma \(pid \d+, testnet, BTC/USDT\) ALIVE", alive.stdout)
        assert re.search(r"heartbeat +OK +runner alive", alive.stdout)
        # the runner's own health checks ride on its heartbeat (every 5 s)
        feeds = re.compile(r"feeds +OK +BTC/USDT LIVE, last bar \d+ s ago \(runner\)")

        def with_feed_check() -> str:
            out = status(str(config)).stdout
            return out if feeds.search(out) else ""

        healthy = eventually(
            with_feed_check,
            timeout=EXIT_BOUND_S,
            message="the heartbeat carries the runner's feed check",
        )
        assert re.search(r"memory +OK +\d+ MB resident \(runner\)", healthy)
        assert re.search(r"trading +OK +ACTIVE \(runner\)", healthy)
        assert re.search(r"breaker +OK +circuit breaker closed \(runner\)", healthy)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=EXIT_BOUND_S) == 0, "".join(lines)[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(10)
    after = status(str(config))
    assert after.returncode == 0, after.stderr
    text = after.stdout
    assert re.search(r"runner +cli-sma .* STOPPED \d+ s ago", text)
    assert re.search(r"health +OK\n +heartbeat +OK +runner stopped", text)
    assert "(runner)" not in text  # a stopped runner's last checks are not shown as current
    assert "trading   ACTIVE" in text
    assert re.search(r"equity +[\d,]+\.\d\d \(cash [\d,]+\.\d\d\) of cli-sma at \d{4}-", text)
    with Journal(f"sqlite:///{tmp_path / 'journal.db'}") as journal:
        fills = journal.fills(strategy="cli-sma")
        snapshot = journal.latest_snapshot(strategy="cli-sma")
        orders = journal.orders(strategy="cli-sma")
    assert snapshot is not None and fills
    usdt_free, _ = snapshot.balances["USDT"]
    assert re.search(rf"cli-sma +USDT +{usdt_free:,.2f} ", text), "the balances table"
    assert re.search(r"cli-sma +BTC/USDT +[-\d.e]+", text), "the positions table"
    assert f"counts    orders {len(orders)}, fills {len(fills)}," in text
    assert "open orders (0)" in text


def test_status_reports_the_trading_state_and_a_pending_kill_request(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    with Journal(url) as journal:
        journal.set_state(KILL_REQUEST_KEY, {"id": "abc123", "flatten": True, "reason": "drill"})
        journal.set_state("trading_state", {"state": "halted", "reason": "drill", "time_ms": 1})
    out = status("--journal", url)
    assert out.returncode == 0, out.stderr
    assert "runner    no runner has written a heartbeat" in out.stdout
    assert "trading   HALTED: drill" in out.stdout
    assert "kill      request abc123 flatten=True PENDING" in out.stdout
    assert re.search(r"health +FAIL\n", out.stdout)
    assert re.search(r"trading +FAIL +HALTED: drill", out.stdout)
    assert re.search(r"kill +WARN +kill request abc123 PENDING", out.stdout)
    assert "equity    no account snapshot yet" in out.stdout


def test_status_of_a_missing_journal_is_exit_2_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    out = status("--journal", f"sqlite:///{missing}")
    assert out.returncode == 2
    assert "no journal at" in out.stderr and str(missing) in out.stderr
    assert not missing.exists()


def test_status_masks_a_journal_password(tmp_path: Path) -> None:
    out = status("--journal", "postgresql+psycopg://trader:s3cr3tpw@127.0.0.1:1/none")
    assert out.returncode == 2
    assert "s3cr3tpw" not in out.stdout + out.stderr
