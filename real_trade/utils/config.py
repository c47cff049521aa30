"""The seed's configuration face: ``GlobalConfig`` is :class:`real_trade.config.RealTradeConfig`.

The seed documents construct ``GlobalConfig(exchange=..., apikey=..., ...)`` and load it with
``GlobalConfig.from_env("RT_")``, ``GlobalConfig.from_json(path)`` (and ``from_toml``); all of
these are the main config's own methods, so the seed face and the project config cannot drift.
"""

from __future__ import annotations

from real_trade.config import RealTradeConfig

__all__ = ["GlobalConfig"]

GlobalConfig = RealTradeConfig
"""The seed's name for :class:`real_trade.config.RealTradeConfig` (an alias, not a copy)."""
