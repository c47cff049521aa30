"""Seed 001/002 module path for ``BaseStore`` (defined in ``real_trade.stores``)."""

from real_trade.stores import BaseStore

__all__ = ["BaseStore"]
