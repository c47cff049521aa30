"""``real-trade sim``: run the offline exchange simulator (Binance, Bybit, OKX) on loopback.

Prints the REST, websocket and admin URLs and the accounts, then serves until SIGINT or
SIGTERM and exits 0. Example::

    real-trade sim --port 8765 --symbols BTC/USDT,ETH/USDT --speed 60 \\
        --account mykey:mysecret:USDT=10000,BTC=1 --account USDT=500

``--faces binance,bybit`` serves both venues' protocols on the one port (one market, one set of
accounts); clients of either venue are redirected with ``RT_SIM_URL=http://127.0.0.1:8765``.
``--faces okx`` serves OKX v5 (SPOT and SWAP; every key's passphrase is printed).
``--tls-cert F --tls-key F`` serves https and wss with that PEM certificate and key (for clients
that insist on TLS, such as python-okx's websockets; they must trust its CA).

An ``--account`` with only balances gets a generated key and secret, printed once (the only
way to learn them); a given secret is never echoed.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import FrameType

from real_trade.cli.commands.argtypes import positive_float

__all__ = ["AccountSpec", "add_arguments", "parse_account", "run"]

_ASSET_RE = re.compile(r"^[A-Z0-9]{1,20}$")
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")  # the seeds' YOUR_API_KEY too


@dataclass(frozen=True)
class AccountSpec:
    """One ``--account`` option: optional key and secret, and the starting balances."""

    api_key: str | None
    secret: str | None
    balances: dict[str, Decimal]

    def __repr__(self) -> str:
        """Show the key and balances, never the secret."""
        return f"AccountSpec(api_key={self.api_key!r}, balances={self.balances!r})"


def parse_account(text: str) -> AccountSpec:
    """Parse ``KEY:SECRET:ASSET=AMOUNT,...`` or ``ASSET=AMOUNT,...`` (argparse type).

    Raises ``argparse.ArgumentTypeError`` naming the bad part and the expected form.
    """
    form = "use KEY:SECRET:USDT=10000,BTC=1 or USDT=10000,BTC=1"
    parts = text.split(":")
    if len(parts) == 3:
        key, secret, bal_text = parts
        if not _KEY_RE.match(key):
            raise argparse.ArgumentTypeError(
                f"the API key must be 1-128 letters, digits, '_' or '-'; {form}"
            )
        if not secret:
            raise argparse.ArgumentTypeError(f"the secret is empty; {form}")
    elif len(parts) == 1:
        key, secret, bal_text = None, None, parts[0]
    else:
        raise argparse.ArgumentTypeError(f"bad --account value; {form}")
    balances: dict[str, Decimal] = {}
    for item in filter(None, bal_text.split(",")):
        asset, sep, amount = item.partition("=")
        asset = asset.strip().upper()
        if not sep or not _ASSET_RE.match(asset):
            raise argparse.ArgumentTypeError(f"bad balance {item!r}; {form}")
        try:
            value = Decimal(amount)
        except InvalidOperation:
            raise argparse.ArgumentTypeError(f"bad amount in {item!r}; {form}") from None
        if not value.is_finite() or value < 0:
            raise argparse.ArgumentTypeError(f"amount must be >= 0 in {item!r}; {form}")
        balances[asset] = value
    return AccountSpec(key, secret, balances)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``sim`` subcommand's options."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback only)")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one")
    parser.add_argument(
        "--market", default="synthetic", help="'synthetic' or a one-minute candle CSV file"
    )
    parser.add_argument(
        "--symbols", default="BTC/USDT", help="comma-separated symbols of the synthetic market"
    )
    parser.add_argument(
        "--speed", type=positive_float, default=1.0, help="market seconds per wall second"
    )
    parser.add_argument(
        "--stepped", action="store_true", help="freeze the clock; move it with POST /admin/advance"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the market, keys and faults")
    parser.add_argument("--start-ms", type=int, default=None, help="market start (ms since epoch)")
    parser.add_argument(
        "--account",
        type=parse_account,
        action="append",
        default=[],
        metavar="[KEY:SECRET:]ASSET=AMOUNT,...",
        help="create an account (repeatable)",
    )
    parser.add_argument(
        "--faces",
        default="binance",
        help="comma-separated protocol faces to serve on the one port "
        "(known: binance, binance_futures, bybit, okx)",
    )
    parser.add_argument(
        "--no-rate-limits", action="store_true", help="do not enforce the faces' rate limits"
    )
    parser.add_argument(
        "--allow-remote", action="store_true", help="allow a non-loopback --host (unsafe)"
    )
    parser.add_argument(
        "--tls-cert", default=None, metavar="PEM", help="serve https/wss with this certificate"
    )
    parser.add_argument(
        "--tls-key", default=None, metavar="PEM", help="the private key of --tls-cert"
    )


def run(args: argparse.Namespace) -> int:
    """Start the simulator, print its URLs and accounts, serve until SIGINT/SIGTERM."""
    from real_trade.sim.plumbing.ratelimit import RateLimits
    from real_trade.sim.server import SimExchange

    symbols = tuple(s.strip() for s in str(args.symbols).split(",") if s.strip())
    faces = tuple(f.strip() for f in str(args.faces).split(",") if f.strip())
    if (args.tls_cert is None) != (args.tls_key is None):
        print("real-trade sim: give both --tls-cert and --tls-key, or neither", file=sys.stderr)
        return 2
    tls = None if args.tls_cert is None else (args.tls_cert, args.tls_key)
    try:
        sim = SimExchange(
            host=args.host,
            port=args.port,
            market=args.market,
            symbols=symbols,
            speed=args.speed,
            stepped=args.stepped,
            seed=args.seed,
            start_ms=args.start_ms,
            rate_limits=RateLimits(enabled=False) if args.no_rate_limits else None,
            allow_remote=args.allow_remote,
            faces=faces,
            tls=tls,
        )
    except (ValueError, OSError) as exc:
        print(f"real-trade sim: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            sim.start()
        except (RuntimeError, TimeoutError) as exc:
            print(f"real-trade sim: {exc}", file=sys.stderr)
            return 2
        try:
            _announce(sim, args.account)
            while not stop.wait(0.5):
                pass
        finally:
            sim.stop()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    print("simulator stopped", flush=True)
    return 0


def _announce(sim: object, accounts: list[AccountSpec]) -> None:
    from real_trade.sim.server import SimExchange

    assert isinstance(sim, SimExchange)
    mode = "stepped" if sim.clock.stepped else f"speed {sim.clock.speed:g}"
    names = [face.name for face in sim.faces]
    labels = {
        "binance": "Binance spot",
        "binance_futures": "Binance USD-M",
        "bybit": "Bybit v5",
        "okx": "OKX v5",
    }
    venues = ", ".join(labels.get(n, n) for n in names)
    print(f"real_trade simulator ({venues}) -- {mode}, symbols {sim.core.symbols()}")
    if "binance" in names:
        print(f"REST   {sim.url}/api/v3")
        ws = sim.ws_url
        print(f"WS     {ws}/ws  (combined: {ws}/stream, API: {ws}/ws-api/v3)")
    if sim.futures_core is not None:
        print(f"FAPI   {sim.url}/fapi/v1  (WS: {sim.ws_url}/fapi-ws/{{public,market,private}}/ws)")
    if "bybit" in names:
        print(f"REST   {sim.url}/v5/  (Bybit)")
        print(f"WS     {sim.ws_url}/v5/public/spot, {sim.ws_url}/v5/private  (Bybit)")
    if "okx" in names:
        okx = next(f for f in sim.faces if f.name == "okx")
        print(f"REST   {sim.url}/api/v5/  (OKX; passphrase {getattr(okx, 'passphrase', '')})")
        print(f"WS     {sim.ws_url}/ws/v5/{{public,business,private}}  (OKX)")
    print(f"ADMIN  {sim.url}/admin/")
    for spec in accounts:
        key, _ = sim.create_account(
            {k: str(v) for k, v in spec.balances.items()}, api_key=spec.api_key, secret=spec.secret
        )
        acct = sim.core.account_by_key(key)
        assert acct is not None
        shown = "(as given)" if spec.secret is not None else acct.secret
        bal = ",".join(f"{k}={v}" for k, v in spec.balances.items())
        print(f"ACCOUNT id={acct.account_id} key={acct.api_key} secret={shown} balances={bal}")
    print("ready; Ctrl-C to stop", flush=True)
