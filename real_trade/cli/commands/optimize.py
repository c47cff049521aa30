"""``real-trade optimize CONFIG.toml --param fast=5:30:5 --param slow=20:100:10``: a sweep.

Every point of the space (``--method grid``) or ``--trials`` points proposed by Optuna's seeded
TPE sampler (``--method optuna``, ``pip install real_trade[optimize]``) is backtested as
``real-trade backtest`` would (same config, period, paper broker), on ``--workers`` processes
that each receive the history once. The results are ranked by ``--objective`` and the best
parameters are written back as ``CONFIG.best.toml`` next to the config (``--output`` elsewhere).
Results depend on the seed, never on the number of workers.

``--oos 0.3`` keeps the last 30 % of the bars out of the sweep, then backtests the best
parameters on them alone and warns when they do much worse there than where they were chosen
(less than half the in-sample figure, or a loss after an in-sample gain): the sign of a fit to
noise.

Exit codes: 0 done; 1 a backtest failed, no trial had a defined figure, or the best config
could not be written; 2 bad config or arguments.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from real_trade.cli.commands.argtypes import fraction, positive_int
from real_trade.cli.commands.backtest import add_period_arguments

__all__ = ["add_arguments", "is_much_worse", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``optimize`` subcommand's arguments."""
    from real_trade.backtest.optimize import OBJECTIVES

    add_period_arguments(parser)
    parser.add_argument(
        "--param",
        action="append",
        required=True,
        metavar="NAME=SPEC",
        help="a swept strategy parameter: NAME=START:STOP:STEP (stop included) or NAME=A,B,C; "
        "repeat for several",
    )
    parser.add_argument(
        "--objective",
        choices=sorted(OBJECTIVES),
        default="sharpe",
        help="the figure to rank by (default sharpe; drawdown ranks the smallest first)",
    )
    parser.add_argument("--method", choices=("grid", "optuna"), default="grid")
    parser.add_argument(
        "--trials", type=positive_int, default=50, help="Optuna trials (default 50)"
    )
    parser.add_argument("--seed", type=int, default=0, help="Optuna's sampler seed (default 0)")
    parser.add_argument(
        "--workers", type=positive_int, default=1, help="worker processes (default 1)"
    )
    parser.add_argument(
        "--oos",
        type=fraction,
        default=None,
        help="keep this fraction of the bars (the tail) out of the sweep and test the best on it",
    )
    parser.add_argument(
        "--top", type=positive_int, default=20, help="rows of the results table (default 20)"
    )
    parser.add_argument(
        "--output", default=None, help="where to write the best config (default CONFIG.best.toml)"
    )


def is_much_worse(in_sample: float | None, out_of_sample: float | None, higher: bool) -> bool:
    """Whether the out-of-sample figure is much worse than the in-sample one: less than half
    of it (more than 1.5x it for a figure where lower is better), or a loss after a gain."""
    if in_sample is None:
        return False
    if out_of_sample is None:
        return True
    if not higher:
        return out_of_sample > in_sample * 1.5 + 1e-12
    if in_sample > 0:
        return out_of_sample < in_sample * 0.5
    return out_of_sample < in_sample - abs(in_sample) * 0.5


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _figure(objective: str, value: float | None) -> str:
    from real_trade.backtest.table import percent

    if value is None:
        return "-"
    if objective in ("return", "drawdown", "win_rate"):
        return percent(value)
    return f"{value:,.2f}"


def run(args: argparse.Namespace) -> int:
    """Load, sweep, print the ranking, write the best config; the exit code."""
    from real_trade.backtest import load_bars
    from real_trade.backtest.optimize import require_optuna, split_bars
    from real_trade.backtest.space import grid_size, parse_param
    from real_trade.cli.commands.backtest import backtest_config, describe_period
    from real_trade.engine.loading import check_strategy_params
    from real_trade.errors import ConfigError, redact

    if args.start is not None and args.end is not None and args.start >= args.end:
        print("real-trade optimize: --from must be before --to", file=sys.stderr)
        return 2
    try:
        space = [parse_param(text) for text in args.param]
        names = [p.name for p in space]
        if len(set(names)) != len(names):
            raise ConfigError("a parameter is swept twice", field="param", fix="give each once")
        if args.method == "optuna":
            require_optuna()
        config = backtest_config(args.config, args.cash)
        config.logging.configure()
        strategy_cls = config.run.strategy_class()
        base = dict(config.run.params)
        check_strategy_params(strategy_cls, {**base, **{n: 0 for n in names}}, field="param")
        bars = load_bars(config, args.start, args.end)
        sample, tail = split_bars(bars, args.oos) if args.oos else (bars, None)
    except ConfigError as exc:
        print(f"real-trade optimize: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        text = redact(str(exc))
        print(f"real-trade optimize: loading the history failed: {text}", file=sys.stderr)
        return 1
    count = grid_size(space) if args.method == "grid" else args.trials
    print(f"real-trade optimize: {strategy_cls.__module__}.{strategy_cls.__qualname__}")
    print(f"  symbols    {', '.join(bars)} on {config.timeframe} bars, {config.exchange}")
    print(f"  sweep on   {describe_period(sample)}")
    if tail is not None:
        print(f"  held out   {describe_period(tail)} (--oos {args.oos:g})")
    print(f"  space      {'; '.join(p.describe() for p in space)}")
    how = "grid" if args.method == "grid" else f"optuna TPE, seed {args.seed}"
    print(f"  method     {how}: {count} backtests on {args.workers} worker(s), by {args.objective}")
    sys.stdout.flush()
    return _sweep(args, config, strategy_cls, base, space, sample, tail, count)


def _sweep(
    args: argparse.Namespace,
    config: Any,
    strategy_cls: type,
    base: dict[str, Any],
    space: list[Any],
    sample: Any,
    tail: Any,
    count: int,
) -> int:
    from tqdm import tqdm

    from real_trade.backtest import run_backtest
    from real_trade.backtest.best_config import write_best_config
    from real_trade.backtest.optimize import OBJECTIVES, objective_value, optimize
    from real_trade.backtest.table import conventions_line, percent, table_lines
    from real_trade.errors import ConfigError, redact

    bar = tqdm(
        total=count,
        unit="trial",
        desc="optimize",
        file=sys.stderr,
        disable=True if args.no_progress else None,
        leave=False,
    )
    try:
        trials = optimize(
            config,
            sample,
            strategy_cls,
            space,
            base_params=base,
            objective=args.objective,
            method=args.method,
            trials=args.trials,
            seed=args.seed,
            workers=args.workers,
            risk_free=args.risk_free,
            on_trial=lambda: bar.update(1),
        )
    except ConfigError as exc:
        print(f"real-trade optimize: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        text = redact(f"{type(exc).__name__}: {exc}")
        print(f"real-trade optimize: a backtest failed: {text}", file=sys.stderr)
        return 1
    finally:
        bar.close()
    names = [p.name for p in space]
    header = ["#", *names, "Sharpe", "return", "drawdown", "trades", "win rate", "final value"]
    distinct, seen = [], set()
    for t in trials:  # Optuna may propose a point twice: show it once
        key = tuple(sorted(t.params.items()))
        if key not in seen:
            seen.add(key)
            distinct.append(t)
    rows = []
    for rank, t in enumerate(distinct[: args.top], 1):
        s = t.summary
        rows.append(
            [
                rank,
                *(_fmt(t.params[n]) for n in names),
                "-" if s.sharpe is None else f"{s.sharpe:.2f}",
                percent(s.total_return),
                percent(s.max_drawdown),
                s.trades,
                percent(s.win_rate, 1),
                f"{s.end_value:,.2f}",
            ]
        )
    print()
    label = OBJECTIVES[args.objective].label
    repeats = f", {len(trials) - len(distinct)} repeated" if len(distinct) < len(trials) else ""
    shown_rows = min(args.top, len(distinct))
    print(f"{len(trials)} trials{repeats}, best {label} first (top {shown_rows}):")
    for line in table_lines(header, rows):
        print(f"  {line}")
    print(conventions_line(args.risk_free))
    best = trials[0]
    if not math.isfinite(best.score):
        print(
            f"real-trade optimize: no backtest gave a defined {args.objective} (no trade, or a "
            "flat equity curve); nothing written. Try a longer period or other ranges.",
            file=sys.stderr,
        )
        return 1
    shown = ", ".join(f"{k}={_fmt(v)}" for k, v in best.params.items())
    in_figure = objective_value(best.summary, args.objective)
    print(f"best: {shown} ({args.objective} {_figure(args.objective, in_figure)})")
    if tail is not None:
        try:
            held = run_backtest(
                config, tail, strategy_cls, {**base, **best.params}, risk_free=args.risk_free
            )
        except Exception as exc:
            text = redact(f"{type(exc).__name__}: {exc}")
            print(
                f"real-trade optimize: the out-of-sample backtest failed: {text}", file=sys.stderr
            )
            return 1
        out_figure = objective_value(held.summary, args.objective)
        s = held.summary
        print(
            f"out of sample: {args.objective} {_figure(args.objective, out_figure)} "
            f"(in sample {_figure(args.objective, in_figure)}); return "
            f"{percent(s.total_return)}, drawdown {percent(s.max_drawdown)}, "
            f"{s.trades} trades, buy and hold {percent(s.buy_and_hold)}"
        )
        higher = OBJECTIVES[args.objective].higher_is_better
        if is_much_worse(in_figure, out_figure, higher):
            print(
                "WARNING: overfitting likely: the best parameters do much worse on the bars "
                "they were not chosen on; prefer a wider plateau of good values, fewer "
                "parameters or a longer history.",
                flush=True,
            )
    header_text = (
        f"written by real-trade optimize from {args.config}\n"
        f"best of {len(trials)} backtests by {args.objective}: {shown}"
    )
    try:
        path = write_best_config(args.config, best.params, header=header_text, target=args.output)
    except (OSError, ConfigError) as exc:
        print(f"real-trade optimize: cannot write the best config: {exc}", file=sys.stderr)
        return 1
    print(f"best config written to {path}")
    return 0
