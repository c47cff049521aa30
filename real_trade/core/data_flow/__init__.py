"""real_trade.core.data_flow: the project's one data cache, indicators, and data pub/sub.

* :class:`DataCache` (:mod:`~real_trade.core.data_flow.cache`): LRU with TTL, thread-safe,
  hit/miss/eviction/expiration statistics; every in-memory cache of data in real_trade is one.
* :class:`DataProcessor` and :class:`TechnicalIndicatorsProcessor`
  (:mod:`~real_trade.core.data_flow.indicators`): SMA, EMA, RSI and Bollinger bands equal to
  backtrader's on the same data, cached by value.
* :class:`DataFlowManager` (:mod:`~real_trade.core.data_flow.manager`):
  ``calculate_technical_indicators(data_feed, ["sma_10", "rsi"])`` and publish/subscribe of
  data through :mod:`real_trade.bus`.
* :class:`DataFlowMixin` (:mod:`~real_trade.core.data_flow.mixin`): the same for a strategy.

Light to import: numpy is imported when an indicator is computed. See docs/data_flow.md.
"""

from real_trade.core.data_flow.cache import DataCache
from real_trade.core.data_flow.indicators import DataProcessor, TechnicalIndicatorsProcessor
from real_trade.core.data_flow.manager import DataEvent, DataFlowManager, parse_indicator
from real_trade.core.data_flow.mixin import DataFlowMixin

__all__ = [
    "DataCache",
    "DataEvent",
    "DataFlowManager",
    "DataFlowMixin",
    "DataProcessor",
    "TechnicalIndicatorsProcessor",
    "parse_indicator",
]
