"""Paper contracts: the simulator core's derivatives ledger as the paper port's account.

What :class:`~real_trade.execution.paper.PaperExecution` needs beyond spot for a contract
symbol (``BTC/USDT:USDT``, traded under the core id ``BTCUSDT``): its rules as a linear
perpetual (:func:`contract_rules`), the configured leverage and margin mode set on the paper
account (:func:`apply_settings`), the account as the exchange holds it (:func:`account_of`) and
the core's funding and liquidation events in the live path's terms (:func:`event_of`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from real_trade.errors import ConfigError
from real_trade.execution.contracts import (
    ContractAccount,
    ContractPosition,
    FundingPayment,
    Liquidation,
)
from real_trade.sim.core import ExchangeCore
from real_trade.sim.derivatives import (
    PERP_RULES,
    FundingEvent,
    LiquidationEvent,
    PositionView,
    linear_perpetual,
)
from real_trade.sim.rules import SymbolRules, derive_rules
from real_trade.sim.types import SimError

__all__ = ["account_of", "apply_settings", "contract_rules", "event_of"]

Settings = Mapping[str, tuple[int | None, str | None]]


def contract_rules(sid: str, price: float, override: SymbolRules | None) -> SymbolRules:
    """A contract's rules: ``override``, else USD-M's (:data:`PERP_RULES`), else derived from
    the first price; always a linear perpetual."""
    rules = override or PERP_RULES.get(sid) or derive_rules(sid, Decimal(repr(price)))
    return rules if not rules.instrument.is_spot else linear_perpetual(rules)


def apply_settings(
    core: ExchangeCore, account: Any, symbols: Mapping[str, str], settings: Settings
) -> None:
    """Set the leverage and margin mode of each contract (``symbols``: core id -> unified
    symbol) on the paper ``account``; ConfigError naming the symbol and the fix."""
    for sid, symbol in sorted(symbols.items()):
        leverage, mode = settings.get(symbol, (None, None))
        try:
            if mode is not None:
                core.set_margin_mode(account, sid, mode)
            if leverage is not None:
                core.set_leverage(account, sid, int(leverage))
        except (SimError, ValueError) as exc:
            raise ConfigError(
                f"paper: cannot set {symbol} to leverage {leverage}, margin mode {mode}: {exc}",
                field=f'derivatives.symbols."{symbol}"',
                fix="use a leverage from 1 to the contract's maximum (BTC: 125) and "
                "margin_mode 'cross' or 'isolated'",
            ) from exc


def account_of(
    core: ExchangeCore, account: Any, symbols: Mapping[str, str], currency: str, now_ms: int
) -> ContractAccount:
    """The paper account's wallet and the positions of ``symbols`` (core id -> unified)."""
    summary = core.margin_summary(account, currency)
    positions = {
        symbols[view.symbol]: _position_of(symbols[view.symbol], view)
        for view in core.positions(account)
        if view.qty and view.symbol in symbols
    }
    return ContractAccount(
        currency,
        float(summary.wallet_balance),
        float(summary.available_balance),
        float(summary.maintenance_margin),
        positions,
        now_ms,
    )


def event_of(event: object, symbols: Mapping[str, str]) -> FundingPayment | Liquidation | None:
    """The core's funding or liquidation event of a traded contract, in the live path's terms."""
    if isinstance(event, FundingEvent) and event.symbol in symbols:
        return FundingPayment(
            symbols[event.symbol],
            float(event.amount),
            event.asset,
            float(event.rate),
            float(event.qty),
            float(event.mark_price),
            event.time_ms,
        )
    if isinstance(event, LiquidationEvent) and event.symbol in symbols:
        return Liquidation(
            symbols[event.symbol],
            float(event.qty),
            float(event.price),
            float(event.mark_price),
            event.reason.value,
            event.time_ms,
        )
    return None


def _position_of(symbol: str, view: PositionView) -> ContractPosition:
    """The simulator's position view as a :class:`ContractPosition`."""
    liquidation = float(view.liquidation_price)
    return ContractPosition(
        symbol,
        float(view.qty),
        float(view.entry_price),
        float(view.unrealized_pnl),
        float(view.mark_price),
        liquidation or None,
        float(view.leverage),
        view.margin_mode.value,
    )
