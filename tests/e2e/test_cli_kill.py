"""``real-trade kill`` and ``real-trade resume`` as a user runs them, against the simulator.

Each test opens a simulator account with a position and resting orders, writes a config TOML
(testnet keys of that account, ``sim_url``, a SQLite journal in ``tmp_path``) and runs the
console script as a subprocess. The simulator's own books and the journal are the judges.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from real_trade.engine.control import RunnerControl
from real_trade.engine.scheduler import Scheduler
from real_trade.persistence import Journal
from real_trade.risk import KillSwitch, TradingStateHolder
from real_trade.risk.killswitch_venue import VenueKillTarget
from real_trade.sim import SimExchange
from real_trade.venues import BINANCE, VenueClient
from tests.support import assert_no_leak_warnings, eventually

pytestmark = pytest.mark.integration
SYMBOL = "BTC/USDT"


def _script() -> str:
    exe = Path(sys.executable).parent / "real-trade"
    if not exe.exists():
        pytest.fail("the 'real-trade' console script is not installed next to this Python")
    return str(exe)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator: the book stays put, so every fill is predictable."""
    with SimExchange(stepped=True, seed=11) as exchange:
        exchange.advance(60)
        yield exchange


@pytest.fixture(autouse=True)
def _reset_faults(sim: SimExchange) -> Iterator[None]:
    yield
    sim.faults.reset()


class Account:
    """A simulator account with 0.2 BTC bought at market and two resting limit orders."""

    def __init__(self, sim: SimExchange) -> None:
        self.sim = sim
        self.key, self.secret = sim.create_account({"USDT": 20_000})
        client = VenueClient(
            BINANCE, apikey=self.key, secret=self.secret, testnet=True, sim_url=sim.url
        )
        try:
            client.create_order(SYMBOL, "market", "buy", 0.2)
            last = float(client.fetch_ticker(SYMBOL)["last"])
            client.create_order(SYMBOL, "limit", "buy", 0.01, last * 0.8)
            client.create_order(SYMBOL, "limit", "sell", 0.05, last * 1.2)
        finally:
            client.stop()
        assert len(self.open_orders()) == 2

    def open_orders(self) -> list[Any]:
        """The account's open orders, as the simulator sees them."""
        acct = self.sim.core.account_by_key(self.key)
        assert acct is not None
        return list(self.sim.call(lambda: self.sim.core.open_orders(acct)))

    def btc(self) -> Decimal:
        """The account's BTC, free and locked, as the simulator sees it."""
        acct = self.sim.core.account_by_key(self.key)
        assert acct is not None
        free, locked = self.sim.core.balances(acct).get("BTC", (Decimal(0), Decimal(0)))
        return free + locked

    def config(self, tmp_path: Path, *, paper: bool = False, testnet: bool = True) -> Path:
        """Write the account's config TOML (journal in ``tmp_path``) and return its path."""
        path = tmp_path / "account.toml"
        path.write_text(
            f'exchange = "binance"\napikey = "{self.key}"\nsecret = "{self.secret}"\n'
            f"testnet = {str(testnet).lower()}\npaper_trading = {str(paper).lower()}\n"
            f'symbol = "{SYMBOL}"\nsim_url = "{self.sim.url}"\n\n'
            f'[journal]\nurl = "sqlite:///{tmp_path / "journal.db"}"\n',
            encoding="utf-8",
        )
        return path


def cli(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``real-trade *argv`` without a terminal and without ``RT_...`` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RT_")}
    out = subprocess.run(
        [_script(), *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert_no_leak_warnings(out.stdout + out.stderr, f"real-trade {argv[0]}")
    return out


def journal_of(tmp_path: Path) -> Journal:
    """The journal the configs of these tests name."""
    return Journal(f"sqlite:///{tmp_path / 'journal.db'}")


def test_kill_flatten_cleans_the_account_at_the_venue_and_a_second_kill_is_a_no_op(
    sim: SimExchange, tmp_path: Path
) -> None:
    account = Account(sim)
    config = account.config(tmp_path)

    first = cli("kill", str(config), "--flatten", "--reason", "e2e test")

    text = first.stdout + first.stderr
    assert first.returncode == 0, text
    assert "no runner alive: acting on the testnet account directly (BTC/USDT)" in text
    assert text.count("canceled ") == 2 + 1  # two order lines and the summary
    assert "closed         sell 0.1998 BTC/USDT" in text
    assert "canceled 2/2 open order(s), closed 1 position(s); trading HALTED" in text
    assert account.open_orders() == []
    assert account.btc() == 0
    assert account.secret not in text and account.key not in text
    with journal_of(tmp_path) as journal:
        assert journal.get_state("trading_state")["state"] == "halted"
        assert journal.get_state("trading_state")["reason"] == "e2e test"
        kinds = [e.kind for e in journal.events()]
    assert kinds.count("killswitch.requested") == 1
    assert kinds.count("killswitch.order_canceled") == 2
    assert "killswitch.flattened" in kinds and kinds[-1] == "killswitch.halted"

    second = cli("kill", str(config), "--flatten")

    assert second.returncode == 0, second.stdout + second.stderr
    assert "already halted, nothing open; trading HALTED" in second.stdout
    with journal_of(tmp_path) as journal:
        assert journal.get_state("trading_state")["state"] == "halted"
        assert [e.kind for e in journal.events()].count("killswitch.requested") == 2


def test_kill_without_flatten_keeps_the_position_and_resume_lifts_the_halt(
    sim: SimExchange, tmp_path: Path
) -> None:
    account = Account(sim)
    config = account.config(tmp_path)

    killed = cli("kill", str(config))

    assert killed.returncode == 0, killed.stdout + killed.stderr
    assert account.open_orders() == []
    assert account.btc() == Decimal("0.1998")

    resumed = cli("resume", str(config))

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "trading is HALTED (operator kill switch (real-trade kill))" in resumed.stdout
    assert "trading ACTIVE in the journal" in resumed.stdout
    with journal_of(tmp_path) as journal:
        assert journal.get_state("trading_state")["state"] == "active"
        (event,) = journal.events("killswitch.resumed")
        assert event.payload["previous_state"] == "halted"
    again = cli("resume", str(config))
    assert again.returncode == 0
    assert "already ACTIVE" in again.stdout


def test_a_close_the_venue_rejects_fails_the_kill_and_a_rerun_finishes_it(
    sim: SimExchange, tmp_path: Path
) -> None:
    account = Account(sim)
    config = account.config(tmp_path)
    sim.faults.reject_next_orders(1, msg="Market is closed.")

    failed = cli("kill", str(config), "--flatten")

    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "PROBLEMS" in failed.stderr and "Market is closed." in failed.stderr
    assert account.open_orders() == []
    assert account.btc() == Decimal("0.1998")

    rerun = cli("kill", str(config), "--flatten")

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "closed 1 position(s)" in rerun.stdout
    assert account.btc() == 0


def test_live_money_needs_a_confirmation(sim: SimExchange, tmp_path: Path) -> None:
    account = Account(sim)
    config = account.config(tmp_path, testnet=False)  # live mode, pointed at the simulator

    refused = cli("kill", str(config))

    assert refused.returncode == 2
    assert "pass --yes" in refused.stderr and "aborted: nothing was done" in refused.stdout
    assert len(account.open_orders()) == 2
    with journal_of(tmp_path) as journal:
        assert journal.get_state("trading_state") is None

    confirmed = cli("kill", str(config), "--yes")

    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    assert "acting on the live account directly" in confirmed.stdout
    assert account.open_orders() == []


def test_paper_with_no_runner_only_records_the_halt(sim: SimExchange, tmp_path: Path) -> None:
    account = Account(sim)
    config = account.config(tmp_path, paper=True)

    first = cli("kill", str(config), "--flatten")

    assert first.returncode == 0, first.stdout + first.stderr
    assert "trading HALTED in the journal" in first.stdout
    assert "no runner is alive, so there is nothing open to cancel" in first.stdout
    assert len(account.open_orders()) == 2  # the venue account is not the paper account
    with journal_of(tmp_path) as journal:
        assert journal.get_state("trading_state")["state"] == "halted"
    second = cli("kill", str(config))
    assert second.returncode == 0
    assert "already halted (operator kill switch (real-trade kill)), nothing open" in (
        second.stdout
    )


def test_a_running_runner_carries_the_kill_out(sim: SimExchange, tmp_path: Path) -> None:
    account = Account(sim)
    config = account.config(tmp_path)
    client = VenueClient(
        BINANCE, apikey=account.key, secret=account.secret, testnet=True, sim_url=sim.url
    )
    journal = journal_of(tmp_path)
    state = TradingStateHolder()
    switch = KillSwitch(
        VenueKillTarget(client, [SYMBOL]), state=state, journal=journal, strategy="runner"
    )
    control = RunnerControl(
        journal,
        "runner",
        lambda flatten, why: switch.engage(flatten=flatten, reason=why) is not None,
        heartbeat_interval=1.0,
        poll_interval=0.2,
    )
    scheduler = Scheduler(name="test-runner")
    control.install(scheduler)
    scheduler.start()
    try:
        eventually(lambda: control.heartbeats > 0, message="the runner beats")

        out = cli("kill", str(config), "--flatten", "--reason", "via runner")

        text = out.stdout + out.stderr
        assert out.returncode == 0, text
        assert "runner runner (pid" in text and "is alive: handing the kill to it" in text
        assert "runner: canceled 2/2 open order(s), closed 1 position(s); trading HALTED" in text
        assert "acting on the testnet account directly" not in text
        assert account.open_orders() == [] and account.btc() == 0
        assert state.snapshot().reason == "via runner"
        assert journal.get_state("kill_done") == journal.get_state("kill_request")["id"]
    finally:
        scheduler.stop()
        journal.close()
        client.stop()


def test_a_missing_config_is_a_clear_error(tmp_path: Path) -> None:
    out = cli("kill", str(tmp_path / "nowhere.toml"))
    assert out.returncode == 2
    assert "nowhere.toml" in out.stderr and "Traceback" not in out.stderr
