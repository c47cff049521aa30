"""``real-trade sim --faces bybit`` as a user runs it, and ``RT_SIM_URL`` redirecting a Bybit
client: ccxt built from the venue layer's endpoint choice talks only to the simulator."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import ccxt
import pytest

from real_trade.venues import BYBIT
from real_trade.venues.urls import effective_sim_url, resolve_endpoints
from tests.integration.sim.test_cli_sim import _read_until_ready, _script

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[3]


def test_cli_serves_bybit_and_rt_sim_url_redirects_a_bybit_client() -> None:
    proc = subprocess.Popen(
        [
            _script(),
            *("sim", "--port", "0", "--stepped", "--faces", "bybit"),
            *("--account", "bbkey:bbsecret:USDT=1000,BTC=0.5"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        text = "\n".join(_read_until_ready(proc))
        assert "Bybit v5" in text and "/api/v3" not in text
        rest = re.search(r"REST\s+(http://127\.0\.0\.1:\d+)/v5/", text)
        assert rest is not None
        sim_url = effective_sim_url(env={"RT_SIM_URL": rest.group(1)})
        assert sim_url == rest.group(1)
        endpoints = resolve_endpoints(BYBIT, sim_url=sim_url)
        assert endpoints.urls is not None
        ex = ccxt.bybit(
            {
                "urls": dict(endpoints.urls),
                "options": dict(endpoints.options),
                "apiKey": "bbkey",
                "secret": "bbsecret",
            }
        )
        ex.enable_demo_trading(True)  # demo mode is redirected too
        assert "BTC/USDT" in ex.load_markets()
        assert ex.fetch_balance()["BTC"]["total"] == 0.5
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
