"""Subcommands of the ``real-trade`` command line, one module each.

Every module exposes ``add_arguments(parser)`` and ``run(args) -> int`` and is registered in
:data:`real_trade.cli.SUBCOMMANDS`; modules import their heavy dependencies inside ``run``.
"""

__all__: list[str] = []
