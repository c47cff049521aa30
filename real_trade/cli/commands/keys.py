"""``real-trade keys add | list | remove | rotate``: the encrypted key file (real_trade.keys).

``add NAME --exchange ID`` asks for the API key, secret and (blank if none) passphrase on the
terminal without echo, or reads them as lines from standard input (``--stdin``), never from the
command line, where ``ps`` and the shell history would keep them. ``list`` shows names,
exchanges and masked keys. ``remove NAME`` forgets a key (``--secret`` a named secret).
``rotate`` re-encrypts the file with a fresh salt and nonce and the current KDF parameters;
``--new-passphrase`` changes the passphrase (asked twice, or ``RT_KEYS_NEW_PASSPHRASE``), ``NAME``
replaces that key's values. The file's passphrase comes from ``RT_KEYS_PASSPHRASE``, the OS
keyring (``RT_KEYS_KEYRING``) or a prompt. Exit 0 on success, 1 for an unknown name, 2 for a
key-file problem (wrong passphrase, changed file, readable file), with the fix.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

__all__ = ["NEW_PASSPHRASE_ENV", "add_arguments", "run"]

NEW_PASSPHRASE_ENV = "RT_KEYS_NEW_PASSPHRASE"  # noqa: S105 - a variable name, not a value
"""The environment variable holding the new passphrase of ``keys rotate --new-passphrase``."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``--file`` and the four actions."""
    parser.add_argument(
        "--file", help="the key file (default: $RT_KEYS_FILE or ~/.config/real_trade/keys.json)"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="store an API key under a name")
    add.add_argument("name", help="the key's name, e.g. binance-main (a config's key = ...)")
    add.add_argument("--exchange", required=True, help="the ccxt exchange id, e.g. binance")
    add.add_argument("--replace", action="store_true", help="replace a key of that name")
    add.add_argument(
        "--stdin", action="store_true", help="read key, secret, passphrase as lines from stdin"
    )
    actions.add_parser("list", help="show names, exchanges and masked keys")
    remove = actions.add_parser("remove", help="forget a key")
    remove.add_argument("name")
    remove.add_argument("--secret", action="store_true", help="NAME is a secret, not an API key")
    rotate = actions.add_parser(
        "rotate", help="re-encrypt (fresh salt, current KDF); change the passphrase or a key"
    )
    rotate.add_argument("name", nargs="?", help="replace this key's values (asked like add)")
    rotate.add_argument("--new-passphrase", action="store_true", help="change the passphrase")
    rotate.add_argument(
        "--keyring",
        metavar="SERVICE",
        help="also store the (new) passphrase in the OS keyring under SERVICE",
    )
    rotate.add_argument("--stdin", action="store_true", help="read a key's values from stdin")


def run(args: argparse.Namespace) -> int:
    """Do the action of ``args`` on the key file; see the module docstring."""
    from real_trade.keys import ApiKeyManager, KeyStoreError

    manager = ApiKeyManager(args.file)
    try:
        manager.load_from_file()
        action = {"add": _add, "list": _list, "remove": _remove, "rotate": _rotate}
        return action[args.action](manager, args)
    except KeyStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _read_values(args: argparse.Namespace) -> tuple[str, str, str]:
    """API key, secret and passphrase from stdin lines (``--stdin``) or hidden prompts."""
    from real_trade.keys import KeyStoreError

    if args.stdin or not sys.stdin.isatty():
        lines = [line.strip() for line in sys.stdin.read().splitlines()]
        values = [*lines, "", "", ""][:3]
    else:
        import getpass

        values = [
            getpass.getpass("API key: "),
            getpass.getpass("API secret: "),
            getpass.getpass("API passphrase (blank if the exchange has none): "),
        ]
    if not values[0] or not values[1]:
        raise KeyStoreError(
            "an API key and a secret are needed",
            fix="type them when asked, or give them as the first two lines of stdin (--stdin)",
        )
    return values[0], values[1], values[2]


def _add(manager: Any, args: argparse.Namespace) -> int:
    from real_trade.keys import ApiKey, check_name

    name = check_name(args.name)
    if manager.get_api_key(name) is not None and not args.replace:
        print(f"error: {manager.path} already holds a key named {name!r}", file=sys.stderr)
        print("  pass --replace, or use 'real-trade keys rotate NAME'", file=sys.stderr)
        return 1
    key, secret, passphrase = _read_values(args)
    api_key = ApiKey(key, secret, passphrase, exchange=args.exchange)
    manager.set_api_key(name, api_key)
    manager.save_to_file()
    print(f"stored {name} ({api_key.exchange}, key {api_key.masked}) in {manager.path}")
    return 0


def _list(manager: Any, args: argparse.Namespace) -> int:
    keys = manager.api_keys()
    secrets = manager.secret_names()
    if not keys and not secrets:
        print(f"no keys in {manager.path}")
        return 0
    print(f"{manager.path}:")
    width = max(len(name) for name in [*keys, *secrets, "NAME"])
    print(f"  {'NAME':<{width}}  {'EXCHANGE':<10}  KEY     PASSPHRASE")
    for name, key in keys.items():
        has = "yes" if key.passphrase else "-"
        print(f"  {name:<{width}}  {key.exchange:<10}  {key.masked:<6}  {has}")
    for name in secrets:
        print(f"  {name:<{width}}  {'(secret)':<10}  ***")
    if manager.needs_upgrade:
        kdf = manager.file_kdf
        print(f"  written with weaker KDF parameters (n={kdf.n}): run 'real-trade keys rotate'")
    return 0


def _remove(manager: Any, args: argparse.Namespace) -> int:
    removed = manager.remove_secret(args.name) if args.secret else manager.remove_api_key(args.name)
    what = "secret" if args.secret else "key"
    if not removed:
        print(f"error: no {what} named {args.name!r} in {manager.path}", file=sys.stderr)
        return 1
    manager.save_to_file()
    print(f"removed {what} {args.name} from {manager.path}")
    return 0


def _rotate(manager: Any, args: argparse.Namespace) -> int:
    from real_trade.keys import ApiKey, KeyStoreError, find_passphrase

    if not manager.path.exists():
        raise KeyStoreError(
            f"there is no key file at {manager.path} to rotate",
            fix="add a key first: real-trade keys add NAME --exchange ID",
        )
    if args.name:
        old = manager.get_api_key(args.name)
        if old is None:
            print(f"error: no key named {args.name!r} in {manager.path}", file=sys.stderr)
            return 1
        key, secret, passphrase = _read_values(args)
        manager.set_api_key(args.name, ApiKey(key, secret, passphrase, exchange=old.exchange))
        print(f"replaced the values of {args.name} ({old.exchange})")
    if args.new_passphrase:
        new = os.environ.get(NEW_PASSPHRASE_ENV, "")
        if not new and not sys.stdin.isatty():
            raise KeyStoreError(
                "no new passphrase: standard input is not a terminal",
                fix=f"set {NEW_PASSPHRASE_ENV}, or run from a terminal to be asked twice",
            )
        if not new:
            new = find_passphrase(manager.path, env={}, interactive=True, confirm=True)
        manager.change_passphrase(new)
        print("changed the passphrase")
    manager.save_to_file()
    kdf = manager.kdf
    print(f"re-encrypted {manager.path} (scrypt n={kdf.n} r={kdf.r} p={kdf.p}, fresh salt)")
    if args.keyring:
        manager.store_passphrase_in_keyring(args.keyring)
        print(f"stored the passphrase in the OS keyring (service {args.keyring!r})")
    return 0
