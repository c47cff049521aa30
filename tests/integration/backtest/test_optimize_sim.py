"""``real-trade optimize`` on the simulator: equal results with 1 and 2 workers, Optuna's seed,
the out-of-sample check and the best config written back."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from real_trade.backtest import load_bars, run_backtest
from real_trade.backtest.optimize import Trial, optimize, split_bars
from real_trade.backtest.space import parse_param
from real_trade.cli import main
from real_trade.cli.commands.backtest import parse_utc
from real_trade.cli.commands.optimize import is_much_worse
from real_trade.config import RealTradeConfig
from real_trade.sim import SimExchange
from real_trade.strategies import SmaCross
from tests.integration.backtest.backtest_support import write_config

pytestmark = pytest.mark.integration

FROM, TO = "2026-01-06", "2026-01-09"  # 72 hourly bars


def _key(trials: list[Trial]) -> list[tuple[int, dict[str, object], object]]:
    return [(t.number, t.params, t.summary) for t in trials]


@pytest.fixture(scope="module")
def market(sim: SimExchange, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    config = RealTradeConfig.load(write_config(tmp_path_factory.mktemp("opt"), sim), env={})
    return config, load_bars(config, parse_utc(FROM), parse_utc(TO))


def test_a_grid_gives_the_same_results_with_1_and_2_workers(market: tuple[Any, Any]) -> None:
    config, bars = market
    space = [parse_param("fast=2:4:2"), parse_param("slow=8:12:4")]
    runs = {
        workers: optimize(
            config,
            bars,
            SmaCross,
            space,
            base_params={"size": 0.01},
            workers=workers,
        )
        for workers in (1, 2)
    }
    assert len(runs[1]) == 4 and {t.number for t in runs[1]} == {0, 1, 2, 3}
    assert _key(runs[1]) == _key(runs[2])
    scores = [t.score for t in runs[1]]
    assert scores == sorted(scores, reverse=True)  # best first
    assert len({t.summary.end_value for t in runs[1]}) > 1  # the parameters matter
    best = runs[1][0]
    direct = run_backtest(config, bars, SmaCross, {"size": 0.01, **best.params})
    assert direct.summary == best.summary  # a trial is exactly the backtest of its parameters


def test_optuna_proposes_the_same_trials_for_a_seed_whatever_the_workers(
    market: tuple[Any, Any],
) -> None:
    config, bars = market
    space = [parse_param("fast=2:6:1"), parse_param("slow=8:20:2")]

    def sweep(seed: int, workers: int, trials: int = 9) -> list[Trial]:
        return optimize(
            config,
            bars,
            SmaCross,
            space,
            base_params={"size": 0.01},
            method="optuna",
            trials=trials,
            seed=seed,
            workers=workers,
        )

    def proposals(trials: list[Trial]) -> list[dict[str, object]]:
        return [t.params for t in sorted(trials, key=lambda t: t.number)]

    one, two = sweep(3, 1), sweep(3, 2)  # 9 trials: a batch of 8, then one told the results
    assert len(one) == 9
    assert _key(one) == _key(two)
    # another seed proposes other points (its first batch is enough to tell)
    assert proposals(sweep(4, 1, trials=3)) != proposals(one)[:3]
    assert proposals(sweep(3, 1, trials=3)) == proposals(one)[:3]


def test_optimize_command_checks_the_best_out_of_sample_and_writes_it_back(
    sim: SimExchange, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = write_config(tmp_path, sim, name="sma.toml")
    args = [
        "optimize",
        str(config_path),
        "--from",
        "2026-01-04",
        "--to",
        "2026-01-10",
        "--param",
        "fast=3:5:2",
        "--param",
        "slow=12:16:4",
        "--oos",
        "0.3",
        "--no-progress",
    ]
    code = main(args)
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "sweep on   2026-01-04 00:00 -> 2026-01-08 03:00 UTC, 100 bars" in out.out
    assert "held out   2026-01-08 04:00 -> 2026-01-09 23:00 UTC, 44 bars" in out.out
    assert "4 trials, best Sharpe first (top 4)" in out.out
    best = re.search(r"^best: fast=(\d+), slow=(\d+) \(sharpe ([-\d.,]+)\)", out.out, re.M)
    assert best, out.out
    params = {"fast": int(best.group(1)), "slow": int(best.group(2))}

    written = tmp_path / "sma.best.toml"
    assert f"best config written to {written}" in out.out
    loaded = RealTradeConfig.load(written, env={})
    assert loaded.run.params == {**params, "size": 0.01}
    assert loaded.sim_url == sim.url and loaded.run.strategy == "real_trade.strategies:SmaCross"

    # the out-of-sample figure is the best parameters' backtest of the held-out tail alone
    config = RealTradeConfig.load(config_path, env={})
    bars = load_bars(config, parse_utc("2026-01-04"), parse_utc("2026-01-10"))
    inside, tail = split_bars(bars, 0.3)
    held = run_backtest(config, tail, SmaCross, {"size": 0.01, **params}).summary
    chosen = run_backtest(config, inside, SmaCross, {"size": 0.01, **params}).summary
    assert held.sharpe is not None and chosen.sharpe is not None
    assert f"out of sample: sharpe {held.sharpe:,.2f} (in sample {chosen.sharpe:,.2f})" in out.out
    # on this history the best in-sample parameters lose out of sample: the warning shows
    assert is_much_worse(chosen.sharpe, held.sharpe, True)
    assert "WARNING: overfitting likely" in out.out


def test_optimize_refuses_an_unknown_parameter_and_a_bad_spec(
    sim: SimExchange, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = str(write_config(tmp_path, sim))
    assert main(["optimize", config_path, "--param", "fsat=1:3"]) == 2
    assert "did you mean 'fast'" in capsys.readouterr().err
    assert main(["optimize", config_path, "--param", "fast=9:3"]) == 2
    assert "below START" in capsys.readouterr().err
    assert not (tmp_path / "bt.best.toml").exists()


def test_a_sweep_without_a_defined_figure_writes_nothing(
    sim: SimExchange, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = str(write_config(tmp_path, sim))
    # a 200-bar average over 72 bars never trades: no Sharpe ratio to rank by
    code = main(
        [
            "optimize",
            config_path,
            "--from",
            FROM,
            "--to",
            TO,
            "--param",
            "slow=200",
            "--no-progress",
        ]
    )
    assert code == 1
    assert "no backtest gave a defined sharpe" in capsys.readouterr().err
    assert not (tmp_path / "bt.best.toml").exists()
