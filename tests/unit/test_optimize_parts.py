"""The pieces of ``real-trade optimize`` that need no market: the parameter space, the best
config written back, the overfitting rule and the missing-Optuna message."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from real_trade.backtest.best_config import best_config_path, to_toml, write_best_config
from real_trade.backtest.optimize import require_optuna
from real_trade.backtest.space import grid, grid_size, parse_param
from real_trade.cli.commands.optimize import is_much_worse
from real_trade.config import RealTradeConfig
from real_trade.errors import ConfigError


def test_a_range_includes_its_stop_and_keeps_integers() -> None:
    fast = parse_param("fast=5:30:5")
    assert fast.kind == "int" and fast.values == (5, 10, 15, 20, 25, 30)
    assert parse_param("slow=20:100:10").values == tuple(range(20, 101, 10))
    assert parse_param("n=3:7").values == (3, 4, 5, 6, 7)
    assert parse_param("n=3:8:2").values == (3, 5, 7)  # the step does not land on 8


def test_float_ranges_lists_and_single_values() -> None:
    size = parse_param("size=0.01:0.05:0.01")
    assert size.kind == "float" and size.values == (0.01, 0.02, 0.03, 0.04, 0.05)
    mode = parse_param("mode=fast, slow,true,2")
    assert mode.kind == "choice" and mode.values == ("fast", "slow", True, 2)
    assert parse_param("size=0.02").values == (0.02,)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("fast", "NAME=START:STOP:STEP"),
        ("fast=", "NAME=START:STOP:STEP"),
        ("fast=30:5:5", "below START"),
        ("fast=5:30:0", "positive"),
        ("fast=a:b", "numbers"),
        ("fast=1:2:3:4", "two or three parts"),
        ("fast=0:1000000000", "too many"),
    ],
)
def test_bad_specs_say_what_is_wrong_and_how_to_write_one(text: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as caught:
        parse_param(text)
    assert "fast=5:30:5" in str(caught.value)


def test_the_grid_walks_every_combination_in_a_fixed_order() -> None:
    space = [parse_param("fast=5:15:5"), parse_param("slow=20:30:10")]
    assert grid_size(space) == 6
    assert list(grid(space)) == [
        {"fast": 5, "slow": 20},
        {"fast": 5, "slow": 30},
        {"fast": 10, "slow": 20},
        {"fast": 10, "slow": 30},
        {"fast": 15, "slow": 20},
        {"fast": 15, "slow": 30},
    ]


def test_the_best_config_is_the_input_with_new_params_and_loads_back(tmp_path: Path) -> None:
    source = tmp_path / "sma.toml"
    source.write_text(
        '# mine\nexchange = "binance"\ntimeframe = "1h"\ncommission = 0.0005\n'
        '[run]\nstrategy = "real_trade.strategies:SmaCross"\nname = "sma \\"q\\""\n'
        'symbols = ["BTC/USDT", "ETH/USDT"]\n'
        "[run.params]\nfast = 5\nslow = 20\nsize = 0.01\n"
        "[risk]\nmax_order_notional = 2000.0\n",
        encoding="utf-8",
    )
    path = write_best_config(source, {"fast": 10, "slow": 40}, header="best by sharpe")
    assert path == tmp_path / "sma.best.toml" == best_config_path(source)
    assert path.read_text(encoding="utf-8").startswith("# best by sharpe\n")
    loaded = RealTradeConfig.load(path, env={})
    original = RealTradeConfig.load(source, env={})
    assert loaded.run.params == {"fast": 10, "slow": 40, "size": 0.01}
    assert loaded.replace(run={"params": original.run.params}) == original


def test_a_json_config_gets_a_json_best_config(tmp_path: Path) -> None:
    source = tmp_path / "c.json"
    source.write_text('{"timeframe": "1h", "run": {"params": {"fast": 3}}}', encoding="utf-8")
    path = write_best_config(source, {"fast": 8}, target=tmp_path / "out.json")
    assert path == tmp_path / "out.json"
    assert RealTradeConfig.load(path, env={}).run.params == {"fast": 8}


def test_to_toml_writes_nested_tables_and_special_floats() -> None:
    text = to_toml({"a": 1.5, "b": {"c": [1, 2], "d": {"e": float("inf")}}, "f": True})
    assert text == "a = 1.5\nf = true\n\n[b]\nc = [1, 2]\n\n[b.d]\ne = inf\n"


@pytest.mark.parametrize(
    ("inside", "outside", "higher", "warn"),
    [
        (2.0, 1.5, True, False),
        (2.0, 0.9, True, True),  # less than half
        (0.02, -0.001, True, True),  # a loss after a gain
        (-1.0, -1.2, True, False),
        (-1.0, -1.6, True, True),
        (0.10, 0.14, False, False),  # drawdown: lower is better
        (0.10, 0.16, False, True),
        (1.0, None, True, True),  # undefined out of sample (no variation, no trade)
        (None, 1.0, True, False),
    ],
)
def test_overfitting_warning_rule(
    inside: float | None, outside: float | None, higher: bool, warn: bool
) -> None:
    assert is_much_worse(inside, outside, higher) is warn


def test_missing_optuna_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # what an environment without it sees
    with pytest.raises(ConfigError, match=r"pip install real_trade\[optimize\]"):
        require_optuna()
