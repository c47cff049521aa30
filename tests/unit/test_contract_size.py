"""Contract sizes: ccxt amounts in contracts (OKX SWAP) become base units and back."""

from __future__ import annotations

from typing import Any

import pytest

from real_trade.execution import FundingPayment
from real_trade.venues.contract_size import (
    contract_size,
    order_in_base,
    to_base,
    to_contracts,
    trade_in_base,
)

SWAP = {"symbol": "BTC/USDT:USDT", "contract": True, "contractSize": 0.01}
LINEAR = {"symbol": "BTC/USDT:USDT", "contract": True, "contractSize": 1.0}
SPOT = {"symbol": "BTC/USDT", "contract": False, "contractSize": None}


def test_only_contracts_of_another_size_convert() -> None:
    assert contract_size(SWAP) == 0.01
    assert contract_size(LINEAR) == contract_size(SPOT) == contract_size(None) == 1.0
    assert to_contracts(SWAP, 0.03) == pytest.approx(3.0)
    assert to_contracts(LINEAR, 0.03) == 0.03 and to_contracts(SPOT, 0.03) == 0.03
    assert to_base(SWAP, 3.0) == pytest.approx(0.03) and to_base(SWAP, None) is None
    assert to_base(SPOT, 3.0) == 3.0


def test_an_order_and_its_trades_become_base_units_once() -> None:
    order: dict[str, Any] = {
        "symbol": "BTC/USDT:USDT",
        "amount": 2.0,
        "filled": 1.0,
        "remaining": 1.0,
        "price": 40_000.0,
        "trades": [{"amount": 1.0, "price": 40_000.0}],
    }
    same = order_in_base(SWAP, order)
    assert same is order
    assert (order["amount"], order["filled"], order["remaining"]) == pytest.approx(
        (0.02, 0.01, 0.01)
    )
    assert order["price"] == 40_000.0 and order["trades"][0]["amount"] == pytest.approx(0.01)
    order_in_base(SWAP, order)  # handed out again (a cached order): not converted twice
    assert order["amount"] == pytest.approx(0.02)
    # the next push updates the cached order in place (ccxt.pro's cache): its amounts, in
    # contracts again, are converted, the mark of the last conversion notwithstanding
    order.update({"amount": 2.0, "filled": 2.0, "remaining": 0.0, "trades": []})
    order_in_base(SWAP, order)
    assert (order["amount"], order["filled"], order["remaining"]) == pytest.approx(
        (0.02, 0.02, 0.0)
    )
    assert order_in_base(SWAP, order)["filled"] == pytest.approx(0.02)
    trade = trade_in_base(SWAP, {"amount": 5.0})
    assert trade_in_base(SWAP, trade)["amount"] == pytest.approx(0.05)
    spot = {"amount": 2.0, "filled": None}
    assert order_in_base(SPOT, spot) == {"amount": 2.0, "filled": None}


def test_okx_funding_bills_become_payments_once() -> None:
    from real_trade.execution.funding_bills import bill_ids, new_payments

    rows = [
        {
            "id": "b2",
            "symbol": "BTC/USDT:USDT",
            "code": "USDT",
            "timestamp": 2,
            "info": {"balChg": "-1.5", "px": "40000", "billId": "b2"},
        },
        {
            "id": "b1",
            "symbol": "BTC/USDT:USDT",
            "code": "USDT",
            "timestamp": 1,
            "info": {"balChg": "0.7", "px": "39000", "billId": "b1"},
        },
        {"id": "b3", "symbol": "ETH/USDT:USDT", "timestamp": 3, "info": {"balChg": "1"}},
    ]
    seen = bill_ids(rows[1:2])
    out = new_payments(rows, ["BTC/USDT:USDT"], seen, lambda _s: -0.1)
    assert [(p.amount, p.mark_price, p.size, p.asset) for p in out] == [
        (-1.5, 40_000.0, -0.1, "USDT")
    ]
    assert new_payments(rows, ["BTC/USDT:USDT"], seen, lambda _s: None) == []


def test_bybit_funding_and_bust_executions_are_not_fills_and_venue_liquidations_are_read() -> None:
    from real_trade.execution.live_contracts import LiveContracts

    view = LiveContracts(client=None, spawn=lambda _c: None)  # type: ignore[arg-type,return-value]
    view.symbols = ["BTC/USDT:USDT"]
    funding = {
        "symbol": "BTC/USDT:USDT",
        "info": {"execType": "Funding", "execFee": "-0.4", "execQty": "0.1", "side": "Sell"},
    }
    assert view.on_trade(funding) is True
    assert view.on_trade({"symbol": "BTC/USDT:USDT", "info": {"execType": "BustTrade"}})
    assert view.on_trade({"symbol": "BTC/USDT:USDT", "info": {"execType": "Trade"}}) is False
    (paid,) = view.take_events()
    assert isinstance(paid, FundingPayment)
    assert paid.amount == pytest.approx(0.4) and paid.size == pytest.approx(-0.1)
    base = {"symbol": "BTC/USDT:USDT", "status": "closed", "filled": 0.2, "side": "sell"}
    bybit = {**base, "id": "1", "type": "market", "info": {"createType": "CreateByLiq"}}
    okx = {**base, "id": "2", "type": "market", "info": {"category": "full_liquidation"}}
    plain = {**base, "id": "3", "type": "market", "info": {"category": "normal"}}
    assert view.on_order(bybit) and view.on_order(okx) and not view.on_order(plain)
    assert [e.size for e in view.take_events()] == [pytest.approx(0.2), pytest.approx(0.2)]
