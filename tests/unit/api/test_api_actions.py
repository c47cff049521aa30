"""The control API's reads and actions over a journal: what each writes, once, and refuses."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

from real_trade.api.app import ROUTES
from real_trade.api.openapi import openapi_document
from real_trade.engine.control import HEARTBEAT_KEY, KILL_REQUEST_KEY, heartbeat_key
from real_trade.persistence import Journal
from real_trade.session.control import COMMAND_KIND
from tests.support import eventually
from tests.unit.api.api_support import Api, serve, write_account

PAPER = {"mode": "paper", "reason": "operator test"}


def _journal(tmp_path: Path) -> Journal:
    return Journal(f"sqlite:///{tmp_path / 'journal.db'}")


def _beat(journal: Journal, strategy: str = "sma", mode: str = "paper") -> None:
    value = {
        "pid": 1,
        "time_ms": time.time_ns() // 1_000_000,
        "strategy": strategy,
        "state": "running",
        "mode": mode,
        "symbols": ["BTC/USDT"],
        "exchange": "binance",
        "health": {"feeds": ["ok", "BTC/USDT 1 s old"], "breaker": ["ok", "closed"]},
    }
    journal.set_state(HEARTBEAT_KEY, value)
    journal.set_state(heartbeat_key(strategy), value)
    journal.flush(5.0)


def test_the_reads_show_the_journal(tmp_path: Path) -> None:
    with serve(tmp_path) as (server, token):
        write_account(server.journal)
        _beat(server.journal)
        api = Api(server, token)
        status = api.call("GET", "/api/status").body
        balances = api.call("GET", "/api/balances").body
        positions = api.call("GET", "/api/positions").body
        orders = api.call("GET", "/api/orders?open=1").body
        fills = api.call("GET", "/api/fills?limit=1").body
        page2 = api.call("GET", "/api/fills?offset=1").body
        bad = api.call("GET", "/api/fills?limit=x")
        config = api.call("GET", "/api/config").body
    assert status["mode"] == "paper" and status["venue"] == "binance"
    (runner,) = status["runners"]
    assert runner["strategy"] == "sma" and runner["alive"] and runner["mode"] == "paper"
    assert runner["feeds"].startswith("ok: BTC/USDT 1 s old")
    assert runner["breaker"].startswith("ok: closed")
    assert {b["asset"]: b["total"] for b in balances} == {"BTC": 0.1, "USDT": 990.0}
    (position,) = positions
    assert position["entry_price"] == 100.0 and position["mark_price"] == 110.0
    assert abs(position["unrealized_pnl"] - 1.0) < 1e-9
    assert [o["client_order_id"] for o in orders["items"]] == ["rt-sma-1"]
    assert orders["items"][0]["age_s"] > 0
    assert fills["total"] == 1 and fills["items"][0]["price"] == 100.0
    assert page2["items"] == []
    assert bad.status == 400
    assert config["api"]["port"] == 0 and "apikey" in config


def test_a_secret_in_the_config_is_masked(tmp_path: Path) -> None:
    from real_trade.api.reads import JournalView
    from real_trade.config import RealTradeConfig

    config = RealTradeConfig(
        apikey="KEY-abcdef123456",
        secret="SECRET-abcdef123456",
        paper_trading=True,
        journal={"url": "postgresql://u:pw-secret-987@h/db"},
        notifications={
            "webhook": {
                "url": "https://hooks.example.com/hook-secret-555",
                "headers": {"Authorization": "Bearer header-secret-777", "X-Plain": "shown"},
            }
        },
    )
    masked = JournalView(None, config).config_masked()
    text = json.dumps(masked)
    for secret in (
        "KEY-abcdef123456",
        "SECRET-abcdef123456",
        "pw-secret-987",
        "hook-secret-555",
        "header-secret-777",
    ):
        assert secret not in text
    assert masked["notifications"]["webhook"]["headers"]["X-Plain"] == "shown"


def test_pause_and_resume_write_the_trading_state_with_who_and_why(tmp_path: Path) -> None:
    with serve(tmp_path) as (server, token):
        api = Api(server, token)
        paused = api.call("POST", "/api/actions/pause", PAPER)
        state = api.call("GET", "/api/status").body["trading_state"]
        resumed = api.call("POST", "/api/actions/resume", {**PAPER, "reason": "go"})
        events = server.journal.events("api.action")
        after = server.journal.get_state("trading_state")["state"]
    assert paused.status == 202 and state == "reducing"
    assert resumed.status == 202 and after == "active"
    assert [e.payload["action"] for e in events] == ["pause", "resume"]
    assert events[0].payload["reason"] == "operator test"
    assert events[0].payload["who"].startswith(f"token {server.first_token.record.id}")


def test_an_action_is_idempotent_by_its_key(tmp_path: Path) -> None:
    with serve(tmp_path) as (server, token):
        api = Api(server, token)
        key = {"Idempotency-Key": "kill-0001-abc"}
        first = api.call("POST", "/api/actions/kill", {**PAPER, "flatten": True}, headers=key)
        again = api.call("POST", "/api/actions/kill", {**PAPER, "flatten": True}, headers=key)
        other = api.call("POST", "/api/actions/kill", {**PAPER, "flatten": False}, headers=key)
        by_body = api.call("POST", "/api/actions/pause", {**PAPER, "action_id": "pause-000001"})
        by_body2 = api.call("POST", "/api/actions/pause", {**PAPER, "action_id": "pause-000001"})
        requests = server.journal.events("killswitch.requested")
    assert first.status == 202 and not first.body["replayed"]
    assert again.status == 200 and again.body["replayed"]
    assert again.body["action_id"] == first.body["action_id"] == "kill-0001-abc"
    assert other.status == 409 and "different request" in other.body["error"]
    assert by_body.status == 202 and by_body2.body["replayed"]
    assert len(requests) == 1


def test_an_action_id_survives_a_restart_of_the_server(tmp_path: Path) -> None:
    key = {"Idempotency-Key": "resume-0000001"}
    with serve(tmp_path) as (server, token):
        assert (
            Api(server, token).call("POST", "/api/actions/resume", PAPER, headers=key).status == 202
        )
    from real_trade.api.server import ApiServer
    from real_trade.config import RealTradeConfig

    config = RealTradeConfig(
        journal={"url": f"sqlite:///{tmp_path / 'journal.db'}"},
        api={"port": 0, "token_file": str(tmp_path / "tokens.json")},
    )
    with ApiServer(config) as server:
        token = server.authority.issue("trade").token
        again = Api(server, token).call("POST", "/api/actions/resume", PAPER, headers=key)
    assert again.status == 200 and again.body["replayed"]


def test_a_mode_mismatch_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path) as (server, token):
        api = Api(server, token)
        wrong = api.call("POST", "/api/actions/kill", {**PAPER, "mode": "live"})
        _beat(server.journal, mode="live")
        runner_wrong = api.call("POST", "/api/actions/pause", PAPER)
        state = server.journal.get_state("trading_state")
        kill = server.journal.get_state(KILL_REQUEST_KEY)
    assert wrong.status == 409 and "trades PAPER, not LIVE" in wrong.body["error"]
    assert runner_wrong.status == 409 and "runner sma trades LIVE" in runner_wrong.body["error"]
    assert state is None and kill is None


def test_kill_without_a_runner_halts_in_the_journal(tmp_path: Path) -> None:
    with serve(tmp_path) as (server, token):
        reply = Api(server, token).call("POST", "/api/actions/kill", {**PAPER, "flatten": True})
        request = server.journal.get_state(KILL_REQUEST_KEY)
        state = server.journal.get_state("trading_state")
    assert reply.status == 202 and "no runner alive" in reply.body["detail"]
    assert request["id"] == reply.body["action_id"] and request["flatten"] is True
    assert state["state"] == "halted"


def test_cancel_and_cancel_all_become_commands_for_the_runner(tmp_path: Path) -> None:
    with serve(tmp_path) as (server, token):
        write_account(server.journal)
        _beat(server.journal)
        api = Api(server, token)
        unknown = api.call("POST", "/api/actions/cancel", {**PAPER, "client_order_id": "nope"})
        one = api.call("POST", "/api/actions/cancel", {**PAPER, "client_order_id": "rt-sma-1"})
        every = api.call("POST", "/api/actions/cancel_all", PAPER)
        nobody = api.call("POST", "/api/actions/cancel_all", {**PAPER, "strategy": "ghost"})
        reload = api.call("POST", "/api/actions/reload_risk", PAPER)
        commands = server.journal.events(COMMAND_KIND)
    assert unknown.status == 404
    assert one.status == 202 and every.status == 202
    assert nobody.status == 404
    assert reload.status == 409  # served without a config file
    assert [(c.strategy, c.payload["action"]) for c in commands] == [
        ("sma", "cancel"),
        ("sma", "cancel_all"),
    ]
    assert commands[0].payload["args"] == {"client_order_id": "rt-sma-1", "local_id": 1}


def _sse(
    url: str, token: str, wanted: str, seen: list[tuple[str, Any]], timeout: float = 20.0
) -> None:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as stream:
        event = ""
        for raw in stream:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                seen.append((event, json.loads(line[6:])))
                if event == wanted:
                    return


def test_the_push_channel_sends_new_fills_and_actions(tmp_path: Path) -> None:
    import threading

    with serve(tmp_path) as (server, token):
        got: list[tuple[str, Any]] = []
        reader = threading.Thread(target=_sse, args=(server.url + "api/events", token, "fill", got))
        reader.start()
        assert eventually(lambda: any(k == "status" for k, _ in got), timeout=20)
        write_account(server.journal)
        reader.join(30)
        assert not reader.is_alive()
    kinds = [k for k, _ in got]
    assert "status" in kinds and "order" in kinds and kinds[-1] == "fill"
    assert got[-1][1]["trade_id"] == "t1" and got[-1][1]["price"] == 100.0


def test_the_openapi_document_covers_every_route_and_resolves(tmp_path: Path) -> None:
    doc = openapi_document(ROUTES)
    for route in ROUTES:
        assert route.method.lower() in doc["paths"][route.path]
    text = json.dumps(doc)
    for name in {part.split('"')[0] for part in text.split("#/components/schemas/")[1:]}:
        assert name in doc["components"]["schemas"], name
    kill = doc["paths"]["/api/actions/kill"]["post"]
    assert kill["x-scope"] == "trade" and kill["security"] == [{"bearer": []}]
    schema = doc["components"]["schemas"]["KillBody"]
    assert {"mode", "reason", "flatten"} <= set(schema["properties"])
