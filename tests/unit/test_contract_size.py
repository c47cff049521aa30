"""Contract sizes: ccxt amounts in contracts (OKX SWAP) become base units and back."""

from __future__ import annotations

import pytest

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
    order = {
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
    trade = trade_in_base(SWAP, {"amount": 5.0})
    assert trade_in_base(SWAP, trade)["amount"] == pytest.approx(0.05)
    spot = {"amount": 2.0, "filled": None}
    assert order_in_base(SPOT, spot) == {"amount": 2.0, "filled": None}
