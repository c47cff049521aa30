"""The seeds' ``create_engine``: store, broker and data for a venue, with the safe defaults.

``create_engine("binance", ...)`` builds the three backtrader layers for any venue (paper
trading on); ``real_trade.binance.create_binance_engine`` and its Bybit/OKX twins are this
function with the venue filled in. It is a face over the one factory,
:func:`real_trade.engine.factory.build_components`: the arguments become a
:class:`~real_trade.config.RealTradeConfig` (checked as the config system checks them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["create_engine"]


def create_engine(
    exchange: str,
    apikey: str | SecretStr | None = None,
    secret: str | SecretStr | None = None,
    symbol: str = "BTC/USDT",
    timeframe: str = "1h",
    testnet: bool = False,
    paper_trading: bool = True,
    backtest: bool = False,
    market_type: str = "spot",
    *,
    passphrase: str | SecretStr | None = None,
    **kwargs: Any,
) -> tuple[Any, Any, Any]:
    """Return ``(store, broker, data)`` for ``exchange``, ready for ``cerebro``.

    The store is the shared instance for these credentials (``get_instance``; it gets the keys
    even for paper trading); the broker trades on paper unless ``paper_trading=False``; the
    data feed delivers ``timeframe`` bars of ``symbol``: history only when ``backtest=True``,
    else history then live bars. Keys may be plain strings or ``SecretStr`` (as
    ``GlobalConfig`` holds them). Extra keyword arguments go to the data feed (``fromdate``,
    ``todate``, ``history_bars`` ...). A bad argument raises ConfigError naming it.
    """
    from real_trade.config import RealTradeConfig
    from real_trade.engine.factory import build_components

    config = RealTradeConfig(
        exchange=exchange,
        apikey=apikey,
        secret=secret,
        passphrase=passphrase,
        symbol=symbol,
        timeframe=timeframe,
        testnet=testnet,
        paper_trading=paper_trading,
        market_type=market_type,
    )
    parts = build_components(
        config,
        shared_store=True,
        store_keys=True,
        feed_options={"historical": backtest, **kwargs},
    )
    return parts.store, parts.broker, parts.datas[0]
