"""Seed 001's complete-system example: ``from real_trade.examples.live_trading import main`` then
``main()`` runs a paper TradingRunner offline, against its own simulator or ``RT_SIM_URL``'s.

Each run is a fresh interpreter calling ``main()`` exactly as the seed does; the bar limit and
the market speed come from the command line the seed's script would be given.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from real_trade.sim import SimExchange, SyntheticMarket

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED_CALL = "from real_trade.examples.live_trading import main\nmain()\n"
ENDED = re.compile(r"run ended: (?P<bars>\d+) bars \((?P<live>\d+) live\); final value [\d,.]+")


def _run_seed_call(args: list[str], sim_url: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RT_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if sim_url is not None:
        env["RT_SIM_URL"] = sim_url
    out = subprocess.run(
        [sys.executable, "-c", SEED_CALL, *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=str(ROOT),
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    return text


def _check_traded(text: str, live_bars: int) -> None:
    ended = ENDED.search(text)
    assert ended is not None, text[-4000:]
    assert int(ended["live"]) == live_bars
    assert int(ended["bars"]) > live_bars, "history was backfilled before the live bars"
    assert "BUY EXECUTED" in text, "the seed strategy's entry filled (printlog output)"
    assert f"live bar {live_bars}:" in text


def test_main_starts_its_own_simulator_and_trades() -> None:
    text = _run_seed_call(["--max-bars", "1", "--speed", "3600"], sim_url=None)
    assert "RT_SIM_URL is not set: started an exchange simulator" in text
    _check_traded(text, live_bars=1)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A running simulator the example is pointed at, hourly bars every wall second."""
    market = SyntheticMarket(("BTCUSDT",), seed=13, history_days=4, tick_ms=10_000)
    with SimExchange(market=market, speed=3600.0, seed=13) as exchange:
        yield exchange


def test_main_uses_the_simulator_in_RT_SIM_URL(sim: SimExchange) -> None:
    text = _run_seed_call(["--max-bars", "2"], sim_url=sim.url)
    assert f"RT_SIM_URL={sim.url}: trading against that simulator" in text
    assert "started an exchange simulator" not in text
    _check_traded(text, live_bars=2)
