"""The store layer: one connection manager per venue account (seed 000's ``stores/``).

:class:`BaseStore` holds the venue client and answers the seed's queries through plain classes
(:mod:`~real_trade.stores.registry`, :mod:`~real_trade.stores.connection`,
:class:`~real_trade.stores.account.AccountView`); :class:`BinanceStore`,
:class:`BybitStore` and :class:`OKXStore` only name their venue, and :class:`CCXTStore` serves any
other ccxt exchange by id. ``get_instance(...)`` returns one shared store per (class, key, testnet,
market type, simulator); ``getdata``/``getbroker`` build the feed and broker on it.
"""

from real_trade.stores.basestore import BaseStore
from real_trade.stores.binancestore import BinanceStore
from real_trade.stores.bybitstore import BybitStore
from real_trade.stores.ccxtstore import CCXTStore
from real_trade.stores.okxstore import OKXStore

__all__ = ["BaseStore", "BinanceStore", "BybitStore", "CCXTStore", "OKXStore"]
