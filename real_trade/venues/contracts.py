"""Which contracts the live path trades: linear (USDⓈ-M) perpetuals, not COIN-M yet."""

from __future__ import annotations

from real_trade.errors import ConfigError
from real_trade.vocabulary import is_contract, is_inverse

__all__ = ["check_contract_support"]


def check_contract_support(symbol: str | None = None, market_type: str | None = None) -> None:
    """ConfigError for what is not supported yet: COIN-M (``market_type='delivery'``, or an
    inverse symbol such as ``BTC/USD:BTC``)."""
    inverse = symbol is not None and is_contract(symbol) and is_inverse(symbol)
    if market_type != "delivery" and not inverse:
        return
    what = f"{symbol}: " if inverse else "market_type='delivery': "
    raise ConfigError(
        f"{what}COIN-M (inverse, coin-settled) contracts are not supported yet",
        field="symbol" if inverse else "market_type",
        fix="trade the USDⓈ-M perpetual instead: market_type='future' and a symbol such as "
        "'BTC/USDT:USDT'",
    )
