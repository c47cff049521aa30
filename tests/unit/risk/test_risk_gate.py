"""The broker's gate: its refusals are the engine's, and it reads no account context when no
rule could refuse an order (a run without limits)."""

from __future__ import annotations

from typing import Any

from real_trade.execution import ManagedOrder, OrderKind, OrderRequest, OrderSide, TrackedOrder
from real_trade.risk import AccountContext, LiveRiskConfig, TradingStateHolder
from real_trade.session.risk_gate import build_guard


def _gate(risk: Any, state: TradingStateHolder | None = None) -> tuple[Any, list[str]]:
    asked: list[str] = []

    def context(symbol: str) -> AccountContext:
        asked.append(symbol)
        return AccountContext(position=0.0, last_price=100.0, free_quote=1e6, equity=1e6)

    return build_guard(risk, state or TradingStateHolder(), context), asked


def _request(amount: float, kind: OrderKind = OrderKind.MARKET) -> OrderRequest:
    price = 100.0 if kind is OrderKind.LIMIT else None
    return OrderRequest(7, "BTC/USDT", OrderSide.BUY, kind, amount, price=price)


def _ask(guard: Any, request: OrderRequest) -> str | None:
    return guard.gate(ManagedOrder(TrackedOrder(request)), request)  # type: ignore[no-any-return]


def test_without_limits_the_gate_lets_orders_go_without_reading_the_account() -> None:
    guard, asked = _gate(None)
    assert _ask(guard, _request(5.0)) is None
    assert _ask(guard, _request(5.0, OrderKind.LIMIT)) is None
    assert asked == []
    assert guard.take_denial(7) is None


def test_a_limit_is_checked_in_the_account_context_and_refuses_with_its_reason() -> None:
    guard, asked = _gate(LiveRiskConfig(max_order_amount=1.0, breaker_max_failures=None))
    assert _ask(guard, _request(1.0)) is None
    reason = _ask(guard, _request(2.0))
    assert reason is not None and reason.startswith("max_order_amount: order amount 2 ")
    assert asked == ["BTC/USDT", "BTC/USDT"]
    denial = guard.take_denial(7)
    assert denial is not None and denial.rule == "max_order_amount" and denial.reason == reason


def test_a_halt_refuses_even_without_limits() -> None:
    state = TradingStateHolder()
    guard, asked = _gate(None, state)
    state.halt("operator")
    assert _ask(guard, _request(1.0)) == "trading_state: HALTED (operator); no orders"
    assert asked == ["BTC/USDT"]
    state.resume()
    assert _ask(guard, _request(1.0)) is None
    assert asked == ["BTC/USDT"]
