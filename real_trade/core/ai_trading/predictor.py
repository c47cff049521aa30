"""``EnsemblePredictor``: a random forest and gradient boosting (scikit-learn), soft-voted.

The target of bar ``t`` is whether the close ``horizon`` bars later is above the close at ``t``;
a training frame ending at bar ``T`` therefore yields rows up to ``T - horizon`` only, so a
model trained at ``T`` has seen no price after ``T``. scikit-learn is imported when a model is
built (``pip install real_trade[ai]``), never by ``import real_trade``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from real_trade.core.ai_trading.features import FeatureExtractor, feature_code_hash

__all__ = ["EnsemblePredictor"]


def _sklearn() -> Any:
    try:
        import sklearn.ensemble
        import sklearn.preprocessing
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the AI module needs scikit-learn: pip install 'real_trade[ai]'") from exc
    return sklearn


class EnsemblePredictor:
    """Random forest + gradient boosting on :class:`FeatureExtractor` features, soft vote.

    ``predict(data)`` returns ``(signal, confidence)``: signal 1 (up) or -1 (down) for the bar
    after the last of ``data``, confidence the averaged probability of that side (0.5..1); (0, 0.0)
    before training. ``n_estimators`` trees per model, ``max_depth`` for both, ``horizon`` bars
    ahead, ``progress`` shows a tqdm bar while training.
    """

    def __init__(
        self,
        lookback_periods: Sequence[int] = (5, 10, 20),
        *,
        horizon: int = 1,
        n_estimators: int = 50,
        max_depth: int = 4,
        random_state: int = 0,
        progress: bool = False,
    ) -> None:
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        self.feature_extractor = FeatureExtractor(lookback_periods)
        self.horizon = horizon
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.random_state = random_state
        self.progress = progress
        self.models: dict[str, Any] = {}
        self.is_trained = False
        self.scores: dict[str, float] = {}

    @property
    def feature_hash(self) -> str:
        """The :func:`feature_code_hash` this predictor's models depend on."""
        return feature_code_hash(self.feature_extractor, self.horizon)

    def prepare_training_data(
        self, data: pd.DataFrame, lookback_days: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Feature rows and up/down labels from an OHLCV frame (its last ``lookback_days`` bars).

        Rows need a complete feature window and a known label: the first ``warmup - 1`` bars and
        the last ``horizon`` bars of the frame give none.
        """
        frame = data.iloc[-lookback_days:] if lookback_days else data
        features = self.feature_extractor.feature_frame(frame)
        close = frame["close"].astype(float)
        future = close.shift(-self.horizon)
        labels = (future > close).astype(int).where(future.notna())
        keep = features.notna().all(axis=1) & labels.notna()
        return features[keep].to_numpy(dtype=float), labels[keep].to_numpy(dtype=int)

    def _build(self) -> dict[str, Any]:
        sk = _sklearn()
        return {
            "random_forest": sk.ensemble.RandomForestClassifier(
                n_estimators=self.n_estimators,
                max_depth=self.max_depth,
                min_samples_leaf=20,
                random_state=self.random_state,
                n_jobs=1,
            ),
            "gradient_boosting": sk.ensemble.GradientBoostingClassifier(
                n_estimators=self.n_estimators,
                max_depth=min(self.max_depth, 3),
                learning_rate=0.05,
                subsample=0.8,
                random_state=self.random_state,
            ),
        }

    def train(self, data: pd.DataFrame, lookback_days: int | None = None) -> dict[str, float]:
        """Fit both models on ``data`` (see :meth:`prepare_training_data`); return the scores.

        Scores: ``train_accuracy`` of the vote on the training rows, ``up_rate`` (share of up
        labels), ``rows``. Raises ValueError when there are fewer than 50 rows or one class only.
        """
        x, y = self.prepare_training_data(data, lookback_days)
        if len(y) < 50 or len(set(y.tolist())) < 2:
            raise ValueError(f"not enough training rows with both classes ({len(y)} rows)")
        sk = _sklearn()
        scaler = sk.preprocessing.StandardScaler().fit(x)
        xs = scaler.transform(x)
        models = self._build()
        for name in tqdm(list(models), desc="training", unit="model", disable=not self.progress):
            models[name].fit(xs, y)
        self.feature_extractor.scaler = scaler
        self.models = models
        self.is_trained = True
        votes = self._vote(xs)
        self.scores = {
            "train_accuracy": float(((votes > 0.5).astype(int) == y).mean()),
            "up_rate": float(y.mean()),
            "rows": float(len(y)),
        }
        return dict(self.scores)

    def _vote(self, xs: np.ndarray) -> np.ndarray:
        """Soft vote: the mean probability of 'up' over the models."""
        probs = [model.predict_proba(xs)[:, 1] for model in self.models.values()]
        return np.mean(probs, axis=0)

    def predict_up(self, features: np.ndarray) -> np.ndarray:
        """The voted probability of 'up' for feature rows (unscaled, :meth:`prepare_training_data`
        order)."""
        if not self.is_trained:
            raise RuntimeError("the predictor is not trained")
        return self._vote(self.feature_extractor.scaler.transform(np.atleast_2d(features)))

    def predict(self, data: pd.DataFrame) -> tuple[int, float]:
        """``(signal, confidence)`` for the last bar of ``data``: 1/-1 and the vote's probability
        of that side; ``(0, 0.0)`` when untrained or ``data`` is shorter than the warmup."""
        if not self.is_trained or len(data) < self.feature_extractor.warmup:
            return 0, 0.0
        vector = self.feature_extractor.last_vector(data)
        if not np.isfinite(vector).all():
            return 0, 0.0
        up = float(self.predict_up(vector)[0])
        return (1, up) if up >= 0.5 else (-1, 1.0 - up)
