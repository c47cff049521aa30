"""Runnable examples at the paths the seed documents give them (``real_trade.examples``).

- :mod:`real_trade.examples.live_trading`: seed 001's complete trading system;
  ``from real_trade.examples.live_trading import main; main()`` runs it offline against the
  exchange simulator (``python -m real_trade.examples.live_trading --help``).
- :mod:`real_trade.examples.data_flow_demo`: seed 000's data-flow example (indicators, a
  ``DataFlowMixin`` strategy, the bus), offline (``python -m real_trade.examples.data_flow_demo``).
- :mod:`real_trade.examples.ai_trading_demo`: seed 000's AI example (``AIStrategy``), offline.
- :mod:`real_trade.examples.multi_asset_demo`: seed 000's multi-asset example (``df1``/``df2``
  and ``cerebro`` filled in with real candles), offline.

Seeds 000/001 also list ``hf_trading_demo.py`` here; it arrives with the module it
demonstrates. The scripts in the repository's ``examples/`` directory are the seed appendices'
other examples.
"""

__all__: list[str] = []
