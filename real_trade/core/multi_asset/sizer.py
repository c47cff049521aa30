"""The seed's multi-asset sizer: per-asset-type risk settings, sized on the average true range.

A trade risks ``risk_per_trade`` of the portfolio value on a stop ``atr_multiplier`` ATRs away,
so ``size = value * risk_per_trade / (ATR * atr_multiplier * point_value)``, capped so the
capital it commits (its margin, or its notional when paid in full) stays within
``max_position_pct`` of the value and within the cash, and rounded down to the asset's lot.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import backtrader as bt

from real_trade.core.multi_asset.assets import AssetInfo, AssetType, parse_asset_type
from real_trade.errors import ConfigError

__all__ = ["DEFAULT_ASSET_CONFIGS", "MultiAssetSizer", "asset_info_of"]

#: Each asset type's sizing settings; ``set_asset_config`` overrides them key by key.
DEFAULT_ASSET_CONFIGS: dict[AssetType, dict[str, float]] = {
    AssetType.STOCK: {
        "risk_per_trade": 0.02,
        "atr_period": 14,
        "atr_multiplier": 2.0,
        "max_position_pct": 0.2,
    },
    AssetType.FUTURE: {
        "risk_per_trade": 0.01,
        "atr_period": 14,
        "atr_multiplier": 2.5,
        "max_position_pct": 0.3,
    },
    AssetType.OPTION: {
        "risk_per_trade": 0.01,
        "atr_period": 14,
        "atr_multiplier": 1.5,
        "max_position_pct": 0.05,
    },
    AssetType.FOREX: {
        "risk_per_trade": 0.01,
        "atr_period": 14,
        "atr_multiplier": 2.0,
        "max_position_pct": 0.3,
    },
    AssetType.CRYPTO: {
        "risk_per_trade": 0.02,
        "atr_period": 14,
        "atr_multiplier": 3.0,
        "max_position_pct": 0.2,
    },
    AssetType.BOND: {
        "risk_per_trade": 0.01,
        "atr_period": 14,
        "atr_multiplier": 2.0,
        "max_position_pct": 0.3,
    },
}


def asset_info_of(data: Any) -> AssetInfo | None:
    """The ``asset_info`` of a feed (a :class:`MultiAssetData`), or None for a plain feed."""
    info = getattr(data, "asset_info", None)
    return info if isinstance(info, AssetInfo) else None


class MultiAssetSizer(bt.Sizer):
    """ATR-risk sizing with settings per :class:`AssetType` (``asset_configs``).

    A feed without an ``asset_info`` is sized as a stock with the commission info's ``mult``.
    """

    params = (("asset_configs", None),)

    def __init__(self) -> None:
        self.asset_configs: dict[AssetType, dict[str, float]] = {
            kind: dict(config) for kind, config in DEFAULT_ASSET_CONFIGS.items()
        }
        for kind, config in (self.p.asset_configs or {}).items():
            self.set_asset_config(kind, config)

    def set_asset_config(self, asset_type: AssetType | str, config: Mapping[str, float]) -> None:
        """Override some of ``asset_type``'s settings (unknown keys and bad values: ConfigError)."""
        kind = parse_asset_type(asset_type)
        merged = dict(self.asset_configs[kind])
        for key, value in config.items():
            if key not in merged:
                raise ConfigError(
                    f"unknown sizing setting {key!r}",
                    field=f"asset_configs.{kind}",
                    fix=f"use {', '.join(sorted(merged))}",
                )
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ConfigError(
                    f"{key} must be a positive number, not {value!r}",
                    field=f"asset_configs.{kind}.{key}",
                )
            if key in ("risk_per_trade", "max_position_pct") and value > 1:
                raise ConfigError(
                    f"{key} is a fraction of the portfolio, not {value!r}",
                    field=f"asset_configs.{kind}.{key}",
                    fix="e.g. 0.02 for 2%",
                )
            merged[key] = float(value)
        self.asset_configs[kind] = merged

    def _getsizing(self, comminfo: Any, cash: float, data: Any, isbuy: bool) -> float:
        """The size of a new trade in ``data`` (0 until an ATR is known)."""
        info = asset_info_of(data)
        kind = info.asset_type if info else AssetType.STOCK
        config = self.asset_configs[kind]
        atr = self._calculate_atr(data, int(config["atr_period"]))
        price = float(data.close[0])
        if atr <= 0 or price <= 0:
            return 0
        point = info.point_value if info else float(comminfo.p.mult)
        capital_per_unit = info.margin_requirement(price, 1) if info else price * point
        value = float(self.broker.getvalue())
        by_risk = value * config["risk_per_trade"] / (atr * config["atr_multiplier"] * point)
        by_weight = value * config["max_position_pct"] / capital_per_unit
        by_cash = max(cash, 0.0) / capital_per_unit
        lot = info.lot_size if info else 1.0
        size = math.floor(min(by_risk, by_weight, by_cash) / lot + 1e-9) * lot
        return int(size) if lot >= 1 else round(size, 12)

    @staticmethod
    def _calculate_atr(data: Any, period: int) -> float:
        """The mean true range of ``data``'s last ``period`` bars (fewer while history is short)."""
        bars = min(period, len(data) - 1)
        if bars < 1:
            return 0.0
        total = 0.0
        for ago in range(bars):
            high, low = float(data.high[-ago]), float(data.low[-ago])
            previous = float(data.close[-ago - 1])
            total += max(high - low, abs(high - previous), abs(low - previous))
        return total / bars
