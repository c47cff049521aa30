"""Strategies shipped with real_trade: the samples the demo and the examples run.

They are plain backtrader strategies, so they run unchanged on backtrader's own broker, on the
paper broker and on a live or testnet exchange. :class:`RealTradeStrategyBase` is the seed's base
with stop-loss/take-profit checks and risk-based sizing; :class:`RsiReversion` is built on it.
"""

from real_trade.strategies.base import RealTradeStrategyBase
from real_trade.strategies.rsi_reversion import RsiReversion
from real_trade.strategies.sma_cross import SmaCross

__all__ = ["RealTradeStrategyBase", "RsiReversion", "SmaCross"]
