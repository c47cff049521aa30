"""The config's [run] section and TradingRunner's construction: parsing, overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from real_trade.config import RealTradeConfig, RunConfig
from real_trade.engine import TradingRunner, load_strategy
from real_trade.errors import ConfigError
from real_trade.risk import LiveRiskConfig
from real_trade.strategies import RsiReversion, SmaCross

ROOT = Path(__file__).resolve().parents[3]
TOML = """
exchange = "binance"
symbol = "BTC/USDT"
timeframe = "5m"

[run]
strategy = "real_trade.strategies:SmaCross"
name = "sma-btc"
symbols = ["BTC/USDT", "ETH/USDT"]
cancel_on_stop = true
history_bars = 50

[run.params]
fast = 3
slow = 8
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_run_table_is_read_from_toml(tmp_path: Path) -> None:
    config = RealTradeConfig.load(write(tmp_path, TOML), env={})
    run = config.run
    assert run.strategy == "real_trade.strategies:SmaCross"
    assert run.params == {"fast": 3, "slow": 8}
    assert (run.name, run.cancel_on_stop, run.history_bars) == ("sma-btc", True, 50)
    assert config.run_symbols == ["BTC/USDT", "ETH/USDT"]
    assert run.strategy_class() is SmaCross


def test_defaults_and_symbols_falling_back_to_the_top_level_symbol() -> None:
    config = RealTradeConfig(symbol="ETH/USDT")
    assert config.run == RunConfig()
    assert config.run_symbols == ["ETH/USDT"]
    assert config.run.cancel_on_stop is False


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    env = {
        "RT_RUN__NAME": "sma-2",
        "RT_RUN__SYMBOLS": "SOL/USDT, XRP/USDT",
        "RT_RUN__PARAMS": '{"fast": 4}',
        "RT_RUN__CANCEL_ON_STOP": "false",
    }
    config = RealTradeConfig.load(write(tmp_path, TOML), env=env)
    assert config.run.name == "sma-2"
    assert config.run_symbols == ["SOL/USDT", "XRP/USDT"]
    assert config.run.params == {"fast": 4, "slow": 8}  # merged key by key
    assert config.run.cancel_on_stop is False


@pytest.mark.parametrize(
    ("table", "field", "words"),
    [
        ('strategy = "not a path!"', "run.strategy", "dotted path"),
        ('symbols = ["BTCUSDT"]', "run.symbols", "did you mean 'BTC/USDT'"),
        ('symbols = ["BTC/USDT", "BTC/USDT"]', "run.symbols", "twice"),
        ("history_bars = 0", "run.history_bars", ">= 1"),
        ('name = "--"', "run.name", "letters or digits"),
        ("speed = 3", "run.speed", "speed"),
    ],
)
def test_bad_run_values_name_the_field(tmp_path: Path, table: str, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        RealTradeConfig.load(write(tmp_path, f"[run]\n{table}\n"), env={})
    assert info.value.field == field
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("real_trade.strategies:SmaCros", "did you mean 'SmaCross'"),
        ("no_such_package.strategies:Thing", "no_such_package"),
        ("real_trade.config:RealTradeConfig", "not a backtrader strategy"),
        ("real_trade.strategies.sma_cross.Nope", "has no 'Nope'"),
    ],
)
def test_a_strategy_that_does_not_import_is_a_config_error_naming_run_strategy(
    path: str, words: str
) -> None:
    config = RealTradeConfig(run={"strategy": path})
    with pytest.raises(ConfigError) as info:
        config.run.strategy_class()
    assert info.value.field == "run.strategy"
    assert words in str(info.value)


def test_both_dotted_path_forms_load() -> None:
    assert load_strategy("real_trade.strategies:RsiReversion") is RsiReversion
    assert load_strategy("real_trade.strategies.rsi_reversion.RsiReversion") is RsiReversion
    with pytest.raises(ConfigError, match="not set"):
        load_strategy(None, field="run.strategy")


def test_the_seed_example_constructs_as_written_without_touching_the_network() -> None:
    runner = TradingRunner(
        exchange="binance",
        apikey="YOUR_API_KEY",
        secret="YOUR_SECRET",
        symbol="BTC/USDT",
        timeframe="1h",
        strategy_cls=SmaCross,
        testnet=True,
        paper_trading=True,
    )
    assert runner.mode == "paper" and runner.name == "SmaCross"
    assert runner.symbols == ["BTC/USDT"] and not runner.is_running()
    assert runner.broker is None, "nothing is built before run()"
    text = repr(runner) + str(runner.config) + repr(runner.config)
    assert "YOUR_SECRET" not in text and "YOUR_API_KEY" not in text


def test_runner_arguments_are_checked_by_the_config_system() -> None:
    with pytest.raises(ConfigError) as info:
        TradingRunner(symbol="BTCUSDT", strategy_cls=SmaCross)
    assert info.value.field == "symbol"
    with pytest.raises(ConfigError) as info:
        TradingRunner(timeframe="7m", strategy_cls=SmaCross)
    assert info.value.field == "timeframe"
    with pytest.raises(ConfigError) as info:
        TradingRunner(paper_trading=False, testnet=True, strategy_cls=SmaCross)
    assert "apikey" in str(info.value)
    with pytest.raises(ConfigError) as info:
        TradingRunner()
    assert info.value.field == "strategy_cls"


def test_unknown_strategy_parameters_are_refused_before_a_run() -> None:
    with pytest.raises(ConfigError) as info:
        TradingRunner(strategy_cls=SmaCross, strategy_params={"fsat": 3})
    assert info.value.field == "strategy_params.fsat"
    assert "did you mean 'fast'" in str(info.value)
    config = RealTradeConfig(
        run={"strategy": "real_trade.strategies:SmaCross", "params": {"slowest": 9}}
    )
    with pytest.raises(ConfigError) as info:
        TradingRunner.from_config(config)
    assert info.value.field == "run.params.slowest"


def test_from_config_takes_the_strategy_name_symbols_risk_and_journal(tmp_path: Path) -> None:
    text = TOML + '\n[risk]\nmax_order_notional = 500.0\n\n[journal]\nurl = "sqlite:///x.db"\n'
    config = RealTradeConfig.load(write(tmp_path, text), env={})
    runner = TradingRunner.from_config(config)
    assert runner.strategy_cls is SmaCross and runner.name == "sma-btc"
    assert runner.strategy_params == {"fast": 3, "slow": 8}
    assert runner.symbols == ["BTC/USDT", "ETH/USDT"] and runner.cancel_on_stop
    assert isinstance(runner.risk, LiveRiskConfig) and runner.risk.max_order_notional == 500.0
    assert runner.journal_spec == "sqlite:///x.db"


def test_the_sample_config_is_valid_and_paper_by_default() -> None:
    config = RealTradeConfig.load(ROOT / "examples" / "run_config.toml", env={})
    assert config.trading_mode == "paper"
    assert config.run.strategy_class() is SmaCross
    TradingRunner.from_config(config)  # its params fit the strategy


@pytest.mark.parametrize("venue", ["bybit", "okx"])
def test_the_venue_sample_configs_trade_that_venue_on_its_testnet(venue: str) -> None:
    env = {"RT_APIKEY": "k", "RT_SECRET": "s", "RT_PASSPHRASE": "p"}
    config = RealTradeConfig.load(ROOT / "examples" / f"{venue}_testnet.toml", env=env)
    assert config.exchange == venue and config.trading_mode == "testnet"
    runner = TradingRunner.from_config(config)
    assert runner.strategy_cls is SmaCross and runner.name == f"sma-{venue}"


def test_the_seed_keywords_build_the_runner_the_config_builds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    limits = LiveRiskConfig(max_order_notional=250.0)
    seed = TradingRunner(
        exchange="okx",
        apikey="okx-key-0001",
        secret="okx-secret",
        symbol="ETH/USDT",
        timeframe="4h",
        strategy_cls=SmaCross,
        testnet=True,
        paper_trading=False,
        strategy_params={"fast": 4},
        name="sma-eth",
        passphrase="okx-pass",
        market_type="swap",
        symbols=["ETH/USDT", "BTC/USDT"],
        journal=url,
        risk=limits,
        initial_cash=5_000.0,
        commission=0.0008,
        sim_url="http://127.0.0.1:7103",
        cancel_on_stop=True,
        history_bars=20,
        feed_options={"qcheck": 0.1},
        heartbeat_interval=2.0,
    )
    config = RealTradeConfig(
        exchange="okx",
        apikey="okx-key-0001",
        secret="okx-secret",
        passphrase="okx-pass",
        symbol="ETH/USDT",
        timeframe="4h",
        testnet=True,
        paper_trading=False,
        market_type="swap",
        initial_cash=5_000.0,
        commission=0.0008,
        sim_url="http://127.0.0.1:7103",
        journal={"url": url},
        risk={"max_order_notional": 250.0},
        run={
            "name": "sma-eth",
            "symbols": ["ETH/USDT", "BTC/USDT"],
            "cancel_on_stop": True,
            "history_bars": 20,
        },
    )
    loaded = TradingRunner.from_config(
        config,
        SmaCross,
        strategy_params={"fast": 4},
        feed_options={"qcheck": 0.1},
        heartbeat_interval=2.0,
    )
    assert seed.config == config == loaded.config
    for attribute in (
        "strategy_cls",
        "strategy_params",
        "name",
        "symbols",
        "cancel_on_stop",
        "risk",
        "journal_spec",
        "feed_options",
        "heartbeat_interval",
        "cerebro_options",
        "mode",
    ):
        assert getattr(seed, attribute) == getattr(loaded, attribute), attribute
    assert repr(seed) == repr(loaded)


def test_runtime_objects_only_beside_a_config() -> None:
    config = RealTradeConfig(run={"strategy": "real_trade.strategies:SmaCross"})
    runner = TradingRunner.from_config(config)
    assert runner.journal_spec == config.journal.url and runner.risk is config.risk
    bare = TradingRunner.from_config(config, journal=None, risk=None)
    assert bare.journal_spec is None and bare.risk is None
    with pytest.raises(TypeError):
        TradingRunner.from_config(config, name="other")  # type: ignore[call-arg]
    plain = TradingRunner(strategy_cls=SmaCross)
    assert plain.journal_spec is None and plain.risk is None, "the seed's runner journals nothing"
