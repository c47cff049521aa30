"""Where the key file and its passphrase come from: the environment, the OS keyring, a prompt.

:func:`default_keys_file` is ``$RT_KEYS_FILE``, else ``$XDG_CONFIG_HOME/real_trade/keys.json``
(``~/.config/...``). :func:`find_passphrase` tries, in order: ``$RT_KEYS_PASSPHRASE``; the OS
keyring when ``$RT_KEYS_KEYRING`` is set (the service name; the entry is the key file's path;
the optional ``keyring`` package is imported only then); a hidden prompt when standard input is
a terminal. With none of them it raises :class:`PassphraseUnavailableError` naming all three.
"""

from __future__ import annotations

import getpass
import importlib
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from real_trade.keys.errors import KeyStoreError, PassphraseUnavailableError

__all__ = [
    "KEYRING_ENV",
    "KEYS_FILE_ENV",
    "PASSPHRASE_ENV",
    "default_keys_file",
    "find_passphrase",
    "keyring_module",
    "store_in_keyring",
]

PASSPHRASE_ENV = "RT_KEYS_PASSPHRASE"  # noqa: S105 - a variable name, not a value
"""The environment variable holding the key file's passphrase (servers, CI)."""
KEYRING_ENV = "RT_KEYS_KEYRING"
"""The environment variable naming the OS keyring service that holds the passphrase."""
KEYS_FILE_ENV = "RT_KEYS_FILE"
"""The environment variable naming the key file (the config field ``keys_file`` wins)."""

_FIX = (
    f"set {PASSPHRASE_ENV}, or put the passphrase in the OS keyring and set {KEYRING_ENV} to its "
    "service name (pip install keyring), or run from a terminal to be asked"
)


def default_keys_file(env: Mapping[str, str] | None = None) -> Path:
    """``$RT_KEYS_FILE``, else ``$XDG_CONFIG_HOME/real_trade/keys.json`` (``~/.config``)."""
    env = os.environ if env is None else env
    named = env.get(KEYS_FILE_ENV, "").strip()
    if named:
        return Path(named).expanduser()
    base = env.get("XDG_CONFIG_HOME", "").strip() or str(Path.home() / ".config")
    return Path(base) / "real_trade" / "keys.json"


def keyring_module() -> Any:
    """The ``keyring`` package, or KeyStoreError saying how to install it."""
    try:
        return importlib.import_module("keyring")
    except ImportError:
        raise KeyStoreError(
            f"{KEYRING_ENV} asks for the OS keyring but the 'keyring' package is not installed",
            fix="pip install keyring (or pip install 'real_trade[keyring]'), or unset "
            f"{KEYRING_ENV} and use {PASSPHRASE_ENV} or the prompt",
        ) from None


def store_in_keyring(service: str, path: Path, passphrase: str) -> None:
    """Put ``passphrase`` in the OS keyring under ``service`` for the key file ``path``."""
    keyring_module().set_password(service, str(path), passphrase)


def find_passphrase(
    path: Path,
    *,
    env: Mapping[str, str] | None = None,
    prompt: Callable[[str], str] | None = None,
    interactive: bool | None = None,
    confirm: bool = False,
) -> str:
    """The passphrase of the key file ``path`` (see the module docstring for the order).

    ``prompt`` defaults to :func:`getpass.getpass`; ``interactive`` to whether stdin is a
    terminal; ``confirm`` asks twice (a new file or a new passphrase).
    """
    env = os.environ if env is None else env
    given = env.get(PASSPHRASE_ENV, "")
    if given:
        return given
    service = env.get(KEYRING_ENV, "").strip()
    if service:
        stored = keyring_module().get_password(service, str(path))
        if stored:
            return str(stored)
        raise PassphraseUnavailableError(
            f"the OS keyring service {service!r} holds no passphrase for {path}",
            fix=f"run 'real-trade keys rotate --keyring' once from a terminal, or {_FIX}",
        )
    if interactive is None:
        interactive = sys.stdin is not None and sys.stdin.isatty()
    if not interactive:
        raise PassphraseUnavailableError(f"no passphrase for the key file {path}", fix=_FIX)
    ask = prompt or getpass.getpass
    first = ask(f"Passphrase for {path}: ")
    if not first:
        raise PassphraseUnavailableError("an empty passphrase was given", fix=_FIX)
    if confirm and ask("Repeat the passphrase: ") != first:
        raise PassphraseUnavailableError(
            "the two passphrases differ", fix="type the same passphrase twice"
        )
    return first
