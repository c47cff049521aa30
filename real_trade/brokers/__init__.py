"""The broker layer: backtrader brokers for paper and live trading (seed 000's ``brokers/``).

:class:`BaseBroker` is a thin ``bt.BrokerBase`` shim over a
:class:`~real_trade.session.TradingSession` (order manager, paper or live execution, positions,
journal, risk gate, reconciliation, kill switch); :class:`BinanceBroker`, :class:`BybitBroker`,
:class:`OKXBroker` and :class:`CCXTBroker` only name their venue.
"""

from real_trade.brokers.basebroker import BaseBroker
from real_trade.brokers.venuebrokers import BinanceBroker, BybitBroker, CCXTBroker, OKXBroker

__all__ = ["BaseBroker", "BinanceBroker", "BybitBroker", "CCXTBroker", "OKXBroker"]
