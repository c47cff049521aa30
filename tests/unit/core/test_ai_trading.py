"""real_trade.core.ai_trading: causal features, the ensemble, training off the trading thread,
stale models, saved models, the look-ahead check (backtest and live), the seed's demo."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn")

from real_trade.bus import EventBus
from real_trade.cli import main as cli_main
from real_trade.core.ai_trading import (
    MODEL_TOPIC,
    AIStrategy,
    EnsemblePredictor,
    FeatureExtractor,
    MLFeatures,
    ModelRegistry,
    ModelTrainer,
    check_lookahead,
    strategy_vs_buy_and_hold,
    walk_forward,
)
from real_trade.core.ai_trading.lookahead import perturb_after
from tests.support import eventually

SMALL = {"training_period": 150, "training_window": 400, "n_estimators": 5}


def walk(bars: int, seed: int = 3) -> pd.DataFrame:
    """A seeded one-minute random walk with some momentum (so a model has something to learn)."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 0.001, bars)
    steps[1:] += 0.3 * steps[:-1]
    close = 20_000.0 * np.exp(np.cumsum(steps))
    open_ = np.concatenate([[20_000.0], close[:-1]])
    spread = np.abs(rng.normal(0.0, 0.0005, bars)) * close
    index = pd.date_range("2023-03-01", periods=bars, freq="1min", tz="UTC", name="datetime")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.uniform(0.5, 5.0, bars),
        },
        index=index,
    )


FRAME = walk(700)


# --- features -----------------------------------------------------------------------------------


def test_features_of_a_bar_are_those_of_its_own_past() -> None:
    extractor = FeatureExtractor((5, 10, 20))
    full = extractor.feature_frame(FRAME)
    assert list(full.columns) == extractor.feature_names()
    assert full.iloc[: extractor.warmup - 1].isna().all().all()
    assert full.iloc[extractor.warmup - 1 :].notna().all().all()
    for t in (extractor.warmup - 1, 200, 699):
        tail = extractor.extract_features(FRAME.iloc[: t + 1]).to_vector()
        np.testing.assert_allclose(tail, full.iloc[t].to_numpy(), rtol=0, atol=1e-9)
    changed = extractor.feature_frame(perturb_after(FRAME, 300))
    pd.testing.assert_frame_equal(changed.iloc[:301], full.iloc[:301])
    assert not changed.iloc[301:].equals(full.iloc[301:])


def test_ml_features_groups_follow_the_seed() -> None:
    extractor = FeatureExtractor([20, 5])
    assert extractor.lookback_periods == [5, 20]
    feats = extractor.extract_features(FRAME)
    assert isinstance(feats, MLFeatures)
    assert len(feats.price_features) == 6 and len(feats.volume_features) == 4
    assert len(feats.technical_features) == 6
    assert feats.market_regime in (-1, 0, 1) and feats.volatility_level > 0
    assert len(feats.to_vector()) == len(extractor.feature_names())
    assert extractor._extract_price_features(FRAME) == feats.price_features
    assert extractor._extract_market_regime(FRAME)["trend_strength"] == feats.trend_strength
    with pytest.raises(ValueError, match="at least"):
        extractor.extract_features(FRAME.iloc[:10])
    with pytest.raises(ValueError, match="lookback_periods"):
        FeatureExtractor([1])


# --- the ensemble -------------------------------------------------------------------------------


def test_training_rows_never_label_with_bars_beyond_the_frame() -> None:
    predictor = EnsemblePredictor(horizon=3, n_estimators=5)
    x, y = predictor.prepare_training_data(FRAME.iloc[:200])
    warm = predictor.feature_extractor.warmup
    assert len(y) == 200 - (warm - 1) - 3
    close = FRAME["close"].to_numpy()
    expected = (close[warm + 2 : 200] > close[warm - 1 : 197]).astype(int)
    np.testing.assert_array_equal(y, expected)
    assert x.shape == (len(y), len(predictor.feature_extractor.feature_names()))


def test_predict_is_a_soft_vote_signal_and_confidence() -> None:
    predictor = EnsemblePredictor(n_estimators=5)
    assert predictor.predict(FRAME) == (0, 0.0)
    scores = predictor.train(FRAME.iloc[:500])
    assert set(predictor.models) == {"random_forest", "gradient_boosting"}
    assert 0.5 <= scores["train_accuracy"] <= 1.0
    signal, confidence = predictor.predict(FRAME)
    assert signal in (-1, 1) and 0.5 <= confidence <= 1.0
    vector = predictor.feature_extractor.extract_features(FRAME).to_vector()
    xs = predictor.feature_extractor.scaler.transform([vector])
    votes = [m.predict_proba(xs)[0, 1] for m in predictor.models.values()]
    up = float(np.mean(votes))
    assert (signal, confidence) == ((1, up) if up >= 0.5 else (-1, 1 - up))
    with pytest.raises(ValueError, match="both classes"):
        predictor.train(FRAME.iloc[:40])


def test_walk_forward_reports_accuracy_beside_the_majority_baseline() -> None:
    report = walk_forward(FRAME, train_bars=300, test_bars=150, n_estimators=5)
    assert report.folds == 3 and report.predictions == 399
    assert 0 <= report.accuracy <= 1 and 0 <= report.baseline_accuracy <= 1
    assert report.baseline_accuracy >= 0.5 * min(report.up_rate, 1 - report.up_rate)
    assert "majority-class baseline" in report.summary()


# --- training off the trading thread, staleness, saved models -----------------------------------


class _Blocking(EnsemblePredictor):
    entered = threading.Event()
    release = threading.Event()

    def train(self, data: pd.DataFrame, lookback_days: int | None = None) -> dict[str, float]:
        assert threading.current_thread().name.startswith("rt-ai-train")
        self.entered.set()
        assert self.release.wait(30)
        return super().train(data, lookback_days)


def test_training_runs_on_a_worker_and_the_newest_finished_model_is_used() -> None:
    bus = EventBus(synchronous=True)
    announced: list[Any] = []
    bus.subscribe(MODEL_TOPIC, lambda topic, event: announced.append(event))
    trainer = ModelTrainer(lambda: _Blocking(n_estimators=5), bus=bus, max_age_ms=60_000)
    try:
        trainer.submit(FRAME.iloc[:300])  # returns while the worker is blocked in train()
        assert _Blocking.entered.wait(30)
        assert trainer.busy() and trainer.current(0) is None
        trainer.submit(FRAME.iloc[:350])  # waits as the next job...
        trainer.submit(FRAME.iloc[:400])  # ...replaced by a newer one
        _Blocking.release.set()
        eventually(lambda: not trainer.busy(), timeout=60, message="the trainer to finish")
        model = trainer.newest
        assert model is not None and trainer.trained == 2
        end_ms = int(FRAME.index[399].value // 1_000_000)
        assert model.metadata.data_end_ms == end_ms
        assert [m.data_end_ms for m in announced][-1] == end_ms
        assert trainer.current(end_ms + 60_000) is model
        assert trainer.current(end_ms + 60_001) is None  # stale: no signal
    finally:
        trainer.close()


def test_models_are_saved_with_metadata_and_reloaded_unless_the_features_changed(
    tmp_path: Path,
) -> None:
    registry = ModelRegistry(tmp_path)
    trainer = ModelTrainer(
        lambda: EnsemblePredictor(n_estimators=5), background=False, registry=registry
    )
    trainer.submit(FRAME.iloc[:300])
    trainer.submit(FRAME.iloc[:500])
    (meta,) = [
        m for m in registry.entries() if m.data_end_ms == trainer.newest.metadata.data_end_ms
    ]
    assert meta.data_start_ms == int(FRAME.index[0].value // 1_000_000)
    assert set(meta.scores) >= {"train_accuracy", "up_rate", "rows"}
    restarted = ModelTrainer(lambda: EnsemblePredictor(n_estimators=5), registry=registry)
    assert restarted.newest is not None
    assert restarted.newest.metadata == meta
    assert restarted.newest.predictor.predict(FRAME) == trainer.newest.predictor.predict(FRAME)
    other = ModelTrainer(lambda: EnsemblePredictor((4, 8), n_estimators=5), registry=registry)
    assert other.newest is None  # different feature code: not reused


def test_the_strategy_reloads_its_model_but_never_one_from_the_future(tmp_path: Path) -> None:
    import backtrader as bt

    from real_trade.core.ai_trading.frames import frame_feed

    def run(frame: pd.DataFrame, **params: Any) -> Any:
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(frame_feed(frame))
        cerebro.addstrategy(AIStrategy, model_dir=str(tmp_path), n_estimators=5, **params)
        return cerebro.run()[0]

    first = run(FRAME.iloc[:400], training_period=300, training_window=300)
    assert first.trainer.trained == 1 and len(ModelRegistry(tmp_path).entries()) == 1
    trained_end = first.trainer.newest.metadata.data_end_ms
    later = walk(300, seed=9)
    later.index = later.index + (FRAME.index[399] - later.index[0]) + pd.Timedelta(minutes=1)
    restarted = run(later, training_period=10_000, max_model_age=10_000)
    assert restarted.is_model_trained and restarted.trainer.trained == 0
    assert restarted.predictions and {p[3] for p in restarted.predictions} == {trained_end}
    replay = run(FRAME.iloc[:250], training_period=10_000, max_model_age=10_000)
    assert replay.is_model_trained and not replay.predictions  # bars before the model's data


# --- the strategy and the look-ahead check ------------------------------------------------------


def test_lookahead_check_passes_in_backtest() -> None:
    report = check_lookahead(FRAME, AIStrategy, SMALL, cut=450)
    assert report.mode == "backtest" and report.compared > 200
    assert report.ok, report.mismatches[:3]


class Cheater(AIStrategy):
    """Scales by the whole series' last close (as a feature normalised over the full range
    would; backtest preload makes it visible): must be caught."""

    def ai_signal(self) -> tuple[int, float]:
        signal, confidence = super().ai_signal()
        if signal:
            final = self.data.close[self.data.buflen() - len(self.data)]
            bar, _, _, end = self.predictions[-1]
            self.predictions[-1] = (bar, signal, round(confidence * final, 6), end)
        return signal, confidence


def test_lookahead_check_catches_a_strategy_that_peeks() -> None:
    report = check_lookahead(FRAME, Cheater, SMALL, cut=450)
    assert not report.ok and report.mismatches


def test_lookahead_check_passes_live_with_background_training() -> None:
    report = check_lookahead(FRAME.iloc[:600], AIStrategy, SMALL, cut=450, live=True)
    assert report.mode == "live" and report.compared > 100
    assert report.ok, report.mismatches[:3]


def test_a_stale_model_gives_no_signal() -> None:
    params = {**SMALL, "training_period": 300, "max_model_age": 40}
    result = strategy_vs_buy_and_hold(FRAME, **params, confidence_threshold=0.5)
    assert result.predictions > 0
    assert result.confident == result.predictions  # every vote is at least 0.5 sure
    import backtrader as bt

    from real_trade.core.ai_trading.frames import frame_feed

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(frame_feed(FRAME))
    cerebro.addstrategy(AIStrategy, **params)
    strategy = cerebro.run()[0]
    ages = [(bar - end) // 60_000 for bar, _, _, end in strategy.predictions]
    assert ages and max(ages) <= 40
    assert strategy.is_model_trained and strategy.rSI is strategy.rsi


def test_the_strategy_keeps_its_entry_price_and_stops_out() -> None:
    import backtrader as bt

    from real_trade.core.ai_trading.frames import frame_feed

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(frame_feed(FRAME))
    cerebro.broker.setcash(100_000.0)
    cerebro.addstrategy(AIStrategy, enable_ai=False, size=1.0, stop_loss=0.001)
    strategy = cerebro.run()[0]
    assert strategy.trades_opened > 0 and not strategy.predictions
    closed = [t for t in strategy._trades[strategy.data][0] if t.isclosed]
    assert closed and min(t.pnl for t in closed) < 0


# --- the seed's example, the command, the import cost -------------------------------------------


def test_the_seed_ai_example_runs_offline(capsys: pytest.CaptureFixture[str]) -> None:
    from real_trade.examples.ai_trading_demo import main

    result = main(bars=260)
    assert result.bars == 260 and result.predictions > 0
    assert "buy-and-hold" in capsys.readouterr().out


def test_ai_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "binanceus_BTCUSDT_1m.csv"
    frame = walk(500).round(2)
    frame.index = frame.index.strftime("%Y-%m-%d %H:%M:%S+00:00")
    frame.rename_axis("open_time").to_csv(csv)
    code = cli_main(
        [
            "ai-check",
            "--file",
            str(csv),
            "--bars",
            "500",
            "--cut",
            "350",
            "--param",
            "training_period=150",
            "--param",
            "training_window=300",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "OK: no look-ahead (backtest)" in out
    assert cli_main(["ai-check", "--file", str(csv), "--param", "oops"]) == 2


def test_importing_the_ai_module_does_not_import_sklearn() -> None:
    code = "import sys, real_trade.core, real_trade.core.ai_trading;print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
