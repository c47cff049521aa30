"""Seed 001 module path for ``BinanceData`` (defined in ``real_trade.feeds``)."""

from real_trade.feeds import BinanceData

__all__ = ["BinanceData"]
