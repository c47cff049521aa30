"""``real_trade.keys``: the encrypted key file (round trip, passphrase, tampering, mode, KDF)."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
import types
from pathlib import Path

import pytest

from real_trade.keys import (
    ApiKey,
    ApiKeyManager,
    KdfParams,
    KeyFileCorruptError,
    KeyFilePermissionError,
    KeyStoreError,
    PassphraseUnavailableError,
    UnknownKeyError,
    WrongPassphraseError,
    clear_cache,
    find_passphrase,
    stored_api_key,
)
from real_trade.utils.logger import mask_secrets

FAST = KdfParams(n=2**10, r=8, p=1)  # cheap for tests; the default is 2**17
KEY = ApiKey(
    api_key="AKtestKEYvalue0001",
    api_secret="SECtestSECRETvalue0001",
    passphrase="PPtestOKXpass0001",
    exchange="okx",
)


def manager(path: Path, passphrase: str = "correct horse", kdf: KdfParams = FAST) -> ApiKeyManager:
    return ApiKeyManager(path, passphrase, kdf=kdf, env={})


def saved(path: Path) -> ApiKeyManager:
    store = manager(path)
    store.set_api_key("okx-main", KEY)
    store.set_api_key("binance", ApiKey("BNkeyvalue12345", "BNsecretvalue12345"))
    store.set_secret("api-token", "TOKENvalue-0001-xyz")
    store.save_to_file()
    return store


def test_round_trip_keeps_every_field_and_names(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    saved(path)
    loaded = manager(path)
    assert loaded.load_from_file() is True
    assert loaded.get_api_key("okx-main") == KEY
    binance = loaded.get_api_key("binance")
    assert binance is not None and binance.exchange == "binance"  # the name is the default
    assert binance.passphrase == ""
    assert loaded.get_secret("api-token") == "TOKENvalue-0001-xyz"
    assert loaded.secret_names() == ["api-token"]
    assert list(loaded.api_keys()) == ["binance", "okx-main"]
    assert loaded.get_api_key("okx") == KEY  # the seed's lookup by exchange: the only okx key
    assert loaded.remove_api_key("binance") is True and loaded.remove_api_key("binance") is False
    assert loaded.get_api_key("binance") is None


def test_file_holds_no_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    saved(path)
    raw = path.read_bytes()
    for value in ("AKtestKEYvalue0001", "SECtestSECRETvalue0001", "PPtestOKXpass0001"):
        assert value.encode() not in raw
    assert b"TOKENvalue" not in raw and b"correct horse" not in raw and b"okx-main" not in raw


def test_missing_file_loads_empty(tmp_path: Path) -> None:
    store = manager(tmp_path / "none.json")
    assert store.load_from_file() is False
    assert store.api_keys() == {}


def test_wrong_passphrase_is_named_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    saved(path)
    with pytest.raises(WrongPassphraseError) as caught:
        manager(path, "wrong horse").load_from_file()
    text = str(caught.value)
    assert "wrong passphrase" in text and "RT_KEYS_PASSPHRASE" in text
    assert "wrong horse" not in text


@pytest.mark.parametrize("field", ["ciphertext", "nonce", "kdf.n", "check", "extra"])
def test_a_changed_file_is_detected(tmp_path: Path, field: str) -> None:
    path = tmp_path / "keys.json"
    saved(path)
    data = json.loads(path.read_text())
    if field == "ciphertext":
        raw = bytearray(base64.b64decode(data["ciphertext"]))
        raw[5] ^= 0x01
        data["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    elif field == "nonce":
        raw = bytearray(base64.b64decode(data["cipher"]["nonce"]))
        raw[0] ^= 0x01
        data["cipher"]["nonce"] = base64.b64encode(bytes(raw)).decode()
    elif field == "kdf.n":
        data["kdf"]["n"] = 2**11
    elif field == "check":
        data["check"] = base64.b64encode(b"\x00" * 32).decode()
    else:
        data["note"] = "added"
    path.write_text(json.dumps(data))
    os.chmod(path, 0o600)
    # a changed KDF or check cannot be told from a wrong passphrase; everything else is "changed"
    expected = WrongPassphraseError if field in ("kdf.n", "check") else KeyFileCorruptError
    with pytest.raises(expected):
        manager(path).load_from_file()


def test_not_a_key_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text("[1, 2]")
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileCorruptError, match="not a real_trade key file"):
        manager(path).load_from_file()


def test_each_save_has_a_fresh_salt_and_nonce(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    store = saved(path)
    first = json.loads(path.read_text())
    store.save_to_file()
    second = json.loads(path.read_text())
    assert first["kdf"]["salt"] != second["kdf"]["salt"]
    assert first["cipher"]["nonce"] != second["cipher"]["nonce"]
    assert first["ciphertext"] != second["ciphertext"]
    assert manager(path).load_from_file() is True


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_file_is_written_0600_and_a_readable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "keys.json"
    saved(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    os.chmod(path, 0o644)
    with pytest.raises(KeyFilePermissionError, match="chmod 600"):
        manager(path).load_from_file()
    assert not list(path.parent.glob(".*.tmp"))  # no temporary file left behind


def test_weaker_kdf_parameters_are_upgraded_on_save(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    old = manager(path, kdf=KdfParams(n=2**10, r=4, p=1))
    old.set_api_key("okx-main", KEY)
    old.save_to_file()
    current = manager(path, kdf=KdfParams(n=2**12, r=8, p=1))
    current.load_from_file()
    assert current.needs_upgrade and current.file_kdf == KdfParams(n=2**10, r=4, p=1)
    current.save_to_file()
    assert not current.needs_upgrade
    written = json.loads(path.read_text())["kdf"]
    assert (written["n"], written["r"], written["p"]) == (2**12, 8, 1)
    again = manager(path, kdf=KdfParams(n=2**12, r=8, p=1))
    again.load_from_file()
    assert not again.needs_upgrade and again.get_api_key("okx-main") == KEY


def test_hostile_kdf_parameters_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    saved(path)
    data = json.loads(path.read_text())
    data["kdf"]["n"] = 2**30  # would need 1 TiB of memory
    path.write_text(json.dumps(data))
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileCorruptError, match="impossible scrypt parameters"):
        manager(path).load_from_file()


def test_change_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    store = saved(path)
    store.change_passphrase("battery staple")
    store.save_to_file()
    with pytest.raises(WrongPassphraseError):
        manager(path).load_from_file()
    assert manager(path, "battery staple").load_from_file() is True


def test_reprs_and_the_log_mask_hide_every_value(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    store = saved(path)
    shown = repr(KEY) + str(KEY) + repr(store) + repr(manager(path))
    for value in ("AKtestKEYvalue0001", "SECtestSECRETvalue0001", "PPtestOKXpass0001"):
        assert value not in shown
        assert value not in mask_secrets(f"leaked {value} here")  # registered with the mask
    assert "TOKENvalue-0001-xyz" not in mask_secrets("token TOKENvalue-0001-xyz")
    assert "AKte…" in repr(KEY) and "okx" in repr(KEY)


def test_env_passphrase_and_its_absence(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    saved(path)
    env = {"RT_KEYS_PASSPHRASE": "correct horse"}
    store = ApiKeyManager(path, kdf=FAST, env=env)
    assert store.load_from_file() is True and store.get_api_key("okx-main") == KEY
    with pytest.raises(PassphraseUnavailableError) as caught:
        ApiKeyManager(path, kdf=FAST, env={}).load_from_file()  # pytest's stdin is no terminal
    assert "RT_KEYS_PASSPHRASE" in str(caught.value) and "keyring" in str(caught.value)


def test_prompt_asks_twice_for_a_new_passphrase(tmp_path: Path) -> None:
    answers = iter(["one", "two"])
    with pytest.raises(PassphraseUnavailableError, match="differ"):
        find_passphrase(
            tmp_path / "k", env={}, prompt=lambda _: next(answers), interactive=True, confirm=True
        )
    assert find_passphrase(tmp_path / "k", env={}, prompt=lambda _: "pw", interactive=True) == "pw"


def test_keyring_passphrase_and_a_missing_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keys.json"
    saved(path)
    env = {"RT_KEYS_KEYRING": "real_trade-test"}
    monkeypatch.setitem(sys.modules, "keyring", None)  # not installed
    with pytest.raises(KeyStoreError, match="pip install keyring"):
        ApiKeyManager(path, kdf=FAST, env=env).load_from_file()
    fake = types.ModuleType("keyring")
    vault = {("real_trade-test", str(path)): "correct horse"}
    fake.get_password = lambda service, user: vault.get((service, user))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", fake)
    assert ApiKeyManager(path, kdf=FAST, env=env).load_from_file() is True
    with pytest.raises(PassphraseUnavailableError, match="holds no passphrase"):
        ApiKeyManager(path, kdf=FAST, env={"RT_KEYS_KEYRING": "other"}).load_from_file()


def test_stored_api_key_resolves_names_and_explains_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keys.json"
    saved(path)
    clear_cache()
    monkeypatch.setenv("RT_KEYS_PASSPHRASE", "correct horse")
    try:
        assert stored_api_key("okx-main", "okx", path) == KEY
        with pytest.raises(UnknownKeyError, match=r"no key named .nope.*binance, okx-main"):
            stored_api_key("nope", "okx", path)
        with pytest.raises(KeyStoreError, match="belongs to 'okx', not to 'binance'"):
            stored_api_key("okx-main", "binance", path)
        with pytest.raises(UnknownKeyError, match="does not exist"):
            stored_api_key("okx-main", "okx", tmp_path / "absent.json")
    finally:
        clear_cache()


def test_invalid_names_and_values_are_refused(tmp_path: Path) -> None:
    store = manager(tmp_path / "k.json")
    with pytest.raises(KeyStoreError, match="not a valid key name"):
        store.set_api_key("bad name", KEY)
    with pytest.raises(KeyStoreError, match="empty"):
        store.set_secret("token", "")
    with pytest.raises(ValueError, match="non-blank"):
        ApiKey(" ", "secret")


def test_importing_the_package_and_the_config_does_not_import_cryptography() -> None:
    import subprocess

    code = (
        "import sys, real_trade, real_trade.keys, real_trade.config, real_trade.cli.main\n"
        "assert 'cryptography' not in sys.modules, 'cryptography imported eagerly'\n"
        "assert 'keyring' not in sys.modules\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_the_passphrase_can_be_put_in_the_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keys.json"
    saved(path)
    vault: dict[tuple[str, str], str] = {}
    fake = types.ModuleType("keyring")
    fake.set_password = lambda s, u, p: vault.__setitem__((s, u), p)  # type: ignore[attr-defined]
    fake.get_password = lambda s, u: vault.get((s, u))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", fake)
    store = manager(path)
    store.load_from_file()
    store.store_passphrase_in_keyring("rt-test")
    assert vault == {("rt-test", str(path)): "correct horse"}
    reopened = ApiKeyManager(path, kdf=FAST, env={"RT_KEYS_KEYRING": "rt-test"})
    assert reopened.load_from_file() is True


def test_the_process_wide_instance_reads_the_default_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "default.json"
    saved(path)
    monkeypatch.setenv("RT_KEYS_FILE", str(path))
    monkeypatch.setenv("RT_KEYS_PASSPHRASE", "correct horse")
    monkeypatch.setattr(ApiKeyManager, "_default", None)
    first = ApiKeyManager.instance()
    assert first is ApiKeyManager.instance() and first.path == path
    assert first.get_api_key("okx-main") == KEY


def test_lookup_by_exchange_needs_a_single_key_of_it(tmp_path: Path) -> None:
    store = manager(tmp_path / "k.json")
    store.set_api_key("okx-a", KEY)
    store.set_api_key("okx-b", KEY)
    assert store.get_api_key("okx") is None  # two okx keys: the caller must name one
    assert store.get_api_key("okx-b") == KEY
