"""Multi-asset trading (seed 000's ``real_trade.core.multi_asset``).

Stocks, futures, options, forex, crypto and bonds under one set of classes:

* :mod:`.assets`: :class:`AssetType`, :class:`OptionType`, :class:`AssetInfo` (contract size,
  multiplier, margin rate, lot, commission model) and the ``create_*_info`` helpers.
* :mod:`.markets`: :func:`asset_info_from_market`, a crypto venue's ccxt market (spot, linear
  perpetual or future, option) as an AssetInfo.
* :mod:`.data`: :class:`MultiAssetData` (a ``PandasData`` with its asset: contract value, margin
  requirement, split and dividend adjustment).
* :mod:`.commission`: :class:`MultiAssetCommissionInfo` (a ``bt.CommInfoBase``: per share with a
  minimum, per contract, percentage of notional, forex spread; margin from the AssetInfo).
* :mod:`.sizer`: :class:`MultiAssetSizer` (settings per asset type, ATR-risk sizing).
* :mod:`.strategy`: :class:`MultiAssetStrategy` (positions per asset, correlations,
  diversification limits, :meth:`~MultiAssetStrategy.calculate_portfolio_risk`).
"""

from real_trade.core.multi_asset.assets import (
    DEFAULT_COMMISSIONS,
    AssetInfo,
    AssetType,
    CommissionKind,
    CommissionModel,
    OptionType,
    create_bond_info,
    create_crypto_info,
    create_forex_info,
    create_future_info,
    create_option_info,
    create_stock_info,
)
from real_trade.core.multi_asset.commission import MultiAssetCommissionInfo, commission_of
from real_trade.core.multi_asset.data import (
    MultiAssetData,
    adjust_for_dividends,
    adjust_for_splits,
)
from real_trade.core.multi_asset.markets import asset_info_from_market
from real_trade.core.multi_asset.sizer import DEFAULT_ASSET_CONFIGS, MultiAssetSizer, asset_info_of
from real_trade.core.multi_asset.strategy import Breach, MultiAssetStrategy

__all__ = [
    "DEFAULT_ASSET_CONFIGS",
    "DEFAULT_COMMISSIONS",
    "AssetInfo",
    "AssetType",
    "Breach",
    "CommissionKind",
    "CommissionModel",
    "MultiAssetCommissionInfo",
    "MultiAssetData",
    "MultiAssetSizer",
    "MultiAssetStrategy",
    "OptionType",
    "adjust_for_dividends",
    "adjust_for_splits",
    "asset_info_from_market",
    "asset_info_of",
    "commission_of",
    "create_bond_info",
    "create_crypto_info",
    "create_forex_info",
    "create_future_info",
    "create_option_info",
    "create_stock_info",
]
