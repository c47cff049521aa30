"""The pieces the Bybit and OKX faces share (plumbing): held private events, depth faults on the
wire, signatures, numbers, parameters, fault pages."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

import pytest

from real_trade.sim.faults import FaultPlan, RequestFault
from real_trade.sim.plumbing import (
    DepthFaultGate,
    HeldEvents,
    event_account_id,
    gateway_error,
    hmac_base64,
    hmac_hex,
    json_frame,
    plain_decimal,
    ws_base_url,
)
from real_trade.sim.plumbing.params import ParamReader
from real_trade.sim.plumbing.ws_conn import WsConnection


@dataclass
class _Conn:
    sent: list[str] = field(default_factory=list)

    def send(self, text: str) -> None:
        self.sent.append(text)


def _frames(conn: _Conn, *texts: str) -> list[tuple[WsConnection, str]]:
    return [(cast(WsConnection, conn), t) for t in texts]


def test_held_events_wait_for_the_resumed_stream_and_keep_their_order() -> None:
    faults = FaultPlan(1)
    out: list[int] = []
    held = HeldEvents(faults, out.append)
    held.offer(1)
    assert out == [1]
    faults.pause_user_stream(True)
    held.offer(2)
    held.offer(3)
    held.release()  # still paused: nothing goes out
    assert out == [1]
    faults.pause_user_stream(False)
    held.offer(4)  # others still wait: this one waits behind them
    assert out == [1]
    held.release()
    assert out == [1, 2, 3, 4]
    held.offer(5)
    assert out == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("faults", "sent"),
    [
        ({}, ["a1", "a2", "b1"]),
        ({"drop": 1.0}, []),
        ({"duplicate": 1.0}, ["a1", "a2", "a1", "a2", "b1", "b1"]),
    ],
)
def test_the_depth_gate_applies_the_fault_plans_action(
    faults: dict[str, float], sent: list[str]
) -> None:
    plan = FaultPlan(1)
    plan.set_depth_faults(**faults)
    conn = _Conn()
    built: list[str] = []
    gate = DepthFaultGate(plan)

    def build(*texts: str) -> Any:
        built.extend(texts)  # the frames are made even when dropped (the update is numbered)
        return _frames(conn, *texts)

    gate.send("BTC", lambda: build("a1", "a2"))
    gate.send("BTC", lambda: build("b1"))
    assert built == ["a1", "a2", "b1"]
    assert conn.sent == sent


def test_a_reordered_update_goes_out_after_the_next_one_of_its_book() -> None:
    plan = FaultPlan(1)
    conn = _Conn()
    gate = DepthFaultGate(plan)
    plan.set_depth_faults(reorder=1.0)
    gate.send("BTC", lambda: _frames(conn, "u1"))
    gate.send("ETH", lambda: _frames(conn, "e1"))
    assert conn.sent == []
    plan.set_depth_faults()
    gate.send("ETH", lambda: _frames(conn, "e2"))
    gate.send("BTC", lambda: _frames(conn, "u2"))
    assert conn.sent == ["e2", "e1", "u2", "u1"]


def test_private_events_name_their_account() -> None:
    @dataclass
    class _Balance:
        account_id: int

    assert event_account_id(_Balance(7)) == 7
    assert event_account_id(object()) is None


def test_signatures_are_hmac_sha256_hex_and_base64() -> None:
    digest = hmac.new(b"secret", b"text", hashlib.sha256).digest()
    assert hmac_hex("secret", "text") == digest.hex()
    assert hmac_base64("secret", "text") == base64.b64encode(digest).decode()
    assert hmac_hex("secret", "text") != hmac_hex("secret", "text2")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (Decimal(0), "0"),
        (Decimal("0.000"), "0"),
        (Decimal("1.2300"), "1.23"),
        (Decimal("1E+3"), "1000"),
        (Decimal("0.00000001"), "0.00000001"),
        (Decimal("-5.50"), "-5.5"),
    ],
)
def test_plain_decimals(value: Decimal | None, text: str) -> None:
    assert plain_decimal(value) == text


class _Reader(ParamReader):
    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def missing(self, name: str) -> Exception:
        return KeyError(name)

    def malformed(self, name: str) -> Exception:
        return ValueError(f"bad {name}")


def test_clamped_and_decimal_parameters() -> None:
    reader = _Reader({"limit": "5000", "small": "0", "px": "1.5", "bad": "x", "n": 3})
    assert reader.clamped_int("limit", 100, 1000) == 1000
    assert reader.clamped_int("small", 100, 1000) == 1
    assert reader.clamped_int("absent", 100, 1000) == 100
    assert reader.clamped_int("n", 100, 1000) == 3
    assert reader.decimal_param("px") == Decimal("1.5")
    assert reader.decimal_param("absent") is None
    with pytest.raises(ValueError, match="bad bad"):
        reader.decimal_param("bad")
    with pytest.raises(ValueError, match="bad bad"):
        reader.clamped_int("bad", 1, 10)


def test_gateway_pages_and_urls_and_frames() -> None:
    page = gateway_error(RequestFault("502"))
    assert page is not None and page.status == 502 and page.text == "Bad Gateway"
    assert gateway_error(RequestFault("timestamp")) is None
    assert ws_base_url("http://127.0.0.1:1") == "ws://127.0.0.1:1"
    assert ws_base_url("https://h:2") == "wss://h:2"
    assert ws_base_url("ws://h") == "ws://h"
    assert json_frame({"a": [1, "b"], "c": None}) == '{"a":[1,"b"],"c":null}'
