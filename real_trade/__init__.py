"""real_trade: the live-trading extension of backtrader.

A backtrader strategy trades on Binance, Bybit, OKX or any ccxt exchange by swapping the
broker and the data feed: paper first (the default), then testnet, then real money. This
top-level module stays light: heavy libraries (backtrader, ccxt, pandas) are imported only by
the subpackages that need them.

Importing it also makes backtrader's own namespaces know real_trade's classes, as seed 004 shows:
``bt.stores.BinanceStore``, ``bt.brokers.BinanceBroker``, ``bt.feeds.BinanceData`` (and the Bybit,
OKX and generic ccxt ones), resolved on first use (see :mod:`real_trade.backtrader_names`).
"""

from real_trade import backtrader_names as _backtrader_names
from real_trade._version import __version__

_backtrader_names.install()

__all__ = ["__version__"]
