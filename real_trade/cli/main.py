"""The ``real-trade`` command line: one entry point, one subcommand per job.

Subcommands live in their own modules (``real_trade/cli/commands/<name>.py``) that expose
``add_arguments(parser)`` and ``run(args) -> int``; they are listed in :data:`SUBCOMMANDS` and
imported only when the parser is built, and their heavy imports happen inside ``run``, so
``real-trade --version`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from real_trade._version import __version__

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

#: subcommand name -> (module path, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {}
SUBCOMMANDS["sim"] = (
    "real_trade.cli.commands.sim",
    "Run the offline exchange simulator on loopback.",
)
SUBCOMMANDS["demo"] = (
    "real_trade.cli.commands.demo",
    "Trade a sample strategy against the simulator, offline, in under a minute.",
)
SUBCOMMANDS["run"] = (
    "real_trade.cli.commands.run",
    "Run a strategy unattended from a config file (paper by default; --live for real money).",
)
SUBCOMMANDS["backtest"] = (
    "real_trade.cli.commands.backtest",
    "Backtest a config's strategy over history on the paper broker; print its figures.",
)
SUBCOMMANDS["optimize"] = (
    "real_trade.cli.commands.optimize",
    "Sweep a config's strategy parameters over backtests (grid or Optuna) on worker processes.",
)
SUBCOMMANDS["notify"] = (
    "real_trade.cli.commands.notify",
    "Check the [notifications] channels (--test) or watch the runner's heartbeat (dead man).",
)
SUBCOMMANDS["status"] = (
    "real_trade.cli.commands.status",
    "Show a journal's open orders, positions and last equity.",
)
SUBCOMMANDS["kill"] = (
    "real_trade.cli.commands.kill",
    "Kill switch: cancel every open order, optionally flatten, then halt trading.",
)
SUBCOMMANDS["download"] = (
    "real_trade.cli.commands.download",
    "Download candles into the local history cache (only what is missing; resumable).",
)
SUBCOMMANDS["report"] = (
    "real_trade.cli.commands.report",
    "Write a period's report (HTML, JSON, CSV) from a journal.",
)
SUBCOMMANDS["ai-check"] = (
    "real_trade.cli.commands.ai_check",
    "Look-ahead check of an AI strategy: change the bars after t, predictions up to t must hold.",
)
SUBCOMMANDS["keys"] = (
    "real_trade.cli.commands.keys",
    'Store API keys encrypted (add, list, remove, rotate); configs name them: key = "NAME".',
)
SUBCOMMANDS["resume"] = (
    "real_trade.cli.commands.resume",
    "Lift a halt set by the kill switch, so the strategy may trade again.",
)
SUBCOMMANDS["serve"] = (
    "real_trade.cli.commands.serve",
    "Serve the control API and web dashboard of an account (loopback, token required).",
)

_DESCRIPTION = (
    "real_trade: trade a backtrader strategy on Binance, Bybit, OKX or any ccxt exchange. "
    "Paper trading is the default; real money needs an explicit --live."
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="real-trade", description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"real-trade {__version__}")
    if SUBCOMMANDS:
        sub = parser.add_subparsers(dest="command", metavar="COMMAND")
        for name, (module_path, help_text) in sorted(SUBCOMMANDS.items()):
            module = importlib.import_module(module_path)
            child = sub.add_parser(name, help=help_text, description=help_text)
            module.add_arguments(child)
            child.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    module = getattr(args, "_module", None)
    if module is None:
        parser.print_help()
        return 0
    try:
        return int(module.run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    raise SystemExit(main())
