"""Seed 001 module path for ``BinanceBroker`` (defined in ``real_trade.brokers``)."""

from real_trade.brokers import BinanceBroker

__all__ = ["BinanceBroker"]
