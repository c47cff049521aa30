"""Seed 000's advanced modules, each a face over the house's one bus, config, risk engine and cache.

* :mod:`~real_trade.core.multi_asset`: asset types and their contract, margin and commission
  models, a multi-asset feed, sizer and strategy base.
"""

__all__: list[str] = []
