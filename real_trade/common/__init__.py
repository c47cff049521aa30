"""Seed 001/002 names: the base classes under ``real_trade.common`` (thin re-exports).

``BaseStore``, ``BaseBroker``, ``BaseData`` and ``BaseWebSocket`` live in ``real_trade.stores``,
``real_trade.brokers`` and ``real_trade.feeds``; this package only names them where the earlier
design documents put them, plus the one engine factory behind ``create_<exchange>_engine``.
"""

from real_trade.brokers import BaseBroker
from real_trade.common.engine_factory import create_engine
from real_trade.feeds import BaseData, BaseWebSocket
from real_trade.stores import BaseStore

__all__ = ["BaseBroker", "BaseData", "BaseStore", "BaseWebSocket", "create_engine"]
