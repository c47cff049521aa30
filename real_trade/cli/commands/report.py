"""``real-trade report [CONFIG.toml] [--daily|--weekly|--monthly|--from D --to D] [--out PATH]``.

Writes the report of a period from the journal the config's ``[journal]`` section names (only
that section is read: no keys needed; ``--journal URL`` overrides it, ``RT_JOURNAL__URL``
applies): one self-contained HTML page (equity and drawdown charts, monthly returns, the
metrics and their conventions, the round trips), or JSON or CSV, by the suffix of ``--out``
(repeat ``--out`` for several). The period, in UTC:

* ``--daily`` / ``--weekly`` / ``--monthly``: the last complete day, ISO week (Monday to
  Monday) or calendar month; with ``--at DATE``, the one containing DATE;
* ``--from D [--to D]``: from D (included) to D (excluded; default now);
* nothing: everything in the journal.

Reads the journal only, so it works while a runner trades. Exit codes: 0 written; 1 writing
failed; 2 bad arguments, or the journal cannot be found or opened, or has nothing to report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from real_trade.cli.commands.argtypes import annual_rate
from real_trade.cli.commands.backtest import parse_utc

__all__ = ["add_arguments", "period", "run"]

_UTC = dt.timezone.utc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``report`` subcommand's arguments."""
    parser.add_argument("config", nargs="?", default=None, help="the config file (its [journal])")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--daily", action="store_true", help="the last complete UTC day")
    which.add_argument("--weekly", action="store_true", help="the last complete ISO week")
    which.add_argument("--monthly", action="store_true", help="the last complete month")
    parser.add_argument(
        "--at",
        type=parse_utc,
        default=None,
        metavar="DATE",
        help="with --daily/--weekly/--monthly: the period containing DATE instead of the last",
    )
    parser.add_argument(
        "--from", dest="start", type=parse_utc, default=None, help="start, UTC (YYYY-MM-DD[THH:MM])"
    )
    parser.add_argument(
        "--to", dest="end", type=parse_utc, default=None, help="end, UTC, excluded (default now)"
    )
    parser.add_argument(
        "--out",
        action="append",
        default=None,
        metavar="PATH",
        help="where to write: *.html, *.json or *.csv; repeatable (default report-PERIOD.html)",
    )
    parser.add_argument("--journal", default=None, help="journal URL (overrides the config's)")
    parser.add_argument("--strategy", default=None, help="only this strategy (the run's name)")
    parser.add_argument(
        "--cash",
        type=float,
        default=None,
        help="starting value when the journal has no equity before the period",
    )
    parser.add_argument(
        "--risk-free",
        type=annual_rate,
        default=0.0,
        help="annual risk-free rate for the Sharpe ratio, as a fraction (default 0)",
    )
    parser.add_argument("--title", default=None, help="the report's title")


def _day(moment: dt.datetime) -> dt.datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def period(
    args: argparse.Namespace, now: dt.datetime
) -> tuple[dt.datetime | None, dt.datetime | None, str]:
    """The ``[start, end)`` the arguments ask for (None: unbounded) and its name for titles and
    file names (``2026-01-09``, ``2026-W02``, ``2026-01``, ``all``, ``FROM_TO``)."""
    at = None if args.at is None else dt.datetime.fromtimestamp(args.at / 1000, _UTC)
    if args.daily:
        start = _day(at) if at else _day(now) - dt.timedelta(days=1)
        return start, start + dt.timedelta(days=1), f"{start:%Y-%m-%d}"
    if args.weekly:
        base = at or (_day(now) - dt.timedelta(days=7))
        start = _day(base) - dt.timedelta(days=base.weekday())
        iso = start.isocalendar()
        return start, start + dt.timedelta(days=7), f"{iso.year}-W{iso.week:02d}"
    if args.monthly:
        if at:
            start = _day(at).replace(day=1)
        else:
            start = (_day(now).replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1)
        return start, end, f"{start:%Y-%m}"
    since = None if args.start is None else dt.datetime.fromtimestamp(args.start / 1000, _UTC)
    until = None if args.end is None else dt.datetime.fromtimestamp(args.end / 1000, _UTC)
    if since is None and until is None:
        return None, None, "all"
    until = until or now
    first = f"{since:%Y-%m-%dT%H%M}" if since else "start"
    return since, until, f"{first}_{until:%Y-%m-%dT%H%M}"


def _check(args: argparse.Namespace) -> str | None:
    named = args.daily or args.weekly or args.monthly
    if named and (args.start is not None or args.end is not None):
        return "--daily/--weekly/--monthly and --from/--to exclude each other"
    if args.at is not None and not named:
        return "--at goes with --daily, --weekly or --monthly"
    if args.start is not None and args.end is not None and args.start >= args.end:
        return "--from must be before --to"
    if args.cash is not None and not 0 < args.cash < float("inf"):
        return f"--cash must be a positive number, got {args.cash!r}"
    for out in args.out or []:
        if Path(out).suffix.lower() not in (".html", ".htm", ".json", ".csv"):
            return f"--out {out}: name the file *.html, *.json or *.csv"
    return None


def run(args: argparse.Namespace) -> int:
    """Write the report(s); see the module docstring. Returns the exit code."""
    from real_trade.cli.commands.status import existing_journal_url
    from real_trade.config.messages import mask_url_password
    from real_trade.errors import RealTradeError
    from real_trade.utils.logger import mask_secrets

    problem = _check(args)
    if problem:
        print(f"real-trade report: {problem}", file=sys.stderr)
        return 2
    url = existing_journal_url(args, "report")
    if url is None:
        return 2
    shown = mask_url_password(url)
    start, end, name = period(args, dt.datetime.now(_UTC))
    from real_trade.monitor.report import build_report, metric_rows, write_report
    from real_trade.persistence import Journal

    title = args.title or f"real_trade report {name}" + (
        f" ({args.strategy})" if args.strategy else ""
    )
    try:
        with Journal(url) as journal:
            data = build_report(
                journal,
                start,
                end,
                title=title,
                initial_cash=args.cash,
                risk_free=args.risk_free,
                strategy=args.strategy,
            )
    except ValueError as exc:
        print(f"real-trade report: nothing to report from {shown}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # unreachable server, missing driver, newer schema, ...
        what = str(exc) if isinstance(exc, RealTradeError) else f"{type(exc).__name__}: {exc}"
        print(f"real-trade report: {mask_secrets(what).replace(url, shown)}", file=sys.stderr)
        return 2
    outputs = args.out or [f"report-{name}.html"]
    try:
        written = [write_report(data, out) for out in outputs]
    except OSError as exc:
        print(f"real-trade report: writing failed: {exc}", file=sys.stderr)
        return 1
    print(f"{data.title}: {shown}")
    for label, value in metric_rows(data):
        print(f"  {label:<34}{value}")
    print(f"conventions: {data.conventions}")
    for path in written:
        print(f"wrote {path}")
    return 0
