"""``real-trade sim`` as a user runs it: a subprocess on port 0, real clients, then SIGINT."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import ccxt
import pytest

from real_trade.cli import main
from real_trade.sim.server import ccxt_urls_for
from tests.support import assert_no_leak_warnings

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[3]


def _script() -> str:
    exe = Path(sys.executable).parent / "real-trade"
    if not exe.exists():
        pytest.fail("the 'real-trade' console script is not installed next to this Python")
    return str(exe)


def _read_until_ready(proc: subprocess.Popen[str], timeout: float = 60) -> list[str]:
    """Read the banner lines up to 'ready' (fails if the process dies first, or is killed
    after ``timeout`` seconds without it: a silent hang ends the blocking read too)."""
    assert proc.stdout is not None
    lines: list[str] = []
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    try:
        for line in iter(proc.stdout.readline, ""):
            lines.append(line.rstrip("\n"))
            if line.startswith("ready"):
                return lines
    finally:
        watchdog.cancel()
    pytest.fail(f"simulator exited ({proc.poll()}) before 'ready' or {timeout}s passed: {lines}")


@pytest.fixture
def cli_sim() -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """The simulator CLI on a free port with one fixed and one generated account."""
    proc = subprocess.Popen(
        [
            _script(),
            "sim",
            "--port",
            "0",
            "--stepped",
            "--symbols",
            "BTC/USDT,ETH/USDT",
            "--account",
            "clikey:clisecret:USDT=1000,BTC=0.5",
            "--account",
            "USDT=42",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        yield proc, _read_until_ready(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_cli_serves_prints_urls_and_accounts_and_stops_on_sigint(
    cli_sim: tuple[subprocess.Popen[str], list[str]],
) -> None:
    proc, banner = cli_sim
    text = "\n".join(banner)
    rest = re.search(r"REST\s+(http://127\.0\.0\.1:(\d+))/api/v3", text)
    assert rest is not None and int(rest.group(2)) > 0
    assert re.search(r"WS\s+ws://127\.0\.0\.1:\d+/ws", text)
    assert re.search(r"ADMIN\s+http://127\.0\.0\.1:\d+/admin/", text)
    assert "key=clikey secret=(as given)" in text and "clisecret" not in text
    generated = re.search(r"key=(\w{64}) secret=(\w{64}) balances=USDT=42", text)
    assert generated is not None

    base = rest.group(1)
    config = {"urls": ccxt_urls_for(base), "options": {"fetchMarkets": {"types": ["spot"]}}}
    ex = ccxt.binance({**config, "apiKey": "clikey", "secret": "clisecret"})
    assert {"BTC/USDT", "ETH/USDT"} <= set(ex.load_markets())
    assert ex.fetch_balance()["BTC"]["total"] == 0.5
    ex2 = ccxt.binance({**config, "apiKey": generated.group(1), "secret": generated.group(2)})
    assert ex2.fetch_balance()["USDT"]["total"] == 42.0

    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "simulator stopped" in out
    assert "Traceback" not in err
    assert_no_leak_warnings(out + err, "real-trade sim")


def test_cli_sigterm_also_exits_zero(cli_sim: tuple[subprocess.Popen[str], list[str]]) -> None:
    proc, _ = cli_sim
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sim", "--account", "k:s:USDT=abc"], "bad amount"),
        (["sim", "--account", "a:b:c:d"], "bad --account value"),
        (["sim", "--speed", "-1"], "positive number"),
    ],
)
def test_cli_rejects_bad_arguments(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_refuses_a_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--host", "0.0.0.0", "--port", "0"]) == 2
    assert "loopback" in capsys.readouterr().err


def test_cli_refuses_an_unknown_face(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--port", "0", "--faces", "binance,nope"]) == 2
    assert "unknown simulator face 'nope'" in capsys.readouterr().err
