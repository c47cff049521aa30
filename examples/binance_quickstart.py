"""Seed 000's quick start: a backtrader strategy on Binance with paper trading, offline.

The seed's code as written: ``BinanceStore.get_instance(...)`` on the testnet with placeholder
keys, ``BinanceBroker(store, paper_trading=True)`` (orders simulated locally against the live
prices) and ``BinanceData.from_timeframe_string("1h", ...)`` (history backfill, then closed
live hourly bars), with a strategy that buys when flat and sells when long, on every bar.

Offline: without RT_SIM_URL it starts the exchange simulator in this process (one printed line
says so) and every Binance client here talks to it on loopback.

    python examples/binance_quickstart.py --max-bars 3             # stop after 3 live bars
    python examples/binance_quickstart.py --max-bars 3 --stake 0.01
    python examples/binance_quickstart.py                          # until Ctrl-C, like the seed
"""

from __future__ import annotations

import sys

import _harness
import backtrader as bt

from real_trade.brokers import BinanceBroker
from real_trade.feeds import BinanceData
from real_trade.stores import BinanceStore


class MyStrategy(bt.Strategy):
    """The seed's strategy: buy when flat, sell when long, on every bar."""

    def next(self) -> None:
        """Alternate between entering and leaving the market."""
        if not self.position:
            self.buy()
        else:
            self.sell()


def main() -> int:
    """Run the seed's quick start against the simulator; 0 when the feed ended cleanly."""
    args = _harness.parse_args(__doc__, live=True)
    _harness.ensure_simulator(args.speed)

    # ---- seed 000, quick start, as written ----
    store = BinanceStore.get_instance(
        apikey="YOUR_API_KEY", secret="YOUR_SECRET", testnet=True, market_type="spot"
    )
    broker = BinanceBroker(store, paper_trading=True)
    data = BinanceData.from_timeframe_string("1h", store, symbol="BTC/USDT")

    cerebro = bt.Cerebro()
    cerebro.setbroker(broker)
    cerebro.adddata(data)
    cerebro.addstrategy(MyStrategy)
    _harness.watch(cerebro, args)  # not in the seed: progress, --max-bars, --stake, Ctrl-C
    cerebro.run()
    return _harness.exit_code(cerebro)


if __name__ == "__main__":
    sys.exit(main())
