"""Causal features of OHLCV bars: :class:`FeatureExtractor` and :class:`MLFeatures`.

Every feature of bar ``t`` is a function of bars ``t - w + 1 .. t`` for a fixed window ``w``
(rolling sums, means, standard deviations, shifts into the past; no exponential smoothing, no
centred windows, no normalisation over the whole series), so the features computed over a whole
frame equal those computed over only the last :attr:`FeatureExtractor.warmup` bars of it: a
backtest and a live run see the same numbers, and a bar after ``t`` can never change them.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FeatureExtractor", "MLFeatures", "feature_code_hash"]

OHLCV = ("open", "high", "low", "close", "volume")
_RSI_PERIOD = 14
_BB_PERIOD = 20
_SMA_FAST, _SMA_SLOW = 10, 30


@dataclass(frozen=True, slots=True)
class MLFeatures:
    """The features of one bar, grouped as the seed draws them.

    ``market_regime`` is 1 (trending up), -1 (trending down) or 0 (ranging); ``volatility_level``
    the standard deviation of one-bar returns over the longest lookback; ``trend_strength`` the
    longest-lookback return in units of that volatility.
    """

    price_features: list[float] = field(default_factory=list)
    volume_features: list[float] = field(default_factory=list)
    technical_features: list[float] = field(default_factory=list)
    market_regime: int = 0
    volatility_level: float = 0.0
    trend_strength: float = 0.0

    def to_vector(self) -> np.ndarray:
        """All features as one float vector, in :meth:`FeatureExtractor.feature_names` order."""
        return np.asarray(
            [
                *self.price_features,
                *self.volume_features,
                *self.technical_features,
                float(self.market_regime),
                self.volatility_level,
                self.trend_strength,
            ],
            dtype=float,
        )


def _rsi(close: pd.Series, period: int) -> pd.Series:
    """Cutler's RSI (simple means of gains and losses: a fixed window, unlike Wilder's)."""
    delta = close.diff()
    gain = delta.clip(lower=0).rolling(period).mean()
    loss = (-delta.clip(upper=0)).rolling(period).mean()
    total = gain + loss
    return (100.0 * gain / total.where(total > 0)).fillna(50.0).where(gain.notna())


class FeatureExtractor:
    """Price, volume, technical and market-regime features over ``lookback_periods`` bars.

    :meth:`feature_frame` gives every bar's features (rows before :attr:`warmup` bars are NaN);
    :meth:`extract_features` the last bar's, as :class:`MLFeatures`. ``scaler`` is the
    ``StandardScaler`` the predictor fits on its training rows (None until then).
    """

    def __init__(self, lookback_periods: Sequence[int] = (5, 10, 20)) -> None:
        periods = sorted({int(p) for p in lookback_periods})
        if not periods or periods[0] < 2:
            raise ValueError(f"lookback_periods must be integers >= 2, got {lookback_periods!r}")
        self.lookback_periods: list[int] = periods
        self.scaler: Any = None

    @property
    def warmup(self) -> int:
        """Bars needed before the first complete feature row (the longest window, plus one)."""
        return max(self.lookback_periods[-1], _SMA_SLOW, _BB_PERIOD, _RSI_PERIOD) + 1

    def feature_names(self) -> list[str]:
        """Column names of :meth:`feature_frame`, in vector order."""
        price = [f"{k}_{p}" for p in self.lookback_periods for k in ("ret", "sma_gap", "range")]
        volume = [f"{k}_{p}" for p in self.lookback_periods for k in ("vol_ratio", "vol_trend")]
        technical = ["rsi", "bb_pct", "sma_fast_slow", "body", "upper_wick", "lower_wick"]
        return [*price, *volume, *technical, "market_regime", "volatility_level", "trend_strength"]

    def feature_frame(self, data: pd.DataFrame) -> pd.DataFrame:
        """Every bar's features (columns :meth:`feature_names`), each from its own past only."""
        close, high, low = data["close"].astype(float), data["high"], data["low"]
        volume, open_ = data["volume"].astype(float), data["open"]
        cols: dict[str, pd.Series] = {}
        for p in self.lookback_periods:
            cols[f"ret_{p}"] = close / close.shift(p) - 1.0
            cols[f"sma_gap_{p}"] = close / close.rolling(p).mean() - 1.0
            cols[f"range_{p}"] = (high.rolling(p).max() - low.rolling(p).min()) / close
        for p in self.lookback_periods:
            mean_vol = volume.rolling(p).mean()
            cols[f"vol_ratio_{p}"] = (volume / mean_vol.where(mean_vol > 0)).fillna(1.0) - 1.0
            half = max(1, p // 2)
            recent, older = volume.rolling(half).mean(), volume.shift(half).rolling(p - half).mean()
            cols[f"vol_trend_{p}"] = (recent / older.where(older > 0)).fillna(1.0) - 1.0
        rsi = _rsi(close, _RSI_PERIOD)
        cols["rsi"] = rsi / 100.0
        mid, std = close.rolling(_BB_PERIOD).mean(), close.rolling(_BB_PERIOD).std(ddof=0)
        width = 4.0 * std
        cols["bb_pct"] = ((close - (mid - 2.0 * std)) / width.where(width > 0)).fillna(0.5)
        cols["sma_fast_slow"] = close.rolling(_SMA_FAST).mean() / close.rolling(_SMA_SLOW).mean()
        cols["sma_fast_slow"] -= 1.0
        cols["body"] = (close - open_) / close
        cols["upper_wick"] = (high - np.maximum(open_, close)) / close
        cols["lower_wick"] = (np.minimum(open_, close) - low) / close
        longest = self.lookback_periods[-1]
        vol = (close / close.shift(1) - 1.0).rolling(longest).std(ddof=0)
        trend = cols[f"ret_{longest}"] / (vol.where(vol > 0) * np.sqrt(longest))
        cols["market_regime"] = np.sign(trend.where(trend.abs() > 1.0, 0.0))
        cols["volatility_level"] = vol
        cols["trend_strength"] = trend.fillna(0.0)
        frame = pd.DataFrame(cols, index=data.index)[self.feature_names()]
        frame.iloc[: self.warmup - 1] = np.nan
        return frame

    def last_vector(self, data: pd.DataFrame) -> np.ndarray:
        """The last bar's row of :meth:`feature_frame`, computed on the last ``warmup`` bars
        only with numpy (the per-bar path: the same formulas, about 100 times faster)."""
        if len(data) < self.warmup:
            raise ValueError(f"need at least {self.warmup} bars, got {len(data)}")
        tail = data.iloc[-self.warmup :]
        o, h, lo, c, v = (tail[k].to_numpy(dtype=float) for k in OHLCV)
        last = c[-1]
        price: list[float] = []
        volume: list[float] = []
        for p in self.lookback_periods:
            price += [last / c[-1 - p] - 1.0, last / c[-p:].mean() - 1.0]
            price.append((h[-p:].max() - lo[-p:].min()) / last)
        for p in self.lookback_periods:
            mean_vol = v[-p:].mean()
            volume.append(v[-1] / mean_vol - 1.0 if mean_vol > 0 else 0.0)
            half = max(1, p // 2)
            recent, older = v[-half:].mean(), v[-p:-half].mean()
            volume.append(recent / older - 1.0 if older > 0 else 0.0)
        delta = np.diff(c[-_RSI_PERIOD - 1 :])
        gain, loss = np.clip(delta, 0, None).mean(), np.clip(-delta, 0, None).mean()
        rsi = 100.0 * gain / (gain + loss) if gain + loss > 0 else 50.0
        window = c[-_BB_PERIOD:]
        mid, std = window.mean(), window.std()
        bb = (last - (mid - 2.0 * std)) / (4.0 * std) if std > 0 else 0.5
        fast_slow = c[-_SMA_FAST:].mean() / c[-_SMA_SLOW:].mean() - 1.0
        top, bottom = max(o[-1], last), min(o[-1], last)
        technical = [rsi / 100.0, bb, fast_slow, (last - o[-1]) / last]
        technical += [(h[-1] - top) / last, (bottom - lo[-1]) / last]
        longest = self.lookback_periods[-1]
        vol = float((c[-longest:] / c[-longest - 1 : -1] - 1.0).std())
        trend = (last / c[-1 - longest] - 1.0) / (vol * np.sqrt(longest)) if vol > 0 else 0.0
        regime = float(np.sign(trend)) if abs(trend) > 1.0 else 0.0
        return np.asarray([*price, *volume, *technical, regime, vol, trend], dtype=float)

    def _last_row(self, data: pd.DataFrame) -> pd.Series:
        return pd.Series(self.last_vector(data), index=self.feature_names())

    def _extract_price_features(self, data: pd.DataFrame) -> list[float]:
        """The last bar's returns, SMA gaps and ranges over each lookback."""
        row = self._last_row(data)
        return [float(row[n]) for n in self.feature_names()[: 3 * len(self.lookback_periods)]]

    def _extract_volume_features(self, data: pd.DataFrame) -> list[float]:
        """The last bar's volume ratios and volume trends over each lookback."""
        row, n = self._last_row(data), len(self.lookback_periods)
        return [float(row[c]) for c in self.feature_names()[3 * n : 5 * n]]

    def _extract_technical_features(self, data: pd.DataFrame) -> list[float]:
        """The last bar's RSI, Bollinger %B, fast/slow SMA ratio and candle shape."""
        row, n = self._last_row(data), len(self.lookback_periods)
        return [float(row[c]) for c in self.feature_names()[5 * n : 5 * n + 6]]

    def _extract_market_regime(self, data: pd.DataFrame) -> dict[str, Any]:
        """The last bar's regime (1 up, -1 down, 0 range), volatility and trend strength."""
        row = self._last_row(data)
        return {
            "market_regime": int(row["market_regime"]),
            "volatility_level": float(row["volatility_level"]),
            "trend_strength": float(row["trend_strength"]),
        }

    def extract_features(self, data: pd.DataFrame) -> MLFeatures:
        """The features of the last bar of ``data`` (an OHLCV frame of at least ``warmup`` bars)."""
        row, n = self._last_row(data), len(self.lookback_periods)
        values = [float(v) for v in row.to_numpy()]
        return MLFeatures(
            price_features=values[: 3 * n],
            volume_features=values[3 * n : 5 * n],
            technical_features=values[5 * n : 5 * n + 6],
            market_regime=int(values[5 * n + 6]),
            volatility_level=values[5 * n + 7],
            trend_strength=values[5 * n + 8],
        )


def feature_code_hash(extractor: FeatureExtractor, horizon: int) -> str:
    """A hash of this module's source, the lookbacks and the target horizon.

    A saved model is reused only when it matches: change the feature code and old models are
    ignored (they would be fed features they were not trained on).
    """
    source = inspect.getsource(sys.modules[__name__])
    key = f"{source}\n{extractor.lookback_periods}\n{horizon}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]
