"""Event builders for the journal tests: intents, order updates and fills with short defaults."""

from __future__ import annotations

from typing import Any

from real_trade.execution.events import FillEvent, OrderUpdate
from real_trade.execution.orders import OrderState
from real_trade.persistence import OrderIntent

SYMBOL = "BTC/USDT"


def intent(n: int, strategy: str = "sma", **kw: Any) -> OrderIntent:
    """The intent of order ``n`` (client order id ``rt-<strategy>-000n``)."""
    values: dict[str, Any] = {
        "client_order_id": f"rt-{strategy}-{n:04d}",
        "strategy": strategy,
        "local_id": n,
        "symbol": SYMBOL,
        "side": "buy",
        "kind": "Limit",
        "amount": 0.5,
        "price": 100.0,
        "params": {"signal": "cross", "fast": 10},
        "time_ms": 1_000 * n,
    }
    values.update(kw)
    return OrderIntent(**values)


def update(n: int, state: OrderState, strategy: str = "sma", **kw: Any) -> OrderUpdate:
    """An update of order ``n`` entering ``state``."""
    values: dict[str, Any] = {
        "local_id": n,
        "client_order_id": f"rt-{strategy}-{n:04d}",
        "exchange_order_id": f"X{n}",
        "symbol": SYMBOL,
        "side": "buy",
        "kind": "Limit",
        "state": state,
        "amount": 0.5,
        "filled": 0.0,
        "average_price": None,
        "price": 100.0,
        "stop_price": None,
        "reason": None,
        "time_ms": 1_000 * n + 10,
        "strategy": strategy,
    }
    values.update(kw)
    return OrderUpdate(**values)


def fill(
    n: int,
    trade_id: str,
    side: str = "buy",
    amount: float = 0.5,
    price: float = 100.0,
    strategy: str = "sma",
    **kw: Any,
) -> FillEvent:
    """A fill of order ``n``: quote-currency fee of 0.1 %, position change of the full amount."""
    values: dict[str, Any] = {
        "local_id": n,
        "client_order_id": f"rt-{strategy}-{n:04d}",
        "exchange_order_id": f"X{n}",
        "symbol": SYMBOL,
        "side": side,
        "trade_id": trade_id,
        "price": price,
        "amount": amount,
        "commission": amount * price * 0.001,
        "commission_asset": "USDT",
        "time_ms": 1_000 * n + 20,
        "position_change": amount if side == "buy" else -amount,
        "fee_in_quote": amount * price * 0.001,
        "strategy": strategy,
    }
    values.update(kw)
    return FillEvent(**values)
