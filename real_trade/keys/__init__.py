"""Encrypted API keys (seed 003's ``ApiKeyManager``): one file, a passphrase, names in configs.

:class:`ApiKeyManager` keeps named :class:`ApiKey` entries (and named secrets, such as the
control API's token) in one file encrypted with a key derived from a passphrase
(:mod:`~real_trade.keys.vault`: scrypt, AES-256-GCM, fresh salt and nonce per write, KDF
parameters stored and upgraded on save), mode 0600. The passphrase comes from
``RT_KEYS_PASSPHRASE``, the OS keyring or a prompt (:mod:`~real_trade.keys.passphrase`). A config
names a key (``key = "binance-main"``) and :func:`stored_api_key` resolves it for the stores.
``real-trade keys add | list | remove | rotate`` manages the file. ``cryptography`` is imported
only when a file is opened or written.
"""

from real_trade.keys.apikey import ApiKey, mask_key
from real_trade.keys.errors import (
    KeyFileCorruptError,
    KeyFilePermissionError,
    KeyStoreError,
    PassphraseUnavailableError,
    UnknownKeyError,
    WrongPassphraseError,
)
from real_trade.keys.manager import ApiKeyManager, check_name
from real_trade.keys.passphrase import (
    KEYRING_ENV,
    KEYS_FILE_ENV,
    PASSPHRASE_ENV,
    default_keys_file,
    find_passphrase,
)
from real_trade.keys.resolve import clear_cache, stored_api_key
from real_trade.keys.vault import CURRENT_KDF, KdfParams

__all__ = [
    "CURRENT_KDF",
    "KEYRING_ENV",
    "KEYS_FILE_ENV",
    "PASSPHRASE_ENV",
    "ApiKey",
    "ApiKeyManager",
    "KdfParams",
    "KeyFileCorruptError",
    "KeyFilePermissionError",
    "KeyStoreError",
    "PassphraseUnavailableError",
    "UnknownKeyError",
    "WrongPassphraseError",
    "check_name",
    "clear_cache",
    "default_keys_file",
    "find_passphrase",
    "mask_key",
    "stored_api_key",
]
