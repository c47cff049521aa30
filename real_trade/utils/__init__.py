"""Utilities named by the seed documents: ``GlobalConfig``, ``setup_logger``, ``get_logger``.

Besides them, :func:`~real_trade.utils.secrets.plain_secret` unwraps a ``SecretStr`` credential.

``GlobalConfig`` is the seed's name for :class:`real_trade.config.RealTradeConfig` (the one config
system); it is imported on first use so that ``real_trade.config`` can itself use the logging
helpers here without an import cycle. Importing this package never imports ccxt or backtrader.
"""

from __future__ import annotations

import typing

from real_trade.utils.logger import get_logger, setup_logger
from real_trade.utils.secrets import plain_secret

if typing.TYPE_CHECKING:
    from real_trade.utils.config import GlobalConfig

__all__ = ["GlobalConfig", "get_logger", "plain_secret", "setup_logger"]


def __getattr__(name: str) -> typing.Any:
    """Import ``GlobalConfig`` lazily (PEP 562); any other unknown name is an AttributeError."""
    if name == "GlobalConfig":
        from real_trade.utils.config import GlobalConfig

        return GlobalConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
