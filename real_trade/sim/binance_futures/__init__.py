"""The Binance USDⓈ-M futures face of the simulator (``/fapi``, linear perpetuals).

See :mod:`~real_trade.sim.binance_futures.face` for how it is served beside the spot face.
"""

from real_trade.sim.binance_futures.face import BinanceFuturesFace

__all__ = ["BinanceFuturesFace"]
