"""``real-trade ai-check``: the look-ahead check of an AI strategy on a candle file.

    real-trade ai-check [--file CSV] [--strategy pkg.module:Class] [--bars 1200] [--cut N]
        [--live] [--param name=value ...]

Runs the strategy (default ``real_trade.core.ai_trading:AIStrategy``, small models) on the
file's first ``--bars`` candles, then again with every candle after ``--cut`` changed, and
compares the predictions made up to the cut (:func:`real_trade.core.ai_trading.check_lookahead`):
backtest mode by default, a live feed with training on the worker with ``--live``. The file
defaults to the real BTC/USDT minutes (``$RT_DATA_DIR`` or ``../shared/data``). Exit code 0 when
no prediction changed, 1 when one did (look-ahead) or none was compared, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import ast
from typing import Any

__all__ = ["add_arguments", "run"]

_SMALL = {"training_period": 200, "training_window": 600, "n_estimators": 10}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``ai-check`` subcommand's arguments."""
    parser.add_argument("--file", default=None, help="candle CSV (default: the real BTC/USDT)")
    parser.add_argument(
        "--strategy",
        default="real_trade.core.ai_trading:AIStrategy",
        help="the strategy class, pkg.module:Class (an AIStrategy kind)",
    )
    parser.add_argument("--bars", type=int, default=1200, help="candles to run on (1200)")
    parser.add_argument("--cut", type=int, default=None, help="bar after which data changes")
    parser.add_argument("--live", action="store_true", help="a live feed, background training")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a strategy parameter (repeatable); defaults are small models",
    )


def _params(pairs: list[str]) -> dict[str, Any]:
    from real_trade.errors import ConfigError

    params: dict[str, Any] = dict(_SMALL)
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise ConfigError(f"bad --param {pair!r}", field="param", fix="use NAME=VALUE")
        try:
            params[name] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            params[name] = raw
    return params


def run(args: argparse.Namespace) -> int:
    """Run the check and print its outcome."""
    import pandas as pd

    from real_trade.core.ai_trading import check_lookahead
    from real_trade.core.ai_trading.frames import candle_frame, default_candle_file
    from real_trade.engine.loading import load_strategy
    from real_trade.errors import ConfigError

    try:
        path = args.file or default_candle_file()
        if path is None:
            raise ConfigError("no candle file", field="file", fix="pass --file or set RT_DATA_DIR")
        strategy = load_strategy(args.strategy)
        params = _params(args.param)
    except ConfigError as exc:
        print(f"error: {exc}")
        return 2
    frame = candle_frame(path, args.bars)
    report = check_lookahead(frame, strategy, params, cut=args.cut, live=args.live)
    verdict = "OK: no look-ahead" if report.ok else "FAILED"
    cut_at = pd.Timestamp(report.cut_ms, unit="ms", tz="UTC")
    print(
        f"{verdict} ({report.mode}): every bar after {cut_at:%Y-%m-%d %H:%M} changed; "
        f"{report.compared} predictions up to it compared, {len(report.mismatches)} differ"
    )
    for before, after in report.mismatches[:5]:
        print(f"  {before} -> {after}")
    return 0 if report.ok else 1
