"""Parameter sweeps over backtests: a grid or Optuna, on worker processes, reproducible.

:func:`optimize` runs one backtest (:func:`~real_trade.backtest.engine.run_backtest`) per
point of the space and ranks them by an objective (:data:`OBJECTIVES`). The history is loaded
once by the caller and handed to each worker process **once**, by the pool's initializer; a
trial sends only its parameters and gets back a :class:`Trial` (the figures).

Reproducible whatever ``workers``: a backtest is deterministic, grid points are numbered in a
fixed order, and Optuna's sampler (TPE, seeded) is asked for trials in fixed batches of
:data:`OPTUNA_BATCH` and told their results in trial order, so the same seed proposes the same
trials with 1 worker or 8. A point Optuna proposes twice is evaluated once.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from real_trade.backtest.engine import run_backtest
from real_trade.backtest.space import ParamRange, grid, suggest
from real_trade.errors import ConfigError
from real_trade.monitor.metrics import PerformanceSummary

if TYPE_CHECKING:
    import pandas as pd

    from real_trade.config import RealTradeConfig

__all__ = [
    "OBJECTIVES",
    "OPTUNA_BATCH",
    "Objective",
    "Trial",
    "objective_value",
    "optimize",
    "require_optuna",
    "split_bars",
]

OPTUNA_BATCH = 8
"""Trials Optuna proposes before it is told results (fixed: results never depend on workers)."""


@dataclass(frozen=True)
class Objective:
    """A figure to rank trials by: its label, the summary field, and whether higher is better."""

    label: str
    field: str
    higher_is_better: bool = True


OBJECTIVES: dict[str, Objective] = {
    "sharpe": Objective("Sharpe", "sharpe"),
    "return": Objective("return", "total_return"),
    "drawdown": Objective("max drawdown", "max_drawdown", higher_is_better=False),
    "win_rate": Objective("win rate", "win_rate"),
    "final_value": Objective("final value", "end_value"),
}


def objective_value(summary: PerformanceSummary, objective: str) -> float | None:
    """The objective's figure of ``summary`` (None when undefined, e.g. a flat Sharpe)."""
    value = getattr(summary, OBJECTIVES[objective].field)
    return None if value is None else float(value)


def _score(summary: PerformanceSummary, objective: str) -> float:
    """Higher is better; an undefined figure ranks last."""
    value = objective_value(summary, objective)
    if value is None or not math.isfinite(value):
        return -math.inf
    return value if OBJECTIVES[objective].higher_is_better else -value


@dataclass(frozen=True)
class Trial:
    """One evaluated point: its number (order of proposal), parameters, figures and score."""

    number: int
    params: dict[str, Any]
    summary: PerformanceSummary
    score: float


# -- the worker side ------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _init_worker(
    config: RealTradeConfig,
    bars: Mapping[str, pd.DataFrame],
    strategy_cls: type,
    base_params: Mapping[str, Any],
    cash: float | None,
    risk_free: float,
) -> None:
    """Keep the history and the run's settings in this process (once per worker)."""
    _WORKER.update(
        config=config,
        bars=bars,
        strategy_cls=strategy_cls,
        base_params=dict(base_params),
        cash=cash,
        risk_free=risk_free,
    )


def _init_pool_worker(*initargs: Any) -> None:
    """A worker process: the config's logging, Ctrl-C left to the parent, then the history."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the pool on Ctrl-C
    initargs[0].logging.configure()
    _init_worker(*initargs)


def _evaluate(params: dict[str, Any]) -> PerformanceSummary:
    """One backtest with ``params`` over this worker's history."""
    w = _WORKER
    result = run_backtest(
        w["config"],
        w["bars"],
        w["strategy_cls"],
        {**w["base_params"], **params},
        cash=w["cash"],
        risk_free=w["risk_free"],
    )
    return result.summary


class _Evaluator:
    """Evaluates points in this process (1 worker) or on a process pool; caches repeats."""

    def __init__(self, workers: int, initargs: tuple[Any, ...]) -> None:
        self._pool: ProcessPoolExecutor | None = None
        if workers > 1:
            self._pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_pool_worker,
                initargs=initargs,
            )
        else:
            _init_worker(*initargs)
        self._cache: dict[tuple[tuple[str, Any], ...], PerformanceSummary] = {}

    def run(
        self, points: Sequence[dict[str, Any]], on_done: Callable[[], None]
    ) -> list[PerformanceSummary]:
        """The summaries of ``points``, in their order; ``on_done()`` after each."""
        keys = [tuple(sorted(p.items())) for p in points]
        if self._pool is None:
            for key, point in zip(keys, points, strict=True):
                if key not in self._cache:
                    self._cache[key] = _evaluate(point)
                on_done()
            return [self._cache[k] for k in keys]
        futures: dict[Future[PerformanceSummary], tuple[tuple[str, Any], ...]] = {}
        submitted: set[tuple[tuple[str, Any], ...]] = set()
        for key, point in zip(keys, points, strict=True):
            if key in self._cache or key in submitted:
                on_done()  # known already, or the same point earlier in this batch
                continue
            submitted.add(key)
            futures[self._pool.submit(_evaluate, point)] = key
        for future in as_completed(futures):
            self._cache[futures[future]] = future.result()
            on_done()
        return [self._cache[k] for k in keys]

    def close(self) -> None:
        """Shut the pool down."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def require_optuna() -> Any:
    """Import optuna, or ConfigError naming the extra that installs it."""
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            "--method optuna needs the optuna package, which is not installed",
            field="method",
            fix="pip install real_trade[optimize] (or use --method grid)",
        ) from None
    return optuna


def optimize(
    config: RealTradeConfig,
    bars: Mapping[str, pd.DataFrame],
    strategy_cls: type,
    space: Sequence[ParamRange],
    *,
    base_params: Mapping[str, Any] | None = None,
    objective: str = "sharpe",
    method: str = "grid",
    trials: int = 50,
    seed: int = 0,
    workers: int = 1,
    cash: float | None = None,
    risk_free: float = 0.0,
    on_trial: Callable[[], None] | None = None,
) -> list[Trial]:
    """Evaluate the space and return the trials, best first (ties: the earlier trial).

    ``method`` is ``"grid"`` (every combination) or ``"optuna"`` (``trials`` points proposed
    by a seeded TPE sampler). ``base_params`` are the config's parameters the swept ones
    override. ``on_trial()`` is called as each trial finishes (a progress bar).
    """
    if objective not in OBJECTIVES:
        raise ConfigError(
            f"unknown objective {objective!r}",
            field="objective",
            fix=f"use one of: {', '.join(OBJECTIVES)}",
        )
    if method not in ("grid", "optuna"):
        raise ConfigError(f"unknown method {method!r}", field="method", fix="use grid or optuna")
    optuna = require_optuna() if method == "optuna" else None
    tick = on_trial or (lambda: None)
    initargs = (config, dict(bars), strategy_cls, dict(base_params or {}), cash, risk_free)
    evaluator = _Evaluator(max(1, workers), initargs)
    try:
        if optuna is None:
            points = list(grid(space))
            summaries = evaluator.run(points, tick)
        else:
            points, summaries = _run_optuna(optuna, evaluator, space, objective, trials, seed, tick)
    finally:
        evaluator.close()
    found = [
        Trial(i, p, s, _score(s, objective))
        for i, (p, s) in enumerate(zip(points, summaries, strict=True))
    ]
    return sorted(found, key=lambda t: (-t.score, t.number))


def _run_optuna(
    optuna: Any,
    evaluator: _Evaluator,
    space: Sequence[ParamRange],
    objective: str,
    trials: int,
    seed: int,
    tick: Callable[[], None],
) -> tuple[list[dict[str, Any]], list[PerformanceSummary]]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    points: list[dict[str, Any]] = []
    summaries: list[PerformanceSummary] = []
    while len(points) < trials:
        batch = [study.ask() for _ in range(min(OPTUNA_BATCH, trials - len(points)))]
        asked = [suggest(t, space) for t in batch]
        results = evaluator.run(asked, tick)
        for trial, summary in zip(batch, results, strict=True):
            score = _score(summary, objective)
            study.tell(trial, score if math.isfinite(score) else -1e12)
        points += asked
        summaries += results
    return points, summaries


def split_bars(
    bars: Mapping[str, pd.DataFrame], oos: float
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Split each frame at the same instant: the first ``1 - oos`` of the first symbol's bars
    (in-sample) and the tail (out-of-sample)."""
    if not 0 < oos < 1:
        raise ConfigError(
            f"--oos must be a fraction between 0 and 1, got {oos}",
            field="oos",
            fix="e.g. --oos 0.3",
        )
    first = next(iter(bars.values()))
    cut_index = int(len(first) * (1 - oos))
    if cut_index < 2 or len(first) - cut_index < 2:
        raise ConfigError(
            f"--oos {oos} leaves too few bars on one side of {len(first)}",
            field="oos",
            fix="load a longer period (--from) or change --oos",
        )
    cut = first.index[cut_index]
    inside = {s: f[f.index < cut] for s, f in bars.items()}
    outside = {s: f[f.index >= cut] for s, f in bars.items()}
    return inside, outside
