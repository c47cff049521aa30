"""The small concepts every layer shares: order sides and kinds, clocks, symbol ids.

One definition each, in a leaf package (it imports nothing of the project), so the simulator,
execution, feeds, risk and the engine can all use it without an import cycle:

* :mod:`~real_trade.vocabulary.orders`: :class:`OrderSide` (ccxt's ``buy``/``sell``) and
  :class:`OrderKind` (backtrader's execution types).
* :mod:`~real_trade.vocabulary.clock`: the :class:`Clock` protocol (seconds and epoch ms, and an
  interruptible wait) and :class:`SystemClock`; the simulator's
  :class:`~real_trade.sim.clock.SimClock` (real, accelerated or stepped) satisfies it too.
* :mod:`~real_trade.vocabulary.symbols`: unified symbols (``BTC/USDT``, ``BTC/USDT:USDT``) split
  into assets and turned into each venue's id.
"""

from real_trade.vocabulary.clock import Clock, SystemClock
from real_trade.vocabulary.orders import OrderKind, OrderSide
from real_trade.vocabulary.symbols import (
    base_asset,
    is_contract,
    is_inverse,
    joined_symbol_id,
    okx_inst_id,
    quote_asset,
    split_symbol,
)

__all__ = [
    "Clock",
    "OrderKind",
    "OrderSide",
    "SystemClock",
    "base_asset",
    "is_contract",
    "is_inverse",
    "joined_symbol_id",
    "okx_inst_id",
    "quote_asset",
    "split_symbol",
]
