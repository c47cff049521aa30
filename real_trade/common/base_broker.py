"""Seed 001/002 module path for ``BaseBroker`` (defined in ``real_trade.brokers``)."""

from real_trade.brokers import BaseBroker

__all__ = ["BaseBroker"]
