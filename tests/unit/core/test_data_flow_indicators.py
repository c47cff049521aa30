"""TechnicalIndicatorsProcessor equals backtrader's indicators (to 1e-9) on real BTC minutes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from real_trade.core.data_flow import DataCache, DataFlowManager, TechnicalIndicatorsProcessor

FILE = "binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv"
BARS = 6000  # four days of minutes: enough for every warm-up, quick under backtrader


def _data_file() -> Path | None:
    env = os.environ.get("RT_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[3].parent / "shared" / "data")
    return next((c / FILE for c in candidates if (c / FILE).is_file()), None)


CSV = _data_file()
needs_data = pytest.mark.skipif(CSV is None, reason=f"{FILE} not found: set RT_DATA_DIR")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    assert CSV is not None
    df = pd.read_csv(CSV, nrows=BARS, parse_dates=["open_time"], index_col="open_time")
    df.index = df.index.tz_localize(None)
    return df


class _Record(bt.Strategy):
    """Every backtrader indicator under test, recorded after the run."""

    def __init__(self) -> None:
        c = self.data.close
        self.ind: dict[str, Any] = {
            "sma_10": bt.ind.SMA(c, period=10),
            "sma_50": bt.ind.SMA(c, period=50),
            "ema_12": bt.ind.EMA(c, period=12),
            "ema_30": bt.ind.EMA(c, period=30),
            "rsi_14": bt.ind.RSI(c, period=14, safediv=True),
            "rsi_7": bt.ind.RSI(c, period=7, safediv=True),
            "bb_20": bt.ind.BollingerBands(c, period=20, devfactor=2.0),
        }


@pytest.fixture(scope="module")
def backtrader_lines(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(_Record)
    strat = cerebro.run(runonce=True, preload=True)[0]
    n = len(frame)
    out: dict[str, np.ndarray] = {}
    for name, ind in strat.ind.items():
        for line_name in ind.lines.getlinealiases():
            line = getattr(ind.lines, line_name)
            out[f"{name}.{line_name}"] = np.array(line.get(ago=0, size=n), dtype=float)
    return out


def _same(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape
    assert np.array_equal(np.isnan(ours), np.isnan(theirs)), "warm-up lengths differ"
    ok = ~np.isnan(ours)
    assert ok.sum() > len(ours) - 60
    assert np.max(np.abs(ours[ok] - theirs[ok])) <= 1e-9


@needs_data
def test_sma_ema_rsi_bollinger_equal_backtrader(
    frame: pd.DataFrame, backtrader_lines: dict[str, np.ndarray]
) -> None:
    p = TechnicalIndicatorsProcessor()
    close = frame["close"].to_numpy()
    _same(p.calculate_sma(close, 10), backtrader_lines["sma_10.sma"])
    _same(p.calculate_sma(close, 50), backtrader_lines["sma_50.sma"])
    _same(p.calculate_ema(close, 12), backtrader_lines["ema_12.ema"])
    _same(p.calculate_ema(close, 30), backtrader_lines["ema_30.ema"])
    _same(p.calculate_rsi(close, 14), backtrader_lines["rsi_14.rsi"])
    _same(p.calculate_rsi(close, 7), backtrader_lines["rsi_7.rsi"])
    upper, middle, lower = p.calculate_bollinger_bands(close, 20, 2.0)
    _same(upper, backtrader_lines["bb_20.top"])
    _same(middle, backtrader_lines["bb_20.mid"])
    _same(lower, backtrader_lines["bb_20.bot"])


@needs_data
def test_manager_names_match_backtrader_and_are_cached(
    frame: pd.DataFrame, backtrader_lines: dict[str, np.ndarray]
) -> None:
    cache = DataCache(max_size=64, default_ttl=None)
    flow = DataFlowManager(cache=cache)
    got = flow.calculate_technical_indicators(frame, ["sma_10", "rsi", "ema_12", "bb_20"])
    assert set(got) == {"sma_10", "rsi", "ema_12", "bb_20_upper", "bb_20_middle", "bb_20_lower"}
    _same(got["sma_10"], backtrader_lines["sma_10.sma"])
    _same(got["rsi"], backtrader_lines["rsi_14.rsi"])
    _same(got["ema_12"], backtrader_lines["ema_12.ema"])
    _same(got["bb_20_lower"], backtrader_lines["bb_20.bot"])
    assert cache.get_stats()["misses"] == 4 and cache.get_stats()["hits"] == 0
    again = flow.calculate_technical_indicators(frame["close"].to_list(), ["sma_10", "rsi"])
    assert again["sma_10"] is got["sma_10"]  # same values: answered by the cache
    with pytest.raises(ValueError, match="read-only"):
        got["sma_10"][-1] = 0.0  # a shared result cannot be changed by one of its users
    assert cache.get_stats()["hits"] == 2
    changed = frame["close"].to_numpy().copy()
    changed[-1] += 1.0
    other = flow.calculate_technical_indicators(changed, ["sma_10"])["sma_10"]
    assert other is not got["sma_10"] and other[-1] == pytest.approx(got["sma_10"][-1] + 0.1)


def test_rsi_of_a_flat_or_rising_series_uses_the_safe_values() -> None:
    p = TechnicalIndicatorsProcessor()
    assert np.all(p.calculate_rsi([5.0] * 20, 14)[14:] == 50.0)
    assert np.all(p.calculate_rsi(np.arange(20.0), 14)[14:] == 100.0)
    assert np.isnan(p.calculate_rsi([1.0] * 14, 14)).all()


def test_short_series_and_bad_periods() -> None:
    p = TechnicalIndicatorsProcessor()
    assert np.isnan(p.calculate_sma([1.0, 2.0], 3)).all()
    assert np.isnan(p.calculate_ema([1.0, 2.0], 3)).all()
    assert list(p.calculate_sma([1.0, 2.0, 3.0], 3))[2] == 2.0
    with pytest.raises(ValueError, match="period"):
        p.calculate_sma([1.0], 0)
    with pytest.raises(ValueError, match="unknown indicator"):
        DataFlowManager(cache=DataCache()).calculate_technical_indicators([1.0], ["macd"])
