"""The exchange-side dead-man switch, end to end: ``real-trade run`` on the simulated perpetual.

A runner subprocess trades ``BTC/USDT:USDT`` (Binance USDⓈ-M face) with a strategy that leaves
one limit bid resting, with ``[run] dead_man_timeout_s = 2`` (the switch is on by default for
perpetuals). Killed with SIGKILL, it cannot cancel anything: the simulator's countdown does,
once no heartbeat re-arms it. Stopped cleanly (SIGTERM), it disarms the switch and its order
stays (recovered on the next start, as without the switch). Every wait polls the simulator.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from real_trade.sim import SimExchange
from tests.support import eventually

pytestmark = [pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 2


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """Spot and USDⓈ-M on a synthetic market at 60x (a one-minute bar per second)."""
    with SimExchange(
        market="synthetic", speed=60.0, seed=12, faces=["binance", "binance_futures"]
    ) as exchange:
        yield exchange


def _spawn(tmp: Path, sim: SimExchange, name: str) -> tuple[subprocess.Popen[bytes], Any, Path]:
    key, secret = sim.create_account({"USDT": 10_000})
    config = tmp / f"{name}.toml"
    config.write_text(f"""
exchange = "binance"
market_type = "future"
testnet = true
paper_trading = false
apikey = "{key}"
secret = "{secret}"
symbol = "BTC/USDT:USDT"
timeframe = "1m"
sim_url = "{sim.url}"

[run]
strategy = "tests.e2e.cli_strategies:RestingBid"
name = "{name}"
history_bars = 2
dead_man_timeout_s = {TIMEOUT_S}
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
    core = sim.futures_core
    assert core is not None
    account = core.account_by_key(key)
    assert account is not None
    return proc, account, log


def _resting_and_armed(sim: SimExchange, account: Any, proc: subprocess.Popen[bytes]) -> bool:
    core = sim.futures_core
    assert core is not None
    assert proc.poll() is None, "the runner ended early"
    return bool(core.open_orders(account, "BTCUSDT") and core.countdowns.armed(account.account_id))


def _stop(proc: subprocess.Popen[bytes], sig: int) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_a_killed_runner_leaves_no_resting_order_after_the_countdown(
    sim: SimExchange, tmp_path: Path
) -> None:
    core = sim.futures_core
    assert core is not None
    proc, account, log = _spawn(tmp_path, sim, "deadman-kill")
    eventually(
        lambda: _resting_and_armed(sim, account, proc),
        90,
        message=f"a resting bid and an armed countdown (log: {log})",
    )
    [armed] = core.countdowns.armed(account.account_id)
    assert (armed.scope, armed.timeout_ms) == ("BTCUSDT", TIMEOUT_S * 1000)
    assert _stop(proc, signal.SIGKILL) == -signal.SIGKILL
    assert core.open_orders(account, "BTCUSDT"), "nothing may cancel it but the venue"
    eventually(
        lambda: not core.open_orders(account, "BTCUSDT"),
        TIMEOUT_S + 10,
        message="the countdown cancels the killed runner's bid",
    )
    assert [c.account_id for c in core.countdowns.fired].count(account.account_id) == 1
    [order] = core.all_orders(account, "BTCUSDT")
    assert order.status.name == "CANCELED"


def test_a_clean_stop_disarms_the_switch_and_keeps_the_order(
    sim: SimExchange, tmp_path: Path
) -> None:
    core = sim.futures_core
    assert core is not None
    proc, account, log = _spawn(tmp_path, sim, "deadman-stop")
    eventually(
        lambda: _resting_and_armed(sim, account, proc),
        90,
        message=f"a resting bid and an armed countdown (log: {log})",
    )
    assert _stop(proc, signal.SIGTERM) == 0, log.read_text()[-3000:]
    assert core.countdowns.armed(account.account_id) == []
    assert account.account_id not in [c.account_id for c in core.countdowns.fired]
    assert len(core.open_orders(account, "BTCUSDT")) == 1
    assert "dead-man switch armed" in log.read_text()
