"""The ``real-trade`` command line: :func:`main` (in :mod:`real_trade.cli.main`) and one module
per subcommand under :mod:`real_trade.cli.commands`."""

from __future__ import annotations

from real_trade.cli.main import SUBCOMMANDS, build_parser, main

__all__ = ["SUBCOMMANDS", "build_parser", "main"]
