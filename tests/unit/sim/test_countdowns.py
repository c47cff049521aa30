"""The dead-man switch's countdown book and the core cancelling what an expired one covers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from real_trade.sim.clock import SimClock
from real_trade.sim.core import ExchangeCore
from real_trade.sim.countdowns import CancelCountdowns
from real_trade.sim.types import OrderType, Side, TimeInForce


def test_a_countdown_fires_once_after_its_deadline_and_rearming_pushes_it_back() -> None:
    clock = SimClock(start_ms=1_000_000, stepped=True)
    book = CancelCountdowns(clock)
    first = book.arm(7, "BTCUSDT", 5_000)
    assert first is not None and first.trigger_ms == 1_005_000
    clock.advance(4)
    book.arm(7, "BTCUSDT", 5_000)  # a heartbeat
    clock.advance(4)
    assert book.take_expired() == []
    clock.advance(1)
    [fired] = book.take_expired()
    assert (fired.account_id, fired.scope) == (7, "BTCUSDT")
    assert book.take_expired() == [] and book.armed() == [] and book.fired == [fired]


def test_zero_disarms_and_a_negative_countdown_is_refused() -> None:
    clock = SimClock(start_ms=0, stepped=True)
    book = CancelCountdowns(clock)
    book.arm(1, None, 1_000)
    assert book.arm(1, None, 0) is None
    clock.advance(5)
    assert book.take_expired() == []
    with pytest.raises(ValueError):
        book.arm(1, None, -1)
    book.set_standby(1, "ETHUSDT", 10_000)
    assert book.standby(1) == {"ETHUSDT": 10_000} and book.standby(2) == {}
    book.set_standby(1, "ETHUSDT", 0)
    assert book.standby(1) == {}


def test_the_core_cancels_only_the_covered_symbol_of_that_account_on_pump() -> None:
    clock = SimClock(start_ms=1_700_000_000_000, stepped=True)
    core = ExchangeCore(clock)
    alice = core.create_account({"USDT": 100_000})
    bob = core.create_account({"USDT": 100_000})
    for acct in (alice, bob):
        for symbol in ("BTCUSDT", "ETHUSDT"):
            core.place_order(
                acct,
                symbol,
                Side.BUY,
                OrderType.LIMIT,
                quantity=Decimal("1"),
                price=Decimal("100"),
                time_in_force=TimeInForce.GTC,
            )
    core.arm_cancel_countdown(alice, "BTCUSDT", 2_000)
    clock.advance(1)
    core.pump()
    assert len(core.open_orders(alice)) == 4 - 2
    clock.advance(1)
    core.pump()
    assert [o.symbol for o in core.open_orders(alice)] == ["ETHUSDT"]
    assert len(core.open_orders(bob)) == 2
    core.arm_cancel_countdown(bob, None, 1_000)  # every symbol
    clock.advance(1)
    core.pump()
    assert core.open_orders(bob) == []
