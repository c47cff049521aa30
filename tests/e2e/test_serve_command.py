"""``real-trade serve`` as an operator runs it, and an order cancelled through the API by the
runner that placed it (the ``control.command`` path, end to end, on the simulator)."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from real_trade.api.tokens import FileTokenStore, TokenAuthority
from real_trade.persistence import Journal
from real_trade.session.control import COMMAND_DONE_KIND
from real_trade.sim import SimExchange
from tests.e2e.test_cli_run import environment, script, write_config
from tests.e2e.test_prometheus_scrape import Process
from tests.support import eventually

pytestmark = pytest.mark.integration
BOUND_S = 90


def _call(url: str, token: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "serve.toml"
    path.write_text(
        f'symbol = "BTC/USDT"\n[journal]\nurl = "sqlite:///{tmp_path / "j.db"}"\n'
        f'[api]\nport = 0\ntoken_file = "{tmp_path / "tokens.json"}"\n',
        encoding="utf-8",
    )
    return path


def test_serve_prints_the_first_token_once_and_refuses_a_public_address(tmp_path: Path) -> None:
    config = _config(tmp_path)
    Journal(f"sqlite:///{tmp_path / 'j.db'}").close()
    first = Process([script(), "serve", str(config)], env=environment())
    try:
        found = eventually(
            lambda: re.search(r"on (http://127\.0\.0\.1:\d+/).*\n.*\n\s+(rt_\S+)", first.text),
            timeout=BOUND_S,
            message=first.text,
        )
        base, token = found.group(1), found.group(2)
        status, body = _call(base + "api/status", token)
        assert status == 200 and body["mode"] == "paper"
    finally:
        assert first.stop() == 0
    second = Process([script(), "serve", str(config)], env=environment())
    try:
        eventually(lambda: "dashboard on" in second.text, timeout=BOUND_S, message=second.text)
    finally:
        assert second.stop() == 0
    assert "rt_" not in second.text  # the token is shown on first use only
    public = subprocess.run(
        [script(), "serve", str(config), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=BOUND_S,
    )
    assert public.returncode == 2 and "without TLS" in public.stderr
    issued = subprocess.run(
        [script(), "serve", str(config), "--issue-token", "read", "--label", "viewer"],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=BOUND_S,
    )
    assert issued.returncode == 0 and re.search(r"new read token \w+: rt_\S+", issued.stdout)
    listed = subprocess.run(
        [script(), "serve", str(config), "--list-tokens"],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=BOUND_S,
    )
    assert listed.returncode == 0 and re.search(r"\w+  read   expires .* viewer", listed.stdout)
    assert "rt_" not in listed.stdout
    stored = (tmp_path / "tokens.json").read_text()
    assert token not in stored and issued.stdout.split()[-1] not in stored


def test_an_order_is_cancelled_and_risk_reloaded_through_the_api_by_the_runner(
    tmp_path: Path,
) -> None:
    with SimExchange(speed=240.0, seed=21) as sim:
        config = write_config(
            tmp_path, sim, strategy="tests.e2e.cli_strategies:RestingLimitBuy", params=""
        )
        with config.open("a", encoding="utf-8") as f:
            f.write(f'\n[api]\nenabled = true\nport = 0\ntoken_file = "{tmp_path / "t.json"}"\n')
        token = TokenAuthority(FileTokenStore(tmp_path / "t.json")).issue("trade").token
        run = Process([script(), "run", str(config)], env=environment())
        journal = Journal(f"sqlite:///{tmp_path / 'journal.db'}")
        try:
            base = eventually(
                lambda: re.search(r"dashboard on (http://127\.0\.0\.1:\d+/)", run.text),
                timeout=BOUND_S,
                message=run.text,
            ).group(1)
            orders = eventually(
                lambda: _call(base + "api/orders?open=1", token)[1]["items"],
                timeout=BOUND_S,
                message=f"the strategy places its resting order:\n{run.text[-2000:]}",
            )
            wanted = orders[0]["client_order_id"]
            eventually(
                lambda: _call(base + "api/orders?open=1", token)[1]["items"][0]["state"],
                timeout=BOUND_S,
                message="the order is acknowledged",
            )
            status, result = _call(
                base + "api/actions/cancel",
                token,
                {"mode": "paper", "reason": "e2e cancel", "client_order_id": wanted},
            )
            assert status == 202, result
            done = eventually(
                lambda: journal.events(COMMAND_DONE_KIND),
                timeout=BOUND_S,
                message="the runner answers the command",
            )
            assert done[0].payload["ok"] is True, done[0].payload
            eventually(
                lambda: (
                    next(o for o in journal.orders() if o.client_order_id == wanted).state
                    == "CANCELED"
                ),
                timeout=BOUND_S,
                message="the order is cancelled",
            )
            status, result = _call(
                base + "api/actions/reload_risk", token, {"mode": "paper", "reason": "limits"}
            )
            assert status == 202, result
            answers = eventually(
                lambda: [
                    e
                    for e in journal.events(COMMAND_DONE_KIND)
                    if e.payload["action"] == "reload_risk"
                ],
                timeout=BOUND_S,
                message="the runner reloads its risk limits",
            )
            assert answers[0].payload["ok"] is True, answers[0].payload
            assert answers[0].payload["detail"] == "risk limits reloaded"
        finally:
            journal.close()
            code = run.stop()
    assert code == 0, run.text[-3000:]
    assert "Traceback" not in run.text, run.text[-3000:]


def test_kill_through_the_api_cleans_a_testnet_account_at_the_venue_with_no_runner(
    tmp_path: Path,
) -> None:
    from real_trade.api.server import ApiServer
    from real_trade.config import RealTradeConfig
    from tests.e2e.test_cli_kill import Account

    with SimExchange(stepped=True, seed=11) as sim:
        sim.advance(60)
        account = Account(sim)
        path = account.config(tmp_path)
        with path.open("a", encoding="utf-8") as f:
            f.write(f'\n[api]\nport = 0\ntoken_file = "{tmp_path / "t.json"}"\n')
        config = RealTradeConfig.load(path)
        with ApiServer(config, config_path=str(path)) as server:
            assert server.first_token is not None
            token = server.first_token.token
            refused = _call(
                server.url + "api/actions/kill", token, {"mode": "paper", "reason": "x"}
            )
            assert refused[0] == 409 and account.open_orders()  # mode mismatch: nothing done
            status, result = _call(
                server.url + "api/actions/kill",
                token,
                {"mode": "testnet", "reason": "api drill", "flatten": True},
            )
            assert status == 202, result
            assert "at the venue" in result["detail"], result
            assert account.open_orders() == []
            assert account.btc() < Decimal("0.001")  # flat, up to dust
            assert server.journal.get_state("trading_state")["state"] == "halted"
            text = json.dumps(_call(server.url + "api/config", token)[1])
            assert account.secret not in text and account.key not in text
