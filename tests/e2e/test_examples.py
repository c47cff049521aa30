"""The seed appendices' examples (``examples/*.py``) run offline and do what the seeds promise.

Each example runs as a user would run it: a subprocess of this Python, its output read back. One
accelerated simulator serves the module (``RT_SIM_URL`` in each subprocess's environment). The
examples are started together, since most of their time is spent waiting for the market clock,
and each test then checks its own example's output. Seed 004's live example uses daily bars,
which this module's 240x simulator would take six minutes each to close: it runs without
``RT_SIM_URL`` instead, which is also the test of an example starting its own simulator.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from real_trade.sim import SimExchange, SyntheticMarket
from tests.support import assert_no_leak_warnings, eventually

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
HISTORY_DAYS = 10
SPEED = 240.0
TIMEOUT = 180.0  # for one event a test waits on (the feed going live)
# Five examples share the machine: a run that still prints is slow, not hung. It fails when it
# prints nothing for STALL_S, or still runs after CAP_S.
STALL_S = 120.0
CAP_S = 900.0
PLACEHOLDERS = ("YOUR_API_KEY", "YOUR_SECRET", "YOUR_REAL_API_KEY", "YOUR_REAL_SECRET")
# a config.json the user keeps next to where they run the example
USER_CONFIG = {"symbol": "BTC/USDT", "timeframe": "2h", "initial_cash": 7777.0, "commission": 5e-4}
STARTED_SIM = "RT_SIM_URL is not set: started an exchange simulator"
BEHIND = "the simulator cannot play the market as fast as its clock runs"
SUMMARY = re.compile(
    r"run ended: (?P<bars>\d+) bars \((?P<live>\d+) live\), (?P<orders>\d+) orders, "
    r"(?P<filled>\d+) filled, (?P<refused>\d+) refused; final value (?P<value>[\d,]+\.\d\d)"
)


def _environment(sim_url: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without real_trade settings, plus the repository on the path
    (the examples import the working tree's real_trade) and the simulator URL if given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RT_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    if sim_url is not None:
        env["RT_SIM_URL"] = sim_url
    env.update(extra or {})
    return env


@dataclass
class ExampleRun:
    """One example started as a subprocess; :meth:`output` waits for it and checks the basics."""

    name: str
    args: list[str]
    env: dict[str, str] = field(repr=False)
    cwd: Path = ROOT
    proc: subprocess.Popen[str] | None = field(default=None, repr=False)
    started: float = field(default=0.0, repr=False)
    text: str | None = field(default=None, repr=False)
    returncode: int | None = None
    lines: list[str] = field(default_factory=list, repr=False)
    last_output: float = field(default=0.0, repr=False)
    reader: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> ExampleRun:
        """Launch the example with stdout and stderr captured, read as they come."""
        self.proc = subprocess.Popen(
            [sys.executable, str(EXAMPLES / f"{self.name}.py"), *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
            cwd=self.cwd,
        )
        self.started = self.last_output = time.monotonic()
        self.reader = threading.Thread(target=self._read, name=f"read-{self.name}", daemon=True)
        self.reader.start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            self.last_output = time.monotonic()

    def _ended_or_stalled(self) -> bool:
        assert self.proc is not None
        now = time.monotonic()
        return (
            self.proc.poll() is not None
            or now - self.last_output > STALL_S
            or now - self.started > CAP_S
        )

    def output(self) -> str:
        """The example's output once it exited 0 without a traceback (else the test fails)."""
        assert self.proc is not None and self.reader is not None
        if self.text is None:
            eventually(self._ended_or_stalled, CAP_S + 10, interval=0.2, message=self.name)
            if self.proc.poll() is None:
                quiet = time.monotonic() - self.last_output
                self.proc.kill()
                self.proc.wait()
                self.reader.join(10)
                pytest.fail(
                    f"{self.name} printed nothing for {quiet:.0f}s, or ran past {CAP_S:g}s:\n"
                    f"{''.join(self.lines)[-4000:]}"
                )
            self.reader.join(30)
            self.text = "".join(self.lines)
            self.returncode = self.proc.returncode
        assert self.returncode == 0, f"{self.name} exited {self.returncode}:\n{self.text[-4000:]}"
        assert "Traceback" not in self.text, self.text[-4000:]
        assert_no_leak_warnings(self.text, self.name)
        for placeholder in PLACEHOLDERS:  # keys, even placeholders, are never printed
            assert placeholder not in self.text
        return self.text

    def stop(self) -> None:
        """Kill the example if it still runs (module teardown)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.reader is not None:
            self.reader.join(10)


def _summary(text: str) -> dict[str, float]:
    found = SUMMARY.search(text)
    assert found is not None, f"no summary line in:\n{text[-3000:]}"
    return {k: float(v.replace(",", "")) for k, v in found.groupdict().items()}


def _completed(text: str, side: str, size: str) -> list[float]:
    """Fill prices of the completed orders of ``side`` whose size starts with ``size``."""
    pattern = rf"order \d+ {side} +{re.escape(size)}\S* BTC/USDT: Completed at ([\d,]+\.\d\d)"
    return [float(p.replace(",", "")) for p in re.findall(pattern, text)]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """The module's simulator: BTC/USDT with HISTORY_DAYS of history, at 240x market time."""
    market = SyntheticMarket(("BTCUSDT",), seed=11, history_days=HISTORY_DAYS, tick_ms=2000)
    with SimExchange(market=market, speed=SPEED, seed=11) as exchange:
        yield exchange


@pytest.fixture(scope="module")
def runs(
    sim: SimExchange, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, ExampleRun]]:
    """Every example with a bounded run, started together against the module's simulator."""
    user_dir = tmp_path_factory.mktemp("user")
    (user_dir / "config.json").write_text(json.dumps(USER_CONFIG))
    config_env = {"RT_TIMEFRAME": "4h", "RT_INITIAL_CASH": "5000"}
    started = {
        "binance_quickstart": ExampleRun(
            "binance_quickstart", ["--max-bars", "1"], _environment(sim.url)
        ),
        "create_engine": ExampleRun(
            "create_engine", ["--max-bars", "1", "--stake", "0.01"], _environment(sim.url)
        ),
        "backtrader_backtest": ExampleRun("backtrader_backtest", [], _environment(sim.url)),
        "backtrader_live": ExampleRun(
            "backtrader_live", ["--max-bars", "1", "--speed", "14400"], _environment(None)
        ),
        "global_config": ExampleRun(
            "global_config", [], _environment(sim.url, config_env), cwd=user_dir
        ),
    }
    for run in started.values():
        run.start()
    yield started
    for run in started.values():
        run.stop()


def test_quickstart_runs_the_seed_code_on_paper_until_max_bars(
    runs: dict[str, ExampleRun], sim: SimExchange
) -> None:
    text = runs["binance_quickstart"].output()
    assert f"RT_SIM_URL={sim.url}" in text, "it uses the simulator it was given"
    assert "started an exchange simulator" not in text
    backfilled = re.search(r"data BTC/USDT: LIVE after (\d+) backfilled bars", text)
    assert "data BTC/USDT: DELAYED" in text and backfilled is not None
    assert int(backfilled.group(1)) >= (HISTORY_DAYS - 1) * 24, "hourly history came first"
    assert re.search(r"live bar 1/1 \d{4}-\d\d-\d\d \d\d:00 ", text), "an hourly bar, live"
    assert "--max-bars 1 reached: stopping" in text
    # The seed's bare buy() asks for 1 BTC on every bar: the 10,000 USDT paper account cannot
    # pay for it, and every order shows the refusal with the exchange's reason.
    totals = _summary(text)
    # (the last bar's order may still be in flight when the run stops)
    assert totals["bars"] - 1 <= totals["orders"] <= totals["bars"]
    assert totals["orders"] >= int(backfilled.group(1)), "one order per bar"
    assert totals["filled"] == 0 and totals["refused"] >= totals["orders"] - 1
    assert re.search(r"order \d+ BUY +1 BTC/USDT: Margin \(.*insufficient balance", text)
    assert "hint: not enough cash" in text
    assert totals["value"] == 10_000.0


def test_create_engine_trades_the_stake_on_paper(runs: dict[str, ExampleRun]) -> None:
    text = runs["create_engine"].output()
    assert re.search(r"engine: BinanceStore\(venue='binance', mode='sim'", text)
    assert "live bar 1/1" in text and "--max-bars 1 reached: stopping" in text
    # a sell sells what is held: the stake less the commission Binance takes in the base asset
    buys, sells = _completed(text, "BUY ", "0.01"), _completed(text, "SELL", "0.00")
    assert buys and sells, "it bought the stake and sold what it held"
    totals = _summary(text)
    assert totals["refused"] == 0
    assert totals["filled"] == len(buys) + len(sells)
    assert totals["value"] != 10_000.0, "the commissions and price moves show in the value"


def test_backtrader_backtest_trades_the_sma_over_a_year_and_more_of_daily_history(
    runs: dict[str, ExampleRun],
) -> None:
    text = runs["backtrader_backtest"].output()
    totals = _summary(text)
    # the simulator serves years of daily candles, far beyond its tick-level window: the
    # feed backtests its last 1,000 closed days (the SMA(15) warms up on the first 15)
    assert totals["bars"] >= 365 and totals["bars"] > HISTORY_DAYS + 1
    assert totals["live"] == 0
    buys, sells = _completed(text, "BUY ", "0.001"), _completed(text, "SELL", "0.001")
    assert buys and sells, "the SMA(15) strategy bought and sold on the daily bars"
    assert totals["filled"] == totals["orders"] == len(buys) + len(sells)
    assert totals["refused"] == 0
    final = re.search(r"Final portfolio value: ([\d.]+)", text)
    assert final is not None and float(final.group(1)) != 10_000.0


def test_backtrader_live_starts_its_own_simulator_and_trades_the_sma_signal(
    runs: dict[str, ExampleRun],
) -> None:
    text = runs["backtrader_live"].output()
    lines = text.splitlines()
    said = [i for i, line in enumerate(lines) if line.startswith(STARTED_SIM)]
    assert said, text[:3000]
    # the simulator runs on its own thread from the moment it starts, before the example can
    # print its address: only its "cannot keep up" warnings may come first
    assert all(BEHIND in line for line in lines[: said[0]]), lines[: said[0]]
    first = lines[said[0]]
    assert "x14400" in first and "nothing leaves this machine" in first
    backfilled = re.search(r"LIVE after (\d+) backfilled bars", text)
    assert backfilled is not None and int(backfilled.group(1)) > 15, "SMA(15) had a warm-up"
    assert re.search(r"live bar 1/1 \d{4}-\d\d-\d\d 00:00 ", text), "a daily bar, live"
    buys = _completed(text, "BUY ", "0.001")
    assert buys, "backtrader's own broker filled the seed's 0.001 BTC orders"
    totals = _summary(text)
    assert totals["filled"] >= len(buys) and totals["refused"] == 0


def test_global_config_loads_env_json_and_arguments_and_masks_secrets(
    runs: dict[str, ExampleRun],
) -> None:
    text = runs["global_config"].output()
    assert re.search(r"from_env: paper trading on binance, BTC/USDT 4h, cash 5,000\.00", text)
    assert re.search(r"from_json: .* BTC/USDT 2h, cash 7,777\.00, commission 0\.0500%", text)
    assert "wrote a sample" not in text, "the user's own config.json was read"
    by_hand = re.search(r"by hand: .*apikey (\S+), secret (\S+)$", text, re.MULTILINE)
    assert by_hand is not None and by_hand.groups() == ("**********", "**********")
    assert "your_api_key" not in text and "your_secret" not in text
    assert "refused (field 'timeframe')" in text
    totals = _summary(text)
    # 4h bars (from RT_TIMEFRAME), reaching back past the tick-level window into deep history
    assert totals["bars"] > (HISTORY_DAYS + 1) * 6
    final = re.search(r"Final portfolio value: ([\d.]+)", text)
    assert final is not None
    assert abs(float(final.group(1)) - 5000.0) < 500.0, "the cash came from RT_INITIAL_CASH"


def test_a_live_example_without_max_bars_runs_until_ctrl_c(sim: SimExchange) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "create_engine.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_environment(sim.url),
        cwd=ROOT,
    )
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        eventually(
            lambda: any("data BTC/USDT: LIVE" in line for line in lines) or proc.poll() is not None,
            timeout=TIMEOUT,
            message="the feed goes live",
        )
        assert proc.poll() is None, "".join(lines)[-3000:]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)
    text = "".join(lines)
    assert "Ctrl-C (press it again to interrupt at once): stopping" in text
    assert _summary(text)["bars"] > 0
    assert "Traceback" not in text
    assert_no_leak_warnings(text, "create_engine after Ctrl-C")
