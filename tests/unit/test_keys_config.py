"""A config names a stored key (``key = "..."``) instead of holding it; the stores get it."""

from __future__ import annotations

from pathlib import Path

import pytest

from real_trade.config import RealTradeConfig
from real_trade.errors import ConfigError
from real_trade.keys import (
    ApiKey,
    ApiKeyManager,
    KdfParams,
    PassphraseUnavailableError,
    UnknownKeyError,
    clear_cache,
)

KEY = ApiKey("CFGkeyvalue00001", "CFGsecretvalue00001", exchange="binance")


@pytest.fixture
def keys_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys.json"
    store = ApiKeyManager(path, "pass-word-1", kdf=KdfParams(n=2**10), env={})
    store.set_api_key("binance-main", KEY)
    store.save_to_file()
    monkeypatch.delenv("RT_KEYS_PASSPHRASE", raising=False)
    monkeypatch.delenv("RT_KEYS_KEYRING", raising=False)
    clear_cache()
    yield path
    clear_cache()


def on_testnet(**fields: object) -> RealTradeConfig:
    return RealTradeConfig(paper_trading=False, testnet=True, **fields)


def test_a_named_key_stands_in_for_apikey_and_secret(
    keys_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = on_testnet(key="binance-main", keys_file=str(keys_file))
    assert config.apikey is None and "CFGkey" not in repr(config) + str(config.to_dict())
    monkeypatch.setenv("RT_KEYS_PASSPHRASE", "pass-word-1")
    apikey, secret, passphrase = config.credentials()
    assert apikey is not None and apikey.get_secret_value() == "CFGkeyvalue00001"
    assert secret is not None and secret.get_secret_value() == "CFGsecretvalue00001"
    assert passphrase is None


def test_plain_keys_still_work() -> None:
    config = on_testnet(apikey="plainkey01", secret="plainsecret01")
    apikey, secret, _ = config.credentials()
    assert apikey is not None and apikey.get_secret_value() == "plainkey01"
    assert secret is not None


def test_missing_credentials_mention_the_key_option() -> None:
    with pytest.raises(ConfigError, match="real-trade keys add NAME"):
        on_testnet()


def test_key_and_apikey_together_are_refused() -> None:
    with pytest.raises(ConfigError, match="must not be set too"):
        on_testnet(key="binance-main", apikey="plainkey01", secret="plainsecret01")


def test_a_bad_key_name_is_refused_at_load() -> None:
    with pytest.raises(ConfigError, match="not a valid key name"):
        on_testnet(key="bad name")


def test_unknown_name_and_missing_passphrase_are_clear(
    keys_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(PassphraseUnavailableError, match="RT_KEYS_PASSPHRASE"):
        on_testnet(key="binance-main", keys_file=str(keys_file)).credentials()
    monkeypatch.setenv("RT_KEYS_PASSPHRASE", "pass-word-1")
    with pytest.raises(UnknownKeyError, match="no key named 'binance-other'") as caught:
        on_testnet(key="binance-other", keys_file=str(keys_file)).credentials()
    assert "real-trade keys add binance-other --exchange binance" in str(caught.value)


def test_keys_file_comes_from_the_environment(
    keys_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RT_KEYS_FILE", str(keys_file))
    monkeypatch.setenv("RT_KEYS_PASSPHRASE", "pass-word-1")
    config = RealTradeConfig.load(paper_trading=False, testnet=True, key="binance-main")
    assert config.keys_file == str(keys_file)
    assert config.credentials().apikey is not None


def test_the_store_is_built_with_the_stored_key(
    keys_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from real_trade.engine.factory import build_store

    monkeypatch.setenv("RT_KEYS_PASSPHRASE", "pass-word-1")
    config = on_testnet(key="binance-main", keys_file=str(keys_file), sim_url="http://127.0.0.1:9")
    store = build_store(config)
    try:
        assert store.apikey == "CFGkeyvalue00001" and store.secret == "CFGsecretvalue00001"
        assert "CFGsecret" not in repr(store)
    finally:
        store.stop()


def test_a_store_built_by_hand_takes_a_stored_key(keys_file: Path) -> None:
    from real_trade.stores import BinanceStore

    manager = ApiKeyManager(keys_file, "pass-word-1", env={})
    manager.load_from_file()
    key = manager.get_api_key("binance-main")
    assert key is not None
    store = BinanceStore(**key.store_kwargs(), testnet=True, sim_url="http://127.0.0.1:9")
    try:
        assert store.apikey == "CFGkeyvalue00001" and store.secret == "CFGsecretvalue00001"
    finally:
        store.stop()
