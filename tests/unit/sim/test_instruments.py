"""Instruments and the settlement seam: spot by default, perpetuals described but not settled."""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal

import pytest

from real_trade.sim.accounts import Account
from real_trade.sim.binance.format import symbol_json
from real_trade.sim.instruments import SPOT, Instrument, InstrumentKind
from real_trade.sim.matching import MatchingEngine
from real_trade.sim.rules import DEFAULT_RULES
from real_trade.sim.settlement import SpotSettlement, settlement_for
from real_trade.sim.types import Fill, Order, OrderType, Side, TimeInForce

D = Decimal
T0 = 1_700_000_000_000
BTC = DEFAULT_RULES["BTCUSDT"]


class RecordingSettlement(SpotSettlement):
    """Spot settlement that records what the engine asks of it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def reservation(self, *args: object, **kwargs: object) -> tuple[str, Decimal]:  # type: ignore[override]
        self.calls.append("reservation")
        return super().reservation(*args, **kwargs)  # type: ignore[arg-type]

    def market_reservation(self, *args: object, **kwargs: object) -> tuple[str, Decimal]:  # type: ignore[override]
        self.calls.append("market_reservation")
        return super().market_reservation(*args, **kwargs)  # type: ignore[arg-type]

    def trigger_budget(self, rules: object, account: Account, side: Side) -> Decimal | None:  # type: ignore[override]
        self.calls.append(f"trigger_budget:{side.value}")
        return super().trigger_budget(rules, account, side)  # type: ignore[arg-type]

    def settle(self, order: Order, *args: object, **kwargs: object) -> Fill:  # type: ignore[override]
        self.calls.append(f"settle:{order.side.value}")
        return super().settle(order, *args, **kwargs)  # type: ignore[arg-type]


def _account(account_id: int) -> Account:
    acct = Account(account_id, "k", "s", maker_fee=D("0.001"), taker_fee=D("0.001"))
    acct.credit("USDT", D("100000"))
    acct.credit("BTC", D("10"))
    return acct


def test_symbols_trade_spot_unless_told() -> None:
    assert BTC.instrument is SPOT and SPOT.kind is InstrumentKind.SPOT
    assert SPOT.contract_size == 1 and SPOT.is_spot
    perp = Instrument(InstrumentKind.LINEAR_PERPETUAL, contract_size=D("0.001"))
    assert not perp.is_spot and perp.contract_size == D("0.001")
    with pytest.raises(ValueError, match="contract size"):
        Instrument(InstrumentKind.LINEAR_PERPETUAL, contract_size=D(0))


def test_spot_settles_through_the_seam_and_perpetuals_are_refused() -> None:
    assert isinstance(settlement_for(SPOT), SpotSettlement)
    perp_rules = dataclasses.replace(
        BTC, instrument=Instrument(InstrumentKind.LINEAR_PERPETUAL, settle_asset="USDT")
    )
    with pytest.raises(NotImplementedError, match="linear_perpetual"):
        MatchingEngine(perp_rules, {}, _account(1))


def test_the_engine_reserves_and_settles_through_its_settlement() -> None:
    fees = Account(1, "", "", maker_fee=D(0), taker_fee=D(0), internal=True)
    maker, taker = _account(101), _account(102)
    accounts = {1: fees, 101: maker, 102: taker}
    recorder = RecordingSettlement()
    engine = MatchingEngine(BTC, accounts, fees, rng=random.Random(1), settlement=recorder)
    engine.place(
        maker,
        Side.SELL,
        OrderType.LIMIT,
        now_ms=T0,
        quantity=D("0.01"),
        price=D("30000"),
        time_in_force=TimeInForce.GTC,
    )
    engine.place(taker, Side.BUY, OrderType.MARKET, now_ms=T0, quantity=D("0.01"))
    assert recorder.calls == ["reservation", "market_reservation", "settle:sell", "settle:buy"]
    assert taker.free("BTC") == D("10") + D("0.01") - D("0.00001")  # bought less the fee


def test_a_triggered_stop_market_buy_asks_its_settlement_for_a_budget() -> None:
    fees = Account(1, "", "", maker_fee=D(0), taker_fee=D(0), internal=True)
    maker, taker, holder = _account(101), _account(102), _account(103)
    accounts = {1: fees, 101: maker, 102: taker, 103: holder}
    recorder = RecordingSettlement()
    engine = MatchingEngine(BTC, accounts, fees, rng=random.Random(1), settlement=recorder)
    for price in ("30000", "30010"):
        engine.place(
            maker,
            Side.SELL,
            OrderType.LIMIT,
            now_ms=T0,
            quantity=D("0.01"),
            price=D(price),
            time_in_force=TimeInForce.GTC,
        )
    engine.place(taker, Side.BUY, OrderType.MARKET, now_ms=T0, quantity=D("0.01"))
    stop = engine.place(
        holder,
        Side.BUY,
        OrderType.STOP_LOSS,
        now_ms=T0,
        quantity=D("0.004"),
        stop_price=D("30005"),
    )
    recorder.calls.clear()
    engine.place(taker, Side.BUY, OrderType.MARKET, now_ms=T0, quantity=D("0.001"))  # at 30010
    assert "trigger_budget:buy" in recorder.calls
    assert stop.executed_qty == D("0.004") and holder.free("BTC") > D("10")


def test_binance_renders_a_halted_symbol_as_break() -> None:
    assert symbol_json(BTC)["status"] == "TRADING"
    assert symbol_json(BTC)["permissionSets"] == [["SPOT"]]
    assert symbol_json(dataclasses.replace(BTC, trading=False))["status"] == "BREAK"
