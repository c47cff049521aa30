"""The runner's side of the control API: commands polled from the journal, carried out once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from real_trade.engine.commands import RunnerCommands
from real_trade.persistence import Journal
from real_trade.session.control import (
    COMMAND_DONE_KIND,
    COMMAND_KIND,
    KILL_REQUEST_KEY,
    JournalControl,
)


def _journals(tmp_path: Path) -> tuple[Journal, Journal]:
    url = f"sqlite:///{tmp_path / 'j.db'}"
    return Journal(url), Journal(url, strategy="sma")


def test_a_command_is_carried_out_once_by_the_runner_it_names(tmp_path: Path) -> None:
    api, own = _journals(tmp_path)
    done: list[tuple[str, dict[str, Any]]] = []
    control = JournalControl(
        own, on_command=lambda a, args: done.append((a, args)) or "did it", strategy="sma"
    )
    api.record_event(COMMAND_KIND, {"id": "c1", "action": "cancel_all", "args": {}}, strategy="sma")
    api.record_event(COMMAND_KIND, {"id": "c2", "action": "cancel_all", "args": {}}, strategy="rsi")
    api.flush(5.0)
    assert control.poll_commands() == 1
    assert control.poll_commands() == 0
    assert done == [("cancel_all", {})]
    fresh = JournalControl(own, on_command=lambda a, args: "again", strategy="sma")
    assert fresh.poll_commands() == 0  # answered in the journal: a restart does not replay it
    own.flush(5.0)
    (answer,) = api.events(COMMAND_DONE_KIND)
    assert answer.payload == {"id": "c1", "action": "cancel_all", "ok": True, "detail": "did it"}
    api.close()
    own.close()


def test_a_failing_command_is_answered_with_its_error(tmp_path: Path) -> None:
    api, own = _journals(tmp_path)

    def fail(action: str, args: dict[str, Any]) -> str:
        raise LookupError("order rt-1 is not open in this runner")

    control = JournalControl(own, on_command=fail, strategy="sma")
    api.record_event(COMMAND_KIND, {"id": "c9", "action": "cancel", "args": {}}, strategy="sma")
    api.flush(5.0)
    assert control.poll_commands() == 1
    own.flush(5.0)
    (answer,) = api.events(COMMAND_DONE_KIND)
    assert answer.payload["ok"] is False and "not open" in answer.payload["detail"]
    api.close()
    own.close()


def test_a_kill_request_naming_another_runner_is_left_to_it(tmp_path: Path) -> None:
    api, own = _journals(tmp_path)
    kills: list[bool] = []
    control = JournalControl(own, on_kill=lambda f, why: kills.append(f) or True, strategy="sma")
    api.set_state(KILL_REQUEST_KEY, {"id": "k1", "flatten": True, "reason": "x", "strategy": "rsi"})
    api.flush(5.0)
    assert not control.poll_kill() and kills == []
    api.set_state(KILL_REQUEST_KEY, {"id": "k2", "flatten": True, "reason": "x", "strategy": "sma"})
    api.flush(5.0)
    assert control.poll_kill() and kills == [True]
    api.close()
    own.close()


class _Hook:
    def __init__(self) -> None:
        self.actions: list[Any] = []

    def call_soon(self, action: Any) -> None:
        action()  # the trading thread, at once


class _Broker:
    def __init__(self) -> None:
        self.open_orders = {1: "order-1", 2: "order-2"}
        self.canceled: list[str] = []
        self.guard = type("G", (), {"engine": None})()

    def cancel(self, order: str) -> None:
        self.canceled.append(order)

    def cancel_all(self) -> list[int]:
        self.canceled += list(self.open_orders.values())
        return list(self.open_orders)


def test_the_runner_commands_act_on_its_broker_through_the_loop_hook() -> None:
    from real_trade.risk import LiveRiskConfig, RiskEngine

    broker = _Broker()
    broker.guard.engine = RiskEngine(LiveRiskConfig())
    commands = RunnerCommands(lambda: _Hook(), lambda: broker)
    assert commands("cancel", {"local_id": 2, "client_order_id": "rt-2"}) == "cancel of rt-2 sent"
    assert broker.canceled == ["order-2"]
    with pytest.raises(LookupError):
        commands("cancel", {"local_id": 7, "client_order_id": "rt-7"})
    assert commands("cancel_all", {}) == "cancel of 2 open order(s) sent"
    assert commands("reload_risk", {"risk": {"max_position_amount": 0.5}}) == "risk limits reloaded"
    assert broker.guard.engine.config.max_position_amount == 0.5
    with pytest.raises(RuntimeError, match="between runs"):
        RunnerCommands(lambda: None, lambda: None)("cancel_all", {})


def test_a_kill_request_to_every_runner_is_taken_by_each_but_not_by_a_late_one(
    tmp_path: Path,
) -> None:
    import time

    url = f"sqlite:///{tmp_path / 'j.db'}"
    api = Journal(url)
    taken: list[str] = []
    controls = [
        JournalControl(
            Journal(url, strategy=name),
            on_kill=lambda f, why, name=name: taken.append(name) or True,
            strategy=name,
        )
        for name in ("sma", "rsi")
    ]
    now = time.time_ns() // 1_000_000
    request = {"id": "k-all", "flatten": False, "reason": "x", "all": True, "time_ms": now}
    api.set_state(KILL_REQUEST_KEY, request)
    api.flush(5.0)
    assert [c.poll_kill() for c in controls] == [True, True]
    assert [c.poll_kill() for c in controls] == [False, False]
    assert taken == ["sma", "rsi"]
    assert api.get_state("kill_done:sma") == api.get_state("kill_done:rsi") == "k-all"
    late = JournalControl(api, on_kill=lambda f, why: taken.append("late") or True, strategy="gm")
    api.set_state(KILL_REQUEST_KEY, {**request, "time_ms": now - 10 * 60_000})
    api.flush(5.0)
    assert not late.poll_kill() and taken == ["sma", "rsi"]
    for control in controls:
        control.journal.close()
    api.close()
