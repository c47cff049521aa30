"""The exchange-side dead-man switch, end to end: ``real-trade run`` on a simulated perpetual.

A runner subprocess trades a linear perpetual with a strategy that leaves one limit bid
resting: on Binance USDⓈ-M (the switch on by default, ``countdownCancelAll``), on Bybit
(``dead_man_switch = true``: disconnect protection, the private websocket subscribed to ``dcp``)
and on OKX (``cancel-all-after``, whose shortest countdown is 10 s). Killed with SIGKILL, the
runner cannot cancel anything: the simulator's countdown does, once no heartbeat re-arms it (or,
on Bybit, once the dropped connection stays down for the window). Stopped cleanly (SIGTERM), it
disarms the switch and its order stays (recovered on the next start, as without the switch).
Every wait polls the simulator; a failure names the venue.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from real_trade.sim import SimExchange
from real_trade.sim.core import ExchangeCore
from tests.support import eventually

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Venue:
    """One venue's run: its simulator, the perpetual, what the config adds, the timeout."""

    name: str
    faces: tuple[str, ...]
    symbol: str
    core_symbol: str
    timeout_s: int
    top: str = ""  # config lines at the top level
    run: str = ""  # config lines of [run]
    size: float = 0.01

    def simulator(self) -> SimExchange:
        return SimExchange(market="synthetic", speed=60.0, seed=12, faces=list(self.faces))

    def core(self, sim: SimExchange) -> ExchangeCore:
        """The perpetuals' core (every face serves them from the futures core)."""
        core = sim.futures_core
        assert core is not None
        return core


VENUES = [
    Venue("binance", ("binance", "binance_futures"), "BTC/USDT:USDT", "BTCUSDT", 2),
    Venue("bybit", ("bybit",), "BTC/USDT:USDT", "BTCUSDT", 3, run="dead_man_switch = true"),
    Venue("okx", ("okx",), "BTC/USDT:USDT", "BTCUSDT", 10, 'passphrase = "sim-passphrase"', size=1),
]


@pytest.fixture(scope="module", params=VENUES, ids=[v.name for v in VENUES])
def venue_sim(request: pytest.FixtureRequest) -> Iterator[tuple[Venue, SimExchange]]:
    """The venue's simulator on a synthetic market at 60x (a one-minute bar per second)."""
    venue: Venue = request.param
    with venue.simulator() as sim:
        yield venue, sim


def _spawn(
    tmp: Path, venue: Venue, sim: SimExchange, name: str
) -> tuple[subprocess.Popen[bytes], Any, Path]:
    key, secret = sim.create_account({"USDT": 100_000})
    config = tmp / f"{name}.toml"
    config.write_text(f"""
exchange = "{venue.name}"
market_type = "future"
testnet = true
paper_trading = false
apikey = "{key}"
secret = "{secret}"
symbol = "{venue.symbol}"
timeframe = "1m"
sim_url = "{sim.url}"
{venue.top}

[journal]
url = "sqlite:///{tmp / name}.db"

[run]
strategy = "tests.e2e.cli_strategies:RestingBid"
name = "{name}"
history_bars = 2
dead_man_timeout_s = {venue.timeout_s}
{venue.run}

[run.params]
size = {venue.size}
""")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("RT_SIM_URL", None)
    log = tmp / f"{name}.log"
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("real-trade")), "run", str(config)],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    account = venue.core(sim).account_by_key(key)
    assert account is not None
    return proc, account, log


def _armed(venue: Venue, sim: SimExchange, account: Any) -> bool:
    """Bybit's protection is armed when its private connection watches ``dcp`` (its countdown
    only starts on a drop); the others' countdown is running."""
    core = venue.core(sim)
    if venue.name == "bybit":
        return bool(core.countdowns.standby(account.account_id)) and any(
            "dcp" in c.topics and c.account is not None and c.account.api_key == account.api_key
            for face in sim.faces
            for c in getattr(getattr(face, "streams", None), "clients", ())
        )
    return bool(core.countdowns.armed(account.account_id))


def _wait_resting_and_armed(
    venue: Venue, sim: SimExchange, proc: subprocess.Popen[bytes], account: Any, log: Path
) -> None:
    core = venue.core(sim)

    def ready() -> bool:
        assert proc.poll() is None, f"{venue.name}: the runner ended early:\n{log.read_text()}"
        return bool(core.open_orders(account, venue.core_symbol)) and _armed(venue, sim, account)

    eventually(ready, 120, message=f"{venue.name}: a resting bid and an armed switch ({log})")


def _stop(proc: subprocess.Popen[bytes], sig: int) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_a_killed_runner_leaves_no_resting_order_after_the_countdown(
    venue_sim: tuple[Venue, SimExchange], tmp_path: Path
) -> None:
    venue, sim = venue_sim
    core = venue.core(sim)
    proc, account, log = _spawn(tmp_path, venue, sim, f"deadman-kill-{venue.name}")
    _wait_resting_and_armed(venue, sim, proc, account, log)
    assert _stop(proc, signal.SIGKILL) == -signal.SIGKILL
    assert core.open_orders(account, venue.core_symbol), f"{venue.name}: cancelled too soon"
    eventually(
        lambda: not core.open_orders(account, venue.core_symbol),
        venue.timeout_s + 15,
        message=f"{venue.name}: the countdown cancels the killed runner's bid",
    )
    fired = [c for c in core.countdowns.fired if c.account_id == account.account_id]
    assert len(fired) == 1 and fired[0].timeout_ms == venue.timeout_s * 1000, venue.name
    [order] = core.all_orders(account, venue.core_symbol)
    assert order.status.name == "CANCELED", venue.name


def test_a_clean_stop_disarms_the_switch_and_keeps_the_order(
    venue_sim: tuple[Venue, SimExchange], tmp_path: Path
) -> None:
    venue, sim = venue_sim
    core = venue.core(sim)
    proc, account, log = _spawn(tmp_path, venue, sim, f"deadman-stop-{venue.name}")
    _wait_resting_and_armed(venue, sim, proc, account, log)
    assert _stop(proc, signal.SIGTERM) == 0, f"{venue.name}: {log.read_text()[-3000:]}"
    assert core.countdowns.armed(account.account_id) == [], venue.name
    assert account.account_id not in [c.account_id for c in core.countdowns.fired], venue.name
    assert len(core.open_orders(account, venue.core_symbol)) == 1, venue.name
    assert "dead-man switch armed" in log.read_text(), venue.name
