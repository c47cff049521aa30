"""The seed's multi-asset feed: a ``PandasData`` that knows its asset, split and dividend adjusted.

Split adjustment divides every price before a split by its ratio and multiplies the volume by it;
dividend adjustment multiplies every price before an ex-date by ``1 - dividend / close`` (the
close of the last bar before the ex-date), the usual back-adjustment, so returns across the
event are the total return. Factors are taken from the raw prices and multiply.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import backtrader as bt
import pandas as pd

from real_trade.core.multi_asset.assets import AssetInfo
from real_trade.core.multi_asset.commission import MultiAssetCommissionInfo
from real_trade.errors import ConfigError

__all__ = ["MultiAssetData", "adjust_for_dividends", "adjust_for_splits"]

_PRICES = ("open", "high", "low", "close")


def adjust_for_splits(frame: pd.DataFrame, splits: Mapping[Any, float]) -> pd.DataFrame:
    """``frame`` with prices before each split divided by its ratio, volume multiplied by it.

    ``splits`` maps each split's first bar time to its ratio (2.0: two-for-one).
    """
    out = frame.copy()
    factor = pd.Series(1.0, index=out.index)
    for when, ratio in splits.items():
        if not ratio > 0:
            raise ConfigError(f"split ratio must be > 0, not {ratio!r}", field="splits")
        factor[out.index < _stamp(when, out.index)] /= float(ratio)
    for column in _columns(out, _PRICES):
        out[column] = out[column] * factor
    for column in _columns(out, ("volume",)):
        out[column] = out[column] / factor
    return out


def adjust_for_dividends(frame: pd.DataFrame, dividends: Mapping[Any, float]) -> pd.DataFrame:
    """``frame`` with prices before each ex-date times ``1 - dividend / previous close``."""
    out = frame.copy()
    close = _columns(out, ("close",))
    if not close:
        raise ConfigError("dividend adjustment needs a close column", field="dividends")
    factor = pd.Series(1.0, index=out.index)
    for when, amount in dividends.items():
        before = out.index < _stamp(when, out.index)
        if not before.any():
            continue
        previous = float(out.loc[before, close[0]].iloc[-1])
        if not 0 <= amount < previous:
            raise ConfigError(
                f"dividend {amount!r} on {when} is not in [0, previous close {previous})",
                field="dividends",
            )
        factor[before] *= 1.0 - float(amount) / previous
    for column in _columns(out, _PRICES):
        out[column] = out[column] * factor
    return out


class MultiAssetData(bt.feeds.PandasData):
    """A pandas feed with an ``asset_info``: ``MultiAssetData(dataname=df, name=, asset_info=)``.

    ``adjust_for_splits`` / ``adjust_for_dividends`` apply ``splits`` ({date: ratio}) and
    ``dividends`` ({ex-date: amount per share}) to the frame before backtrader reads it.

    On start the feed makes sure the broker prices it with its asset's terms. Backtrader looks a
    commission info up by the feed's *name*, so the seed's
    ``broker.addcommissioninfo(commission_info, data1)`` (keyed by the feed object) would be
    ignored: the feed moves such an entry under its name. A feed with no commission info of its
    own gets ``MultiAssetCommissionInfo(asset_info)`` (an ES future is then margined with its
    multiplier, not bought as a share).
    """

    params = (
        ("asset_info", None),
        ("adjust_for_splits", False),
        ("adjust_for_dividends", False),
        ("splits", None),
        ("dividends", None),
    )

    def __init__(self, **params: Any) -> None:
        # backtrader's metaclass has already taken the params (dataname, name, asset_info, ...)
        info = self.p.asset_info
        if not isinstance(info, AssetInfo):
            raise ConfigError(
                f"MultiAssetData needs an AssetInfo, not {type(info).__name__}",
                field="asset_info",
                fix="pass asset_info=create_stock_info(...) (or another create_*_info)",
            )
        self.asset_info: AssetInfo = info
        self.adjust_for_splits = bool(self.p.adjust_for_splits)
        self.adjust_for_dividends = bool(self.p.adjust_for_dividends)
        if self.adjust_for_splits and self.p.splits:
            self.p.dataname = adjust_for_splits(self.p.dataname, self.p.splits)
        if self.adjust_for_dividends and self.p.dividends:
            self.p.dataname = adjust_for_dividends(self.p.dataname, self.p.dividends)
        super().__init__()

    def start(self) -> None:
        """Start reading the frame, and register this asset's commission info with the broker."""
        super().start()
        self._attach_commission()

    def _attach_commission(self) -> None:
        broker = getattr(getattr(self, "_env", None), "broker", None)
        table = getattr(broker, "comminfo", None)
        if not isinstance(table, dict):
            return
        for key in list(table):
            if key is self:
                table[self._name] = table.pop(key)
        if self._name not in table:
            table[self._name] = MultiAssetCommissionInfo(self.asset_info)

    def get_contract_value(self, price: float, size: float) -> float:
        """The notional of ``size`` contracts at ``price`` (``AssetInfo.contract_value``)."""
        return self.asset_info.contract_value(price, size)

    def get_margin_requirement(self, price: float, size: float) -> float:
        """The margin ``size`` contracts at ``price`` hold (``AssetInfo.margin_requirement``)."""
        return self.asset_info.margin_requirement(price, size)


def _stamp(when: Any, index: pd.Index) -> Any:
    stamp = pd.Timestamp(when)
    tz = getattr(index, "tz", None)
    if tz is not None and stamp.tzinfo is None:
        return stamp.tz_localize(tz)
    if tz is None and stamp.tzinfo is not None:
        return stamp.tz_convert(None)
    return stamp


def _columns(frame: pd.DataFrame, names: tuple[str, ...]) -> list[str]:
    lowered = {str(c).lower(): c for c in frame.columns}
    return [lowered[n] for n in names if n in lowered]
