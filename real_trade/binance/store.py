"""Seed 001 module path for ``BinanceStore`` (defined in ``real_trade.stores``)."""

from real_trade.stores import BinanceStore

__all__ = ["BinanceStore"]
