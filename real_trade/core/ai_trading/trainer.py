"""``ModelTrainer``: training off the trading thread, the newest finished model, staleness.

``submit(frame)`` hands a training job to one worker thread (``rt-ai-train``) and returns at
once; a job submitted while one runs replaces any job still waiting, so the worker never falls
behind. :meth:`ModelTrainer.current` is the newest finished model, or None when there is none,
when it is older than ``max_age_ms`` (measured from the last bar it was trained on to ``now_ms``,
the caller's time: the bar time in a backtest, the bar or clock time live; a stale model does not
trade) or when it was trained on bars after ``now_ms``. With ``background=False`` the job runs
in the caller's thread (deterministic backtests). Finished models are saved to the registry, if
any, and announced on the bus (``ai.model``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pandas as pd

from real_trade.core.ai_trading.predictor import EnsemblePredictor
from real_trade.core.ai_trading.registry import ModelMetadata, ModelRegistry, TrainedModel
from real_trade.vocabulary.clock import Clock, SystemClock

__all__ = ["MODEL_TOPIC", "ModelTrainer"]

MODEL_TOPIC = "ai.model"


def _ms(stamp: Any) -> int:
    return int(pd.Timestamp(stamp).value // 1_000_000)


class ModelTrainer:
    """Trains :class:`EnsemblePredictor`s made by ``build`` on a worker; see the module doc."""

    def __init__(
        self,
        build: Callable[[], EnsemblePredictor],
        *,
        max_age_ms: int | None = None,
        background: bool = True,
        registry: ModelRegistry | None = None,
        bus: Any = None,
        clock: Clock | None = None,
    ) -> None:
        self._build = build
        self.max_age_ms = max_age_ms
        self.background = background
        self.registry = registry
        self.bus = bus
        self.clock = clock or SystemClock()
        self.errors: list[BaseException] = []
        self.trained = 0
        self._lock = threading.Lock()
        self._model: TrainedModel | None = None
        self._pending: pd.DataFrame | None = None
        self._running: Future[None] | None = None
        self._active = False
        self._pool: ThreadPoolExecutor | None = None
        self.feature_hash = build().feature_hash
        if registry is not None:
            self._model = registry.latest(self.feature_hash)

    @property
    def newest(self) -> TrainedModel | None:
        """The newest finished model, stale or not."""
        with self._lock:
            return self._model

    def current(self, now_ms: int) -> TrainedModel | None:
        """The newest finished model if it is not older than ``max_age_ms`` at ``now_ms``.

        A model trained on bars after ``now_ms`` (a saved model reloaded into a backtest of an
        earlier period) is never used: that would be look-ahead.
        """
        model = self.newest
        if model is None or model.metadata.data_end_ms > now_ms:
            return None
        if self.max_age_ms is not None and now_ms - model.metadata.data_end_ms > self.max_age_ms:
            return None
        return model

    def busy(self) -> bool:
        """Whether a job runs or waits."""
        with self._lock:
            return self._pending is not None or self._active

    def submit(self, frame: pd.DataFrame) -> None:
        """Train on ``frame`` (OHLCV, time-indexed): on the worker, or now if not ``background``."""
        if not self.background:
            self._train(frame)
            return
        with self._lock:
            self._pending = frame
            if self._active:
                return
            self._active = True
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rt-ai-train")
            self._running = self._pool.submit(self._drain)

    def _drain(self) -> None:
        while True:
            with self._lock:
                frame, self._pending = self._pending, None
                if frame is None:
                    self._active = False
                    return
            self._train(frame)

    def _train(self, frame: pd.DataFrame) -> None:
        predictor = self._build()
        try:
            scores = predictor.train(frame)
        except Exception as exc:
            self.errors.append(exc)
            return
        meta = ModelMetadata(
            feature_hash=predictor.feature_hash,
            data_start_ms=_ms(frame.index[0]),
            data_end_ms=_ms(frame.index[-1]),
            trained_at_ms=self.clock.now_ms(),
            scores=scores,
        )
        model = TrainedModel(predictor, meta)
        if self.registry is not None:
            self.registry.save(model)
        with self._lock:
            if self._model is None or meta.data_end_ms >= self._model.metadata.data_end_ms:
                self._model = model
            self.trained += 1
        if self.bus is not None:
            self.bus.publish(MODEL_TOPIC, meta)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job runs or waits (tests, shutdown); False on timeout."""
        while True:
            with self._lock:
                running = self._running
            if running is None:
                return True
            try:
                running.result(timeout=timeout)
            except TimeoutError:
                return False
            if not self.busy():
                return True

    def close(self) -> None:
        """Stop the worker after the job in progress (a waiting job is dropped)."""
        with self._lock:
            self._pending = None
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
