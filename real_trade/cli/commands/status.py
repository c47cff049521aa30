"""``real-trade status [CONFIG.toml] [--journal URL] [--strategy NAME]``: what the journal knows.

Reads the journal only, never the exchange (so it works while a runner trades, and with no
network): whether a runner is alive (its heartbeat, or how long ago it stopped), the trading
state and any kill request not yet carried out, the health checks (the heartbeat's age and
the runner's own checks of its feeds, streams, trading state and memory, see
:func:`real_trade.monitor.health.journal_health`), the last equity with its time, the positions
and balances of the latest account snapshot, the open orders, and counts of orders, fills and
round trips. The journal is ``--journal``, else the config's ``journal.url`` (``RT_JOURNAL__URL``
applies), else ``sqlite:///real_trade.db``. Plain aligned text; exit code 0, or 2 when the
journal cannot be found or opened.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["ALIVE_WITHIN_S", "add_arguments", "format_table", "run"]

ALIVE_WITHIN_S = 20.0
"""A runner whose heartbeat is younger than this (and not 'stopped') is shown as alive."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``status`` subcommand's arguments."""
    parser.add_argument("config", nargs="?", default=None, help="the config file (optional)")
    parser.add_argument("--journal", default=None, help="journal URL (overrides the config's)")
    parser.add_argument("--strategy", default=None, help="only this strategy (the run's name)")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """Rows as aligned text lines under ``headers``; numbers right-aligned, text left."""
    cells = [[_cell(v) for v in row] for row in rows]
    numeric = [
        all(isinstance(r[i], int | float) for r in rows) and bool(rows) for i in range(len(headers))
    ]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  " + "  ".join(parts).rstrip()

    return [line(list(headers)), *(line(r) for r in cells)]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.8g}"
    return str(value)


def _when(time_ms: int | float | None) -> str:
    if not time_ms:
        return "-"
    moment = dt.datetime.fromtimestamp(float(time_ms) / 1000, dt.timezone.utc)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC ({_ago(time_ms)})"


def _ago(time_ms: int | float) -> str:
    seconds = max(0.0, time.time() - float(time_ms) / 1000)
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86_400:.1f} days ago"


def _journal_url(args: argparse.Namespace) -> str:
    """The journal URL to read, validated (a password in it joins the log mask)."""
    from real_trade.config import JournalConfig

    if args.journal:
        return JournalConfig(url=str(args.journal)).url
    return JournalConfig.load(args.config).url  # the journal section only: no keys needed


def existing_journal_url(args: argparse.Namespace, command: str) -> str | None:
    """The journal URL a read-only command (``status``, ``report``) reads: from ``--journal``
    or the config's ``[journal]`` section (no keys needed). None, after saying why on stderr,
    when it is invalid or names a SQLite file that does not exist."""
    from real_trade.config.messages import mask_url_password
    from real_trade.errors import ConfigError

    try:
        url = _journal_url(args)
    except ConfigError as exc:
        print(f"real-trade {command}: {exc}", file=sys.stderr)
        return None
    missing = _missing_sqlite(url)
    if missing is not None:
        print(
            f"real-trade {command}: no journal at {mask_url_password(url)} (file {missing} does "
            "not exist); run `real-trade run CONFIG.toml` first, or pass --journal URL",
            file=sys.stderr,
        )
        return None
    return url


def _missing_sqlite(url: str) -> Path | None:
    """The database file of a file-based SQLite URL when it does not exist, else None."""
    if "://" not in url:
        path = Path(url)
    elif url.startswith("sqlite") and ":memory:" not in url:
        raw = urllib.parse.urlsplit(url).path
        path = Path(raw[1:] if raw.startswith("/") else raw)
        if raw.startswith("//"):
            path = Path(raw[1:])
    else:
        return None
    return None if path.exists() else path


def run(args: argparse.Namespace) -> int:
    """Print the journal's view of the account; see the module docstring."""
    from real_trade.config.messages import mask_url_password
    from real_trade.errors import RealTradeError
    from real_trade.utils.logger import mask_secrets

    url = existing_journal_url(args, "status")
    if url is None:
        return 2
    shown = mask_url_password(url)
    from real_trade.persistence import Journal

    try:
        journal = Journal(url)
    except Exception as exc:  # unreachable server, missing driver, newer schema, ...
        what = str(exc) if isinstance(exc, RealTradeError) else f"{type(exc).__name__}: {exc}"
        text = mask_secrets(what).replace(url, shown)
        print(f"real-trade status: {text}", file=sys.stderr)
        return 2
    with journal:
        for line in report(journal, shown, args.strategy):
            print(line)
    return 0


def report(journal: Any, shown_url: str, strategy: str | None) -> list[str]:
    """The status lines of ``journal`` (for ``strategy`` or all of them)."""
    from real_trade.engine.control import (
        HEARTBEAT_KEY,
        KILL_DONE_KEY,
        KILL_REQUEST_KEY,
        heartbeat_key,
    )
    from real_trade.risk.trading_state import TradingStateStore

    out = [f"journal   {shown_url}" + (f"  (strategy {strategy})" if strategy else "")]
    beat = journal.get_state(heartbeat_key(strategy) if strategy else HEARTBEAT_KEY)
    out.append(f"runner    {_runner_line(beat)}")
    trading = TradingStateStore(journal).raw()
    if isinstance(trading, dict) and trading.get("state"):
        reason = f": {trading['reason']}" if trading.get("reason") else ""
        out.append(
            f"trading   {str(trading['state']).upper()}{reason} "
            f"(since {_when(trading.get('time_ms'))})"
        )
    else:
        out.append("trading   ACTIVE (never halted)")
    request = journal.get_state(KILL_REQUEST_KEY)
    if isinstance(request, dict) and request.get("id"):
        done = journal.get_state(KILL_DONE_KEY) == request["id"]
        state = "carried out" if done else "PENDING (no runner has taken it yet)"
        out.append(
            f"kill      request {request['id']} flatten={bool(request.get('flatten'))} "
            f"{state}: {request.get('reason') or 'no reason given'}"
        )
    from real_trade.monitor.health import journal_health

    health = journal_health(journal, strategy, alive_within_s=ALIVE_WITHIN_S)
    out.append(f"health    {health.status.upper()}")
    out += [f"  {c.name:<10} {c.status.upper():<7} {c.detail}" for c in health.checks]
    orders = [o for o in journal.orders(strategy=strategy) if o.client_order_id]
    fills = journal.fills(strategy=strategy)
    trades = journal.trades(strategy=strategy)
    names = sorted({o.strategy for o in orders} | {f.strategy for f in fills})
    snapshots = [journal.latest_snapshot(strategy=n) for n in ([strategy] if strategy else names)]
    snapshots = [s for s in snapshots if s is not None] or [
        s for s in [journal.latest_snapshot(strategy=strategy)] if s is not None
    ]
    out.append("")
    if not snapshots:
        out.append("equity    no account snapshot yet")
    for snap in snapshots:
        out.append(
            f"equity    {snap.equity:,.2f} (cash {snap.cash:,.2f}) of {snap.strategy or '-'} "
            f"at {_when(snap.time_ms)}"
        )
    positions = [(s.strategy, sym, size) for s in snapshots for sym, size in s.positions.items()]
    out += ["", f"positions ({len([p for p in positions if p[2]])} open)"]
    out += format_table(["STRATEGY", "SYMBOL", "SIZE"], positions) if positions else ["  none"]
    balances = [
        (s.strategy, asset, free, locked, free + locked)
        for s in snapshots
        for asset, (free, locked) in sorted(s.balances.items())
    ]
    out += ["", "balances"]
    out += (
        format_table(["STRATEGY", "ASSET", "FREE", "LOCKED", "TOTAL"], balances)
        if balances
        else ["  none"]
    )
    open_rows = [
        (
            o.strategy,
            o.client_order_id,
            o.symbol,
            o.side,
            o.kind,
            o.amount,
            o.price,
            o.filled,
            o.state or "SENT?",
            _when(o.time_ms),
        )
        for o in orders
        if o.is_open
    ]
    out += ["", f"open orders ({len(open_rows)})"]
    headers = [
        "STRATEGY",
        "CLIENT ID",
        "SYMBOL",
        "SIDE",
        "KIND",
        "AMOUNT",
        "PRICE",
        "FILLED",
        "STATE",
        "CREATED",
    ]
    out += format_table(headers, open_rows) if open_rows else ["  none"]
    pnl = sum(t.pnl for t in trades)
    out += [
        "",
        f"counts    orders {len(orders)}, fills {len(fills)}, round trips {len(trades)} "
        f"(net P&L {pnl:,.2f})",
    ]
    return out


def _runner_line(beat: Any) -> str:
    if not isinstance(beat, dict) or not beat.get("time_ms"):
        return "no runner has written a heartbeat to this journal"
    who = f"{beat.get('strategy') or '?'} (pid {beat.get('pid')}, {beat.get('mode') or '?'}"
    who += f", {', '.join(beat.get('symbols') or [])})" if beat.get("symbols") else ")"
    age_s = time.time() - float(beat["time_ms"]) / 1000
    if beat.get("state") == "stopped":
        return f"{who} STOPPED {_ago(beat['time_ms'])}"
    if age_s <= ALIVE_WITHIN_S:
        return f"{who} ALIVE, heartbeat {_ago(beat['time_ms'])}"
    return f"{who} NOT RESPONDING: last heartbeat {_ago(beat['time_ms'])} (crashed or killed?)"
