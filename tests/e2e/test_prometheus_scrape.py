"""A real Prometheus server scrapes ``real-trade run`` with ``[metrics] enabled``.

The test starts the distribution's ``prometheus`` binary on loopback (temporary config and
storage, 1 s scrape interval) against a paper run of the console script on the simulator,
lets the run trade, engages the kill switch (``real-trade kill``) so that no further order
can fill, then asks Prometheus' HTTP API for the counters and compares them with the journal's
fills and orders. Skipped when the binary is absent, failed instead when
``RT_REQUIRE_SERVICES=1`` (CI installs the ``prometheus`` package).
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from real_trade.persistence import Journal
from real_trade.sim import SimExchange
from tests.e2e.test_cli_run import environment, script, write_config
from tests.support import eventually, services_required

pytestmark = pytest.mark.integration
BOUND_S = 60


def prometheus_binary() -> str:
    """The ``prometheus`` executable, or skip (fail under RT_REQUIRE_SERVICES=1)."""
    found = shutil.which("prometheus")
    if found is None:
        reason = "the prometheus binary is not installed (Debian: apt-get install prometheus)"
        if services_required():
            pytest.fail(f"{reason}; RT_REQUIRE_SERVICES=1 demands it")
        pytest.skip(reason)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    """A subprocess whose merged output is collected line by line on a thread."""

    def __init__(self, args: list[str], **options: Any) -> None:
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **options
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in iter(self.proc.stdout.readline, ""):
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=BOUND_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._reader.join(10)
        return int(self.proc.returncode)


@pytest.fixture
def sim() -> Iterator[SimExchange]:
    with SimExchange(speed=240.0, seed=21) as exchange:
        yield exchange


def start_prometheus(tmp_path: Path, target: str) -> tuple[Process, str]:
    """Prometheus scraping ``target`` every second; returns it and its API base URL."""
    binary = prometheus_binary()
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n  - job_name: realtrade\n"
        f"    static_configs:\n      - targets: ['{target}']\n",
        encoding="utf-8",
    )
    proc = Process(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        cwd=tmp_path,
    )
    return proc, f"http://127.0.0.1:{port}"


def query(base: str, promql: str) -> list[dict[str, Any]]:
    """The result vector of an instant query through Prometheus' HTTP API ([] on any failure)."""
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
    except OSError:
        return []
    return list(body["data"]["result"]) if body.get("status") == "success" else []


def value(base: str, promql: str) -> float | None:
    result = query(base, promql)
    return float(result[0]["value"][1]) if result else None


def test_prometheus_scrapes_a_paper_run_and_its_counts_equal_the_journal(
    sim: SimExchange, tmp_path: Path
) -> None:
    config = write_config(tmp_path, sim)
    with config.open("a", encoding="utf-8") as f:
        f.write("\n[metrics]\nenabled = true\nport = 0\n")
    run = Process([script(), "run", str(config)], env=environment())
    prometheus: Process | None = None
    try:
        found = eventually(
            lambda: re.search(r"metrics on (http://127\.0\.0\.1:(\d+)/metrics)", run.text),
            timeout=BOUND_S,
            message=f"the run serves /metrics:\n{run.text[-2000:]}",
        )
        target = f"127.0.0.1:{found.group(2)}"
        prometheus, api = start_prometheus(tmp_path, target)
        journal = Journal(f"sqlite:///{tmp_path / 'journal.db'}")
        try:
            eventually(
                lambda: len(journal.fills()) >= 2,
                timeout=BOUND_S,
                message=f"the run trades:\n{run.text[-2000:]}",
            )
            kill = subprocess.run(
                [script(), "kill", str(config), "--reason", "prometheus test"],
                capture_output=True,
                text=True,
                env=environment(),
                timeout=BOUND_S,
            )
            assert kill.returncode == 0, kill.stdout + kill.stderr
            # halted: no order can fill any more, so the journal's counts are final
            fills = len(journal.fills())
            completed = sum(1 for o in journal.orders() if o.state == "COMPLETED")
            assert fills >= 2 and completed >= 1
            eventually(
                lambda: value(api, "realtrade_kill_switch_engaged") == 1.0,
                timeout=BOUND_S,
                message=f"Prometheus sees the kill switch:\n{prometheus.text[-2000:]}",
            )
            eventually(
                lambda: value(api, "sum(realtrade_fills_total)") == fills,
                timeout=BOUND_S,
                message=f"Prometheus has the journal's {fills} fills",
            )
            assert len(journal.fills()) == fills
            order_ids = journal.client_order_ids()
        finally:
            journal.close()
        assert value(api, 'sum(realtrade_orders_closed_total{state="completed"})') == completed
        assert value(api, 'up{job="realtrade"}') == 1.0
        info = query(api, "realtrade_build_info")
        assert info and info[0]["metric"]["bot"] == "cli-sma"
        assert info[0]["metric"]["mode"] == "paper"
        assert (value(api, "realtrade_equity_quote") or 0.0) > 0.0
        assert (value(api, "sum(realtrade_bars_total)") or 0.0) > 0.0
        assert (value(api, "sum(realtrade_order_fill_latency_seconds_count)") or 0) >= 1
        assert (value(api, "sum(realtrade_exchange_request_duration_seconds_count)") or 0) >= 1
        assert query(api, 'realtrade_feed_lag_seconds{symbol="BTC/USDT"}')
        with urllib.request.urlopen(found.group(1), timeout=5) as response:
            exposed = response.read().decode()
        assert order_ids and not [cid for cid in order_ids if cid in exposed]  # no order ids
    finally:
        code = run.stop()
        if prometheus is not None:
            prometheus.stop()
    assert code == 0, run.text[-3000:]
    assert "Traceback" not in run.text, run.text[-3000:]
