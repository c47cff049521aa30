"""Out-of-sample figures: :func:`walk_forward` accuracy and :func:`strategy_vs_buy_and_hold`.

:func:`walk_forward` trains on ``train_bars`` bars, predicts the next ``test_bars`` bars it has
never seen, slides forward by ``test_bars`` and repeats (a new model per window, as FreqAI
does). Its baseline is the majority class of each training window predicted for every bar of
the following test window: an accuracy above 0.5 means little unless it beats that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from real_trade.core.ai_trading.frames import frame_feed
from real_trade.core.ai_trading.predictor import EnsemblePredictor

__all__ = ["BacktestComparison", "WalkForwardReport", "strategy_vs_buy_and_hold", "walk_forward"]


@dataclass(frozen=True, slots=True)
class WalkForwardReport:
    """Out-of-sample accuracy over all test windows and the majority-class baseline's."""

    folds: int
    predictions: int
    accuracy: float
    baseline_accuracy: float
    up_rate: float
    fold_accuracy: list[float] = field(default_factory=list)

    def summary(self) -> str:
        """One line for a report."""
        return (
            f"walk-forward: {self.folds} folds, {self.predictions} out-of-sample predictions, "
            f"accuracy {self.accuracy:.4f} vs majority-class baseline "
            f"{self.baseline_accuracy:.4f} (up share {self.up_rate:.4f})"
        )


def walk_forward(
    frame: pd.DataFrame,
    *,
    train_bars: int = 5000,
    test_bars: int = 1000,
    progress: bool = False,
    **predictor_args: Any,
) -> WalkForwardReport:
    """Walk-forward accuracy of :class:`EnsemblePredictor` (``predictor_args``) on ``frame``."""
    hits = base_hits = total = ups = 0
    fold_acc: list[float] = []
    starts = range(train_bars, len(frame) - 1, test_bars)
    for start in tqdm(starts, desc="walk-forward", unit="fold", disable=not progress):
        predictor = EnsemblePredictor(**predictor_args)
        train = frame.iloc[start - train_bars : start]
        predictor.train(train)
        _, y_train = predictor.prepare_training_data(train)
        majority = int(y_train.mean() >= 0.5)
        warm = predictor.feature_extractor.warmup
        window = frame.iloc[max(0, start - warm + 1) : start + test_bars + predictor.horizon]
        features = predictor.feature_extractor.feature_frame(window)
        close = window["close"]
        future = close.shift(-predictor.horizon)
        test_index = frame.index[start : start + test_bars]
        keep = features.index.isin(test_index) & features.notna().all(axis=1) & future.notna()
        x, labels = features[keep].to_numpy(), (future > close)[keep].to_numpy(dtype=int)
        if len(labels) == 0:
            continue
        guess = (predictor.predict_up(x) >= 0.5).astype(int)
        fold_hits = int((guess == labels).sum())
        hits += fold_hits
        base_hits += int((labels == majority).sum())
        ups += int(labels.sum())
        total += len(labels)
        fold_acc.append(fold_hits / len(labels))
    if total == 0:
        raise ValueError("the frame is too short for one walk-forward fold")
    return WalkForwardReport(
        len(fold_acc), total, hits / total, base_hits / total, ups / total, fold_acc
    )


@dataclass(frozen=True, slots=True)
class BacktestComparison:
    """The strategy's return against buy-and-hold over the same bars (both after commission)."""

    strategy_return: float
    buy_and_hold_return: float
    trades: int
    predictions: int
    final_value: float
    confident: int = 0

    def summary(self) -> str:
        """One line for a report."""
        return (
            f"strategy {self.strategy_return:+.4%} ({self.trades} trades, "
            f"{self.predictions} AI predictions, {self.confident} at the confidence threshold) "
            f"vs buy-and-hold {self.buy_and_hold_return:+.4%}"
        )


def strategy_vs_buy_and_hold(
    frame: pd.DataFrame,
    *,
    cash: float = 100_000.0,
    commission: float = 0.001,
    strategy_cls: type | None = None,
    **params: Any,
) -> BacktestComparison:
    """Backtest ``strategy_cls`` (default :class:`AIStrategy`, ``params``) on ``frame`` with
    backtrader's broker (``commission`` per side) and compare with buying all at the first close
    and holding (paying the same commission in and out)."""
    import backtrader as bt

    if strategy_cls is None:
        from real_trade.core.ai_trading.strategy import AIStrategy

        strategy_cls = AIStrategy
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(frame_feed(frame))
    cerebro.broker.setcash(cash)
    cerebro.broker.setcommission(commission=commission)
    cerebro.addstrategy(strategy_cls, **params)
    strategy = cerebro.run()[0]
    value = float(cerebro.broker.getvalue())
    first, last = float(frame["close"].iloc[0]), float(frame["close"].iloc[-1])
    hold = (last / first) * (1 - commission) ** 2 - 1.0
    return BacktestComparison(
        value / cash - 1.0,
        float(np.round(hold, 10)),
        int(getattr(strategy, "trades_opened", 0)),
        len(getattr(strategy, "predictions", [])),
        value,
        int(getattr(strategy, "confident_signals", 0)),
    )
