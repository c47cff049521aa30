"""Seed 001/002 module path for ``BaseWebSocket`` (defined in ``real_trade.feeds``)."""

from real_trade.feeds import BaseWebSocket

__all__ = ["BaseWebSocket"]
