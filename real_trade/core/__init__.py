"""Seed 000's advanced modules, each a face over the house's one bus, config, risk engine and cache.

* :mod:`~real_trade.core.ai_trading`: ML-assisted strategies (``[ai]`` extra: scikit-learn).
* :mod:`~real_trade.core.multi_asset`: asset types and their contract, margin and commission
  models, a multi-asset feed, sizer and strategy base.
* :mod:`~real_trade.core.data_flow`: the project's one data cache (``DataCache``), technical
  indicators equal to backtrader's, and publish/subscribe of data through the event bus.

Import the module you need; nothing is imported here (``import real_trade.core`` stays light).
"""

__all__: list[str] = []
