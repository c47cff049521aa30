"""The one config system: :class:`RealTradeConfig` and its sections.

``settings`` holds :class:`RealTradeConfig` (flat seed fields plus the sections), ``section``
the frozen base every section derives from (:class:`ConfigSection`), ``sources`` the layers
(arguments > ``RT_…`` environment > TOML/JSON file > defaults), ``messages`` one readable
:class:`~real_trade.errors.ConfigError` per validation failure (secrets masked) and ``metrics``
the ``[metrics]`` section, ``derivatives`` the ``[derivatives]`` section (leverage and margin
mode per contract). The names below resolve on first use, so that the sections of other
packages (``risk``, ``notifications``) can import :mod:`real_trade.config.section` while
:mod:`real_trade.config.settings` imports them.
"""

from __future__ import annotations

import importlib
import typing

if typing.TYPE_CHECKING:
    from real_trade.config.api import ApiConfig
    from real_trade.config.derivatives import ContractSettings, DerivativesConfig
    from real_trade.config.metrics import DEFAULT_METRICS_PORT, MetricsConfig
    from real_trade.config.section import ConfigSection
    from real_trade.config.settings import (
        MARKET_TYPES,
        PROCESS_ENV_VARS,
        SECRET_MASK,
        SIM_URL_ENV,
        TIMEFRAMES,
        HistoryConfig,
        JournalConfig,
        LoggingConfig,
        RealTradeConfig,
        RunConfig,
    )

__all__ = [
    "DEFAULT_METRICS_PORT",
    "MARKET_TYPES",
    "PROCESS_ENV_VARS",
    "SECRET_MASK",
    "SIM_URL_ENV",
    "TIMEFRAMES",
    "ApiConfig",
    "ConfigSection",
    "ContractSettings",
    "DerivativesConfig",
    "HistoryConfig",
    "JournalConfig",
    "LoggingConfig",
    "MetricsConfig",
    "RealTradeConfig",
    "RunConfig",
]

_HOMES = {
    "ApiConfig": "api",
    "ConfigSection": "section",
    "MetricsConfig": "metrics",
    "DEFAULT_METRICS_PORT": "metrics",
    "ContractSettings": "derivatives",
    "DerivativesConfig": "derivatives",
}


def __getattr__(name: str) -> typing.Any:
    if name not in __all__:
        raise AttributeError(f"module 'real_trade.config' has no attribute {name!r}")
    module = importlib.import_module(f"real_trade.config.{_HOMES.get(name, 'settings')}")
    value = getattr(module, name)
    globals()[name] = value
    return value
