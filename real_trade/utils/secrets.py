"""Credentials as plain text: :func:`plain_secret`, the one place a ``SecretStr`` is unwrapped.

Config holds API keys, secrets and passphrases as pydantic ``SecretStr`` (never shown in a log,
repr or error); the store, the venue connection and the runtime hand ccxt plain strings. Each
asks this module, so "blank" and "absent" mean the same everywhere.
"""

from __future__ import annotations

from typing import Any

__all__ = ["plain_secret"]


def plain_secret(value: Any) -> str | None:
    """A credential as a plain string: ``SecretStr`` unwrapped, stripped; blank or None -> None."""
    if value is None:
        return None
    text = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return text.strip() or None
