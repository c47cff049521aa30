"""OHLCV frames for the AI module: a candle file as a frame, a frame as a backtrader feed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["DEFAULT_CANDLE_FILE", "candle_frame", "default_candle_file", "frame_feed"]

DEFAULT_CANDLE_FILE = "binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv"


def default_candle_file() -> Path | None:
    """The real BTC/USDT minutes: ``$RT_DATA_DIR`` or ``../shared/data`` beside the checkout."""
    env = os.environ.get("RT_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[4] / "shared" / "data")
    return next(
        (c / DEFAULT_CANDLE_FILE for c in candidates if (c / DEFAULT_CANDLE_FILE).is_file()), None
    )


def candle_frame(path: str | Path, bars: int | None = None) -> pd.DataFrame:
    """A candle CSV (the simulator's reader: Binance.US or Kraken style) as a UTC OHLCV frame,
    its first ``bars`` rows when given."""
    from real_trade.sim.market_replay import read_candle_file

    candles = read_candle_file(path).candles
    if bars:
        candles = candles[:bars]
    index = pd.DatetimeIndex(
        pd.to_datetime([c.open_ms for c in candles], unit="ms", utc=True), name="datetime"
    )
    rows = [
        (float(c.open), float(c.high), float(c.low), float(c.close), float(c.volume))
        for c in candles
    ]
    return pd.DataFrame(rows, columns=["open", "high", "low", "close", "volume"], index=index)


def frame_feed(frame: pd.DataFrame, **kwargs: Any) -> Any:
    """``bt.feeds.PandasData`` over a one-minute UTC frame (naive UTC times for backtrader)."""
    import backtrader as bt

    naive = frame.tz_convert(None) if frame.index.tz is not None else frame
    return bt.feeds.PandasData(
        dataname=naive, timeframe=bt.TimeFrame.Minutes, compression=1, **kwargs
    )
