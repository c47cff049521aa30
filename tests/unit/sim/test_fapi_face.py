"""The USD-M face's tables: error codes for the core's reasons, request weights, type words."""

from __future__ import annotations

import pytest

from real_trade.sim.binance_futures.errors import from_sim_error
from real_trade.sim.binance_futures.format import TYPE_IN, TYPE_OUT
from real_trade.sim.binance_futures.ratelimit import FAPI_LIMITS, fapi_weight
from real_trade.sim.errors import Reason, SimError
from real_trade.sim.types import OrderType


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        (Reason.INSUFFICIENT_BALANCE, -2019),
        (Reason.REDUCE_ONLY_REJECTED, -2022),
        (Reason.NOTIONAL, -4164),
        (Reason.DUPLICATE_ORDER, -4116),
        (Reason.PRICE_FILTER, -4014),
        (Reason.WOULD_TAKE, -5022),
        (Reason.LEVERAGE_NOT_VALID, -4028),  # spot's table already holds USD-M's code
        (Reason.UNKNOWN_SYMBOL, -1121),
    ],
)
def test_reasons_get_usdm_codes(reason: Reason, code: int) -> None:
    assert from_sim_error(SimError(reason)).code == code


def test_unknown_order_query_and_cancel_variants() -> None:
    err = SimError(Reason.UNKNOWN_ORDER)
    assert from_sim_error(err, for_query=True).code == -2013
    assert from_sim_error(err).code == -2011


def test_weights_and_limits() -> None:
    assert fapi_weight("GET", "/fapi/v1/depth", {"limit": "1000"}) == 20
    assert fapi_weight("GET", "/fapi/v1/depth", {"limit": "5"}) == 2
    assert fapi_weight("GET", "/fapi/v1/klines", {"limit": "1500"}) == 10
    assert fapi_weight("GET", "/fapi/v1/ticker/24hr", {}) == 40
    assert fapi_weight("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"}) == 1
    assert fapi_weight("POST", "/fapi/v1/order", {}) == 1
    assert (FAPI_LIMITS.weight_per_minute, FAPI_LIMITS.orders_per_10s) == (2400, 300)


def test_order_types_round_trip() -> None:
    for word, kind in TYPE_IN.items():
        assert TYPE_OUT[kind] == word
    assert TYPE_OUT[OrderType.LIMIT_MAKER] == "LIMIT"  # post-only is LIMIT + GTX
