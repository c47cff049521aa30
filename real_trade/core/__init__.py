"""real_trade.core: the advanced modules of seed 000 a strategy author uses directly.

* :mod:`real_trade.core.data_flow`: the project's one data cache (``DataCache``), technical
  indicators equal to backtrader's, and publish/subscribe of data through the event bus.

Each is a face over the house's single mechanisms (one bus, one config, one risk engine, one
cache); import the module you need, nothing is imported here.
"""

__all__: list[str] = []
