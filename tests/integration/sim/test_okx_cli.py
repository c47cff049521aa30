"""``real-trade sim --faces okx``: the CLI serves the OKX face and ``RT_SIM_URL`` redirects an
unmodified ccxt ``okx`` client (live and demo) to it."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import ccxt
import pytest

from real_trade.venues import OKX
from real_trade.venues.urls import effective_sim_url, resolve_endpoints
from tests.integration.sim.test_cli_sim import _read_until_ready, _script

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[3]


def test_cli_serves_okx_and_rt_sim_url_redirects_an_okx_client() -> None:
    proc = subprocess.Popen(
        [
            _script(),
            *("sim", "--port", "0", "--stepped", "--faces", "okx"),
            *("--account", "okxkey:okxsecret:USDT=1000,BTC=0.5"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        text = "\n".join(_read_until_ready(proc))
        assert "OKX v5" in text and "/api/v3" not in text
        rest = re.search(
            r"REST\s+(http://127\.0\.0\.1:\d+)/api/v5/\s+\(OKX; passphrase (\S+)\)", text
        )
        assert rest is not None
        sim_url = effective_sim_url(env={"RT_SIM_URL": rest.group(1)})
        assert sim_url == rest.group(1)
        endpoints = resolve_endpoints(OKX, sim_url=sim_url)
        assert endpoints.urls is not None
        ex = ccxt.okx(
            {
                "urls": dict(endpoints.urls),
                "options": dict(endpoints.options),
                "apiKey": "okxkey",
                "secret": "okxsecret",
                "password": rest.group(2),
            }
        )
        ex.set_sandbox_mode(True)  # demo mode is redirected too
        assert list(ex.load_markets()) == ["BTC/USDT"]
        assert ex.fetch_balance()["free"]["USDT"] >= 1000
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
