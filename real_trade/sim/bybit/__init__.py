"""The Bybit v5 face of the simulator: REST ``/v5/...``, public and private websockets.

See :mod:`real_trade.sim.bybit.face` for how categories map onto the core.
"""

from real_trade.sim.bybit.face import BybitFace, ccxt_urls_for

__all__ = ["BybitFace", "ccxt_urls_for"]
