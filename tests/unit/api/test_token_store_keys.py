"""The control API's tokens kept with the API keys, in the encrypted key file (issue 15)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from real_trade.api.tokens import (
    FileTokenStore,
    KeyFileTokenStore,
    TokenAuthority,
    hash_token,
    token_store_for,
)
from real_trade.config import RealTradeConfig
from real_trade.keys import ApiKey, ApiKeyManager

PASSPHRASE = "tokens-with-the-keys"


def _key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    manager = ApiKeyManager(path, PASSPHRASE)
    manager.set_api_key("binance-main", ApiKey("AKEY1234567890", "SSECRET987654321", "", "binance"))
    manager.save_to_file()
    return path


def test_tokens_are_stored_encrypted_beside_the_keys(tmp_path: Path) -> None:
    path = _key_file(tmp_path)
    authority = TokenAuthority(KeyFileTokenStore(path, PASSPHRASE))
    issued = authority.first_token()
    assert issued is not None
    raw = path.read_text(encoding="utf-8")
    assert issued.token not in raw and hash_token(issued.token) not in raw  # sealed
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # the keys are still there, and a fresh reader (another process) verifies the token
    reopened = ApiKeyManager(path, PASSPHRASE)
    reopened.load_from_file()
    assert reopened.get_api_key("binance-main") is not None
    stored = json.loads(reopened.get_secret(KeyFileTokenStore.SECRET_NAME) or "{}")
    assert [t["id"] for t in stored["tokens"]] == [issued.record.id]
    other = TokenAuthority(KeyFileTokenStore(path, PASSPHRASE))
    assert other.verify(issued.token) is not None
    assert other.verify(issued.token + "x") is None
    assert other.first_token() is None  # one unexpired token exists: no second first token


def test_a_wrong_passphrase_cannot_read_the_tokens(tmp_path: Path) -> None:
    path = _key_file(tmp_path)
    TokenAuthority(KeyFileTokenStore(path, PASSPHRASE)).first_token()
    with pytest.raises(Exception, match="passphrase"):
        KeyFileTokenStore(path, "not the passphrase").load()


def test_the_config_picks_the_store(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    stored = RealTradeConfig(
        exchange="binance",
        paper_trading=False,
        testnet=True,
        key="binance-main",
        keys_file=str(keys),
    )
    assert isinstance(token_store_for(stored), KeyFileTokenStore)
    assert token_store_for(stored).path == keys  # type: ignore[attr-defined]
    plain = RealTradeConfig(exchange="binance", api={"token_file": str(tmp_path / "t.json")})
    assert isinstance(token_store_for(plain), FileTokenStore)
    forced = stored.replace(api={"token_store": "file", "token_file": str(tmp_path / "t.json")})
    assert isinstance(token_store_for(forced), FileTokenStore)
    keys_forced = plain.replace(api={"token_store": "keys"})
    assert isinstance(token_store_for(keys_forced), KeyFileTokenStore)
