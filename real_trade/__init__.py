"""real_trade: the live-trading extension of backtrader.

A backtrader strategy trades on Binance, Bybit, OKX or any ccxt exchange by swapping the
broker and the data feed: paper first (the default), then testnet, then real money. This
top-level module stays light: heavy libraries (backtrader, ccxt, pandas) are imported only by
the subpackages that need them.
"""

from real_trade._version import __version__

__all__ = ["__version__"]
