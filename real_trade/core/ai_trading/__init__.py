"""AI-assisted trading (seed 000's ``real_trade/core/ai_trading.py``).

* :class:`FeatureExtractor`, :class:`MLFeatures` (:mod:`.features`): causal price, volume,
  technical and regime features over ``lookback_periods``;
* :class:`EnsemblePredictor` (:mod:`.predictor`): random forest + gradient boosting, soft vote,
  ``prepare_training_data``, ``train``, ``predict`` -> ``(signal, confidence)``;
* :class:`ModelTrainer` (:mod:`.trainer`): training on a worker thread, the newest finished
  model, stale models give no signal; :class:`ModelRegistry` (:mod:`.registry`): models saved
  with their metadata, reloaded on restart when the feature code is unchanged;
* :class:`AIStrategy` (:mod:`.strategy`): the AI vote fused with SMA/RSI/Bollinger signals;
* :func:`check_lookahead` (:mod:`.lookahead`, ``real-trade ai-check``), :func:`walk_forward`
  and :func:`strategy_vs_buy_and_hold` (:mod:`.walkforward`).

scikit-learn (the ``[ai]`` extra) is imported only when a model is trained.
"""

from real_trade.core.ai_trading.features import FeatureExtractor, MLFeatures, feature_code_hash
from real_trade.core.ai_trading.lookahead import LookaheadReport, check_lookahead
from real_trade.core.ai_trading.predictor import EnsemblePredictor
from real_trade.core.ai_trading.registry import ModelMetadata, ModelRegistry, TrainedModel
from real_trade.core.ai_trading.strategy import AIStrategy
from real_trade.core.ai_trading.trainer import MODEL_TOPIC, ModelTrainer
from real_trade.core.ai_trading.walkforward import (
    BacktestComparison,
    WalkForwardReport,
    strategy_vs_buy_and_hold,
    walk_forward,
)

__all__ = [
    "MODEL_TOPIC",
    "AIStrategy",
    "BacktestComparison",
    "EnsemblePredictor",
    "FeatureExtractor",
    "LookaheadReport",
    "MLFeatures",
    "ModelMetadata",
    "ModelRegistry",
    "ModelTrainer",
    "TrainedModel",
    "WalkForwardReport",
    "check_lookahead",
    "feature_code_hash",
    "strategy_vs_buy_and_hold",
    "walk_forward",
]
