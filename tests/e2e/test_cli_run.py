"""``real-trade run CONFIG.toml`` as an operator runs it: summary, console, signals, --live."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from real_trade.sim import SimExchange
from tests.support import assert_no_leak_warnings, eventually

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXIT_BOUND_S = 60  # a hung process fails the test instead of hanging the suite
FLIP = "tests.e2e.cli_strategies:FlipOnLiveBars"


def script() -> str:
    exe = Path(sys.executable).parent / "real-trade"
    if not exe.exists():
        pytest.fail("the 'real-trade' console script is not installed next to this Python")
    return str(exe)


def environment() -> dict[str, str]:
    """This environment without RT_ settings or proxies, with the working tree importable."""
    drop = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RT_") and k not in drop}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def write_config(
    tmp_path: Path,
    sim: SimExchange,
    *,
    mode: str = "paper",
    key: tuple[str, str] | None = None,
    strategy: str = "real_trade.strategies:SmaCross",
    params: str = "fast = 2\nslow = 4\nsize = 0.01",
) -> Path:
    """A run config on ``sim``: paper, testnet or live (live goes to the simulator too)."""
    paper, testnet = {
        "paper": ("true", "false"),
        "testnet": ("false", "true"),
        "live": ("false", "false"),
    }[mode]
    keys = f'apikey = "{key[0]}"\nsecret = "{key[1]}"\n' if key else ""
    text = f"""
exchange = "binance"
symbol = "BTC/USDT"
timeframe = "1m"
paper_trading = {paper}
testnet = {testnet}
sim_url = "{sim.url}"
{keys}
[run]
strategy = "{strategy}"
name = "cli-sma"
history_bars = 8

[run.params]
{params}

[journal]
url = "sqlite:///{tmp_path / "journal.db"}"

[logging]
level = "WARNING"
"""
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def sim() -> Iterator[SimExchange]:
    with SimExchange(speed=240.0, seed=21) as exchange:
        yield exchange


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [script(), "run", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment(),
        timeout=EXIT_BOUND_S,
    )
    assert_no_leak_warnings(out.stdout + out.stderr, "real-trade run")
    return out


def test_paper_run_prints_the_summary_bars_orders_and_exits_0(
    sim: SimExchange, tmp_path: Path
) -> None:
    # a strategy that trades from its first live bar (a crossover may not cross in 8 bars)
    config = write_config(tmp_path, sim, strategy=FLIP, params="size = 0.01")
    out = run_cli(str(config), "--max-bars", "8")
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    assert "mode       PAPER" in out.stdout and "symbols    BTC/USDT on 1m bars" in out.stdout
    assert "tests.e2e.cli_strategies.FlipOnLiveBars (size=0.01)" in out.stdout
    bars = [line for line in out.stdout.splitlines() if "] bar " in line]
    assert len(bars) == 8 and all("BTC/USDT" in b and "equity" in b for b in bars)
    assert "] order #1 BUY" in out.stdout and "] fill  #1 BUY" in out.stdout
    assert "feed  BTC/USDT: LIVE" in out.stdout
    assert "8 live bar(s) done: stopping" in out.stdout
    assert "Traceback" not in text


def test_sigterm_stops_gracefully_with_exit_code_0(sim: SimExchange, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [script(), "run", str(write_config(tmp_path, sim))],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment(),
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")))  # type: ignore[union-attr]
    reader.start()
    try:
        eventually(
            lambda: sum("] bar " in line for line in lines) >= 3,
            timeout=EXIT_BOUND_S,
            message="the run is trading live",
        )
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=EXIT_BOUND_S)
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(10)
    text = "".join(lines)
    assert code == 0, text[-3000:]
    assert "SIGTERM received: stopping gracefully" in text
    assert "cli-sma: stopped" in text and "Traceback" not in text
    assert_no_leak_warnings(text, "real-trade run after SIGTERM")


def test_live_money_without_live_is_refused_with_what_to_add(
    sim: SimExchange, tmp_path: Path
) -> None:
    key = sim.create_account({"USDT": 1_000})
    out = run_cli(str(write_config(tmp_path, sim, mode="live", key=key)))
    assert out.returncode == 2
    assert "REAL MONEY" in out.stderr and "Add --live" in out.stderr
    assert key[1] not in out.stdout + out.stderr
    assert not (tmp_path / "journal.db").exists(), "nothing was started"


def test_live_asks_for_the_symbol_and_a_wrong_answer_starts_nothing(
    sim: SimExchange, tmp_path: Path
) -> None:
    key = sim.create_account({"USDT": 1_000})
    out = run_cli(
        str(write_config(tmp_path, sim, mode="live", key=key)), "--live", stdin="ETH/USDT\n"
    )
    assert out.returncode == 2
    assert "mode       LIVE (REAL MONEY)" in out.stdout
    assert "Type the symbol (BTC/USDT) to start trading real money" in out.stdout
    assert "not confirmed; nothing was started" in out.stderr
    assert "] bar " not in out.stdout
    assert key[1] not in out.stdout + out.stderr


def test_live_confirmed_by_typing_the_symbol_trades(sim: SimExchange, tmp_path: Path) -> None:
    key = sim.create_account({"USDT": 10_000})
    out = run_cli(
        str(write_config(tmp_path, sim, mode="live", key=key)),
        "--live",
        "--max-bars",
        "3",
        stdin="BTC/USDT\n",
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    assert sum("] bar " in line for line in out.stdout.splitlines()) == 3
    assert key[1] not in text and key[0] not in text


def test_a_strategy_that_does_not_import_is_exit_2_naming_the_field(
    sim: SimExchange, tmp_path: Path
) -> None:
    config = write_config(tmp_path, sim, strategy="real_trade.strategies:SmaCros")
    out = run_cli(str(config))
    assert out.returncode == 2
    assert "run.strategy" in out.stderr and "did you mean 'SmaCross'" in out.stderr


def test_duration_stops_the_run_gracefully(sim: SimExchange, tmp_path: Path) -> None:
    out = run_cli(str(write_config(tmp_path, sim)), "--duration", "2")
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert "2 s elapsed: stopping" in out.stdout and "cli-sma: stopped" in out.stdout
