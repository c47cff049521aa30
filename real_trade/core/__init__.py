"""The seed's advanced modules: :mod:`~real_trade.core.ai_trading` (ML-assisted strategies),
:mod:`~real_trade.core.multi_asset` (assets, commissions, sizing across asset types) and
:mod:`~real_trade.core.data_flow` (the data cache and indicator processing).

Nothing is imported here: each module is imported when used, so ``import real_trade`` stays light.
"""

__all__: list[str] = []
