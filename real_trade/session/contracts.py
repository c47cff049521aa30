"""What a session does for contracts besides spot: settings on start, value, liquidations.

* :func:`apply_settings`: the configured leverage and margin mode of each traded contract, set
  on the venue before trading (a refusal is a ConfigError naming the symbol, the exchange's
  words and the fix).
* :func:`unrealized`: a position's PnL at a price (the strategy's value between reads).
* :func:`risk_context`: what the risk engine checks a contract order against, in real figures.
* :func:`liquidation_update`: the order event a liquidation becomes (``order.completed`` with
  the reason), so the journal and every listener see it like any other closing order.
* :func:`check_positions_at_start`: the startup reconciliation of positions: the journal's last
  snapshot against the exchange's positions the session starts with
  (``reconcile.position_changed``: something traded, was liquidated or funded while we were
  down; the exchange's position is the one the strategy gets).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from real_trade.errors import ConfigError, RealTradeError
from real_trade.execution import (
    ContractAccount,
    ContractPosition,
    Liquidation,
    OrderState,
    OrderUpdate,
)
from real_trade.risk import AccountContext
from real_trade.vocabulary import OrderKind, OrderSide, is_contract

__all__ = [
    "ContractSettings",
    "apply_settings",
    "check_positions_at_start",
    "liquidation_update",
    "risk_context",
    "unrealized",
]

_log = logging.getLogger("real_trade.brokers")

ContractSettings = Mapping[str, tuple[int | None, str | None]]
"""A contract's unified symbol -> ``(leverage, margin_mode)`` (None: leave the venue's)."""


def apply_settings(client: Any, symbols: Iterable[str], settings: ContractSettings) -> None:
    """Set the configured leverage and margin mode of each contract in ``symbols`` on the
    venue; ConfigError naming the symbol and the fix when the venue refuses."""
    for symbol in symbols:
        leverage, mode = settings.get(symbol, (None, None))
        if not is_contract(symbol) or (leverage is None and mode is None):
            continue
        try:
            client.set_contract_settings(symbol, leverage, mode)
        except RealTradeError as exc:
            raise ConfigError(
                f"{symbol}: the venue refused leverage {leverage}, margin mode {mode}: {exc}",
                field=f'derivatives.symbols."{symbol}"',
                fix="use a leverage the contract allows for the position held (1 to its "
                "bracket maximum); a margin mode can only change while the contract has no "
                "position and no open order: close them first, or keep the current mode",
            ) from exc


def unrealized(position: ContractPosition | None, price: float | None) -> float:
    """``position``'s unrealized PnL at ``price`` (its own figure when ``price`` is None)."""
    if position is None:
        return 0.0
    if price is None:
        return position.unrealized_pnl
    return position.size * (price - position.entry_price)


def risk_context(
    account: ContractAccount,
    symbol: str,
    position: float,
    last_price: float | None,
    equity: float,
    setting: tuple[int | None, str | None],
) -> AccountContext:
    """The risk context of an order on contract ``symbol``: the available balance, the equity,
    the margin ratio, and the position's leverage, margin mode, mark and liquidation price (the
    configured ``setting`` while flat)."""
    held = account.position(symbol)
    leverage, mode = setting
    return AccountContext(
        position=position,
        last_price=last_price,
        free_quote=account.available,
        equity=equity,
        margin_ratio=account.margin_ratio,
        leverage=held.leverage if held is not None else leverage,
        liquidation_price=None if held is None else held.liquidation_price,
        mark_price=None if held is None else held.mark_price,
        margin_mode=(held.margin_mode if held is not None else None) or mode,
    )


def liquidation_update(
    event: Liquidation, local_id: int, strategy: str, position: float
) -> OrderUpdate:
    """The ``order.completed`` event of the exchange's closing order for ``event`` (``local_id``:
    the host's order standing for it; ``position``: the size it closed, signed)."""
    side = OrderSide.SELL if position > 0 else OrderSide.BUY
    amount = abs(position) or abs(event.size)
    return OrderUpdate(
        local_id=local_id,
        client_order_id=f"liquidation-{event.time_ms}",
        exchange_order_id=None,
        symbol=event.symbol,
        side=side.value,
        kind=OrderKind.MARKET.value,
        state=OrderState.COMPLETED,
        amount=amount,
        filled=amount,
        average_price=event.price,
        price=None,
        stop_price=None,
        reason=f"liquidation: {event.reason} (mark {event.mark_price:g})",
        time_ms=event.time_ms,
        strategy=strategy,
    )


def check_positions_at_start(
    journal: Any,
    strategy: str,
    sizes: Mapping[str, float],
    publish: Callable[[str, object], None],
) -> list[dict[str, Any]]:
    """Compare the contract positions the session starts with (``sizes``, the exchange's) with
    the journal's last snapshot of ``strategy``; each difference is published (and so
    journaled) as ``reconcile.position_changed`` and returned."""
    snapshot = journal.latest_snapshot(strategy=strategy)
    if snapshot is None:
        return []
    found = []
    for symbol, size in sizes.items():
        before = float(snapshot.positions.get(symbol, 0.0) or 0.0)
        if abs(before - size) <= 1e-9 * max(1.0, abs(size)):
            continue
        event = {
            "kind": "position_changed",
            "symbol": symbol,
            "journal": before,
            "exchange": size,
            "strategy": strategy,
            "message": f"{symbol}: {before:g} when the run stopped, {size:g} at the exchange "
            "now; the exchange's position is used",
        }
        _log.warning("reconcile position_changed: %s", event["message"])
        publish("reconcile.position_changed", event)
        found.append(event)
    return found
