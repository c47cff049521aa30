"""The simulator over TLS: ``SimExchange(tls=...)`` and ``real-trade sim --tls-cert/--tls-key``
serve https and wss with a certificate from a throwaway CA (:mod:`tests.tls_ca`); a client that
trusts the CA gets in, one that does not is refused."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from real_trade.cli import main
from real_trade.sim.server import SimExchange, ccxt_urls_for
from tests.integration.sim.test_cli_sim import _read_until_ready, _script
from tests.tls_ca import TlsFiles, make_tls_files

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[3]


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A throwaway CA and a loopback server certificate it signed."""
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def sim(tls_files: TlsFiles) -> Iterator[SimExchange]:
    """Binance spot over https and wss."""
    with SimExchange(seed=7, tls=(tls_files.server_cert, tls_files.server_key)) as running:
        yield running


def _get_json(url: str, context: ssl.SSLContext) -> Any:
    with urllib.request.urlopen(url, context=context, timeout=10) as answer:
        return json.loads(answer.read())


def _ws_urls(tree: Any) -> list[str]:
    """Every websocket-looking URL in a ccxt ``urls`` tree."""
    if isinstance(tree, dict):
        return [u for v in tree.values() for u in _ws_urls(v)]
    return (
        [tree] if isinstance(tree, str) and "://" in tree and "ws" in tree.split("://")[0] else []
    )


def test_urls_are_https_and_wss(sim: SimExchange) -> None:
    assert sim.tls
    assert re.fullmatch(r"https://127\.0\.0\.1:\d+", sim.url)
    assert sim.ws_url == "wss" + sim.url[len("https") :]
    for venue in ("binance", "bybit", "okx"):
        found = _ws_urls(ccxt_urls_for(sim.url, venue))
        assert found and all(u.startswith(sim.ws_url + "/") for u in found), (venue, found)


def test_a_client_trusting_the_ca_gets_rest_and_websockets(
    sim: SimExchange, tls_files: TlsFiles
) -> None:
    trusting = ssl.create_default_context(cafile=str(tls_files.ca_cert))
    now = _get_json(sim.url + "/api/v3/time", trusting)["serverTime"]
    assert abs(now - sim.clock.now_ms()) < 5_000

    async def one_book_ticker() -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(sim.ws_url + "/ws/btcusdt@bookTicker", ssl=trusting) as ws,
        ):
            frame = await ws.receive_json(timeout=10)
            assert isinstance(frame, dict)
            return frame

    frame = asyncio.run(one_book_ticker())
    assert frame["s"] == "BTCUSDT" and float(frame["b"]) < float(frame["a"])


def test_a_client_not_trusting_the_ca_is_refused(sim: SimExchange) -> None:
    untrusting = ssl.create_default_context()  # the system's CAs only (no SSL_CERT_FILE here)
    with pytest.raises(urllib.error.URLError) as info:
        _get_json(sim.url + "/api/v3/time", untrusting)
    assert isinstance(info.value.reason, ssl.SSLCertVerificationError)


def test_plain_http_gets_no_answer_from_a_tls_simulator(sim: SimExchange) -> None:
    plain = "http" + sim.url[len("https") :]
    with pytest.raises(OSError):  # URLError, or the connection closed mid-handshake
        urllib.request.urlopen(plain + "/api/v3/time", timeout=10)


def test_missing_tls_files_fail_at_construction(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        SimExchange(tls=(tmp_path / "cert.pem", tmp_path / "key.pem"))


def test_a_key_that_does_not_match_the_certificate_is_refused(
    tls_files: TlsFiles, tmp_path: Path
) -> None:
    other = make_tls_files(tmp_path)
    with pytest.raises(ssl.SSLError):
        SimExchange(tls=(tls_files.server_cert, other.server_key))


def test_cli_needs_both_tls_options(
    tls_files: TlsFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sim", "--port", "0", "--tls-cert", str(tls_files.server_cert)]) == 2
    assert "both --tls-cert and --tls-key" in capsys.readouterr().err


def test_cli_serves_tls(tls_files: TlsFiles) -> None:
    proc = subprocess.Popen(
        [
            _script(),
            *("sim", "--port", "0", "--stepped", "--faces", "binance,okx"),
            *("--tls-cert", str(tls_files.server_cert), "--tls-key", str(tls_files.server_key)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        text = "\n".join(_read_until_ready(proc))
        rest = re.search(r"REST\s+(https://127\.0\.0\.1:\d+)/api/v3", text)
        assert rest is not None, text
        assert re.search(r"WS\s+wss://127\.0\.0\.1:\d+/ws/v5/", text), text
        assert "http://" not in text and "ws://" not in text
        trusting = ssl.create_default_context(cafile=str(tls_files.ca_cert))
        okx_time = _get_json(rest.group(1) + "/api/v5/public/time", trusting)
        assert okx_time["code"] == "0"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
