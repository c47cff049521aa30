"""Each refusal of the control API, tried over real HTTP against a served app."""

from __future__ import annotations

import hmac
import json
import stat
from pathlib import Path

import pytest

from real_trade.api.security import FailedLogins, check_bind, is_loopback
from real_trade.api.server import ApiServer
from real_trade.api.tokens import FileTokenStore, TokenAuthority
from real_trade.config import RealTradeConfig
from real_trade.errors import ConfigError
from tests.unit.api.api_support import Api, authority, serve

PAUSE = {"mode": "paper", "reason": "test"}


def test_no_token_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path) as (server, _):
        reply = Api(server, None).call("GET", "/api/status")
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"] == "Bearer"
    assert reply.body["error"] == "a bearer token is required"


def test_a_wrong_token_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path) as (server, token):
        api = Api(server, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
        assert api.call("GET", "/api/status").status == 401
        assert Api(server, "not-even-a-token").call("GET", "/api/status").status == 401
        assert Api(server, token).call("GET", "/api/status").status == 200


def test_an_expired_token_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path) as (server, _):
        expired = authority(tmp_path).issue("trade", "old", ttl_s=0).token
        reply = Api(server, expired).call("GET", "/api/status")
    assert reply.status == 401
    assert "expired" in reply.body["error"]


def test_a_token_expires_when_its_lifetime_is_over(tmp_path: Path) -> None:
    now = [1_000_000]
    auth = TokenAuthority(FileTokenStore(tmp_path / "t.json"), ttl_s=60, now_ms=lambda: now[0])
    token = auth.issue("read").token
    assert auth.verify(token) is not None
    now[0] += 59_999
    assert auth.verify(token) is not None
    now[0] += 1
    assert auth.verify(token) is None


def test_a_read_only_token_cannot_act(tmp_path: Path) -> None:
    with serve(tmp_path) as (server, _):
        reader = authority(tmp_path).issue("read", "viewer").token
        api = Api(server, reader)
        assert api.call("GET", "/api/status").status == 200
        for action in ("pause", "resume", "cancel_all", "kill", "reload_risk"):
            reply = api.call("POST", f"/api/actions/{action}", PAUSE)
            assert reply.status == 403, action
            assert "read-only" in reply.body["error"]
        status = api.call("GET", "/api/status").body
    assert status["trading_state"] == "active"  # nothing was done


def test_a_cross_origin_request_is_refused_and_no_wildcard_is_sent(tmp_path: Path) -> None:
    with serve(tmp_path) as (server, token):
        api = Api(server, token)
        evil = {"Origin": "http://evil.example"}
        reply = api.call("GET", "/api/status", headers=evil)
        assert reply.status == 403
        assert "Access-Control-Allow-Origin" not in reply.headers
        preflight = api.call("OPTIONS", "/api/actions/kill", headers=evil, token=None)
        assert preflight.status == 403
        action = api.call("POST", "/api/actions/pause", PAUSE, headers=evil)
        assert action.status == 403
        same = api.call("GET", "/api/status", headers={"Origin": server.url.rstrip("/")})
        assert same.status == 200
        assert api.call("GET", "/api/status").body["trading_state"] == "active"


def test_a_listed_origin_gets_its_own_name_back(tmp_path: Path) -> None:
    with serve(tmp_path, cors_origins=["https://ops.example.com"]) as (server, token):
        api = Api(server, token)
        ok = {"Origin": "https://ops.example.com"}
        reply = api.call("GET", "/api/status", headers=ok)
        preflight = api.call("OPTIONS", "/api/status", headers=ok, token=None)
    assert reply.status == 200
    assert reply.headers["Access-Control-Allow-Origin"] == "https://ops.example.com"
    assert "Access-Control-Allow-Credentials" not in reply.headers
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://ops.example.com"


def test_a_wildcard_origin_is_refused_by_the_config() -> None:
    with pytest.raises(ConfigError, match="refused"):
        RealTradeConfig(api={"cors_origins": ["*"]})


def test_an_oversized_body_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path, max_body_bytes=1024) as (server, token):
        api = Api(server, token)
        big = {**PAUSE, "reason": "x" * 5000}
        reply = api.call("POST", "/api/actions/pause", big)
        assert reply.status == 413
        assert api.call("GET", "/api/status").body["trading_state"] == "active"


def test_malformed_bodies_are_refused(tmp_path: Path) -> None:
    with serve(tmp_path) as (server, token):
        api = Api(server, token)
        not_json = api.call("POST", "/api/actions/pause", raw=b"{mode: paper")
        assert (not_json.status, not_json.body["error"]) == (400, "the body is not valid JSON")
        missing = api.call("POST", "/api/actions/pause", {"mode": "paper"})
        assert missing.status == 422 and "reason" in missing.body["error"]
        extra = api.call("POST", "/api/actions/pause", {**PAUSE, "sudo": True})
        assert extra.status == 422 and "sudo" in extra.body["error"]
        wrong_mode = api.call("POST", "/api/actions/pause", {**PAUSE, "mode": "moon"})
        assert (
            wrong_mode.status == 422 and '"paper", "testnet" or "live"' in wrong_mode.body["error"]
        )
        no_mode = api.call("POST", "/api/actions/pause", {"reason": "test"})
        assert no_mode.status == 422 and "GET /api/status shows it" in no_mode.body["error"]
        not_object = api.call("POST", "/api/actions/pause", [1, 2])
        assert not_object.status == 422
        form = api.call(
            "POST",
            "/api/actions/pause",
            raw=b"mode=paper",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert form.status == 415
        assert api.call("GET", "/api/status").body["trading_state"] == "active"


def test_failed_logins_are_rate_limited_per_address(tmp_path: Path) -> None:
    with serve(tmp_path, failed_logins_per_minute=3) as (server, token):
        wrong = Api(server, "rt_wrong")
        assert [wrong.call("GET", "/api/status").status for _ in range(3)] == [401] * 3
        blocked = Api(server, token).call("GET", "/api/status")
    assert blocked.status == 429  # even the right token, from that address, for a minute
    assert blocked.headers["Retry-After"] == "60"


def test_the_failed_login_window_slides() -> None:
    now = [0.0]
    limit = FailedLogins(2, window_s=60, clock=lambda: now[0])
    limit.failed("a")
    limit.failed("a")
    assert limit.blocked("a") and not limit.blocked("b")
    now[0] = 61
    assert not limit.blocked("a")


def test_a_non_loopback_bind_is_refused_without_tls_or_the_flag(tmp_path: Path) -> None:
    config = RealTradeConfig(
        journal={"url": f"sqlite:///{tmp_path / 'j.db'}"},
        api={"host": "0.0.0.0", "port": 0, "token_file": str(tmp_path / "t.json")},
    )
    with pytest.raises(ConfigError, match=r"refusing to listen on 0\.0\.0\.0 without TLS"):
        ApiServer(config)
    assert not (tmp_path / "t.json").exists()  # refused before any token was made
    check_bind("0.0.0.0", tls=True, allow_remote=False)
    check_bind("0.0.0.0", tls=False, allow_remote=True)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("10.0.0.1") and not is_loopback("example.com")


def test_tls_needs_both_files() -> None:
    with pytest.raises(ConfigError, match="tls_cert and tls_key"):
        RealTradeConfig(api={"tls_cert": "/x.pem"})


def test_tokens_are_stored_hashed_in_a_0600_file_and_made_only_on_first_use(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sub" / "tokens.json"
    auth = TokenAuthority(FileTokenStore(path))
    first = auth.first_token()
    assert first is not None and first.token.startswith("rt_")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert first.token not in text and first.record.sha256 in text
    assert first.token not in repr(first)
    assert TokenAuthority(FileTokenStore(path)).first_token() is None
    assert json.loads(text)["tokens"][0]["scope"] == "trade"


def test_tokens_are_compared_in_constant_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = TokenAuthority(FileTokenStore(tmp_path / "t.json"))
    auth.issue("read")
    auth.issue("trade")
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("real_trade.api.tokens.hmac.compare_digest", spy)
    assert auth.verify("rt_unknown") is None
    assert len(calls) == 2  # every stored hash compared, through compare_digest


def test_open_paths_need_no_token_and_say_nothing_of_the_account(tmp_path: Path) -> None:
    with serve(tmp_path) as (server, _):
        api = Api(server, None)
        health = api.call("GET", "/api/health")
        doc = api.call("GET", "/api/openapi.json")
        page = api.call("GET", "/")
        script = api.call("GET", "/static/dashboard.js")
        missing = [api.call("GET", f"/static/{n}").status for n in ("nope.js", "tokens.py")]
    assert health.status == 200 and set(health.body) == {"ok", "version"}
    assert doc.status == 200 and doc.body["openapi"].startswith("3.")
    assert page.status == 200 and "Content-Security-Policy" in page.headers
    assert script.status == 200 and script.headers["Content-Type"].startswith("text/javascript")
    assert missing == [404, 404]


def test_a_revoked_token_is_refused_at_once(tmp_path: Path) -> None:
    with serve(tmp_path) as (server, token):
        other = authority(tmp_path)
        reader = other.issue("read", "viewer")
        api = Api(server, reader.token)
        assert api.call("GET", "/api/status").status == 200
        assert other.revoke(reader.record.id) and not other.revoke("nope")
        assert api.call("GET", "/api/status").status == 401
        assert Api(server, token).call("GET", "/api/status").status == 200


def test_the_api_serves_https_with_the_configured_certificate(tmp_path: Path) -> None:
    import ssl
    import urllib.request

    from tests.tls_ca import make_tls_files

    files = make_tls_files(tmp_path)
    tls = {"tls_cert": str(files.server_cert), "tls_key": str(files.server_key)}
    with serve(tmp_path, **tls) as (server, _token):
        assert server.url.startswith("https://")
        trusted = ssl.create_default_context(cafile=str(files.ca_cert))
        with urllib.request.urlopen(server.url + "api/health", context=trusted) as answer:
            assert answer.status == 200
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(server.url + "api/health", context=ssl.create_default_context())
        plain = server.url.replace("https://", "http://")
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            urllib.request.urlopen(plain + "api/health", timeout=10)
