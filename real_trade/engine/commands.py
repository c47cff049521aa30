"""The runner's side of the control API's commands: cancel one order, cancel all, reload risk.

:class:`RunnerCommands` is the ``on_command`` of the run's
:class:`~real_trade.session.control.JournalControl` (it arrives on the scheduler's thread): each
action is handed to the trading thread through the run's
:class:`~real_trade.engine.runtime.LoopHook` and waited for (bounded), so the answer journaled
as ``control.done`` says what really happened. Kill, pause and resume are not commands: they
are the journal's kill request and trading state, read by the same poll.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from real_trade.errors import NotSupportedError

__all__ = ["ACTIONS", "COMMAND_WAIT_S", "RunnerCommands"]

ACTIONS = ("cancel", "cancel_all", "reload_risk")
"""The command actions a runner carries out."""
COMMAND_WAIT_S = 5.0
"""How long the poll waits for the trading thread to carry a command out."""


class RunnerCommands:
    """``commands(action, args) -> detail`` for one runner (module docstring).

    ``hook`` and ``broker`` are callables returning the current run's LoopHook and broker
    (None between runs).
    """

    def __init__(self, hook: Callable[[], Any], broker: Callable[[], Any]) -> None:
        """Act through the run's ``hook()`` on its ``broker()``."""
        self._hook = hook
        self._broker = broker

    def __call__(self, action: str, args: dict[str, Any]) -> str:
        """Carry out ``action`` with ``args``; a line saying what was done (raises otherwise)."""
        hook, broker = self._hook(), self._broker()
        if hook is None or broker is None:
            raise RuntimeError("the runner is between runs; try again")
        if action == "cancel":
            work: Callable[[], str] = lambda: _cancel(broker, args)  # noqa: E731
        elif action == "cancel_all":
            work = lambda: _cancel_all(broker)  # noqa: E731
        elif action == "reload_risk":
            work = lambda: _reload_risk(broker, args)  # noqa: E731
        else:
            raise NotSupportedError(f"unknown command {action!r} (known: {', '.join(ACTIONS)})")
        return _on_trading_thread(hook, work)


def _on_trading_thread(hook: Any, work: Callable[[], str]) -> str:
    done = threading.Event()
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as exc:
            outcome.append(exc)
        finally:
            done.set()

    hook.call_soon(run)
    if not done.wait(COMMAND_WAIT_S):
        return f"queued on the trading thread (not carried out within {COMMAND_WAIT_S:g} s)"
    if isinstance(outcome[0], Exception):
        raise outcome[0]
    return str(outcome[0])


def _cancel(broker: Any, args: dict[str, Any]) -> str:
    wanted = str(args.get("client_order_id") or "")
    local_id = args.get("local_id")
    for ref, order in dict(broker.open_orders).items():
        if ref == local_id:
            broker.cancel(order)
            return f"cancel of {wanted or ref} sent"
    raise LookupError(f"order {wanted or local_id} is not open in this runner")


def _cancel_all(broker: Any) -> str:
    refs = list(broker.cancel_all())
    return f"cancel of {len(refs)} open order(s) sent"


def _reload_risk(broker: Any, args: dict[str, Any]) -> str:
    from real_trade.risk import LiveRiskConfig

    engine = broker.guard.engine
    engine.update_config(LiveRiskConfig(**dict(args.get("risk") or {})))
    return "risk limits reloaded"
