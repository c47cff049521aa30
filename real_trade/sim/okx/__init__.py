"""The OKX v5 face of the simulator: REST ``/api/v5/...`` and the v5 websockets.

See :mod:`real_trade.sim.okx.face`.
"""

from real_trade.sim.okx.face import OKXFace, ccxt_urls_for

__all__ = ["OKXFace", "ccxt_urls_for"]
