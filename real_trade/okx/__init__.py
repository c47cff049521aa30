"""Seed convenience face for OKX: ``create_okx_engine`` and the OKX classes in one place.

``create_okx_engine(apikey, secret, symbol, timeframe, testnet, paper_trading, backtest,
market_type)`` returns ``(store, broker, data)``; the classes themselves live in
``real_trade.stores``, ``real_trade.brokers`` and ``real_trade.feeds`` and are re-exported here
(no second implementation).
"""

from __future__ import annotations

import typing

from real_trade.brokers import OKXBroker
from real_trade.common.engine_factory import create_engine as _create_engine
from real_trade.feeds import OKXData
from real_trade.stores import OKXStore

__all__ = ["OKXBroker", "OKXData", "OKXStore", "create_okx_engine"]


def create_okx_engine(
    apikey: str | None = None,
    secret: str | None = None,
    symbol: str = "BTC/USDT",
    timeframe: str = "1h",
    testnet: bool = False,
    paper_trading: bool = True,
    backtest: bool = False,
    market_type: str = "spot",
    **kwargs: typing.Any,
) -> tuple[OKXStore, OKXBroker, OKXData]:
    """Build ``(store, broker, data)`` for OKX; paper trading unless ``paper_trading=False``.

    See :func:`real_trade.common.engine_factory.create_engine` for the parameters.
    """
    store, broker, data = _create_engine(
        "okx",
        apikey,
        secret,
        symbol=symbol,
        timeframe=timeframe,
        testnet=testnet,
        paper_trading=paper_trading,
        backtest=backtest,
        market_type=market_type,
        **kwargs,
    )
    return store, broker, data
