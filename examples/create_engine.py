"""Seed 001's one-call setup: ``create_binance_engine`` returns store, broker and data feed.

The seed's code as written: ``create_binance_engine(...)`` with placeholder testnet keys, paper
trading on and ``backtest=False`` (history backfill, then closed live hourly bars of BTC/USDT),
and the same buy-when-flat, sell-when-long strategy as the quick start.

Offline: without RT_SIM_URL it starts the exchange simulator in this process (one printed line
says so) and every Binance client here talks to it on loopback.

    python examples/create_engine.py --max-bars 3 --stake 0.01
    python examples/create_engine.py                  # until Ctrl-C, like the seed
"""

from __future__ import annotations

import sys

import _harness
import backtrader as bt

from real_trade.binance import create_binance_engine


class MyStrategy(bt.Strategy):
    """The seed's strategy: buy when flat, sell when long, on every bar."""

    def next(self) -> None:
        """Alternate between entering and leaving the market."""
        if not self.position:
            self.buy()
        else:
            self.sell()


def main() -> int:
    """Run the seed's engine factory example against the simulator; 0 on a clean end."""
    args = _harness.parse_args(__doc__, live=True)
    _harness.ensure_simulator(args.speed)

    # ---- seed 001, create_binance_engine, as written ----
    store, broker, data = create_binance_engine(
        apikey="YOUR_API_KEY",
        secret="YOUR_SECRET",
        symbol="BTC/USDT",
        timeframe="1h",
        testnet=True,
        paper_trading=True,
        backtest=False,
        market_type="spot",
    )

    print(f"engine: {store!r}")  # not in the seed: shows the store (the key is masked)

    cerebro = bt.Cerebro()
    cerebro.setbroker(broker)
    cerebro.adddata(data)
    cerebro.addstrategy(MyStrategy)
    _harness.watch(cerebro, args)  # not in the seed: progress, --max-bars, --stake, Ctrl-C
    cerebro.run()
    return _harness.exit_code(cerebro)


if __name__ == "__main__":
    sys.exit(main())
