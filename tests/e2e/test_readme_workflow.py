"""The README's "From history to paper in three commands", run as written against a simulator.

The three commands are read from the README (between ``<!-- workflow-commands -->`` and the end
of the code block) and run in a shell, in a fresh folder holding a copy of ``examples/``, with
``RT_SIM_URL`` pointing at a simulator this module starts (as the README tells an offline user to
do) and ``RT_HISTORY_DIR`` in the test's folder. The download must store candles, the backtest
must read them and trade, and the paper run must reach its live bars and stop cleanly on Ctrl-C.
"""

from __future__ import annotations

import os
import re
import shutil
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
EXIT_BOUND_S = 120


def readme_workflow() -> list[str]:
    """The README's workflow commands, one per line, exactly as written."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- workflow-commands -->\s*```bash\n(.*?)```", text, re.S)
    assert block is not None, "the README has no workflow-commands block"
    lines = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    assert [line.split()[1] for line in lines] == ["download", "backtest", "run"], lines
    return lines


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A synthetic BTC/USDT market (three years of history) at 3600x, so 4h bars come soon."""
    with SimExchange(speed=3600.0, seed=5) as exchange:
        yield exchange


def _environment(sim: SimExchange, home: Path) -> dict[str, str]:
    drop = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RT_") and k not in drop}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env["RT_SIM_URL"] = sim.url
    env["RT_HISTORY_DIR"] = str(home / "history")
    return env


def _run(command: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=EXIT_BOUND_S,
        check=False,
    )
    text = done.stdout + done.stderr
    assert done.returncode == 0, f"{command!r} exited {done.returncode}:\n{text[-3000:]}"
    assert "Traceback" not in text, text[-3000:]
    assert_no_leak_warnings(text, command)
    return text


def test_the_readme_workflow_downloads_backtests_and_paper_trades(
    sim: SimExchange, tmp_path: Path
) -> None:
    download, backtest, run = readme_workflow()
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = _environment(sim, tmp_path)

    fetched = _run(download, tmp_path, env)
    stored = re.search(r"BTC/USDT 4h: ([\d,]+) new bars", fetched)
    assert stored is not None and int(stored.group(1).replace(",", "")) > 1_000, fetched
    assert list((tmp_path / "history").rglob("*.parquet")), "the candles are on disk"

    report = _run(backtest, tmp_path, env)
    trades = re.search(r"trades\s+(\d+) closed", report)
    assert trades is not None and int(trades.group(1)) > 0, report
    assert re.search(r"period\s+2025-06-01 00:00 -> 2025-11-30 20:00 UTC", report), report
    assert "conventions:" in report

    # The paper run trades until Ctrl-C: wait for its live bars, then stop it as a user would.
    proc = subprocess.Popen(
        ["bash", "-c", f"exec {run}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:
        eventually(lambda: any("LIVE" in line for line in lines), timeout=EXIT_BOUND_S)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=EXIT_BOUND_S) == 0, "".join(lines)[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)
    text = "".join(lines)
    assert "Traceback" not in text, text[-3000:]
    assert_no_leak_warnings(text, run)
    assert (tmp_path / "sma_4h.db").exists(), "the paper run journaled in its folder"
