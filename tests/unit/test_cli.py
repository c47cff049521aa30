"""The console script answers --version and --help as installed (a real subprocess)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

import real_trade
from real_trade.cli import main


def _script() -> list[str]:
    exe = shutil.which("real-trade", path=str(__import__("pathlib").Path(sys.executable).parent))
    if exe is None:
        pytest.fail("the 'real-trade' console script is not installed next to this Python")
    return [exe]


def test_version_from_the_installed_console_script() -> None:
    out = subprocess.run([*_script(), "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert out.stdout.strip() == f"real-trade {real_trade.__version__}"


def test_help_from_the_installed_console_script() -> None:
    out = subprocess.run([*_script(), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "usage: real-trade" in out.stdout
    assert "Paper trading is the default" in out.stdout


def test_no_subcommand_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "usage: real-trade" in capsys.readouterr().out


def test_import_real_trade_stays_light() -> None:
    code = (
        "import sys, real_trade, real_trade.bus, real_trade.cli, real_trade.config;"
        "heavy = [m for m in ('backtrader', 'ccxt', 'pandas', 'sqlalchemy', 'aiohttp', 'sklearn')"
        " if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"import real_trade pulled in heavy modules: {out.stdout}"
