"""The plumbing every face shares: neutral rate-limit refusals, faces by name, the app."""

from __future__ import annotations

import pytest

from real_trade.sim.binance.face import BinanceFace
from real_trade.sim.binance.ratelimit import binance_limiter, refusal
from real_trade.sim.plumbing import (
    RateLimiter,
    RateLimitExceeded,
    RateLimits,
    create_exchange_app,
    make_face,
)
from real_trade.sim.server import SimExchange


def test_the_shared_limiter_refuses_in_neutral_terms() -> None:
    limiter = RateLimiter(RateLimits(weight_per_minute=10, orders_per_10s=1), wall=lambda: 600.0)
    assert limiter.charge("ip", 10) == 10
    with pytest.raises(RateLimitExceeded) as over:
        limiter.charge("ip", 1)
    assert (over.value.scope, over.value.limit, over.value.interval) == ("weight", 10, "minute")
    assert over.value.retry_after == 60 and over.value.banned_until_ms is None
    limiter.count_order(7)
    with pytest.raises(RateLimitExceeded) as orders:
        limiter.count_order(7)
    assert (orders.value.scope, orders.value.interval) == ("orders", "10s")


def test_the_binance_face_words_the_refusals() -> None:
    weight = refusal(RateLimitExceeded("weight", 6000, "minute", 7))
    assert (weight.code, weight.http_status, weight.retry_after) == (-1003, 429, 7)
    assert "current limit is 6000 request weight per 1 MINUTE" in weight.msg
    banned = refusal(RateLimitExceeded("weight", 6000, "minute", 120, 1_700_000_000_000))
    assert (banned.http_status, banned.retry_after) == (418, 120)
    assert "IP banned until 1700000000000" in banned.msg
    orders = refusal(RateLimitExceeded("orders", 100, "10s"))
    assert (orders.code, orders.http_status) == (-1015, 429)
    assert orders.msg == "Too many new orders; current limit is 100 orders per 10 SECOND."
    limiter = binance_limiter(RateLimits(orders_per_day=0))
    with pytest.raises(Exception, match="1 DAY") as day:
        limiter.count_order(1)
    assert getattr(day.value, "code", None) == -1015


def test_faces_are_picked_by_name() -> None:
    face = make_face("binance")
    assert isinstance(face, BinanceFace) and face.name == "binance"
    with pytest.raises(ValueError, match="unknown simulator face 'nope'"):
        make_face("nope")
    sim = SimExchange(stepped=True)
    assert [f.name for f in sim.faces] == ["binance"] and sim.limiter is sim.faces[0].limiter
    with pytest.raises(ValueError, match="unknown simulator face"):
        SimExchange(stepped=True, faces=["binance", "nope"])
    with pytest.raises(ValueError, match="at least one face"):
        SimExchange(stepped=True, faces=[])
    with pytest.raises(ValueError, match="at least one face"):
        create_exchange_app(sim.context, [])
