"""Seed 004's backtest: real_trade's classes under backtrader's own names, daily history.

The seed's code as written: ``bt.stores.BinanceStore(apikey="", secret="", testnet=True)`` (no
keys: history is public), ``bt.feeds.BinanceData(..., timeframe=bt.TimeFrame.Days,
compression=1, historical=True)`` and backtrader's own broker with 10,000 cash and a 0.1%
commission. Installing real_trade makes ``bt.stores.BinanceStore`` and friends exist.
The seed leaves the strategy out; this script fills in the SMA(15) strategy of the seed's live
example (long 0.001 BTC above the average, flat below it) and prints the final portfolio value,
as backtrader's own quick start does.

Offline: without RT_SIM_URL it starts the exchange simulator in this process (one printed line
says so), whose synthetic market has more than three years of history (the feed backtests its
last 1,000 days).

    python examples/backtrader_backtest.py
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
    """Run the seed's backtest over the simulator's daily history; 0 on success."""
    args = _harness.parse_args(__doc__, live=False)
    _harness.ensure_simulator(args.speed, history_days=60, tick_ms=60_000)

    # ---- seed 004, backtest, as written ----
    cerebro = bt.Cerebro()

    store = bt.stores.BinanceStore(
        apikey="",
        secret="",
        testnet=True,
    )

    data = bt.feeds.BinanceData(
        store,
        symbol="BTC/USDT",
        timeframe=bt.TimeFrame.Days,
        compression=1,
        historical=True,
    )

    cerebro.adddata(data)
    cerebro.addstrategy(MyStrategy)  # not in the seed, which leaves the strategy out

    cerebro.broker.setcash(10000.0)
    cerebro.broker.setcommission(commission=0.001)

    _harness.watch(cerebro)  # not in the seed: counts the bars, prints the summary
    cerebro.run()
    print(f"Final portfolio value: {cerebro.broker.getvalue():.2f}")
    return _harness.exit_code(cerebro)


if __name__ == "__main__":
    sys.exit(main())
