"""Series processors: ``DataProcessor`` (cached processing) and ``TechnicalIndicatorsProcessor``.

The indicators are backtrader's, computed the way backtrader computes them, so they agree to
the last bits on the same data (tested to 1e-9 on real candles):

* SMA: ``math.fsum`` of the window divided by the period (backtrader's ``Average``);
* EMA: seeded by the SMA of the first ``period`` values, then
  ``prev * (1 - alpha) + x * alpha`` with ``alpha = 2 / (period + 1)``;
* RSI: Wilder's smoothing (``alpha = 1 / period``, SMA seed) of up and down moves;
  ``maup / madown`` with backtrader's ``safediv`` rule where ``madown`` is 0 (RSI 100, or 50
  when both are 0);
* Bollinger: SMA middle band, ``std = sqrt(|mean(x**2) - mean(x)**2|)`` (backtrader's
  ``StandardDeviation`` with ``safepow``), bands at ``std_multiplier`` deviations.

Values before an indicator has enough data are NaN, so every output is as long as its input.
numpy is imported when a processor runs, not when this module is imported.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from real_trade.core.data_flow.cache import DataCache

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

__all__ = ["DataProcessor", "TechnicalIndicatorsProcessor", "as_float_array"]


def as_float_array(data: Any) -> FloatArray:
    """``data`` (a sequence, numpy array or pandas Series of numbers) as a float64 array."""
    import numpy as np

    return np.ascontiguousarray(np.asarray(data, dtype=np.float64))


def _fingerprint(values: FloatArray) -> str:
    """A digest of a series' values (its length included): the cache key of the data."""
    return hashlib.blake2b(values.tobytes(), digest_size=16).hexdigest() + f":{len(values)}"


def _window_means(values: list[float], period: int) -> list[float]:
    """``fsum(window) / period`` for every full window, as backtrader's ``Average``."""
    fsum = math.fsum
    return [fsum(values[i - period : i]) / period for i in range(period, len(values) + 1)]


def _check_period(period: int) -> None:
    if period < 1:
        raise ValueError(f"period must be at least 1, not {period}")


class DataProcessor:
    """A processor of numeric series whose results are kept in a :class:`DataCache`.

    :meth:`process_series` answers from the cache when the same data (by value) was processed
    with the same name and parameters; subclasses implement :meth:`_process_impl`.
    """

    def __init__(self, cache: DataCache | None = None) -> None:
        """Process through ``cache`` (default: a private 1,000-entry cache, 5-minute TTL)."""
        self.cache = cache if cache is not None else DataCache()

    def process_series(self, data: Any, processor_name: str, **kwargs: Any) -> Any:
        """The result of ``processor_name`` with ``kwargs`` on ``data``, cached by value.

        Arrays in the result are read-only: the same objects answer every later request."""
        values = as_float_array(data)
        key = self.cache.make_key(processor_name, data=_fingerprint(values), **kwargs)
        missing = object()
        cached = self.cache.lookup(key, missing)
        if cached is not missing:
            return cached
        result = self._process_impl(values, processor=processor_name, **kwargs)
        for array in result if isinstance(result, tuple) else (result,):
            if hasattr(array, "flags"):
                array.flags.writeable = False  # shared through the cache: read-only
        self.cache.store(key, result)
        return result

    def _process_impl(self, data: FloatArray, **kwargs: Any) -> Any:
        """Compute the result for ``data`` (subclasses)."""
        raise NotImplementedError


class TechnicalIndicatorsProcessor(DataProcessor):
    """SMA, EMA, RSI and Bollinger bands over a price series, equal to backtrader's.

    ``process_series(prices, "sma", period=10)`` (or ``"ema"``, ``"rsi"``, ``"bollinger"``
    with ``period`` and ``std_multiplier``) goes through the cache; the ``calculate_*`` methods
    compute directly.
    """

    def calculate_sma(self, prices: Any, period: int = 20) -> FloatArray:
        """Simple moving average (backtrader ``SMA``); NaN for the first ``period - 1``."""
        import numpy as np

        _check_period(period)
        values = as_float_array(prices)
        out = np.full(len(values), np.nan)
        if len(values) >= period:
            out[period - 1 :] = _window_means(values.tolist(), period)
        return out

    def calculate_ema(self, prices: Any, period: int = 30) -> FloatArray:
        """Exponential moving average (backtrader ``EMA``): alpha ``2 / (period + 1)``."""
        _check_period(period)
        return self._smooth(as_float_array(prices), period, 2.0 / (1.0 + period))

    def calculate_rsi(self, prices: Any, period: int = 14) -> FloatArray:
        """Wilder's relative strength index (backtrader ``RSI`` with ``safediv``)."""
        import numpy as np

        _check_period(period)
        values = as_float_array(prices)
        out = np.full(len(values), np.nan)
        if len(values) <= period:
            return out
        diff = values[1:] - values[:-1]
        up = np.maximum(diff, 0.0)
        down = np.maximum(-diff, 0.0)
        # backtrader's DownDay is max(prev - x, 0): the same float as max(-(x - prev), 0)
        alpha = 1.0 / period
        maup = self._smooth(up, period, alpha)[period - 1 :]
        madown = self._smooth(down, period, alpha)[period - 1 :]
        rsi = out[period:]
        for i, (u, d) in enumerate(zip(maup.tolist(), madown.tolist(), strict=True)):
            if d == 0.0:
                rsi[i] = 50.0 if u == 0.0 else 100.0
            else:
                rsi[i] = 100.0 - 100.0 / (1.0 + u / d)
        return out

    def calculate_bollinger_bands(
        self, prices: Any, period: int = 20, std_multiplier: float = 2.0
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Bollinger bands (backtrader ``BollingerBands``): ``(upper, middle, lower)``."""
        import numpy as np

        _check_period(period)
        values = as_float_array(prices)
        middle = self.calculate_sma(values, period)
        std = np.full(len(values), np.nan)
        if len(values) >= period:
            # Python's float ** (C pow), as backtrader: pow(x, 2) is not always x * x
            mean_sq = _window_means([x**2 for x in values.tolist()], period)
            means = middle[period - 1 :].tolist()
            std[period - 1 :] = [
                abs(sq - m**2) ** 0.5 for sq, m in zip(mean_sq, means, strict=True)
            ]
        dev = std_multiplier * std
        return middle + dev, middle, middle - dev

    @staticmethod
    def _smooth(values: FloatArray, period: int, alpha: float) -> FloatArray:
        """Exponential smoothing seeded by the first window's mean (backtrader's way)."""
        import numpy as np

        out = np.full(len(values), np.nan)
        if len(values) < period:
            return out
        xs = values.tolist()
        alpha1 = 1.0 - alpha
        prev = math.fsum(xs[:period]) / period
        smoothed = [prev]
        for x in xs[period:]:
            prev = prev * alpha1 + x * alpha
            smoothed.append(prev)
        out[period - 1 :] = smoothed
        return out

    def _process_impl(self, data: FloatArray, **kwargs: Any) -> Any:
        """Dispatch ``processor`` (sma, ema, rsi, bollinger) with its parameters."""
        name = kwargs.pop("processor")
        if name == "sma":
            return self.calculate_sma(data, **kwargs)
        if name == "ema":
            return self.calculate_ema(data, **kwargs)
        if name == "rsi":
            return self.calculate_rsi(data, **kwargs)
        if name in ("bollinger", "bollinger_bands", "bb"):
            return self.calculate_bollinger_bands(data, **kwargs)
        raise ValueError(f"unknown indicator {name!r}: use sma, ema, rsi or bollinger")


def closes_of(data_feed: Any) -> Sequence[float] | Any:
    """The close prices of ``data_feed``: a backtrader feed (its bars so far), one backtrader
    line (its values so far), a DataFrame (its ``close`` column), or prices as they are."""
    if hasattr(data_feed, "array") and hasattr(data_feed, "get") and hasattr(data_feed, "idx"):
        return data_feed.get(ago=0, size=len(data_feed))  # a backtrader line buffer
    close = getattr(data_feed, "close", None)
    if close is not None and hasattr(close, "get") and hasattr(data_feed, "lines"):
        return close.get(ago=0, size=len(data_feed))  # a backtrader line: the bars so far
    if close is not None and not callable(close):
        return close
    columns = getattr(data_feed, "columns", None)
    if columns is not None and "close" in columns:
        return data_feed["close"]
    return data_feed
