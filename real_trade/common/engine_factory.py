"""One factory behind the seeds' ``create_<exchange>_engine`` functions: store, broker, data.

``create_engine("binance", ...)`` builds the three backtrader layers for any venue with the safe
defaults (paper trading on); ``real_trade.binance.create_binance_engine`` and its Bybit/OKX twins
are this function with the venue filled in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["create_engine"]

# venue -> (store, broker, data) class names; any other ccxt id uses the generic CCXT classes.
_CLASS_NAMES: dict[str, tuple[str, str, str]] = {
    "binance": ("BinanceStore", "BinanceBroker", "BinanceData"),
    "bybit": ("BybitStore", "BybitBroker", "BybitData"),
    "okx": ("OKXStore", "OKXBroker", "OKXData"),
}
_GENERIC = ("CCXTStore", "CCXTBroker", "CCXTData")


def _classes_for(exchange: str) -> tuple[Any, Any, Any]:
    import real_trade.brokers as brokers
    import real_trade.feeds as feeds
    import real_trade.stores as stores

    store_name, broker_name, data_name = _CLASS_NAMES.get(exchange.strip().lower(), _GENERIC)
    return getattr(stores, store_name), getattr(brokers, broker_name), getattr(feeds, data_name)


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
    passphrase: str | None = None,
    **kwargs: Any,
) -> tuple[Any, Any, Any]:
    """Return ``(store, broker, data)`` for ``exchange``, ready for ``cerebro``.

    The store is the shared instance for these credentials (``get_instance``); the broker trades
    on paper unless ``paper_trading=False``; the data feed delivers ``timeframe`` bars of
    ``symbol``: history only when ``backtest=True``, else history then live bars. Keys may be
    plain strings or ``SecretStr`` (as ``GlobalConfig`` holds them). Extra keyword arguments go
    to the data feed (``fromdate``, ``todate``, ...).
    """
    store_cls, broker_cls, data_cls = _classes_for(exchange)
    store_kwargs: dict[str, Any] = {"market_type": market_type}
    if passphrase is not None:
        store_kwargs["passphrase"] = passphrase
    if exchange.strip().lower() not in _CLASS_NAMES:
        store_kwargs["exchange"] = exchange
    store = store_cls.get_instance(apikey=apikey, secret=secret, testnet=testnet, **store_kwargs)
    broker = broker_cls(store, paper_trading=paper_trading)
    data = data_cls.from_timeframe_string(
        timeframe, store, symbol=symbol, historical=backtest, **kwargs
    )
    return store, broker, data
