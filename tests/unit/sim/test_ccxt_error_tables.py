"""ccxt maps a Binance error on the simulator's loopback URL as on the real host.

The oracle is ccxt's own ``handle_errors``: a plain client given the real host's URL picks the
market family's table there; a client configured with :func:`ccxt_exceptions_for` must raise
the same class for the same body at the simulator's URL, for every code ccxt knows.
"""

from __future__ import annotations

import json
from typing import Any

import ccxt
import pytest

from real_trade.sim.ccxt_error_tables import ccxt_exceptions_for

LOOPBACK = "http://127.0.0.1:8765"
# (ccxt class, defaultType, the real host's order URL, the simulator's order URL)
CASES = [
    (ccxt.binance, "spot", "https://api.binance.com/api/v3/order", f"{LOOPBACK}/api/v3/order"),
    (
        ccxt.binanceusdm,
        "future",
        "https://fapi.binance.com/fapi/v1/order",
        f"{LOOPBACK}/fapi/v1/order",
    ),
    (ccxt.binance, "future", "https://fapi.binance.com/fapi/v1/order", f"{LOOPBACK}/fapi/v1/order"),
]


def _raised(exchange: Any, url: str, code: str, msg: str = "x") -> type[Exception] | None:
    """The ccxt class ``handle_errors`` raises for a Binance error body at ``url``."""
    body = json.dumps({"code": int(code), "msg": msg})
    try:
        exchange.handle_errors(400, "Bad Request", url, "POST", {}, body, json.loads(body), {}, "")
    except Exception as exc:
        return type(exc)
    return None


@pytest.mark.parametrize(("klass", "default_type", "real_url", "sim_url"), CASES)
def test_every_code_maps_as_on_the_real_host(
    klass: Any, default_type: str, real_url: str, sim_url: str
) -> None:
    real = klass({"options": {"defaultType": default_type}})
    sim = klass(
        {
            "options": {"defaultType": default_type},
            "exceptions": ccxt_exceptions_for("binance", default_type),
        }
    )
    family = "spot" if default_type == "spot" else "linear"
    codes = set(real.exceptions["exact"]) | set(real.exceptions[family]["exact"])
    codes = {c for c in codes if c.lstrip("-").isdigit()}
    assert len(codes) > 100
    mismatched = {c for c in codes if _raised(sim, sim_url, c) is not _raised(real, real_url, c)}
    assert not mismatched


@pytest.mark.parametrize(("klass", "default_type", "real_url", "sim_url"), CASES)
def test_messages_map_as_on_the_real_host(
    klass: Any, default_type: str, real_url: str, sim_url: str
) -> None:
    real = klass({"options": {"defaultType": default_type}})
    sim = klass({"exceptions": ccxt_exceptions_for("binance", default_type)})
    messages = [m for m in real.exceptions["exact"] if not m.lstrip("-").isdigit()]
    messages += [f"refused: {m}" for m in real.exceptions["broad"]]
    for message in messages:
        assert _raised(sim, sim_url, "-9999", message) is _raised(real, real_url, "-9999", message)


def test_without_the_tables_usdm_codes_are_a_bare_exchange_error_on_loopback() -> None:
    """The cause: the family's table is chosen by host, so loopback gets the common one."""
    plain = ccxt.binanceusdm()
    assert _raised(plain, f"{LOOPBACK}/fapi/v1/order", "-2019") is ccxt.ExchangeError
    assert _raised(plain, "https://fapi.binance.com/fapi/v1/order", "-2019") is (
        ccxt.InsufficientFunds
    )


def test_bybit_and_unknown_venues_need_nothing() -> None:
    assert ccxt_exceptions_for("bybit", "spot") == {}
    assert ccxt_exceptions_for("okx", "swap") == {}


def test_each_call_gives_a_fresh_table() -> None:
    first = ccxt_exceptions_for("binance", "future")
    first["exact"]["-2019"] = ccxt.ExchangeError
    assert ccxt_exceptions_for("binance", "future")["exact"]["-2019"] is ccxt.InsufficientFunds
