"""Seed 004's live example: an SMA(15) strategy on ``store.getdata(dataname="BTCUSDT")``.

The seed's code as written: ``bt.stores.BinanceStore(...)`` with placeholder keys and
``testnet=False``, a feed from ``store.getdata(dataname="BTCUSDT")`` (backtrader's default
timeframe: daily bars; history backfill, then closed live bars) and backtrader's own broker
(a local paper broker: setcash, setcommission), buying 0.001 BTC above the SMA and selling it
below. Installing real_trade is what makes ``bt.stores.BinanceStore`` exist (a startup hook).

Offline: without RT_SIM_URL it starts the exchange simulator in this process (one printed line
says so), with 40 days of history so that the SMA(15) has bars to warm up on, at 14,400 times
real time by default (a market day every 6 seconds). With the real exchange (no simulator) it
needs real keys, as the seed says; against the simulator public data needs none.

    python examples/backtrader_live.py --max-bars 2
    python examples/backtrader_live.py            # until Ctrl-C, like the seed
"""

from __future__ import annotations

import sys

import _harness
import backtrader as bt  # installing real_trade gives it bt.stores.BinanceStore & co.


class MyStrategy(bt.Strategy):
    """The seed's strategy: long 0.001 above the 15-bar SMA, flat below it."""

    def __init__(self) -> None:
        """The 15-bar simple moving average of the close."""
        self.sma = bt.indicators.SimpleMovingAverage(self.data, period=15)

    def next(self) -> None:
        """Buy above the average when flat, sell below it when long."""
        if not self.position:
            if self.data.close[0] > self.sma[0]:
                self.buy(size=0.001)
        else:
            if self.data.close[0] < self.sma[0]:
                self.sell(size=0.001)


def main() -> int:
    """Run the seed's live example against the simulator; 0 when the feed ended cleanly."""
    args = _harness.parse_args(__doc__, live=True, default_speed=14_400.0)
    _harness.ensure_simulator(args.speed, history_days=40)

    # ---- seed 004, live trading, as written ----
    cerebro = bt.Cerebro()

    store = bt.stores.BinanceStore(
        apikey="YOUR_REAL_API_KEY",
        secret="YOUR_REAL_SECRET",
        testnet=False,
    )

    data = store.getdata(dataname="BTCUSDT")
    cerebro.adddata(data)
    cerebro.addstrategy(MyStrategy)

    cerebro.broker.setcash(10000.0)
    cerebro.broker.setcommission(0.001)

    _harness.watch(cerebro, args)  # not in the seed: progress, --max-bars, Ctrl-C
    cerebro.run()
    return _harness.exit_code(cerebro)


if __name__ == "__main__":
    sys.exit(main())
