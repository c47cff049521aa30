"""Backtrader's commission scheme for one asset: its commission model and its margin.

:class:`MultiAssetCommissionInfo` is a ``bt.CommInfoBase`` built from an :class:`AssetInfo`: the
broker books cash, value and profit through backtrader's own rules, with ``mult`` the asset's
point value and, for a margined asset, the margin of :meth:`AssetInfo.margin_requirement`.
"""

from __future__ import annotations

from typing import Any

import backtrader as bt

from real_trade.core.multi_asset.assets import AssetInfo, CommissionKind, CommissionModel

__all__ = ["MultiAssetCommissionInfo", "commission_of"]


def commission_of(info: AssetInfo, size: float, price: float) -> float:
    """The commission of a fill of ``size`` at ``price`` under ``info``'s commission model.

    Per share / per contract: ``|size| * rate``; percentage: ``|size| * price * point_value *
    rate``; spread: half the spread on each fill, ``|size| * point_value * rate / 2``. Every
    kind is at least the model's minimum (a zero-size fill costs nothing).
    """
    model: CommissionModel = info.commission_model
    if size == 0:
        return 0.0
    units = abs(size)
    if model.kind in (CommissionKind.PER_SHARE, CommissionKind.PER_CONTRACT):
        fee = units * model.rate
    elif model.kind is CommissionKind.PERCENTAGE:
        fee = units * price * info.point_value * model.rate
    else:
        fee = units * info.point_value * model.rate / 2.0
    return max(fee, model.minimum)


class MultiAssetCommissionInfo(bt.CommInfoBase):
    """The seed's per-asset commission info: ``MultiAssetCommissionInfo(stock_info)``.

    A stock-like asset (paid in full) is ``stocklike``; a margined one (futures, forex, options,
    leveraged crypto) holds ``margin_rate * price * point_value`` per contract (``automargin``)
    and books profit times ``mult = point_value``.
    """

    def __init__(self, asset_info: AssetInfo, **kwargs: Any) -> None:
        self.asset_info = asset_info
        self.p.mult = asset_info.point_value
        self.p.stocklike = asset_info.stocklike
        self.p.commtype = bt.CommInfoBase.COMM_FIXED  # unused: _getcommission is ours
        if not asset_info.stocklike:
            self.p.automargin = asset_info.margin_rate * asset_info.point_value
        super().__init__()

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        """The commission of ``size`` at ``price`` (see :func:`commission_of`)."""
        return commission_of(self.asset_info, size, price)
