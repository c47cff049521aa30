"""``real-trade serve CONFIG.toml``: the control API and web dashboard of an account.

Serves the JSON API (``/api/...``, OpenAPI at ``/api/openapi.json``) and the dashboard (``/``)
over the config's journal until SIGINT or SIGTERM, from any process: the runners are reached
through the journal, as ``real-trade kill`` reaches them. ``[api]`` sets the address (loopback
by default; another needs TLS or ``allow_remote``), the token file and CORS. The first start
creates a trade-scope token and prints it once (only its hash is stored); ``--issue-token
read|trade`` prints a new one, ``--list-tokens`` lists them (ids, scopes, expiry; never the
tokens), ``--revoke ID`` removes one, each then exits. Exit code 0 after a clean stop, 2 for
a bad config or an address it may not use.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the config file and the server's options."""
    parser.add_argument("config", help="the RealTradeConfig TOML (or JSON) file of the account")
    parser.add_argument("--host", default=None, help="address to listen on (default [api] host)")
    parser.add_argument("--port", type=int, default=None, help="port (default [api] port, 8787)")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="listen on a non-loopback address without TLS (something else must protect it)",
    )
    parser.add_argument(
        "--issue-token",
        choices=("read", "trade"),
        default=None,
        help="print a new token of this scope and exit",
    )
    parser.add_argument("--label", default="", help="a label for --issue-token (who holds it)")
    parser.add_argument(
        "--list-tokens", action="store_true", help="list the tokens (id, scope, expiry) and exit"
    )
    parser.add_argument("--revoke", metavar="ID", default=None, help="revoke a token and exit")


def run(args: argparse.Namespace) -> int:
    """Serve until a stop signal; see the module docstring."""
    from real_trade.api.server import ApiServer
    from real_trade.api.tokens import TokenAuthority, token_store_for
    from real_trade.cli.commands.kill import load_config
    from real_trade.errors import ConfigError
    from real_trade.utils.stop_signals import install_stop_signals

    config = load_config(args.config)
    if config is None:
        return 2
    changes: dict[str, object] = {}
    if args.host is not None:
        changes["host"] = args.host
    if args.port is not None:
        changes["port"] = args.port
    if args.allow_remote:
        changes["allow_remote"] = True
    try:
        if changes:
            config = config.replace(api=changes)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.issue_token or args.list_tokens or args.revoke:
        authority = TokenAuthority(token_store_for(config), ttl_s=config.api.token_ttl_hours * 3600)
        return _tokens(authority, args)
    try:
        server = ApiServer(config, config_path=args.config).start()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    install_stop_signals(stop.set, stop.is_set, lambda text: print(text, flush=True))
    print(f"control API and dashboard on {server.url} ({config.trading_mode.upper()})", flush=True)
    if server.first_token is not None:
        token = server.first_token
        print(
            f"first use: a trade token was created (id {token.record.id}); it is shown only "
            f"now:\n  {token.token}",
            flush=True,
        )
    try:
        stop.wait()
    finally:
        server.stop()
    print("control API stopped", flush=True)
    return 0


def _tokens(authority: Any, args: argparse.Namespace) -> int:
    """``--issue-token``, ``--revoke``, ``--list-tokens``: 0, or 1 for an unknown id."""
    import datetime as dt

    if args.issue_token:
        issued = authority.issue(args.issue_token, args.label)
        print(f"new {args.issue_token} token {issued.record.id}: {issued.token}")
        return 0
    if args.revoke:
        if not authority.revoke(args.revoke):
            print(f"no token with id {args.revoke}", file=sys.stderr)
            return 1
        print(f"token {args.revoke} revoked")
        return 0
    now = authority.now_ms()
    for r in authority.records():
        expires = dt.datetime.fromtimestamp(r.expires_ms / 1000, dt.timezone.utc)
        state = "EXPIRED" if r.expired(now) else f"expires {expires:%Y-%m-%d %H:%M} UTC"
        print(f"{r.id}  {r.scope:<5}  {state}  {r.label}")
    return 0
