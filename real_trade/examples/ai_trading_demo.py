"""Seed 000's AI trading example, as written, on candles it can always find offline.

The seed's code::

    from real_trade.core.ai_trading import AIStrategy
    import backtrader as bt

    # 创建AI增强策略
    cerebro = bt.Cerebro()
    cerebro.addstrategy(
        AIStrategy,
        enable_ai=True,
        confidence_threshold=0.6,
        training_period=100
    )

:func:`main` runs exactly that and adds what the snippet leaves out: the data (the real
BTC/USDT one-minute candles when ``$RT_DATA_DIR`` or ``../shared/data`` has them, else a seeded
random walk), cash, commission and ``cerebro.run()``; then it prints the result beside
buy-and-hold. Needs the ``[ai]`` extra (scikit-learn). Nothing leaves the machine.

    python -m real_trade.examples.ai_trading_demo --bars 1000
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["DemoResult", "demo_frame", "main"]


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What the demo ran: bars, final value, trades, AI predictions, buy-and-hold return."""

    bars: int
    final_value: float
    trades: int
    predictions: int
    buy_and_hold_return: float


def demo_frame(bars: int, seed: int = 7) -> pd.DataFrame:
    """The demo's candles: the first ``bars`` real BTC/USDT minutes, else a seeded random walk."""
    from real_trade.core.ai_trading.frames import candle_frame, default_candle_file

    path = default_candle_file()
    if path is not None:
        return candle_frame(path, bars)
    rng = np.random.default_rng(seed)
    close = 23_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, bars)))
    open_ = np.concatenate([[23_000.0], close[:-1]])
    spread = np.abs(rng.normal(0.0, 0.0005, bars)) * close
    index = pd.date_range("2023-03-01", periods=bars, freq="1min", tz="UTC", name="datetime")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.uniform(0.5, 5.0, bars),
        },
        index=index,
    )


def main(bars: int = 600, cash: float = 100_000.0) -> DemoResult:
    """Run the seed's snippet on ``bars`` one-minute candles and print the result."""
    import backtrader as bt

    from real_trade.core.ai_trading import AIStrategy
    from real_trade.core.ai_trading.frames import frame_feed

    # 创建AI增强策略 (the seed, as written)
    cerebro = bt.Cerebro()
    cerebro.addstrategy(
        AIStrategy,
        enable_ai=True,
        confidence_threshold=0.6,
        training_period=100,
    )
    # what the snippet leaves to the reader
    frame = demo_frame(bars)
    cerebro.adddata(frame_feed(frame))
    cerebro.broker.setcash(cash)
    cerebro.broker.setcommission(commission=0.001)
    strategy = cerebro.run()[0]
    value = float(cerebro.broker.getvalue())
    hold = float(frame["close"].iloc[-1] / frame["close"].iloc[0] - 1.0)
    result = DemoResult(len(frame), value, strategy.trades_opened, len(strategy.predictions), hold)
    print(
        f"{result.bars} bars: final value {value:,.2f} ({value / cash - 1:+.3%}), "
        f"{result.trades} trades, {result.predictions} AI predictions; "
        f"buy-and-hold {hold:+.3%}"
    )
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Seed 000's AI trading example, offline.")
    parser.add_argument("--bars", type=int, default=600, help="one-minute candles to run on")
    main(parser.parse_args().bars)
