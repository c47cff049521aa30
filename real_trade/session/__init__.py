"""The trading session: the plain, typed trading path a backtrader broker shim composes.

:class:`~real_trade.session.session.TradingSession` composes the order manager, the execution
port (paper or live), symbol-level positions and dust (:mod:`~.positions`), the journal (intents,
paper resume, recovery and adoption, snapshots: :mod:`~.journal_ops`), the risk gate, continuous
reconciliation on the venue client's I/O loop (:mod:`~.reconcile`), the kill switch (the session
is its :class:`~real_trade.risk.killswitch_types.KillTarget`, :mod:`~.kill_target`) and the one
poll of the journal's requests (:mod:`~.control`); its config and updates are in :mod:`~.config`,
its risk gate in :mod:`~.risk_gate`. It knows nothing of backtrader.
"""

from __future__ import annotations

import importlib
import typing

__all__ = [
    "JournalControl",
    "SessionConfig",
    "SessionKillTarget",
    "SessionUpdate",
    "SymbolPositions",
    "TradingSession",
]

_LAZY = {
    "JournalControl": "real_trade.session.control",
    "SessionConfig": "real_trade.session.config",
    "SessionUpdate": "real_trade.session.config",
    "SessionKillTarget": "real_trade.session.kill_target",
    "SymbolPositions": "real_trade.session.positions",
    "TradingSession": "real_trade.session.session",
}


def __getattr__(name: str) -> typing.Any:
    """Import the session's classes when first used (the CLI imports only the control)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'real_trade.session' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
