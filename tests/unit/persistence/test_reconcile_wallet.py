"""The continuous reconciliation of a perpetual account's wallet (``ContinuousReconciler``).

A fake venue (a plain class handed to the reconciler, as the venue client is) answers ccxt's
``fetch_balance``/``fetch_positions`` shapes of Binance USDⓈ-M, Bybit v5 and OKX v5; a manual
clock drives the grace. The wallet compared is the venue's own figure, never the margin balance:
unrealized PnL must not look like money moved.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from real_trade.execution import ClientOrderIds
from real_trade.persistence.recovery import ContinuousReconciler

SYMBOL = "BTC/USDT:USDT"


def binance(wallet: float, upnl: float) -> dict[str, Any]:
    """``/fapi/v2/account``'s ``assets[]`` as ccxt hands it on (total = margin balance)."""
    info = {"assets": [{"asset": "USDT", "walletBalance": str(wallet)}]}
    return {"info": info, "total": {"USDT": wallet + upnl}, "free": {"USDT": wallet}}


def bybit(wallet: float, upnl: float) -> dict[str, Any]:
    """``/v5/account/wallet-balance``: ``walletBalance`` beside ``equity``."""
    coin = {"coin": "USDT", "walletBalance": str(wallet), "equity": str(wallet + upnl)}
    info = {"result": {"list": [{"accountType": "UNIFIED", "coin": [coin]}]}}
    return {"info": info, "total": {"USDT": wallet + upnl}, "free": {"USDT": wallet}}


def okx(wallet: float, upnl: float) -> dict[str, Any]:
    """``/api/v5/account/balance``: ``cashBal`` beside ``eq``."""
    detail = {"ccy": "USDT", "cashBal": str(wallet), "eq": str(wallet + upnl)}
    info = {"code": "0", "data": [{"details": [detail]}]}
    return {"info": info, "total": {"USDT": wallet + upnl}, "free": {"USDT": wallet}}


def no_venue_figure(wallet: float, upnl: float) -> dict[str, Any]:
    """A venue whose answer has no wallet figure: ccxt's total less the unrealized PnL."""
    return {"info": {}, "total": {"USDT": wallet + upnl}, "free": {"USDT": wallet}}


class FakeVenue:
    """The venue client's ``..._async`` reads, answering what the test set."""

    def __init__(self, shape: Any) -> None:
        self.shape, self.wallet, self.upnl = shape, 1_000.0, 0.0

    async def fetch_open_orders_async(self, symbol: str) -> list[dict[str, Any]]:
        return []

    async def fetch_balance_async(self) -> dict[str, Any]:
        return dict(self.shape(self.wallet, self.upnl))

    async def fetch_positions_async(self, symbols: list[str]) -> list[dict[str, Any]]:
        row = {"symbol": SYMBOL, "contracts": 0.1, "contractSize": 1, "side": "long"}
        return [{**row, "entryPrice": 50_000, "unrealizedPnl": self.upnl}]


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Found(list[Any]):
    """The events the reconciler published."""

    def __call__(self, _topic: str, event: object) -> None:
        self.append(event)


def reconciler(venue: FakeVenue, clock: Clock, found: Found) -> ContinuousReconciler:
    return ContinuousReconciler(
        venue,
        [SYMBOL],
        ClientOrderIds("w1"),
        interval_s=1.0,
        clock=clock,
        publish=found,
        wallet_grace_s=2.0,
    )


def check(rec: ContinuousReconciler, ours: float) -> list[dict[str, Any]]:
    return asyncio.run(rec.check_async({}, positions={SYMBOL: 0.1}, wallet=("USDT", ours)))


SHAPES = [binance, bybit, okx, no_venue_figure]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda f: f.__name__)
def test_unrealized_pnl_is_no_wallet_change(shape: Any) -> None:
    venue, clock, found = FakeVenue(shape), Clock(), Found()
    rec = reconciler(venue, clock, found)
    venue.upnl = 137.5  # the mark moved: the margin balance is not the wallet
    for _ in range(5):
        clock.now += 1.0
        assert check(rec, 1_000.0) == []
    assert found == [] and rec.wallet_checks == 5


@pytest.mark.parametrize("shape", SHAPES, ids=lambda f: f.__name__)
def test_a_deposit_is_reported_once_after_the_grace(shape: Any) -> None:
    venue, clock, found = FakeVenue(shape), Clock(), Found()
    rec = reconciler(venue, clock, found)
    venue.wallet, venue.upnl = 1_250.0, -20.0
    assert check(rec, 1_000.0) == []  # once is not enough
    clock.now += 1.0
    assert check(rec, 1_000.0) == []  # twice, but within the grace
    clock.now += 1.0
    (event,) = check(rec, 1_000.0)
    assert (event["kind"], event["asset"], event["broker"], event["exchange"]) == (
        "balance_mismatch",
        "USDT",
        1_000.0,
        1_250.0,
    )
    assert event["wallet"] is True and found == [event]
    clock.now += 1.0
    assert check(rec, 1_000.0) == []  # told once until the two agree again
    assert check(rec, 1_250.0) == []  # adopted
    venue.wallet = 1_100.0  # a withdrawal, later
    for _ in range(2):
        clock.now += 1.0
        check(rec, 1_250.0)
    clock.now += 1.0
    (event,) = check(rec, 1_250.0)
    assert (event["broker"], event["exchange"]) == (1_250.0, 1_100.0)


def test_a_move_the_broker_catches_up_with_within_the_grace_is_not_reported() -> None:
    """A funding payment (or a fee, a realized PnL, a liquidation) moves the venue's wallet
    before its stream message makes the broker read it again: no finding."""
    venue, clock, found = FakeVenue(bybit), Clock(), Found()
    rec = reconciler(venue, clock, found)
    venue.wallet = 1_000.0 - 3.25  # funding paid
    assert check(rec, 1_000.0) == []
    clock.now += 1.5
    assert check(rec, 1_000.0) == []
    clock.now += 1.0
    assert check(rec, 996.75) == []  # the broker read it again
    clock.now += 1.0
    venue.wallet = 990.0  # the next payment: the grace starts again
    assert check(rec, 996.75) == []
    clock.now += 1.0
    assert check(rec, 996.75) == []
    assert found == []
