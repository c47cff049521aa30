"""Saved models with their metadata: :class:`ModelRegistry`, :class:`TrainedModel`.

Each model is a directory ``<root>/<feature hash>-<data end ms>/`` holding ``model.joblib`` and
``metadata.json`` (feature code hash, data range, scores, trained-at time). :meth:`latest`
returns the newest model whose feature hash matches the caller's, so a restart picks up where
training left off and a model built by older feature code is never reused.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ModelMetadata", "ModelRegistry", "TrainedModel"]


@dataclass(frozen=True, slots=True)
class ModelMetadata:
    """What a model was trained on: feature hash, first/last bar open time (ms), scores."""

    feature_hash: str
    data_start_ms: int
    data_end_ms: int
    trained_at_ms: int
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TrainedModel:
    """A fitted :class:`~real_trade.core.ai_trading.predictor.EnsemblePredictor`, its metadata."""

    predictor: Any
    metadata: ModelMetadata


class ModelRegistry:
    """Models on disk under ``root`` (created on first save)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def save(self, model: TrainedModel) -> Path:
        """Write the model and its metadata atomically (the metadata last); return its directory."""
        import joblib  # type: ignore[import-untyped]

        meta = model.metadata
        folder = self.root / f"{meta.feature_hash}-{meta.data_end_ms}"
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "model.joblib.tmp"
        joblib.dump(model.predictor, tmp)
        tmp.replace(folder / "model.joblib")
        tmp_meta = folder / "metadata.json.tmp"
        tmp_meta.write_text(json.dumps(asdict(meta), indent=2, sort_keys=True))
        tmp_meta.replace(folder / "metadata.json")
        return folder

    def entries(self) -> list[ModelMetadata]:
        """Metadata of every complete saved model, oldest data first."""
        found: list[ModelMetadata] = []
        if not self.root.is_dir():
            return found
        for meta_file in self.root.glob("*/metadata.json"):
            if (meta_file.parent / "model.joblib").is_file():
                found.append(ModelMetadata(**json.loads(meta_file.read_text())))
        return sorted(found, key=lambda m: (m.data_end_ms, m.trained_at_ms))

    def latest(self, feature_hash: str) -> TrainedModel | None:
        """The newest saved model built with ``feature_hash``, or None."""
        import joblib

        matching = [m for m in self.entries() if m.feature_hash == feature_hash]
        if not matching:
            return None
        meta = matching[-1]
        predictor = joblib.load(
            self.root / f"{meta.feature_hash}-{meta.data_end_ms}" / "model.joblib"
        )
        return TrainedModel(predictor, meta)
