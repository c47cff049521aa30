"""The errors of the key store: each a :class:`~real_trade.errors.ConfigError` naming the fix.

None of them carries a secret: they name the file, the entry and what to do, never a value.
"""

from __future__ import annotations

from real_trade.errors import ConfigError

__all__ = [
    "KeyFileCorruptError",
    "KeyFilePermissionError",
    "KeyStoreError",
    "PassphraseUnavailableError",
    "UnknownKeyError",
    "WrongPassphraseError",
]


class KeyStoreError(ConfigError):
    """Any problem with the encrypted key file or its passphrase."""


class WrongPassphraseError(KeyStoreError):
    """The passphrase does not open the key file."""


class KeyFileCorruptError(KeyStoreError):
    """The key file is not ours, or was changed after it was written (authentication failed)."""


class KeyFilePermissionError(KeyStoreError):
    """The key file may be read by other users (group or world bits set)."""


class PassphraseUnavailableError(KeyStoreError):
    """No passphrase could be found: no environment variable, no keyring, no terminal."""


class UnknownKeyError(KeyStoreError):
    """A config or command names a key that the key file does not hold."""
