"""No secret leaves: a testnet run on the simulator with its key taken from the encrypted key
file trades, reports, alerts, logs at DEBUG and crashes once, and ``real-trade serve`` answers
every read of its control API, its push channel, an action and its dashboard; then every file it
left, every log line, every journal row, every command's output, every HTTP response, page and
every alert posted is scanned for the API key, the API secret and the key file's passphrase.
None may appear, in any encoding.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from real_trade.keys import ApiKey, ApiKeyManager, KdfParams
from real_trade.sim import SimExchange
from tests.e2e.test_cli_run import EXIT_BOUND_S, environment, script
from tests.integration.notifications.standins import WebhookStandIn
from tests.secret_scan import SecretScanner
from tests.support import assert_no_leak_warnings

pytestmark = pytest.mark.integration

API_KEY = "ckLEAKkey" + "Q7w3E9r1T5y2" * 4
API_SECRET = "csLEAKsecret" + "m4N8b2V6c0X1" * 4
FILE_PASSPHRASE = "cfLEAK-pass-phrase-Zx81-canary"
CANARIES = {"api key": API_KEY, "api secret": API_SECRET, "key file passphrase": FILE_PASSPHRASE}


@pytest.fixture
def sim() -> Iterator[SimExchange]:
    with SimExchange(speed=240.0, seed=33) as exchange:
        yield exchange


@pytest.fixture
def hook() -> Iterator[WebhookStandIn]:
    receiver = WebhookStandIn().start()
    yield receiver
    receiver.stop()


def write_config(root: Path, sim: SimExchange, hook: WebhookStandIn, strategy: str) -> Path:
    """A testnet run naming the stored key, logging at DEBUG to a file, alerting a webhook."""
    text = f"""
exchange = "binance"
symbol = "BTC/USDT"
timeframe = "1m"
paper_trading = false
testnet = true
sim_url = "{sim.url}"
key = "sim-main"
keys_file = "{root / "home" / "keys.json"}"

[run]
strategy = "{strategy}"
name = "leak"
history_bars = 8

[run.params]
size = 0.01

[journal]
url = "sqlite:///{root / "journal.db"}"

[logging]
level = "DEBUG"
file = "{root / "logs" / "run.log"}"

[notifications.webhook]
url = "{hook.hook_url}"
min_interval = 0
"""
    path = root / f"{strategy.rsplit(':', 1)[-1]}.toml"
    path.write_text(text, encoding="utf-8")
    return path


class Cli:
    """Runs ``real-trade`` with the key file's passphrase in the environment; keeps every
    output for the scan."""

    def __init__(self, root: Path) -> None:
        self.outputs: list[tuple[str, str]] = []
        home = root / "home"
        home.mkdir(exist_ok=True)
        self.env = {
            **environment(),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "RT_KEYS_PASSPHRASE": FILE_PASSPHRASE,
        }

    def __call__(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [script(), *args],
            capture_output=True,
            text=True,
            env={**self.env, **env},
            timeout=EXIT_BOUND_S * 2,
        )
        self.outputs.append((" ".join(args[:1]) + " stdout", out.stdout))
        self.outputs.append((" ".join(args[:1]) + " stderr", out.stderr))
        return out


def test_no_secret_leaves_a_testnet_run(
    sim: SimExchange, hook: WebhookStandIn, tmp_path: Path
) -> None:
    sim.create_account({"USDT": 10_000}, api_key=API_KEY, secret=API_SECRET)
    store = ApiKeyManager(tmp_path / "home" / "keys.json", FILE_PASSPHRASE, kdf=KdfParams(n=2**14))
    store.set_api_key("sim-main", ApiKey(API_KEY, API_SECRET, exchange="binance"))
    store.save_to_file()
    cli = Cli(tmp_path)

    # trade on the simulator with the stored key, at DEBUG, alerting the webhook
    flip = write_config(tmp_path, sim, hook, "tests.e2e.cli_strategies:FlipOnLiveBars")
    run = cli("run", str(flip), "--max-bars", "6")
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert_no_leak_warnings(run.stdout + run.stderr, "real-trade run")
    assert "mode       TESTNET" in run.stdout and "] fill  #1 BUY" in run.stdout
    account = sim.core.account_by_key(API_KEY)
    assert account is not None and sim.core.my_trades(account, "BTCUSDT"), "the key traded"
    log = tmp_path / "logs" / "run.log"
    # the run logs at DEBUG (real_trade's loggers; they say little at that level today)
    assert "stream binance:orders:None connected" in log.read_text(encoding="utf-8")
    assert hook.received, "the fills were alerted"

    # the operator's other commands on the same account
    report = cli(
        "report",
        str(flip),
        "--out",
        str(tmp_path / "reports" / "r.html"),
        "--out",
        str(tmp_path / "reports" / "r.json"),
        "--out",
        str(tmp_path / "reports" / "r.csv"),
    )
    assert report.returncode == 0, report.stderr[-2000:]
    assert (tmp_path / "reports" / "r.html").stat().st_size > 0
    assert cli("status", str(flip)).returncode == 0
    assert cli("notify", str(flip), "--test").returncode == 0
    listed = cli("keys", "--file", str(tmp_path / "home" / "keys.json"), "list")
    assert listed.returncode == 0 and "sim-main" in listed.stdout

    # the kill switch, with no runner alive, signs at the venue with the stored key
    killed = cli("kill", str(flip), "--flatten")
    assert killed.returncode == 0, (killed.stdout + killed.stderr)[-2000:]
    assert "acting on the testnet account directly" in killed.stdout
    no_pass = cli("kill", str(flip), RT_KEYS_PASSPHRASE="")
    assert no_pass.returncode == 2 and "RT_KEYS_PASSPHRASE" in no_pass.stderr
    assert "Traceback" not in no_pass.stderr
    assert cli("resume", str(flip), "--yes").returncode == 0

    # a crash: the traceback goes to the terminal and the log
    crash = write_config(tmp_path, sim, hook, "tests.e2e.crash_strategies:CrashAfterTrading")
    crashed = cli("run", str(crash), "--max-bars", "12", "--restarts", "0")
    assert crashed.returncode != 0
    assert "Traceback (most recent call last)" in crashed.stderr, crashed.stderr[-2000:]
    assert "ForcedCrash: forced crash of the no-secret-leaves test" in crashed.stderr

    # a wrong passphrase is refused plainly
    refused = cli("run", str(flip), "--max-bars", "2", RT_KEYS_PASSPHRASE="wrong-" + "x" * 12)
    assert refused.returncode == 2 and "wrong passphrase" in refused.stderr
    assert "Traceback" not in refused.stderr

    # the control API and dashboard, served for the same account, every read answered
    api_replies = serve_and_read_everything(cli, flip)
    assert any(where == "GET /api/config" for where, _ in api_replies)
    assert any(where.startswith("GET /static/") for where, _ in api_replies)
    assert '"event": "fill"' in json.dumps(api_replies) or "event: fill" in dict(api_replies).get(
        "GET /api/events", ""
    )
    with_keys = ApiKeyManager(tmp_path / "home" / "keys.json", FILE_PASSPHRASE)
    with_keys.load_from_file()
    assert with_keys.secret_names() == ["api-tokens"], "the API token is kept with the keys"

    scanner = SecretScanner(CANARIES)
    for where, text in api_replies:
        scanner.scan_text(text, f"HTTP {where}")
    scanner.scan_tree(tmp_path)
    for where, text in cli.outputs:
        scanner.scan_text(text, f"output of real-trade {where}")
    for number, body in enumerate(hook.received):
        scanner.scan_object(body, f"webhook post {number}")
    assert any(w.endswith("journal.db") for w in scanner.scanned)
    assert any(":" in w and "journal.db:" in w for w in scanner.scanned), "journal rows scanned"
    assert any(w.endswith("run.log") for w in scanner.scanned)
    assert any(w.endswith("keys.json") for w in scanner.scanned)
    scanner.assert_clean()


def serve_and_read_everything(cli: Cli, config: Path) -> list[tuple[str, str]]:
    """``real-trade serve`` on the run's config (its first token is kept with the keys, in the
    encrypted file); GET every route its OpenAPI document lists, the dashboard and its assets,
    the push channel's history, and one action. Returns (request, body) pairs; the server's
    own output joins ``cli.outputs``."""
    server = subprocess.Popen(
        [script(), "serve", str(config), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli.env,
    )
    replies: list[tuple[str, str]] = []
    printed: list[str] = []
    try:
        assert server.stdout is not None
        url = token = None
        for line in server.stdout:  # blocks until the server says where it is and the token
            printed.append(line)
            found = re.search(r"dashboard on (http://\S+)", line)
            url = found.group(1).rstrip("/") if found else url
            if line.strip().startswith("rt_"):
                token = line.strip()
                break
        assert url and token, "".join(printed)

        def get(path: str, timeout: float = 30.0) -> str:
            request = urllib.request.Request(
                url + path, headers={"Authorization": f"Bearer {token}"}
            )
            try:
                with urllib.request.urlopen(request, timeout=timeout) as answer:
                    return answer.read().decode("utf-8", "replace")
            except urllib.error.HTTPError as error:
                return error.read().decode("utf-8", "replace")

        document = json.loads(get("/api/openapi.json"))
        replies.append(("GET /api/openapi.json", json.dumps(document)))
        for path, methods in document["paths"].items():
            if "get" not in methods or path == "/api/events":
                continue
            for concrete in expand(path):
                replies.append((f"GET {concrete}", get(concrete)))
        page = get("/")
        replies.append(("GET /", page))
        for asset in sorted(set(re.findall(r"/static/[\w.-]+", page))):
            replies.append((f"GET {asset}", get(asset)))
        # the push channel from the start of the journal: read until the first fill arrives
        request = urllib.request.Request(
            url + "/api/events?since_ms=0", headers={"Authorization": f"Bearer {token}"}
        )
        pushed: list[str] = []
        with urllib.request.urlopen(request, timeout=60) as stream:
            for raw in stream:
                pushed.append(raw.decode("utf-8", "replace"))
                if raw.startswith(b"event: fill"):
                    break
        replies.append(("GET /api/events", "".join(pushed)))
        action = urllib.request.Request(
            url + "/api/actions/pause",
            data=json.dumps({"reason": "leak test"}).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(action, timeout=30) as answer:
                replies.append(("POST /api/actions/pause", answer.read().decode()))
        except urllib.error.HTTPError as error:
            replies.append(("POST /api/actions/pause", error.read().decode()))
    finally:
        server.terminate()
        out, err = server.communicate(timeout=60)
        cli.outputs.append(("serve stdout", "".join(printed) + out))
        cli.outputs.append(("serve stderr", err))
    return replies


def expand(path: str) -> list[str]:
    """The concrete paths of an OpenAPI path (each report kind for ``{kind}``)."""
    if "{kind}" in path:
        return [path.replace("{kind}", kind) for kind in ("html", "json", "csv")]
    return [path] if "{" not in path else []
