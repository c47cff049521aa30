"""Seed 001/002 module path for ``BaseData`` (defined in ``real_trade.feeds``)."""

from real_trade.feeds import BaseData

__all__ = ["BaseData"]
