"""Strategies shipped with real_trade: the samples the demo and the examples run.

They are plain backtrader strategies, so they run unchanged on backtrader's own broker, on the
paper broker and on a live or testnet exchange.
"""

from real_trade.strategies.sma_cross import SmaCross

__all__ = ["SmaCross"]
