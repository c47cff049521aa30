"""The AI module's honest figures on the real BTC/USDT minutes (issue 17).

Reads ``binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv`` (``$RT_DATA_DIR`` or ``../shared/data``)
and prints: the walk-forward out-of-sample accuracy of :class:`EnsemblePredictor` (train 5000
bars, test the next 1000, slide by 1000) against the majority-class baseline; then
:class:`AIStrategy` (the seed's ``confidence_threshold=0.6``, retrained daily on the last 5000
bars) and the same strategy with ``enable_ai=False`` against buy-and-hold, commission 0.1% a
side. Usage: ``python bench/ai_walk_forward.py [--bars N]``.
"""

from __future__ import annotations

import argparse
import time

from real_trade.core.ai_trading import strategy_vs_buy_and_hold, walk_forward
from real_trade.core.ai_trading.frames import candle_frame, default_candle_file


def main() -> None:
    """Print the walk-forward and backtest figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=None, help="first N bars only")
    parser.add_argument("--estimators", type=int, default=50)
    args = parser.parse_args()
    path = default_candle_file()
    if path is None:
        raise SystemExit("candle file not found: set RT_DATA_DIR or put it in ../shared/data")
    frame = candle_frame(path, args.bars)
    print(f"{path.name}: {len(frame)} bars, {frame.index[0]} .. {frame.index[-1]}")
    started = time.perf_counter()
    report = walk_forward(
        frame, train_bars=5000, test_bars=1000, n_estimators=args.estimators, progress=True
    )
    print(report.summary(), f"[{time.perf_counter() - started:.0f} s]")
    print("fold accuracies:", " ".join(f"{a:.3f}" for a in report.fold_accuracy))
    common = {"training_period": 1440, "training_window": 5000, "n_estimators": args.estimators}
    for label, params in (
        ("AIStrategy (seed params, confidence 0.6)", {"confidence_threshold": 0.6}),
        ("AIStrategy, technical signals only", {"enable_ai": False}),
    ):
        started = time.perf_counter()
        result = strategy_vs_buy_and_hold(frame, **common, **params)
        print(f"{label}: {result.summary()} [{time.perf_counter() - started:.0f} s]")


if __name__ == "__main__":
    main()
