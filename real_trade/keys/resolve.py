"""A config's ``key = "binance-main"`` turned into credentials: :func:`stored_api_key`.

Opens the key file once per process and file version (a key derivation costs a fraction of a
second on purpose), then hands out the named entry. Errors name the file, the key and the fix.
"""

from __future__ import annotations

import threading
from pathlib import Path

from real_trade.keys.apikey import ApiKey
from real_trade.keys.errors import KeyStoreError, UnknownKeyError
from real_trade.keys.manager import ApiKeyManager
from real_trade.keys.passphrase import default_keys_file

__all__ = ["clear_cache", "stored_api_key"]

_lock = threading.Lock()
_opened: dict[tuple[str, int, int], ApiKeyManager] = {}


def clear_cache() -> None:
    """Forget every opened key file (tests; after a rotation in the same process)."""
    with _lock:
        _opened.clear()


def _manager(path: Path) -> ApiKeyManager:
    if not path.exists():
        raise UnknownKeyError(
            f"the key file {path} does not exist",
            field="key",
            fix="add the key with 'real-trade keys add NAME --exchange ID', or point "
            "keys_file (RT_KEYS_FILE) at your key file",
        )
    stat = path.stat()
    cache_key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    with _lock:
        manager = _opened.get(cache_key)
        if manager is None:
            manager = ApiKeyManager(path)
            manager.load_from_file()
            _opened[cache_key] = manager
        return manager


def stored_api_key(name: str, exchange: str, keys_file: str | Path | None = None) -> ApiKey:
    """The key named ``name`` in ``keys_file`` (default: the default key file), checked to
    belong to ``exchange``; :class:`UnknownKeyError` when absent."""
    path = Path(keys_file).expanduser() if keys_file else default_keys_file()
    manager = _manager(path)
    key = manager.get_api_key(name)
    if key is None:
        held = ", ".join(manager.api_keys()) or "none"
        raise UnknownKeyError(
            f"no key named {name!r} in {path} (it holds: {held})",
            field="key",
            fix=f"add it with 'real-trade keys add {name} --exchange {exchange}', or fix the name",
        )
    if key.exchange and key.exchange != exchange.strip().lower():
        raise KeyStoreError(
            f"the key {name!r} belongs to {key.exchange!r}, not to {exchange!r}",
            field="key",
            fix=f"name a key of {exchange}, or set exchange = {key.exchange!r}",
        )
    return key
