"""Symbol rules of linear perpetuals: any rules made a contract, and Binance USD-M-like defaults."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import TYPE_CHECKING

from real_trade.sim.instruments import Instrument, InstrumentKind
from real_trade.sim.rules import SymbolRules, rules_for_market, split_symbol

if TYPE_CHECKING:
    from real_trade.sim.market import MarketSource

__all__ = ["PERP_RULES", "linear_perpetual", "perpetual_rules"]


def linear_perpetual(
    rules: SymbolRules, contract_size: Decimal = Decimal(1), settle_asset: str = ""
) -> SymbolRules:
    """``rules`` as a linear perpetual settled in ``settle_asset`` (the quote when empty);
    market orders by quote quantity are not taken (venues size contracts in contracts)."""
    instrument = Instrument(
        InstrumentKind.LINEAR_PERPETUAL, contract_size, settle_asset or rules.quote
    )
    return dataclasses.replace(rules, instrument=instrument, quote_order_qty_market_allowed=False)


def _perp(
    symbol: str, tick: str, step: str, max_qty: str, market_max: str, notional: str
) -> SymbolRules:
    base, quote = split_symbol(symbol)
    d = Decimal
    return linear_perpetual(
        SymbolRules(
            symbol=symbol,
            base=base,
            quote=quote,
            tick_size=d(tick),
            min_price=d(tick),
            max_price=d("4529764"),
            step_size=d(step),
            min_qty=d(step),
            max_qty=d(max_qty),
            min_notional=d(notional),
            market_max_qty=d(market_max),
            apply_min_to_market=True,
        )
    )


PERP_RULES: dict[str, SymbolRules] = {
    "BTCUSDT": _perp("BTCUSDT", "0.10", "0.001", "1000", "120", "100"),
    "ETHUSDT": _perp("ETHUSDT", "0.01", "0.001", "10000", "2000", "20"),
}
"""Rules like Binance USD-M's BTCUSDT and ETHUSDT perpetuals (tick, lot, minimum notional)."""


def perpetual_rules(market: MarketSource | None) -> dict[str, SymbolRules]:
    """The market's symbols as linear perpetuals: the market's own price and lot steps (so the
    liquidity ladder and the filters agree), with :data:`PERP_RULES`' minimum notional, maximum
    quantities and market minimum where the symbol has them."""
    out: dict[str, SymbolRules] = {}
    for sym, rules in rules_for_market(market).items():
        known = PERP_RULES.get(sym)
        if known is not None:
            rules = dataclasses.replace(
                rules,
                min_notional=known.min_notional,
                apply_min_to_market=True,
                max_qty=known.max_qty,
                market_max_qty=known.market_max_qty,
            )
        out[sym] = linear_perpetual(rules)
    return out
