"""The one config system: layered sources, clear errors, secret safety, the GlobalConfig face."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import pytest

from real_trade.config import (
    TIMEFRAMES,
    JournalConfig,
    LoggingConfig,
    RealTradeConfig,
)
from real_trade.errors import ConfigError
from real_trade.utils.config import GlobalConfig

MASK = "**********"


def write_config(tmp_path: Path, suffix: str, data: dict[str, Any]) -> Path:
    """Write ``data`` as a TOML or JSON config file and return its path."""
    path = tmp_path / f"config{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(data), encoding="utf-8")
        return path
    lines: list[str] = []
    tables: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append(f"[{key}]")
            tables.extend(f"{k} = {json.dumps(v)}" for k, v in value.items())
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    path.write_text("\n".join(lines + tables) + "\n", encoding="utf-8")
    return path


def raises_config_error(func: Any, *args: Any, **kwargs: Any) -> ConfigError:
    """Call ``func`` and return the ConfigError it must raise."""
    with pytest.raises(ConfigError) as info:
        func(*args, **kwargs)
    return info.value


# --------------------------------------------------------------------------- defaults
def test_defaults_are_paper_trading_on_binance_spot() -> None:
    config = RealTradeConfig()
    assert config.exchange == "binance"
    assert config.symbol == "BTC/USDT"
    assert config.timeframe == "1h"
    assert config.paper_trading is True
    assert config.testnet is False
    assert config.initial_cash == 10000.0
    assert config.commission == 0.001
    assert config.market_type == "spot"
    assert config.apikey is None and config.secret is None and config.passphrase is None
    assert config.sim_url is None
    assert config.logging == LoggingConfig()
    assert config.logging.level == "INFO" and config.logging.json is False
    assert config.journal.url == "sqlite:///real_trade.db"
    assert config.trading_mode == "paper"


def test_plain_construction_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RT_TIMEFRAME", "4h")
    monkeypatch.setenv("RT_LOGGING__LEVEL", "DEBUG")
    config = RealTradeConfig(symbol="ETH/USDT")
    assert config.timeframe == "1h"
    assert config.logging.level == "INFO"
    assert config.symbol == "ETH/USDT"


def test_values_are_normalised() -> None:
    config = RealTradeConfig(
        exchange=" Bybit ", logging={"level": "warn", "file": ""}, sim_url="  "
    )
    assert config.exchange == "bybit"
    assert config.logging.level == "WARNING"
    assert config.logging.file is None
    assert config.sim_url is None
    assert RealTradeConfig(symbol="BTC/USDT:USDT", market_type="swap").symbol == "BTC/USDT:USDT"


# --------------------------------------------------------------------------- precedence
@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_precedence_arguments_over_env_over_file_over_defaults(tmp_path: Path, suffix: str) -> None:
    path = write_config(
        tmp_path,
        suffix,
        {
            "timeframe": "4h",
            "symbol": "ETH/USDT",
            "initial_cash": 500,
            "logging": {"level": "WARNING", "file": "from-file.log", "backup_count": 2},
        },
    )
    env = {
        "RT_SYMBOL": "SOL/USDT",
        "RT_INITIAL_CASH": "700",
        "RT_LOGGING__FILE": "from-env.log",
        "RT_LOGGING__JSON": "true",
    }
    config = RealTradeConfig.load(path, env=env, initial_cash=900, logging={"json": False})

    assert config.commission == 0.001  # default
    assert config.timeframe == "4h"  # file
    assert config.symbol == "SOL/USDT"  # env over file
    assert config.initial_cash == 900.0  # argument over env over file
    assert config.logging.level == "WARNING"  # nested: file
    assert config.logging.backup_count == 2  # nested: file
    assert config.logging.file == "from-env.log"  # nested: env over file
    assert config.logging.json is False  # nested: argument over env


def test_each_layer_alone_overrides_the_defaults(tmp_path: Path) -> None:
    path = write_config(tmp_path, ".toml", {"timeframe": "15m"})
    assert RealTradeConfig.load(path, env={}).timeframe == "15m"
    assert RealTradeConfig.load(env={"RT_TIMEFRAME": "30m"}).timeframe == "30m"
    assert RealTradeConfig.load(env={}, timeframe="1d").timeframe == "1d"
    assert RealTradeConfig.load(env={}).timeframe == "1h"


def test_load_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RT_TIMEFRAME", "5m")
    monkeypatch.setenv("RT_LOGGING__LEVEL", "error")
    config = RealTradeConfig.load()
    assert config.timeframe == "5m"
    assert config.logging.level == "ERROR"


def test_none_overrides_are_skipped_so_a_cli_can_forward_unset_options() -> None:
    config = RealTradeConfig.load(env={"RT_SYMBOL": "ETH/USDT"}, symbol=None, timeframe=None)
    assert config.symbol == "ETH/USDT"
    assert config.timeframe == "1h"


def test_section_instance_override_merges_only_the_fields_it_sets(tmp_path: Path) -> None:
    path = write_config(tmp_path, ".json", {"logging": {"level": "ERROR"}})
    config = RealTradeConfig.load(path, env={}, logging=LoggingConfig(file="run.log"))
    assert config.logging.level == "ERROR"
    assert config.logging.file == "run.log"


# --------------------------------------------------------------------------- environment
def test_env_parses_bools_numbers_and_nested_names() -> None:
    env = {
        "RT_PAPER_TRADING": "false",
        "RT_TESTNET": "1",
        "RT_APIKEY": "env-api-key-0001",
        "RT_SECRET": "env-secret-0001",
        "RT_INITIAL_CASH": "2.5e3",
        "RT_COMMISSION": "0.00075",
        "RT_MARKET_TYPE": "future",
        "RT_LOGGING__MAX_BYTES": "2048",
        "RT_LOGGING__JSON": "yes",
        "rt_timeframe": "15m",  # names are case-insensitive
        "RT_JOURNAL__URL": "sqlite:///journal.db",
        "RT_SIM_URL": "http://127.0.0.1:8765",
    }
    config = RealTradeConfig.from_env(env=env)
    assert config.paper_trading is False
    assert config.testnet is True
    assert config.trading_mode == "testnet"
    assert config.initial_cash == 2500.0
    assert config.commission == 0.00075
    assert config.market_type == "future"
    assert config.logging.max_bytes == 2048
    assert config.logging.json is True
    assert config.timeframe == "15m"
    assert config.journal.url == "sqlite:///journal.db"
    assert config.sim_url == "http://127.0.0.1:8765"
    assert config.apikey is not None
    assert config.apikey.get_secret_value() == "env-api-key-0001"


def test_env_section_as_json_combines_with_nested_variables() -> None:
    env = {"RT_LOGGING": '{"level": "debug", "file": "a.log"}', "RT_LOGGING__FILE": "b.log"}
    config = RealTradeConfig.from_env(env=env)
    assert config.logging.level == "DEBUG"
    assert config.logging.file == "b.log"


def test_env_section_with_broken_json_names_the_variable() -> None:
    error = raises_config_error(RealTradeConfig.from_env, env={"RT_LOGGING": "{not json"})
    assert "RT_LOGGING" in str(error)
    assert error.fix is not None and "RT_LOGGING__" in error.fix


def test_custom_prefix_reads_only_its_own_variables() -> None:
    env = {"MYBOT_TIMEFRAME": "1d", "RT_TIMEFRAME": "4h", "MYBOT_LOGGING__LEVEL": "ERROR"}
    config = RealTradeConfig.from_env("MYBOT_", env=env)
    assert config.timeframe == "1d"
    assert config.logging.level == "ERROR"


def test_empty_env_values_count_as_unset() -> None:
    config = RealTradeConfig.from_env(env={"RT_TIMEFRAME": "", "RT_APIKEY": ""})
    assert config.timeframe == "1h"
    assert config.apikey is None


def test_unknown_env_variable_is_warned_with_the_closest_valid_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = {
        "RT_TIMEFRAM": "4h",
        "RT_LOGGING__LEVL": "DEBUG",
        "RT_REQUIRE_SERVICES": "1",
        "RT_HISTORY_DIR": "/tmp/history",
        "RT_CRASH_AT": "",
        "RT_ZZZZZZZZ": "value-not-to-log",
        "HOME": "/root",
    }
    with caplog.at_level(logging.WARNING, logger="real_trade.config"):
        config = RealTradeConfig.load(env=env)
    assert config.timeframe == "1h"  # the misspelt variable was not applied
    messages = [r.getMessage() for r in caplog.records if r.name == "real_trade.config"]
    assert any("RT_TIMEFRAM" in m and "RT_TIMEFRAME" in m for m in messages), messages
    assert any("RT_LOGGING__LEVL" in m and "RT_LOGGING__LEVEL" in m for m in messages), messages
    assert any("RT_ZZZZZZZZ" in m for m in messages), messages
    for documented in ("RT_REQUIRE_SERVICES", "RT_HISTORY_DIR", "RT_CRASH_AT"):
        assert not any(documented in m for m in messages), messages  # process-level variables
    assert not any("HOME" in m for m in messages)
    assert not any("value-not-to-log" in m for m in messages)  # values are never logged


# --------------------------------------------------------------------------- files
@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_file_loaders(tmp_path: Path, suffix: str) -> None:
    data = {"exchange": "okx", "symbol": "ETH/USDT", "logging": {"level": "DEBUG"}}
    path = write_config(tmp_path, suffix, data)
    loader = RealTradeConfig.from_toml if suffix == ".toml" else RealTradeConfig.from_json
    for config in (loader(path), loader(str(path)), RealTradeConfig.load(path, env={})):
        assert config.exchange == "okx"
        assert config.symbol == "ETH/USDT"
        assert config.logging.level == "DEBUG"


def test_file_loaders_do_not_read_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RT_SYMBOL", "SOL/USDT")
    path = write_config(tmp_path, ".json", {"timeframe": "4h"})
    assert RealTradeConfig.from_json(path).symbol == "BTC/USDT"


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_unknown_key_in_a_file_is_an_error_naming_file_and_suggestion(
    tmp_path: Path, suffix: str
) -> None:
    path = write_config(tmp_path, suffix, {"timefame": "4h"})
    error = raises_config_error(RealTradeConfig.load, path, env={})
    text = str(error)
    assert error.field == "timefame"
    assert str(path) in text
    assert "'timeframe'" in text  # the suggestion


def test_unknown_nested_key_in_a_file_names_the_dotted_path(tmp_path: Path) -> None:
    path = write_config(tmp_path, ".toml", {"logging": {"levl": "DEBUG"}})
    error = raises_config_error(RealTradeConfig.from_toml, path)
    assert error.field == "logging.levl"
    assert "'level'" in str(error)
    assert str(path) in str(error)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    error = raises_config_error(RealTradeConfig.load, path, env={})
    assert str(path) in str(error)
    assert "does not exist" in str(error)
    assert error.fix


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [("bad.toml", "timeframe = ", "TOML"), ("bad.json", '{"timeframe": ', "JSON")],
)
def test_unparsable_file_names_path_and_format(
    tmp_path: Path, name: str, content: str, kind: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    error = raises_config_error(RealTradeConfig.load, path, env={})
    assert str(path) in str(error)
    assert f"not valid {kind}" in str(error)


def test_unsupported_suffix_and_non_object_file(tmp_path: Path) -> None:
    yaml_path = tmp_path / "config.yaml"
    yaml_path.write_text("timeframe: 4h\n", encoding="utf-8")
    assert ".yaml" in str(raises_config_error(RealTradeConfig.load, yaml_path, env={}))

    list_path = tmp_path / "config.json"
    list_path.write_text("[1, 2]", encoding="utf-8")
    error = raises_config_error(RealTradeConfig.from_json, list_path)
    assert str(list_path) in str(error) and "list" in str(error)


# --------------------------------------------------------------------------- error messages
def test_bad_timeframe_from_env_names_field_value_allowed_source_and_fix() -> None:
    error = raises_config_error(RealTradeConfig.load, env={"RT_TIMEFRAME": "7m"})
    text = str(error)
    assert error.field == "timeframe"
    assert "config field 'timeframe' = '7m'" in text
    assert "environment variable RT_TIMEFRAME" in text
    assert ", ".join(TIMEFRAMES) in text
    assert "Fix: set RT_TIMEFRAME" in text
    assert error.fix is not None and "RT_TIMEFRAME" in error.fix


def test_timeframe_in_the_wrong_case_gets_a_suggestion() -> None:
    error = raises_config_error(RealTradeConfig, timeframe="1H")
    assert "did you mean '1h'" in str(error)


@pytest.mark.parametrize("cash", [-5, 0, math.inf, math.nan])
def test_bad_initial_cash_from_an_argument(cash: float) -> None:
    error = raises_config_error(RealTradeConfig, initial_cash=cash)
    assert error.field == "initial_cash"
    assert "argument initial_cash" in str(error)
    assert "greater than 0" in str(error)
    assert error.fix is not None and "initial_cash" in error.fix


@pytest.mark.parametrize("commission", [-0.001, 0.1, 0.5])
def test_bad_commission(commission: float) -> None:
    error = raises_config_error(RealTradeConfig, commission=commission)
    assert error.field == "commission"
    assert "0 <= commission < 0.1" in str(error)


@pytest.mark.parametrize("symbol", ["BTCUSDT", "BTC-USDT", "/USDT", "BTC/", "BTC/USDT/ETH", ""])
def test_bad_symbol_from_a_file_names_the_file(tmp_path: Path, symbol: str) -> None:
    path = write_config(tmp_path, ".toml", {"symbol": symbol})
    error = raises_config_error(RealTradeConfig.load, path, env={})
    assert error.field == "symbol"
    assert f"file {path}" in str(error)
    assert "BASE/QUOTE" in str(error)
    assert error.fix is not None and str(path) in error.fix


def test_symbol_without_slash_gets_a_suggestion() -> None:
    assert "did you mean 'BTC/USDT'" in str(raises_config_error(RealTradeConfig, symbol="BTCUSDT"))


def test_bad_nested_level_from_env_names_the_dotted_path_and_variable() -> None:
    error = raises_config_error(RealTradeConfig.load, env={"RT_LOGGING__LEVEL": "LOUD"})
    text = str(error)
    assert error.field == "logging.level"
    assert "'logging.level' = 'LOUD'" in text
    assert "RT_LOGGING__LEVEL" in text
    assert "DEBUG, INFO, WARNING, ERROR, CRITICAL" in text


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"exchange": "bin ance"}, "exchange"),
        ({"market_type": "margin"}, "market_type"),
        ({"sim_url": "127.0.0.1:8765"}, "sim_url"),
        ({"testnet": "maybe"}, "testnet"),
        ({"journal": {"url": "real_trade.db"}}, "journal.url"),
        ({"logging": {"backup_count": -1}}, "logging.backup_count"),
    ],
)
def test_other_bad_values_name_their_field(kwargs: dict[str, Any], field: str) -> None:
    error = raises_config_error(RealTradeConfig, **kwargs)
    assert error.field == field
    assert f"'{field}'" in str(error)
    assert "Fix:" in str(error)


def test_several_errors_are_reported_together() -> None:
    error = raises_config_error(RealTradeConfig, timeframe="7m", initial_cash=-1)
    assert "2 config errors" in str(error)
    assert "'timeframe'" in str(error) and "'initial_cash'" in str(error)
    assert error.field == "timeframe"


def test_unknown_argument_is_an_error_with_a_suggestion() -> None:
    error = raises_config_error(RealTradeConfig, api_key="abc")
    assert error.field == "api_key"
    assert "'apikey'" in str(error)


def test_sections_constructed_directly_report_their_dotted_path() -> None:
    assert raises_config_error(LoggingConfig, level="LOUD").field == "logging.level"
    assert raises_config_error(JournalConfig, url="nope").field == "journal.url"


def test_model_validate_raises_config_error_too() -> None:
    error = raises_config_error(RealTradeConfig.model_validate, {"timeframe": "2m"})
    assert error.field == "timeframe"
    assert RealTradeConfig.model_validate({"timeframe": "2h"}).timeframe == "2h"
    json_error = raises_config_error(RealTradeConfig.model_validate_json, '{"commission": 1}')
    assert json_error.field == "commission"


# --------------------------------------------------------------------------- safety
@pytest.mark.parametrize(("testnet", "mode"), [(True, "testnet"), (False, "live")])
def test_real_trading_without_keys_is_refused_with_a_fix(testnet: bool, mode: str) -> None:
    error = raises_config_error(RealTradeConfig, paper_trading=False, testnet=testnet)
    text = str(error)
    assert error.field == "apikey"
    assert f"{mode} trading" in text
    assert "apikey" in text and "secret" in text
    assert error.fix is not None
    assert "RT_APIKEY" in error.fix and "RT_SECRET" in error.fix
    assert "paper_trading=True" in error.fix


def test_real_trading_with_only_a_key_names_the_missing_secret() -> None:
    error = raises_config_error(RealTradeConfig, paper_trading=False, apikey="only-the-key-123456")
    assert error.field == "secret"
    assert "only-the-key-123456" not in str(error)


def test_real_trading_without_keys_from_env_names_the_variable() -> None:
    error = raises_config_error(RealTradeConfig.load, env={"RT_PAPER_TRADING": "false"})
    assert "RT_PAPER_TRADING" in str(error)
    assert error.fix is not None and "RT_APIKEY" in error.fix


def test_real_trading_with_keys_and_paper_without_keys_are_fine() -> None:
    live = RealTradeConfig(
        paper_trading=False, apikey="live-key-abcdef", secret="live-secret-abcdef"
    )
    assert live.trading_mode == "live"
    assert RealTradeConfig(paper_trading=True).trading_mode == "paper"


def test_configs_are_frozen_and_replace_makes_a_validated_copy() -> None:
    config = RealTradeConfig()
    error = raises_config_error(setattr, config, "timeframe", "4h")
    assert error.fix is not None and "replace" in error.fix
    assert raises_config_error(setattr, config.logging, "level", "DEBUG").field == "logging.level"

    changed = config.replace(timeframe="4h", logging={"level": "debug"})
    assert changed.timeframe == "4h" and changed.logging.level == "DEBUG"
    assert changed.logging.max_bytes == config.logging.max_bytes
    assert config.timeframe == "1h"
    assert raises_config_error(config.replace, timeframe="9m").field == "timeframe"


# --------------------------------------------------------------------------- secrets
def test_secrets_never_show_in_repr_str_or_to_dict() -> None:
    config = RealTradeConfig(
        apikey="K-repr-1234567890",
        secret="S-repr-1234567890",
        passphrase="P-repr-1234567890",
        journal={"url": "postgresql+psycopg://trader:DbPass-repr-123@db.local/rt"},
    )
    for text in (repr(config), str(config), json.dumps(config.to_dict())):
        for secret in ("K-repr-1234567890", "S-repr-1234567890", "P-repr-1234567890"):
            assert secret not in text
            assert secret[:6] not in text  # not even a prefix
        assert "DbPass-repr-123" not in text
    data = config.to_dict()
    assert data["apikey"] == MASK and data["secret"] == MASK and data["passphrase"] == MASK
    assert data["journal"]["url"] == f"postgresql+psycopg://trader:{MASK}@db.local/rt"
    assert config.journal.url.endswith("DbPass-repr-123@db.local/rt")  # the real value is kept
    assert config.apikey is not None
    assert config.apikey.get_secret_value() == "K-repr-1234567890"


def test_to_dict_is_plain_json_and_its_mask_is_not_accepted_back() -> None:
    config = RealTradeConfig(apikey="K-roundtrip-123456", secret="S-roundtrip-123456")
    data = config.to_dict()
    assert json.loads(json.dumps(data)) == data
    error = raises_config_error(RealTradeConfig, **data)
    assert error.field == "apikey"
    assert "mask" in str(error)


def test_validation_error_on_a_secret_field_does_not_echo_it() -> None:
    error = raises_config_error(
        RealTradeConfig, apikey="K-valid-but-unlucky-1", secret=98765432101234
    )
    text = str(error)
    assert error.field == "secret"
    assert "<hidden>" in text
    assert "98765432101234" not in text
    assert "K-valid-but-unlucky-1" not in text
    # no pydantic ValidationError (whose text holds inputs) is chained onto the error
    assert error.__cause__ is None and error.__context__ is None


def test_secret_in_a_non_secret_field_is_masked_once_registered() -> None:
    RealTradeConfig(apikey="K-registered-777777", secret="S-registered-777777")
    error = raises_config_error(RealTradeConfig, symbol="K-registered-777777")
    assert "K-registered-777777" not in str(error)


def test_whitespace_around_keys_is_stripped() -> None:
    config = RealTradeConfig(apikey="  K-strip-123456\n", secret="S-strip-123456 ")
    assert config.apikey is not None and config.secret is not None
    assert config.apikey.get_secret_value() == "K-strip-123456"
    assert config.secret.get_secret_value() == "S-strip-123456"


# --------------------------------------------------------------------------- the seed face
def test_global_config_is_the_same_model() -> None:
    assert GlobalConfig is RealTradeConfig
    import real_trade.utils

    assert real_trade.utils.GlobalConfig is RealTradeConfig


def test_seed_snippet_manual_construction() -> None:
    config = GlobalConfig(
        exchange="binance",
        apikey="your_api_key",
        secret="your_secret",
        testnet=True,
        symbol="BTC/USDT",
        timeframe="1h",
        paper_trading=True,
        initial_cash=10000.0,
        commission=0.001,
    )
    data = config.to_dict()
    assert data["exchange"] == "binance" and data["testnet"] is True
    assert data["apikey"] == MASK and data["secret"] == MASK
    assert data["initial_cash"] == 10000.0 and data["commission"] == 0.001
    assert "your_api_key" not in json.dumps(data)


def test_seed_snippet_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RT_EXCHANGE", "bybit")
    monkeypatch.setenv("RT_SYMBOL", "ETH/USDT")
    monkeypatch.setenv("RT_TESTNET", "true")
    monkeypatch.setenv("RT_APIKEY", "seed-env-key-123456")
    monkeypatch.setenv("RT_SECRET", "seed-env-secret-123456")
    monkeypatch.setenv("RT_INITIAL_CASH", "5000")
    config = GlobalConfig.from_env("RT_")
    assert config.exchange == "bybit"
    assert config.symbol == "ETH/USDT"
    assert config.testnet is True
    assert config.initial_cash == 5000.0
    assert config.secret is not None
    assert config.secret.get_secret_value() == "seed-env-secret-123456"


def test_seed_snippet_from_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({"exchange": "okx", "timeframe": "4h", "initial_cash": 2500.0}),
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    config = GlobalConfig.from_json("config.json")
    assert (config.exchange, config.timeframe, config.initial_cash) == ("okx", "4h", 2500.0)


def test_seed_from_toml(tmp_path: Path) -> None:
    path = write_config(tmp_path, ".toml", {"exchange": "okx", "journal": {"url": "sqlite://"}})
    config = GlobalConfig.from_toml(path)
    assert config.exchange == "okx"
    assert config.journal.url == "sqlite://"
