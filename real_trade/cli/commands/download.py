"""``real-trade download``: fill the local history cache, incrementally, with a progress bar.

    real-trade download --exchange binance --symbols BTC/USDT,ETH/USDT --timeframes 1m,1h \\
        --from 2023-01-01 [--to 2023-06-30] [--market-type spot] [--dir DIR] [--quiet]

Fetches only what the cache lacks (a second run fetches only the new bars), refetches holes,
reports the holes the exchange has no candles for, and writes as it goes (Ctrl-C keeps what was
fetched; the next run resumes). ``RT_SIM_URL`` points it at the simulator (offline); the cache
then files the candles under ``<exchange>-sim``. Public data: no API key needed. Exit code 0,
1 when a series failed, 2 for bad arguments, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

__all__ = ["add_arguments", "parse_time_ms", "run"]


def parse_time_ms(text: str, field: str) -> int:
    """``2023-01-01``, ``2023-01-01T12:00`` (UTC unless an offset is given) or epoch ms."""
    from real_trade.errors import ConfigError

    value = text.strip()
    if value.isdigit():
        return int(value)
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"cannot read {field} {text!r}",
            field=field,
            fix="use a date like 2023-01-01, 2023-01-01T12:00 (UTC) or epoch milliseconds",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1000)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``download`` subcommand's arguments."""
    parser.add_argument("--exchange", default="binance", help="ccxt exchange id (binance)")
    parser.add_argument("--symbols", required=True, help="comma-separated, e.g. BTC/USDT,ETH/USDT")
    parser.add_argument("--timeframes", default="1h", help="comma-separated, e.g. 1m,1h (1h)")
    parser.add_argument(
        "--from", dest="start", required=True, help="first bar: 2023-01-01 (UTC) or epoch ms"
    )
    parser.add_argument("--to", dest="end", default=None, help="last bar (default: the newest)")
    parser.add_argument("--market-type", default="spot", help="spot, future, swap... (spot)")
    parser.add_argument(
        "--dir",
        default=None,
        help="cache folder (default: $RT_HISTORY_DIR or ~/.real_trade/history)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar, summary only")
    parser.add_argument(
        "--flush-seconds",
        type=float,
        default=5.0,
        help="write fetched candles at least this often (5); what a hard kill can lose",
    )


def run(args: argparse.Namespace) -> int:
    """Download, print a summary per series; see the module docstring for exit codes."""
    from real_trade.errors import ConfigError, RealTradeError
    from real_trade.history import HistoryCache, download
    from real_trade.venues.client import VenueClient

    try:
        start = parse_time_ms(args.start, "--from")
        end = parse_time_ms(args.end, "--to") if args.end else None
        symbols = [s for s in (p.strip() for p in args.symbols.split(",")) if s]
        timeframes = [t for t in (p.strip() for p in args.timeframes.split(",")) if t]
        if not symbols or not timeframes:
            raise ConfigError("nothing to download", field="--symbols", fix="--symbols BTC/USDT")
        client = VenueClient(args.exchange.strip().lower(), market_type=args.market_type)
    except (ConfigError, ValueError) as exc:
        print(f"real-trade download: {exc}", file=sys.stderr)
        return 2
    cache = HistoryCache(args.dir)
    progress: Any = False if args.quiet else None
    try:
        summary = download(
            client,
            cache,
            symbols,
            timeframes,
            start,
            end,
            progress,
            flush_every_s=args.flush_seconds,
        )
    except RealTradeError as exc:
        print(f"real-trade download: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    finally:
        client.stop()
    for line in summary_lines(summary):
        print(line)
    if summary.interrupted:
        return 130
    return 0 if summary.ok else 1


def _when(ms: int | None) -> str:
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def summary_lines(summary: Any) -> list[str]:
    """The printed report: one line per series, then its gaps and disagreements."""
    lines = []
    for s in summary.series:
        status = f"ERROR {s.error}" if s.error else "ok"
        lines.append(
            f"{s.venue} {s.market_type} {s.symbol} {s.timeframe}: {s.new_bars:,} new bars "
            f"({s.fetched_bars:,} fetched), {s.total_bars:,} cached {_when(s.first_ms)} .. "
            f"{_when(s.last_ms)} UTC, {status}  [{s.path}]"
        )
        for gap in s.gaps_filled:
            lines.append(f"  gap filled: {gap.describe()}")
        for gap in s.venue_gaps:
            what = "no candles before" if gap.kind == "before_first" else "the exchange has none"
            lines.append(f"  gap kept ({what}): {gap.describe()}")
        for item in s.disagreements:
            lines.append(f"  DISAGREEMENT: {item.describe()}")
    state = "interrupted; run again to resume" if summary.interrupted else "done"
    lines.append(
        f"{state}: {summary.new_bars:,} new bars in {summary.elapsed_s:.1f} s "
        f"({summary.fetched_bars:,} fetched, {summary.fetch_calls} fetch calls)"
    )
    return lines
