"""Seed 000's data-flow example, runnable offline: indicators, a strategy mixin, the bus.

``python -m real_trade.examples.data_flow_demo`` (``--csv FILE`` for a candle CSV with a
``close`` column; by default ``$RT_DATA_DIR``'s BTC/USDT minutes when present, else candles of
the offline synthetic market). It runs the seed's three lines as written with ``data_feed``
filled in, then a backtrader strategy with :class:`DataFlowMixin` that publishes its signals
through the event bus, and prints the cache's statistics.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

__all__ = ["load_candles", "main"]

CSV_NAME = "binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv"


def load_candles(csv: str | Path | None = None, bars: int = 2000) -> Any:
    """The last ``bars`` one-minute candles as a DataFrame indexed by open time (UTC, naive):
    from ``csv``, else ``$RT_DATA_DIR``'s BTC/USDT file, else the synthetic market (seed 7)."""
    import pandas as pd

    if csv is None and os.environ.get("RT_DATA_DIR"):
        found = Path(os.environ["RT_DATA_DIR"]) / CSV_NAME
        csv = found if found.is_file() else None
    if csv is not None:
        frame = pd.read_csv(csv)
        when = frame.columns[0]
        unit = "s" if when == "timestamp" else None
        frame.index = pd.to_datetime(frame.pop(when), utc=True, unit=unit).dt.tz_localize(None)
        return frame[["open", "high", "low", "close", "volume"]].tail(bars)
    from real_trade.sim import SyntheticMarket

    start = 1_700_000_000_000 // 60_000 * 60_000
    market = SyntheticMarket(("BTCUSDT",), seed=7, start_ms=start, history_days=0.1)
    candles = market.candles("BTCUSDT", "1m", start - bars * 60_000, start - 60_000)
    return pd.DataFrame(
        {
            "open": [float(c.open) for c in candles],
            "high": [float(c.high) for c in candles],
            "low": [float(c.low) for c in candles],
            "close": [float(c.close) for c in candles],
            "volume": [float(c.volume) for c in candles],
        },
        index=pd.to_datetime([c.open_ms for c in candles], unit="ms"),
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the demo; returns the seed example's indicators and what the strategy published."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", help="a candle CSV (first column the open time)")
    parser.add_argument("--bars", type=int, default=2000, help="candles to use (default 2000)")
    args = parser.parse_args(argv)
    data_feed = load_candles(args.csv, args.bars)

    # --- seed 000, as written ------------------------------------------------------------
    from real_trade.core.data_flow import DataFlowManager

    # 创建数据流管理器
    data_flow = DataFlowManager()

    # 计算技术指标
    indicators = data_flow.calculate_technical_indicators(data_feed, ["sma_10", "rsi"])
    # ---------------------------------------------------------------------------------------

    print(f"{len(data_feed)} candles, last close {data_feed['close'].iloc[-1]:.2f}")
    for name, values in indicators.items():
        print(f"{name}: last {values[-1]:.4f}")

    signals = _run_strategy(data_feed, data_flow)
    data_flow.bus.flush(5.0)
    stats = data_flow.cache.get_stats()
    print(f"strategy published {len(signals)} signals through the bus")
    print(
        f"cache: {stats['size']} entries, {stats['hits']} hits, {stats['misses']} misses, "
        f"hit rate {stats['hit_rate']:.0%}"
    )
    return {"indicators": indicators, "signals": signals, "stats": stats}


def _run_strategy(frame: Any, data_flow: Any) -> list[Any]:
    """A backtrader run of an RSI strategy built on DataFlowMixin; its published signals."""
    import backtrader as bt

    from real_trade.core.data_flow import DataFlowMixin

    heard: list[Any] = []
    data_flow.register_subscriber("signal.*", heard.append)

    class RsiSignals(DataFlowMixin, bt.Strategy):
        """Publishes ``signal.<side>`` when the 14-bar RSI leaves 30 or 70."""

        def __init__(self) -> None:
            self.data_flow = data_flow

        def next(self) -> None:
            rsi = self.get_technical_indicators(self.data, ["rsi"])["rsi"]
            if len(rsi) < 2:
                return
            side = "buy" if rsi[-2] < 30 <= rsi[-1] else "sell" if rsi[-2] > 70 >= rsi[-1] else None
            if side is not None:
                self.publish_data(f"signal.{side}", {"bar": len(self), "rsi": float(rsi[-1])})

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame.tail(400)))
    cerebro.addstrategy(RsiSignals)
    cerebro.run()
    return heard


if __name__ == "__main__":
    main()
