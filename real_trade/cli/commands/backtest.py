"""``real-trade backtest CONFIG.toml``: run the config's strategy over history and print figures.

The config is the one ``real-trade run`` reads (venue, symbols, timeframe, commission, initial
cash, risk limits, the ``[run]`` strategy and its parameters). Its candles between ``--from``
(included) and ``--to`` (excluded; default: up to the newest closed bar; without ``--from``
the newest 1,000 bars) are loaded once, then the strategy runs on the paper broker, whose fills
come from the same matching engine as paper trading. Whatever the config's mode, a backtest
never sends an order to a venue and needs no key.

``--report OUT.html`` also writes the run's report (:mod:`real_trade.monitor.report`: equity
and drawdown charts, monthly returns, the metrics, the round trips; ``.json`` or ``.csv`` by the
suffix), the same page ``real-trade report`` writes from a journal.

Exit codes: 0 done; 1 the run failed (or its report could not be written); 2 bad config or
arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from real_trade.config import RealTradeConfig

from real_trade.cli.commands.argtypes import annual_rate, positive_float
from real_trade.vocabulary import quote_asset

__all__ = [
    "add_arguments",
    "add_period_arguments",
    "backtest_config",
    "describe_period",
    "parse_utc",
    "run",
]


def parse_utc(text: str) -> int:
    """``2024-01-01``, ``2024-01-01T12:00`` or ``2024-01-01 12:00:00+02:00`` -> epoch ms (UTC
    unless an offset is given)."""
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date: {text!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return round(moment.timestamp() * 1000)


def add_period_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments ``backtest`` and ``optimize`` share: config, period, cash, risk-free."""
    parser.add_argument("config", help="the TOML (or JSON) config file with a [run] table")
    parser.add_argument(
        "--from",
        dest="start",
        type=parse_utc,
        default=None,
        help="first bar's open time, UTC (YYYY-MM-DD[THH:MM]); default: the newest 1000 bars",
    )
    parser.add_argument(
        "--to",
        dest="end",
        type=parse_utc,
        default=None,
        help="end of the period, UTC, excluded; default: up to the newest closed bar",
    )
    parser.add_argument(
        "--cash", type=positive_float, default=None, help="starting cash (default: initial_cash)"
    )
    parser.add_argument(
        "--risk-free",
        type=annual_rate,
        default=0.0,
        help="annual risk-free rate for the Sharpe ratio, as a fraction (default 0)",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (default: on a terminal)"
    )
    parser.add_argument(
        "--brief",
        action="store_true",
        help="only the summary, not the report's figures (the same tables as the HTML report)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``backtest`` subcommand's arguments."""
    add_period_arguments(parser)
    parser.add_argument(
        "--report",
        default=None,
        metavar="OUT.html",
        help="also write the run's report: OUT.html (or .json, .csv)",
    )


def backtest_config(path: str, cash: float | None) -> RealTradeConfig:
    """The config at ``path`` for a backtest: paper mode, no keys, ``cash`` if given."""
    from real_trade.config import RealTradeConfig

    # paper_trading as an argument: a live config without keys (they live in the environment
    # of the machine that trades) still loads here
    config = RealTradeConfig.load(path, paper_trading=True, initial_cash=cash)
    return config.replace(apikey=None, secret=None, passphrase=None)


def _when(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def describe_period(bars: Any) -> str:
    """``2024-01-01 00:00 -> 2024-01-31 23:00 UTC, 744 bars`` of the first symbol's frame."""
    frame = next(iter(bars.values()))
    first, last = frame.index[0], frame.index[-1]
    return f"{_when(first.value // 10**6)} -> {_when(last.value // 10**6)} UTC, {len(frame)} bars"


_REPORT_SUFFIXES = (".html", ".htm", ".json", ".csv")


def _check_period(args: argparse.Namespace) -> str | None:
    if args.start is not None and args.end is not None and args.start >= args.end:
        return "--from must be before --to"
    if args.report is not None and not str(args.report).lower().endswith(_REPORT_SUFFIXES):
        return f"--report {args.report}: name the file *.html, *.json or *.csv"
    return None


def run(args: argparse.Namespace) -> int:
    """Load the config and the history, run the backtest, print the summary; the exit code."""
    from real_trade.backtest import load_bars, run_backtest
    from real_trade.backtest.table import conventions_line, summary_lines
    from real_trade.errors import ConfigError, redact

    problem = _check_period(args)
    if problem:
        print(f"real-trade backtest: {problem}", file=sys.stderr)
        return 2
    try:
        config = backtest_config(args.config, args.cash)
        config.logging.configure()
        strategy_cls = config.run.strategy_class()
        from real_trade.engine.loading import check_strategy_params

        params = dict(config.run.params)
        check_strategy_params(strategy_cls, params, field="run.params")
        bars = load_bars(config, args.start, args.end)
    except ConfigError as exc:
        print(f"real-trade backtest: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        print(
            f"real-trade backtest: loading the history failed: {redact(str(exc))}", file=sys.stderr
        )
        return 1
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "defaults"
    where = config.exchange + (f" (simulator {config.sim_url})" if config.sim_url else "")
    print(f"real-trade backtest: {strategy_cls.__module__}.{strategy_cls.__qualname__} ({shown})")
    print(f"  venue      {where}, {config.market_type}")
    print(f"  symbols    {', '.join(bars)} on {config.timeframe} bars")
    print(f"  period     {describe_period(bars)}")
    print(
        f"  broker     paper (the matching engine), cash {config.initial_cash:,.2f}, "
        f"commission {config.commission * 100:g} %"
    )
    sys.stdout.flush()
    try:
        result = run_backtest(
            config,
            bars,
            strategy_cls,
            params,
            risk_free=args.risk_free,
            progress=False if args.no_progress else None,
        )
    except ConfigError as exc:
        print(f"real-trade backtest: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        text = redact(f"{type(exc).__name__}: {exc}")
        print(f"real-trade backtest: the run failed: {text}", file=sys.stderr)
        return 1
    currency = quote_asset(next(iter(bars)))
    open_at_end = bool(result.equity and result.equity[-1].in_market)
    print()
    for line in summary_lines(result.summary, currency, open_at_end):
        print(f"  {line}")
    print(conventions_line(args.risk_free))
    data = _report_data(config, strategy_cls, result, bars, currency)
    if not args.brief:
        from real_trade.monitor.report.console import print_report_tables

        print()
        print_report_tables(data)
    if args.report is not None:
        return _write_report(args, data)
    return 0


def _report_data(
    config: RealTradeConfig, strategy_cls: type, result: Any, bars: Any, currency: str
) -> Any:
    """The backtest as a report (:class:`~real_trade.monitor.report.ReportData`)."""
    from real_trade.feeds.timeframes import next_open_ms
    from real_trade.monitor.report import build_backtest_report

    name = config.run.name or strategy_cls.__name__
    frame = next(iter(bars.values()))
    title = f"Backtest {name} on {', '.join(bars)} ({config.timeframe})"
    return build_backtest_report(
        result,
        title=title,
        strategy=name,
        currency=currency,
        start_ms=int(frame.index[0].value // 10**6),
        end_ms=next_open_ms(config.timeframe, int(frame.index[-1].value // 10**6)),
    )


def _write_report(args: argparse.Namespace, data: Any) -> int:
    """Write the backtest's report to ``args.report``; the exit code."""
    from real_trade.monitor.report import write_report

    try:
        path = write_report(data, args.report)
    except OSError as exc:
        print(f"real-trade backtest: writing the report failed: {exc}", file=sys.stderr)
        return 1
    print(f"report: {path}")
    return 0
