"""The seed's multi-asset strategy base: positions per asset, correlation, diversification, risk.

On every bar :meth:`MultiAssetStrategy.next` refreshes ``asset_positions`` (per feed: type, size,
price, signed notional, margin, weight of the portfolio value), the pairwise return
correlations (``correlation_matrix``, keys ``"A|B"``, names sorted), checks the
diversification limits (``diversification_breaches``; with ``enforce_diversification`` an asset
over its weight limit is cut back to it) and then calls :meth:`generate_signals`, the
subclass's hook.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import backtrader as bt
import numpy as np

from real_trade.core.multi_asset.assets import AssetInfo
from real_trade.core.multi_asset.sizer import asset_info_of

__all__ = ["Breach", "MultiAssetStrategy"]


@dataclass(frozen=True)
class Breach:
    """A diversification limit exceeded (``kind``: ``asset``, ``asset_type`` or ``correlation``)."""

    kind: str
    names: tuple[str, ...]
    value: float
    limit: float


class MultiAssetStrategy(bt.Strategy):
    """Base class of strategies trading several asset types; override :meth:`generate_signals`.

    Params: ``max_asset_weight`` (|notional| / portfolio value per asset), ``max_type_weight``
    (summed per asset type), ``max_correlation`` (two assets held the same way whose returns
    correlate above it are a breach), ``lookback`` (bars of returns for correlation and risk),
    ``enforce_diversification`` (cut an overweight asset back to its limit).
    """

    params: tuple[tuple[str, Any], ...] = (
        ("max_asset_weight", 0.5),
        ("max_type_weight", 0.8),
        ("max_correlation", 0.9),
        ("lookback", 20),
        ("enforce_diversification", False),
    )

    def __init__(self) -> None:
        self.asset_positions: dict[str, dict[str, Any]] = {}
        self.correlation_matrix: dict[str, float] = {}
        self.diversification_breaches: list[Breach] = []

    def next(self) -> None:
        """Refresh positions, correlations and limits, then :meth:`generate_signals`."""
        self._update_asset_positions()
        self._update_correlations()
        self._check_diversification()
        self.generate_signals()

    def generate_signals(self) -> None:
        """The subclass's trading logic, called once per bar after the bookkeeping."""

    def get_asset_info(self, data: Any) -> AssetInfo | None:
        """The feed's :class:`AssetInfo` (None for a feed that is not a MultiAssetData)."""
        return asset_info_of(data)

    def calculate_portfolio_risk(self) -> float:
        """The per-bar volatility of the portfolio's return: ``sqrt(w' S w)``.

        ``w`` is each asset's signed notional over the portfolio value, ``S`` the sample
        covariance of the assets' close-to-close returns over ``lookback`` bars. 0.0 when flat
        or with fewer than three returns.
        """
        value = float(self.broker.getvalue())
        returns, weights = [], []
        for data in self.datas:
            size = self.getposition(data).size
            if not size:
                continue
            series = self._returns(data)
            if len(series) < 3:
                return 0.0
            returns.append(series)
            weights.append(self._notional(data, size) / value)
        if not weights:
            return 0.0
        width = min(len(r) for r in returns)
        matrix = np.array([r[-width:] for r in returns])
        cov = np.atleast_2d(np.cov(matrix, ddof=1))
        w = np.array(weights)
        return float(math.sqrt(max(float(w @ cov @ w), 0.0)))

    def allowed_size(self, data: Any, size: float) -> float:
        """``size`` (signed) cut, in whole lots, so the asset stays within ``max_asset_weight``.

        A request that would only add to an asset already over its limit gets 0.
        """
        info = self.get_asset_info(data)
        point = info.point_value if info else 1.0
        lot = info.lot_size if info else 1.0
        cap = (
            self.p.max_asset_weight * float(self.broker.getvalue()) / (float(data.close[0]) * point)
        )
        held = self.getposition(data).size
        change = max(-cap, min(cap, held + size)) - held
        if change * size <= 0:
            return 0.0
        return math.copysign(math.floor(abs(change) / lot + 1e-9) * lot, change)

    def _update_asset_positions(self) -> None:
        value = float(self.broker.getvalue())
        for data in self.datas:
            info = self.get_asset_info(data)
            position = self.getposition(data)
            price = float(data.close[0])
            notional = self._notional(data, position.size)
            self.asset_positions[data._name] = {
                "asset_type": info.asset_type if info else None,
                "size": position.size,
                "price": price,
                "value": notional,
                "margin": info.margin_requirement(price, position.size) if info else abs(notional),
                "weight": notional / value if value else 0.0,
            }

    def _update_correlations(self) -> None:
        series = {data._name: self._returns(data) for data in self.datas}
        names = sorted(series)
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                width = min(len(series[first]), len(series[second]))
                if width < 3:
                    continue
                a, b = series[first][-width:], series[second][-width:]
                if np.std(a) == 0 or np.std(b) == 0:
                    continue
                self.correlation_matrix[f"{first}|{second}"] = float(np.corrcoef(a, b)[0, 1])

    def _check_diversification(self) -> None:
        breaches: list[Breach] = []
        by_type: dict[str, float] = {}
        for name, row in self.asset_positions.items():
            weight = abs(row["weight"])
            if weight > self.p.max_asset_weight:
                breaches.append(Breach("asset", (name,), weight, self.p.max_asset_weight))
            kind = str(row["asset_type"])
            by_type[kind] = by_type.get(kind, 0.0) + weight
        for kind, weight in sorted(by_type.items()):
            if weight > self.p.max_type_weight:
                breaches.append(Breach("asset_type", (kind,), weight, self.p.max_type_weight))
        for pair, corr in sorted(self.correlation_matrix.items()):
            first, second = pair.split("|")
            a = self.asset_positions.get(first, {}).get("size", 0)
            b = self.asset_positions.get(second, {}).get("size", 0)
            if a * b > 0 and corr > self.p.max_correlation:
                breaches.append(
                    Breach("correlation", (first, second), corr, self.p.max_correlation)
                )
        self.diversification_breaches = breaches
        if self.p.enforce_diversification:
            open_orders: list[Any] = getattr(self.broker, "get_orders_open", lambda: [])()
            pending = {order.data._name for order in open_orders}
            for breach in breaches:
                if breach.kind == "asset" and breach.names[0] not in pending:
                    self._cut_to_limit(self.getdatabyname(breach.names[0]))

    def _cut_to_limit(self, data: Any) -> None:
        info = self.get_asset_info(data)
        point = info.point_value if info else 1.0
        lot = info.lot_size if info else 1.0
        size = self.getposition(data).size
        cap = (
            self.p.max_asset_weight * float(self.broker.getvalue()) / (float(data.close[0]) * point)
        )
        target = math.copysign(math.floor(cap / lot) * lot, size)
        self.order_target_size(data, target=int(target) if lot >= 1 else target)

    def _returns(self, data: Any) -> list[float]:
        bars = min(self.p.lookback, len(data) - 1)
        closes = [float(data.close[-ago]) for ago in range(bars, -1, -1)]
        return [b / a - 1.0 for a, b in itertools.pairwise(closes) if a]

    def _notional(self, data: Any, size: float) -> float:
        info = self.get_asset_info(data)
        point = info.point_value if info else 1.0
        return size * float(data.close[0]) * point
