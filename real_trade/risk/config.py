"""The ``risk`` section of the one config system: pre-trade limits, global and per symbol.

:class:`LiveRiskConfig` is a :class:`real_trade.config.ConfigSection` (frozen, unknown fields
forbidden, errors as :class:`real_trade.errors.ConfigError` naming the field) and is the
``risk`` field of :class:`real_trade.config.RealTradeConfig`, so ``RT_RISK__MAX_ORDER_NOTIONAL``
and a ``[risk]`` table in the config file set it. Every limit is optional (``None`` = unchecked);
a limit equal to the value passes, only a value above it is refused. ``symbols`` maps a ccxt
symbol to :class:`SymbolRiskLimits` whose set fields override the global ones for that symbol.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator
from typing_extensions import Self

from real_trade.config.section import ConfigSection
from real_trade.config.sources import collect_layers
from real_trade.errors import ConfigError
from real_trade.vocabulary import split_symbol

__all__ = ["SYMBOL_LIMIT_FIELDS", "LiveRiskConfig", "SymbolRiskLimits"]

SYMBOL_LIMIT_FIELDS: tuple[str, ...] = (
    "max_order_amount",
    "max_order_notional",
    "max_position_amount",
    "max_position_notional",
    "max_leverage",
    "max_price_deviation",
    "min_liquidation_distance",
)
"""The limits that a per-symbol entry may override."""


def _check_positive(value: float | None) -> float | None:
    if value is not None and (not math.isfinite(value) or value <= 0):
        raise ValueError("must be a finite number greater than 0 (or unset for no limit)")
    return value


def _check_fraction(value: float | None) -> float | None:
    if value is not None and (not math.isfinite(value) or not 0 < value <= 1):
        raise ValueError("must be a fraction with 0 < value <= 1 (0.05 means 5%), or unset")
    return value


class SymbolRiskLimits(ConfigSection):
    """Per-order and per-position limits; on a symbol entry, set fields override the global ones.

    ``max_order_amount`` (base units) and ``max_order_notional`` (quote units) bound one order;
    ``max_position_amount``/``max_position_notional`` bound the absolute position after the
    order; ``max_leverage`` bounds position notional / equity after the order (and the account's
    leverage setting); ``max_price_deviation`` is the fat-finger guard: the largest fraction a
    limit price may differ from the last price; ``min_liquidation_distance`` (contracts) refuses
    an exposure-increasing order that would put the position's liquidation price closer to the
    mark than this fraction of it (0.1: at least 10% away).
    """

    _section_path: ClassVar[str] = "risk.symbols"

    max_order_amount: float | None = None
    max_order_notional: float | None = None
    max_position_amount: float | None = None
    max_position_notional: float | None = None
    max_leverage: float | None = None
    max_price_deviation: float | None = None
    min_liquidation_distance: float | None = None

    @field_validator(
        "max_order_amount",
        "max_order_notional",
        "max_position_amount",
        "max_position_notional",
        "max_leverage",
    )
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        return _check_positive(value)

    @field_validator("max_price_deviation", "min_liquidation_distance")
    @classmethod
    def _fraction(cls, value: float | None) -> float | None:
        return _check_fraction(value)


class LiveRiskConfig(SymbolRiskLimits):
    """The risk section: global limits, account thresholds, order rate and per-symbol overrides.

    Besides the :class:`SymbolRiskLimits` fields (here global), ``max_orders_per_second`` caps
    the order rate in any one-second window, ``min_free_quote`` is the free quote balance that an
    exposure-increasing order must leave, and ``max_margin_ratio`` (maintenance margin / margin
    balance, 1 = liquidation) refuses exposure-increasing orders at or above it. The circuit
    breaker in front of a broker opens after ``breaker_max_failures`` venue failures in a row
    (refusals, placement errors, user-data stream drops; unset: no breaker) and probes again
    after ``breaker_reset_timeout`` seconds. Use
    :meth:`limits_for` for the effective limits of a symbol; :meth:`load`/:meth:`save` read and
    write a standalone TOML/JSON file through the config system's readers.
    """

    _section_path: ClassVar[str] = "risk"

    max_orders_per_second: int | None = None
    min_free_quote: float | None = None
    max_margin_ratio: float | None = None
    breaker_max_failures: int | None = 5
    breaker_reset_timeout: float = 30.0
    symbols: dict[str, SymbolRiskLimits] = Field(default_factory=dict)

    @field_validator("breaker_max_failures")
    @classmethod
    def _failures(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError("must be an integer >= 1 (or unset for no circuit breaker)")
        return value

    @field_validator("breaker_reset_timeout")
    @classmethod
    def _timeout(cls, value: float) -> float:
        if not math.isfinite(value) or value < 0:
            raise ValueError("must be a finite number of seconds >= 0")
        return value

    @field_validator("max_orders_per_second")
    @classmethod
    def _rate(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError("must be an integer >= 1 (or unset for no limit)")
        return value

    @field_validator("min_free_quote")
    @classmethod
    def _non_negative(cls, value: float | None) -> float | None:
        if value is not None and (not math.isfinite(value) or value < 0):
            raise ValueError("must be a finite number >= 0 (or unset for no threshold)")
        return value

    @field_validator("max_margin_ratio")
    @classmethod
    def _margin(cls, value: float | None) -> float | None:
        return _check_fraction(value)

    @field_validator("symbols")
    @classmethod
    def _symbol_keys(cls, value: dict[str, SymbolRiskLimits]) -> dict[str, SymbolRiskLimits]:
        for key in value:
            base, quote = split_symbol(key)
            if not base or not quote:
                raise ValueError(
                    f"keys must be ccxt symbols BASE/QUOTE such as 'BTC/USDT', not {key!r}"
                )
        return value

    def limits_for(self, symbol: str) -> SymbolRiskLimits:
        """The effective limits for ``symbol``: its override where set, else the global value."""
        override = self.symbols.get(symbol)
        merged = {name: getattr(self, name) for name in SYMBOL_LIMIT_FIELDS}
        if override is not None:
            merged.update({k: v for k, v in override.model_dump().items() if v is not None})
        return SymbolRiskLimits(**merged)

    # ----------------------------------------------------------------- files
    @classmethod
    def load(
        cls,
        file: str | Path | None = None,
        *,
        env: dict[str, str] | None = None,
        env_prefix: str = "RT_RISK__",
        **overrides: Any,
    ) -> Self:
        """Load arguments > ``env`` (``RT_RISK__…``, only when given) > file > defaults.

        ``file`` is a ``.toml`` or ``.json`` file holding the section's keys at the top level
        (as :meth:`save` writes them); it is read by the config system's reader, so a missing
        file, bad syntax or an unknown key is a ConfigError naming the path or field.
        """
        overrides = {k: v for k, v in overrides.items() if v is not None}
        return cls._validate_from(*collect_layers(cls, file, None, env_prefix, env, overrides))

    def save(self, file: str | Path) -> Path:
        """Write the set fields to ``file`` (``.toml`` or ``.json`` by suffix); return its path."""
        path = Path(file).expanduser()
        data = self.model_dump(mode="json", exclude_none=True)
        suffix = path.suffix.lower()
        if suffix == ".json":
            text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        elif suffix == ".toml":
            text = _to_toml(data)
        else:
            raise ConfigError(
                f"cannot save the risk config to {path}: use a .toml or .json file name",
                fix=f"rename {path} to end in .toml or .json",
            )
        path.write_text(text, encoding="utf-8")
        return path


def _to_toml(data: dict[str, Any]) -> str:
    """A TOML text for the risk section: scalars first, then one table per symbol."""
    lines = [
        f"{key} = {json.dumps(value)}" for key, value in sorted(data.items()) if key != "symbols"
    ]
    for symbol, limits in sorted(data.get("symbols", {}).items()):
        lines.extend(["", f"[symbols.{json.dumps(symbol)}]"])
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in sorted(limits.items()))
    return "\n".join(lines) + "\n"
