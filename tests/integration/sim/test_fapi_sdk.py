"""Binance's own futures SDK (``binance-futures-connector``'s ``UMFutures`` and
``UMFuturesWebsocketClient``) against the simulator's USDⓈ-M face.

The SDK and ``binance-connector`` (spot, a dev dependency) both install the package
``binance``, so the futures SDK lives in a folder of its own (:mod:`tests.isolated_packages`:
``pip install --target``, cached) and runs in a subprocess with that folder first on
``PYTHONPATH`` (``fapi_sdk_client.py``): server time, exchange info, klines, a resting order
queried and cancelled, the countdown cancel-all (dead-man switch), leverage, a short position,
account and balance, a listen key and an ``ORDER_TRADE_UPDATE`` on the user-data stream.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from real_trade.sim.server import SimExchange
from tests.isolated_packages import isolated_package

pytestmark = pytest.mark.integration
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SDK = "binance-futures-connector==4.2.0"


def test_the_futures_sdk_trades_and_streams_against_the_face() -> None:
    sdk = isolated_package(SDK, "binance/um_futures/__init__.py")
    with SimExchange(seed=4, faces=["binance", "binance_futures"]) as sim:
        key, secret = sim.create_account({"USDT": 10_000})
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(sdk), str(ROOT)])}
        done = subprocess.run(
            [sys.executable, str(HERE / "fapi_sdk_client.py"), sim.url, sim.ws_url, key, secret],
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr[-4000:]
        seen = json.loads(done.stdout.strip().splitlines()[-1])
        account = sim.futures_core.account_by_key(key) if sim.futures_core else None
        assert account is not None
        fired = [c for c in sim.futures_core.countdowns.fired if c.account_id == account.account_id]
    assert seen["sdk"].startswith(str(sdk)), "the isolated SDK, not the spot connector"
    assert abs(seen["server_time"] - sim.clock.now_ms()) < 60_000
    assert seen["contract_type"] == "PERPETUAL"
    assert len(seen["klines"]) == 5 and all(len(k) == 12 for k in seen["klines"])
    assert (seen["resting_status"], seen["cancelled_status"]) == ("NEW", "CANCELED")
    assert seen["countdown"] == {"symbol": "BTCUSDT", "countdownTime": "1000"}
    assert seen["open_before_countdown"] == 1
    assert [(c.scope, c.timeout_ms) for c in fired] == [("BTCUSDT", 1000)]
    assert seen["leverage"] == 7 and seen["sell_status"] == "FILLED"
    [short] = seen["positions"]
    assert float(short["positionAmt"]) == -0.01 and short["leverage"] == "7"
    assert seen["account_assets"] == ["USDT"] and float(seen["balance"]["USDT"]) < 10_000
    assert "ORDER_TRADE_UPDATE" in seen["user_events"]
    assert seen["final_positions"] == []  # the market buy closed the short
