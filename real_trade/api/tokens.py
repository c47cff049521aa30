"""The control API's bearer tokens: issued at random, stored hashed, scoped, expiring.

There is no default secret. :meth:`TokenAuthority.first_token` issues a ``trade`` token when
the store holds no unexpired one (the first ``real-trade serve``) and returns it once, to be
shown to the operator; only its SHA-256 is kept. A token is ``rt_`` + 32 random bytes
(URL-safe base64), so a fast hash is enough (nothing to brute-force). :meth:`verify` compares
the presented token's hash with every stored hash through :func:`hmac.compare_digest`.

Where the hashes live is a :class:`TokenStore` (``load()``/``save(records)``):
:class:`KeyFileTokenStore` keeps them with the API keys, as the ``api-tokens`` secret of the
encrypted key file (:class:`~real_trade.keys.ApiKeyManager`); :class:`FileTokenStore` is a JSON
file written with mode 0600 (atomically, by rename). :func:`token_store_for` picks one from the
config: ``[api] token_store = "keys"`` or ``"file"``, and ``"auto"`` (the default) keeps them
with the keys whenever the config names a stored key (``key = "..."``).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

__all__ = [
    "DEFAULT_TOKEN_FILE",
    "SCOPES",
    "FileTokenStore",
    "IssuedToken",
    "KeyFileTokenStore",
    "Scope",
    "TokenAuthority",
    "TokenRecord",
    "TokenStore",
    "hash_token",
    "token_store_for",
]

Scope = Literal["read", "trade"]
SCOPES: tuple[Scope, ...] = ("read", "trade")
"""``read`` sees everything (secrets masked); ``trade`` also acts (pause, cancel, kill...)."""
DEFAULT_TOKEN_FILE = Path("~/.real_trade/api_tokens.json")
"""Where :class:`FileTokenStore` keeps the hashes unless ``[api] token_file`` says otherwise."""
_PREFIX = "rt_"


def hash_token(token: str) -> str:
    """The stored form of ``token``: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenRecord:
    """One stored token: its id (shown, not secret), hash, scope, label and lifetime (ms)."""

    id: str
    sha256: str
    scope: Scope
    label: str
    created_ms: int
    expires_ms: int

    def expired(self, now_ms: int) -> bool:
        """Whether the token is past its lifetime at ``now_ms``."""
        return now_ms >= self.expires_ms


@dataclass(frozen=True)
class IssuedToken:
    """A token just issued: the plain text (shown once, never stored) and its record."""

    token: str
    record: TokenRecord

    def __repr__(self) -> str:
        return f"IssuedToken(id={self.record.id!r}, scope={self.record.scope!r}, token=***)"


class TokenStore(Protocol):
    """Where token records are kept (hashes only)."""

    def load(self) -> list[TokenRecord]:
        """Every stored record (expired ones included)."""
        ...

    def save(self, records: Sequence[TokenRecord]) -> None:
        """Replace the stored records with ``records``."""
        ...


class FileTokenStore:
    """Token records in a JSON file with mode 0600, replaced atomically (module docstring)."""

    def __init__(self, path: str | Path | None = None) -> None:
        """Keep the records in ``path`` (default :data:`DEFAULT_TOKEN_FILE`)."""
        self.path = Path(path or DEFAULT_TOKEN_FILE).expanduser()
        self._seen: tuple[int, int, int] | None = None
        self._records: list[TokenRecord] = []

    def load(self) -> list[TokenRecord]:
        """The records in the file (none when it does not exist); read again only when the
        file changed (another process issued a token), so calling it per request is cheap."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return []
        seen = (info.st_mtime_ns, info.st_size, info.st_ino)
        if seen != self._seen:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            self._records = [TokenRecord(**item) for item in raw.get("tokens", [])]
            self._seen = seen
        return list(self._records)

    def save(self, records: Sequence[TokenRecord]) -> None:
        """Write ``records`` to a 0600 temporary file beside the target, then rename it."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = json.dumps({"tokens": [asdict(r) for r in records]}, indent=1)
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.chmod(temp, 0o600)
            os.replace(temp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()


class KeyFileTokenStore:
    """Token records kept with the API keys: the ``api-tokens`` secret of the encrypted key
    file (module docstring). The file is decrypted again only when it changed, so calling
    :meth:`load` per request costs a ``stat``; a save re-encrypts the file (a key derivation)."""

    SECRET_NAME = "api-tokens"  # noqa: S105 (the entry's name, not a secret)

    def __init__(self, path: str | Path | None = None, passphrase: str | None = None) -> None:
        """Keep the records in the key file ``path`` (default: the default key file), opened
        with ``passphrase`` (default: ``RT_KEYS_PASSPHRASE``, the keyring or a prompt)."""
        from real_trade.keys import ApiKeyManager

        self._manager = ApiKeyManager(path, passphrase)
        self.path = self._manager.path
        self._seen: tuple[int, int, int] | None = None
        self._records: list[TokenRecord] = []
        self._lock = threading.Lock()

    def load(self) -> list[TokenRecord]:
        """The records in the key file (none when it or the entry does not exist)."""
        with self._lock:
            try:
                info = self.path.stat()
            except FileNotFoundError:
                return []
            seen = (info.st_mtime_ns, info.st_size, info.st_ino)
            if seen != self._seen:
                self._manager.load_from_file()
                raw = json.loads(self._manager.get_secret(self.SECRET_NAME) or '{"tokens": []}')
                self._records = [TokenRecord(**item) for item in raw.get("tokens", [])]
                self._seen = seen
            return list(self._records)

    def save(self, records: Sequence[TokenRecord]) -> None:
        """Store ``records`` in the key file, beside the keys (re-read first: another process
        may have added a key since), and write it encrypted."""
        with self._lock:
            self._manager.load_from_file()
            text = json.dumps({"tokens": [asdict(r) for r in records]})
            self._manager.set_secret(self.SECRET_NAME, text)
            self._manager.save_to_file()
            info = self.path.stat()
            self._seen = (info.st_mtime_ns, info.st_size, info.st_ino)
            self._records = list(records)


def token_store_for(config: Any) -> TokenStore:
    """The token store a config asks for: ``[api] token_store`` (``"keys"``, ``"file"``, or
    ``"auto"``: with the keys when the config names a stored key, else the token file)."""
    api = config.api
    choice = getattr(api, "token_store", "auto")
    if choice == "keys" or (choice == "auto" and getattr(config, "key", None)):
        return KeyFileTokenStore(getattr(config, "keys_file", None))
    return FileTokenStore(api.token_file)


class TokenAuthority:
    """Issues and checks the tokens of one :class:`TokenStore` (module docstring).

    ``ttl_s`` is the lifetime of a new token; ``now_ms`` the clock (tests move it).
    """

    def __init__(
        self,
        store: TokenStore,
        *,
        ttl_s: float = 7 * 86_400.0,
        now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        """Check tokens against ``store``; new ones live ``ttl_s`` seconds."""
        self.store = store
        self.ttl_s = ttl_s
        self.now_ms = now_ms
        self._lock = threading.Lock()
        self._records = store.load()

    def issue(self, scope: Scope, label: str = "", ttl_s: float | None = None) -> IssuedToken:
        """A new random token of ``scope``, stored hashed; expired records are dropped."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        token = _PREFIX + secrets.token_urlsafe(32)
        now = self.now_ms()
        record = TokenRecord(
            id=secrets.token_hex(4),
            sha256=hash_token(token),
            scope=scope,
            label=label,
            created_ms=now,
            expires_ms=now + int((self.ttl_s if ttl_s is None else ttl_s) * 1000),
        )
        with self._lock:
            self._records = [r for r in self.store.load() if not r.expired(now)] + [record]
            self.store.save(self._records)
        return IssuedToken(token, record)

    def first_token(self, label: str = "first use") -> IssuedToken | None:
        """Issue a ``trade`` token when no unexpired one is stored; None when one is."""
        now = self.now_ms()
        with self._lock:
            self._records = self.store.load()
            if any(not r.expired(now) for r in self._records):
                return None
        return self.issue("trade", label)

    def verify(self, token: str) -> TokenRecord | None:
        """The unexpired record of ``token``, or None (wrong, unknown or expired)."""
        if not token.startswith(_PREFIX) or len(token) > 200:
            return None
        presented = hash_token(token)
        found: TokenRecord | None = None
        with self._lock:
            records = self._records = self.store.load()
        for record in records:  # every record is compared: no early exit on a match
            if hmac.compare_digest(presented, record.sha256):
                found = record
        if found is None or found.expired(self.now_ms()):
            return None
        return found

    def revoke(self, token_id: str) -> bool:
        """Remove the token with id ``token_id`` (its holder is refused from the next request);
        False when there is none."""
        with self._lock:
            records = self.store.load()
            kept = [r for r in records if r.id != token_id]
            if len(kept) == len(records):
                return False
            self.store.save(kept)
            self._records = kept
        return True

    def records(self) -> list[TokenRecord]:
        """The stored records (hashes, never tokens)."""
        with self._lock:
            return list(self._records)
