"""The simulator's ``/admin/`` endpoint: faults, accounts, the stepped clock, rate limits."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import ccxt
import pytest

from real_trade.sim.server import SimExchange

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator for the admin tests."""
    with SimExchange(stepped=True, seed=9) as exchange:
        yield exchange


@pytest.fixture(autouse=True)
def _reset_faults(sim: SimExchange) -> Iterator[None]:
    yield
    sim.faults.reset()


def admin(sim: SimExchange, path: str, body: Any = None, method: str = "POST") -> tuple[int, Any]:
    """Call ``/admin/<path>`` with a JSON body; return status and decoded answer."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        f"{sim.url}/admin/{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def ping_status(sim: SimExchange) -> int:
    """The HTTP status of a ping."""
    try:
        with urllib.request.urlopen(sim.url + "/api/v3/ping", timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return err.code


def test_arm_a_fault_by_name_then_reset(sim: SimExchange) -> None:
    status, out = admin(sim, "faults", {"method": "fail_next", "kwargs": {"n": 2, "kind": "502"}})
    assert status == 200 and out["ok"] is True
    assert ping_status(sim) == 502
    assert admin(sim, "faults/reset", {})[0] == 200
    assert ping_status(sim) == 200


def test_arm_ambiguous_and_skew_through_admin(sim: SimExchange) -> None:
    admin(sim, "faults", {"method": "set_clock_skew", "kwargs": {"ms": 1234}})
    assert sim.faults.clock_skew_ms == 1234
    _, t = admin(sim, "time", method="GET")
    assert t["server_time_ms"] == t["now_ms"] + 1234 and t["stepped"] is True
    admin(sim, "faults", {"method": "ambiguous_next", "kwargs": {"n": 1, "kind": "timeout"}})
    assert sim.faults.take_ambiguous() == "timeout"


def test_bad_fault_requests_are_400(sim: SimExchange) -> None:
    status, out = admin(sim, "faults", {"method": "__init__"})
    assert status == 400 and "method must be one of" in out["error"]
    status, out = admin(sim, "faults", {"method": "fail_next", "kwargs": {"kind": "999"}})
    assert status == 400 and "unknown request fault" in out["error"]
    status, _ = admin(sim, "faults", [1, 2])
    assert status == 400


def test_create_account_returns_usable_credentials(sim: SimExchange) -> None:
    status, acct = admin(sim, "accounts", {"balances": {"USDT": "2500", "ETH": 3}})
    assert status == 200 and len(acct["api_key"]) == 64 and len(acct["secret"]) == 64
    ex = ccxt.binance(sim.ccxt_config(acct["api_key"], acct["secret"]))
    assert ex.fetch_balance()["USDT"]["total"] == 2500.0
    status, fixed = admin(sim, "accounts", {"balances": {}, "api_key": "k123", "secret": "s"})
    assert (status, fixed["api_key"]) == (200, "k123")
    status, dup = admin(sim, "accounts", {"balances": {}, "api_key": "k123", "secret": "s"})
    assert status == 400 and "already used" in dup["error"]


def test_advance_moves_the_stepped_clock_and_plays_the_market(sim: SimExchange) -> None:
    before = sim.clock.now_ms()
    trades_before = len(sim.core.recent_trades("BTCUSDT", 100_000))
    status, out = admin(sim, "advance", {"seconds": 30})
    assert status == 200 and out["now_ms"] == before + 30_000 and out["ticks"] > 0
    assert len(sim.core.recent_trades("BTCUSDT", 100_000)) > trades_before


def test_drop_connections_reports_the_droppers(sim: SimExchange) -> None:
    status, out = admin(sim, "drop-connections?code=1001", {})
    assert status == 200 and out["dropped"] >= 0
    assert sim.faults.injected["drop_connections"] >= 1


def test_rate_limits_can_be_changed_and_reset(sim: SimExchange) -> None:
    status, out = admin(sim, "ratelimits", {"weight_per_minute": 1234})
    assert status == 200 and out["weight_per_minute"] == 1234
    assert sim.limiter.limits.weight_per_minute == 1234
    _, out = admin(sim, "ratelimits", {"weight_per_minute": 6000, "reset": True})
    assert out["weight_per_minute"] == 6000


def test_advance_plays_the_perpetuals_core_too() -> None:
    with SimExchange(stepped=True, seed=10, faces=["binance", "binance_futures"]) as exchange:
        futures = exchange.futures_core
        assert futures is not None
        status, out = admin(exchange, "advance", {"seconds": 120})
        assert status == 200 and out["ticks"] > 0
        assert exchange.call(futures.pump) == 0  # nothing left to replay on its next request
