"""``ApiKeyManager`` (seed 003): named API keys and named secrets in one encrypted file.

The file is sealed by :mod:`real_trade.keys.vault` (scrypt + AES-256-GCM, fresh salt and nonce
per write) and written atomically with mode 0600; a file that group or others may read is
refused. Plain text exists only in this object's memory: every value loaded or set is also
registered with the log mask (:func:`real_trade.utils.logger.register_secret`), and ``repr``
shows names only. Entries are named (``"binance-main"``; the seed's ``get_api_key(exchange)``
works with the exchange id as the name). Besides API keys the file holds named secrets
(:meth:`ApiKeyManager.get_secret`), e.g. the control API's token.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import stat
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar

from real_trade.keys.apikey import ApiKey
from real_trade.keys.errors import KeyFileCorruptError, KeyFilePermissionError, KeyStoreError
from real_trade.keys.passphrase import default_keys_file, find_passphrase, store_in_keyring
from real_trade.keys.vault import CURRENT_KDF, KdfParams, seal, unseal
from real_trade.utils.logger import register_secret

__all__ = ["ApiKeyManager", "check_name"]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_name(name: str) -> str:
    """``name`` stripped when it is a valid entry name (letters, digits, ``.``, ``_``, ``-``)."""
    name = str(name).strip()
    if not _NAME_RE.match(name):
        raise KeyStoreError(
            f"{name!r} is not a valid key name",
            fix="use letters, digits, '.', '_' and '-', e.g. 'binance-main'",
        )
    return name


class ApiKeyManager:
    """Named :class:`ApiKey` entries and named secrets, encrypted at rest (module docstring).

    ``path``: the key file (default :func:`~real_trade.keys.passphrase.default_keys_file`).
    ``passphrase``: a string, a callable returning one, or None to ask
    :func:`~real_trade.keys.passphrase.find_passphrase` when first needed. ``kdf``: the
    parameters every save writes with (a file read with weaker ones is upgraded on save).
    """

    _default: ClassVar[ApiKeyManager | None] = None
    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        path: str | Path | None = None,
        passphrase: str | Callable[[], str] | None = None,
        *,
        kdf: KdfParams = CURRENT_KDF,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """An empty manager for ``path``; call :meth:`load_from_file` to read it."""
        self.path = Path(path).expanduser() if path is not None else default_keys_file(env)
        self.kdf = kdf
        self._env = env
        self._passphrase_source = passphrase
        self._passphrase: str | None = passphrase if isinstance(passphrase, str) else None
        self._keys: dict[str, ApiKey] = {}
        self._secrets: dict[str, str] = {}
        self._file_kdf: KdfParams | None = None
        self._lock = threading.RLock()

    @classmethod
    def instance(cls) -> ApiKeyManager:
        """The process-wide manager of the default key file (loaded on first call when present)."""
        with cls._default_lock:
            if cls._default is None:
                manager = cls()
                manager.load_from_file()
                cls._default = manager
            return cls._default

    def __repr__(self) -> str:
        """The file and the entry names; never a value."""
        with self._lock:
            names = sorted(self._keys)
            secrets = sorted(self._secrets)
        return f"ApiKeyManager(path='{self.path}', keys={names}, secrets={secrets})"

    # -- the passphrase ------------------------------------------------------------------
    def _get_passphrase(self, *, new_file: bool) -> str:
        if self._passphrase is None:
            source = self._passphrase_source
            if callable(source):
                value = source()
            else:
                value = find_passphrase(self.path, env=self._env, confirm=new_file)
            if not value:
                raise KeyStoreError("an empty passphrase was given", fix="give a passphrase")
            register_secret(value)
            self._passphrase = value
        return self._passphrase

    def change_passphrase(self, new_passphrase: str) -> None:
        """Use ``new_passphrase`` from the next :meth:`save_to_file` on (the file is rewritten
        under it with a fresh salt, nonce and the current KDF parameters)."""
        if not new_passphrase:
            raise KeyStoreError("an empty passphrase was given", fix="give a passphrase")
        register_secret(new_passphrase)
        with self._lock:
            self._passphrase = new_passphrase

    def store_passphrase_in_keyring(self, service: str) -> None:
        """Put this file's passphrase in the OS keyring under ``service`` (``RT_KEYS_KEYRING``
        then finds it); needs the optional ``keyring`` package."""
        store_in_keyring(service, self.path, self._get_passphrase(new_file=False))

    @property
    def needs_upgrade(self) -> bool:
        """Whether the file was read with weaker KDF parameters than :attr:`kdf`."""
        return self._file_kdf is not None and self._file_kdf.weaker_than(self.kdf)

    @property
    def file_kdf(self) -> KdfParams | None:
        """The KDF parameters of the file as last read or written (None before either)."""
        return self._file_kdf

    # -- the file ------------------------------------------------------------------------
    def load_from_file(self, filename: str | Path | None = None) -> bool:
        """Read and decrypt the key file (``filename`` or :attr:`path`, which it becomes).

        False (and an empty manager) when there is no file yet; True once loaded. Raises
        :class:`~real_trade.keys.errors.WrongPassphraseError`, ``KeyFileCorruptError`` or
        ``KeyFilePermissionError`` (group/world-readable file) with the fix.
        """
        with self._lock:
            if filename is not None:
                self.path = Path(filename).expanduser()
            if not self.path.exists():
                self._keys, self._secrets, self._file_kdf = {}, {}, None
                return False
            _check_private(self.path)
            try:
                envelope = json.loads(self.path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise KeyFileCorruptError(
                    f"{self.path} is not a real_trade key file (not JSON)",
                    fix="point RT_KEYS_FILE or keys_file at the right file",
                ) from None
            plaintext, kdf = unseal(envelope, self._get_passphrase(new_file=False))
            content = json.loads(plaintext.decode("utf-8"))
            self._keys = {n: ApiKey.from_plain(v) for n, v in content.get("keys", {}).items()}
            self._secrets = {n: str(v) for n, v in content.get("secrets", {}).items()}
            self._file_kdf = kdf
            for key in self._keys.values():
                _register(key)
            for value in self._secrets.values():
                register_secret(value)
            return True

    def save_to_file(self, filename: str | Path | None = None) -> bool:
        """Encrypt every entry into the key file (``filename`` or :attr:`path`) with a fresh
        salt and nonce and the current KDF parameters; atomic, mode 0600. Returns True."""
        with self._lock:
            if filename is not None:
                self.path = Path(filename).expanduser()
            content = {
                "keys": {n: k.to_plain() for n, k in sorted(self._keys.items())},
                "secrets": dict(sorted(self._secrets.items())),
            }
            passphrase = self._get_passphrase(new_file=not self.path.exists())
            envelope = seal(json.dumps(content).encode("utf-8"), passphrase, self.kdf)
            _write_private(self.path, json.dumps(envelope, indent=1) + "\n")
            self._file_kdf = self.kdf
            return True

    # -- API keys (seed 003) -------------------------------------------------------------
    def get_api_key(self, exchange: str) -> ApiKey | None:
        """The key stored under the name ``exchange``; else, as the seed keys by exchange, the
        only key of that exchange id; else None (none, or several: name one)."""
        wanted = str(exchange).strip()
        with self._lock:
            key = self._keys.get(wanted)
            if key is None:
                of_exchange = [k for k in self._keys.values() if k.exchange == wanted.lower()]
                key = of_exchange[0] if len(of_exchange) == 1 else None
            return key

    def set_api_key(self, exchange: str, api_key: ApiKey) -> None:
        """Store ``api_key`` under the name ``exchange`` (replacing one of that name); its
        ``exchange`` field defaults to the name. Call :meth:`save_to_file` to keep it."""
        name = check_name(exchange)
        if not isinstance(api_key, ApiKey):
            raise TypeError("set_api_key takes an ApiKey")
        if not api_key.exchange:
            api_key = dataclasses.replace(api_key, exchange=name)
        _register(api_key)
        with self._lock:
            self._keys[name] = api_key

    def remove_api_key(self, exchange: str) -> bool:
        """Forget the key named ``exchange``; whether there was one."""
        with self._lock:
            return self._keys.pop(str(exchange).strip(), None) is not None

    def api_keys(self) -> dict[str, ApiKey]:
        """Every stored key by name (a copy)."""
        with self._lock:
            return dict(sorted(self._keys.items()))

    # -- other secrets (the control API token, ...) --------------------------------------
    def get_secret(self, name: str) -> str | None:
        """The secret stored under ``name`` (e.g. ``"api-token"``), or None."""
        with self._lock:
            return self._secrets.get(str(name).strip())

    def set_secret(self, name: str, value: str) -> None:
        """Store the secret ``value`` under ``name``; call :meth:`save_to_file` to keep it."""
        name = check_name(name)
        if not isinstance(value, str) or not value:
            raise KeyStoreError(f"the secret {name!r} is empty", fix="give a non-empty value")
        register_secret(value)
        with self._lock:
            self._secrets[name] = value

    def remove_secret(self, name: str) -> bool:
        """Forget the secret ``name``; whether there was one."""
        with self._lock:
            return self._secrets.pop(str(name).strip(), None) is not None

    def secret_names(self) -> list[str]:
        """The names of the stored secrets (never their values)."""
        with self._lock:
            return sorted(self._secrets)


def _register(key: ApiKey) -> None:
    for value in (key.api_key, key.api_secret, key.passphrase):
        register_secret(value or None)


def _check_private(path: Path) -> None:
    """Refuse a key file that group or others may read or write (POSIX only)."""
    if os.name != "posix":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFilePermissionError(
            f"key file {path} has mode {mode:o}: other users may read it",
            fix=f"chmod 600 '{path}' (and consider changing the keys it holds)",
        )


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, mode 0600, its folder 0700 when created."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if os.name == "posix":
        os.chmod(path, 0o600)
