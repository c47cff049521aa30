"""README command 1: ``real-trade demo`` trades against the simulator offline and exits cleanly."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import assert_no_leak_warnings


def _script() -> str:
    exe = Path(sys.executable).parent / "real-trade"
    if not exe.exists():
        pytest.fail("the 'real-trade' console script is not installed next to this Python")
    return str(exe)


@pytest.mark.integration
def test_demo_trades_through_the_live_path_and_the_accounts_agree() -> None:
    out = subprocess.run(
        [_script(), "demo", "--bars", "16", "--speed", "240", "--fast", "2", "--slow", "5"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    assert "testnet mode" in text
    assert re.search(r"bar +16/16 ", text), "progress per live bar is shown"
    assert "broker and exchange agree: yes" in text
    assert re.search(r"P&L [+-][\d,]+\.\d\d USDT", text)
    filled = re.search(r"orders notified: (\d+), filled: (\d+)", text)
    assert filled is not None and int(filled.group(1)) >= 1, "the strategy traded"
    assert "Traceback" not in text
    assert_no_leak_warnings(text, "real-trade demo")


@pytest.mark.integration
@pytest.mark.parametrize("exchange", ["binance", "bybit", "okx"])
def test_demo_on_the_perpetual_goes_long_and_short_and_the_accounts_agree(exchange: str) -> None:
    args = ["--market", "future", "--bars", "16", "--speed", "240", "--fast", "2", "--slow", "5"]
    out = subprocess.run(
        [_script(), "demo", "--exchange", exchange, *args],
        capture_output=True,
        text=True,
        timeout=240,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    assert "long/short on the perpetual BTC/USDT:USDT" in text
    assert "testnet futures wallet with 10,000.00 USDT" in text
    assert re.search(r"position -0\.0500 BTC", text), f"{exchange}: the strategy went short"
    assert "broker and exchange agree: yes" in text, f"{exchange}: {text[-2000:]}"
    assert "Traceback" not in text
    assert_no_leak_warnings(text, f"real-trade demo --exchange {exchange} --market future")


@pytest.mark.integration
@pytest.mark.parametrize(("exchange", "name"), [("bybit", "Bybit"), ("okx", "OKX")])
def test_demo_trades_bybit_and_okx_through_their_faces(exchange: str, name: str) -> None:
    """The same demo on the other venues' faces (fewer bars: the path is the same; 12, since with
    this seed the first cross comes on bar 8, and the strategy places no order on its last bar)."""
    out = subprocess.run(
        [
            _script(),
            "demo",
            "--exchange",
            exchange,
            *["--bars", "12", "--speed", "240", "--fast", "2", "--slow", "5"],
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, f"{exchange}: {text[-4000:]}"
    assert f"on {name}, testnet mode" in text and f"({name} face)" in text
    assert re.search(r"bar +12/12 ", text), exchange
    assert "broker and exchange agree: yes" in text, f"{exchange}: {text[-2000:]}"
    filled = re.search(r"orders notified: (\d+), filled: (\d+)", text)
    assert filled is not None and int(filled.group(2)) >= 1, f"{exchange}: the strategy traded"
    assert "Traceback" not in text and "execution task failed" not in text, exchange
    assert_no_leak_warnings(text, f"real-trade demo --exchange {exchange}")
