"""``real-trade keys add | list | remove | rotate`` as an operator runs them."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from real_trade.keys import ApiKeyManager, WrongPassphraseError
from tests.e2e.test_cli_run import environment, script

pytestmark = pytest.mark.integration

PASS = "cli-pass-phrase-1"
KEY, SECRET = "CLIkeyAAAA0001", "CLIsecretBBBB0001"


def keys(
    path: Path, *args: str, stdin: str = "", passphrase: str = PASS, **env: str
) -> subprocess.CompletedProcess[str]:
    full_env = {**environment(), "RT_KEYS_PASSPHRASE": passphrase, **env}
    return subprocess.run(
        [script(), "keys", "--file", str(path), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
    )


def test_add_list_remove(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    out = keys(path, "add", "binance-main", "--exchange", "binance", stdin=f"{KEY}\n{SECRET}\n")
    assert out.returncode == 0, out.stderr
    assert "stored binance-main (binance, key CLIk…)" in out.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    okx = "OKXkey000001\nOKXsec000001\npp1\n"
    out = keys(path, "add", "okx-sub", "--exchange", "OKX", stdin=okx)
    assert out.returncode == 0, out.stderr

    again = keys(path, "add", "binance-main", "--exchange", "binance", stdin=f"{KEY}\n{SECRET}\n")
    assert again.returncode == 1 and "--replace" in again.stderr

    listed = keys(path, "list")
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()
    assert any("binance-main" in r and "binance" in r and "CLIk…" in r for r in rows), rows
    assert any("okx-sub" in r and "okx" in r and "yes" in r for r in rows), rows
    text = listed.stdout + listed.stderr
    assert KEY not in text and SECRET not in text and "OKXsec" not in text

    assert keys(path, "remove", "okx-sub").returncode == 0
    missing = keys(path, "remove", "okx-sub")
    assert missing.returncode == 1 and "no key named 'okx-sub'" in missing.stderr
    assert "okx-sub" not in keys(path, "list").stdout


def test_wrong_or_missing_passphrase_is_exit_2_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    keys(path, "add", "b", "--exchange", "binance", stdin=f"{KEY}\n{SECRET}\n")
    out = keys(path, "list", passphrase="not-the-one")
    assert out.returncode == 2 and "wrong passphrase" in out.stderr
    assert "not-the-one" not in out.stderr
    out = keys(path, "list", passphrase="")
    assert out.returncode == 2 and "RT_KEYS_PASSPHRASE" in out.stderr


def test_rotate_changes_the_passphrase_and_replaces_a_key(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    keys(path, "add", "b", "--exchange", "binance", stdin=f"{KEY}\n{SECRET}\n")
    before = json.loads(path.read_text())
    out = keys(
        path,
        "rotate",
        "b",
        "--new-passphrase",
        stdin="NEWkey000000001\nNEWsecret0000001\n",
        RT_KEYS_NEW_PASSPHRASE="second-pass-phrase",
    )
    assert out.returncode == 0, out.stderr
    assert "changed the passphrase" in out.stdout and "replaced the values of b" in out.stdout
    after = json.loads(path.read_text())
    assert after["kdf"]["salt"] != before["kdf"]["salt"]
    with pytest.raises(WrongPassphraseError):
        ApiKeyManager(path, PASS, env={}).load_from_file()
    store = ApiKeyManager(path, "second-pass-phrase", env={})
    store.load_from_file()
    rotated = store.get_api_key("b")
    assert rotated is not None and rotated.api_key == "NEWkey000000001"
    assert rotated.exchange == "binance"


def test_rotate_upgrades_weak_kdf_parameters(tmp_path: Path) -> None:
    from real_trade.keys import ApiKey, KdfParams

    path = tmp_path / "keys.json"
    old = ApiKeyManager(path, PASS, kdf=KdfParams(n=2**12), env={})
    old.set_api_key("b", ApiKey(KEY, SECRET, exchange="binance"))
    old.save_to_file()
    listed = keys(path, "list")
    assert "weaker KDF parameters" in listed.stdout
    out = keys(path, "rotate")
    assert out.returncode == 0, out.stderr
    assert "scrypt n=131072 r=8 p=1" in out.stdout
    assert json.loads(path.read_text())["kdf"]["n"] == 2**17
    assert "weaker" not in keys(path, "list").stdout


def test_a_world_readable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    keys(path, "add", "b", "--exchange", "binance", stdin=f"{KEY}\n{SECRET}\n")
    os.chmod(path, 0o644)
    out = keys(path, "list")
    assert out.returncode == 2 and "chmod 600" in out.stderr
