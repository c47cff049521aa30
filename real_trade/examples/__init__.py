"""Runnable examples at the paths the seed documents give them (``real_trade.examples``).

- :mod:`real_trade.examples.live_trading`: seed 001's complete trading system;
  ``from real_trade.examples.live_trading import main; main()`` runs it offline against the
  exchange simulator (``python -m real_trade.examples.live_trading --help``).
- :mod:`real_trade.examples.ai_trading_demo`: seed 000's AI example (``AIStrategy``), offline.

Seeds 000/001 also list ``hf_trading_demo.py`` and ``multi_asset_demo.py`` here; they arrive
with the modules they demonstrate. The scripts in the
repository's ``examples/`` directory are the seed appendices' other examples.
"""

__all__: list[str] = []
