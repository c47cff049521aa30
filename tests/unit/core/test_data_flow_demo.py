"""The seed's data-flow example (real_trade/examples/data_flow_demo.py) runs offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from real_trade.core.data_flow import TechnicalIndicatorsProcessor
from real_trade.examples import data_flow_demo

ROOT = Path(__file__).resolve().parents[3]
_DIRS = [Path(p) for p in [os.environ.get("RT_DATA_DIR")] if p] + [ROOT.parent / "shared" / "data"]
CSV = next(
    (d / data_flow_demo.CSV_NAME for d in _DIRS if (d / data_flow_demo.CSV_NAME).is_file()), None
)
needs_data = pytest.mark.skipif(CSV is None, reason="the BTC/USDT CSV: set RT_DATA_DIR")


def test_demo_on_the_synthetic_market(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RT_DATA_DIR", raising=False)
    out = data_flow_demo.main(["--bars", "300"])
    frame = data_flow_demo.load_candles(None, 300)
    assert set(out["indicators"]) == {"sma_10", "rsi"}
    p = TechnicalIndicatorsProcessor()
    np.testing.assert_array_equal(out["indicators"]["sma_10"], p.calculate_sma(frame["close"], 10))
    np.testing.assert_array_equal(out["indicators"]["rsi"], p.calculate_rsi(frame["close"], 14))
    assert out["signals"], "the mixin strategy published RSI signals through the bus"
    assert all(e.topic in ("signal.buy", "signal.sell") for e in out["signals"])


@needs_data
def test_demo_as_a_script_on_real_candles() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "real_trade.examples.data_flow_demo", "--csv", str(CSV)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "2000 candles, last close 28110.26" in run.stdout
    assert "sma_10: last " in run.stdout and "rsi: last " in run.stdout
    assert "signals through the bus" in run.stdout


def test_importing_data_flow_stays_light() -> None:
    code = (
        "import sys, real_trade, real_trade.core.data_flow; "
        "print(sorted(m for m in ('numpy', 'pandas', 'backtrader') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
