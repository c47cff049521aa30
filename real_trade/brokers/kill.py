"""The broker's kill switch: cancel every open order, optionally flatten, then HALT.

:class:`BrokerKill` is the broker-side kill switch behind :meth:`BaseBroker.kill`. A request may
come from any thread (an operator, a signal handler, the runner reading ``real-trade kill`` from
the journal); the work runs on the broker's own cycle, which backtrader calls even when no bar
arrives, so paper and live accounts are handled the same way and nothing races the order
manager. The steps: switch the trading state to REDUCING (no new exposure from here on), cancel
every working order (and, live, any order still open at the exchange on the traded symbols),
then, when asked, sell (or buy back) every position with market orders that only reduce it (an
amount below the exchange minimum is reported as dust), then HALTED. The outcome is a report
(a dict) delivered through the request's future, published on ``killswitch.halted`` (its start
on ``killswitch.engaged``; the journal records both) and logged. A kill while already halted,
with nothing open and nothing to flatten, does nothing and says so: it is idempotent.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KILL_TOPIC", "BrokerKill"]

KILL_TOPIC = "killswitch.halted"
"""The bus topic of a finished kill (the event is the report dict); ``killswitch.engaged``
announces its start, as :class:`~real_trade.risk.killswitch.KillSwitch` does."""

_log = logging.getLogger("real_trade.risk.kill")
_MAX_FLATTEN_ROUNDS = 3


@dataclass
class _Kill:
    flatten: bool
    reason: str
    future: concurrent.futures.Future[dict[str, Any]]
    phase: str = "start"
    rounds: int = 0
    report: dict[str, Any] = field(default_factory=dict)
    flatten_refs: list[int] = field(default_factory=list)


class BrokerKill:
    """Kill requests of one broker, worked on its cycle (module docstring)."""

    def __init__(self, broker: Any) -> None:
        """Serve ``broker`` (a :class:`~real_trade.brokers.basebroker.BaseBroker`)."""
        self.broker = broker
        self._pending: list[_Kill] = []
        self._current: _Kill | None = None

    @property
    def active(self) -> bool:
        """Whether a kill is being worked or waiting."""
        return self._current is not None or bool(self._pending)

    def request(self, flatten: bool, reason: str) -> concurrent.futures.Future[dict[str, Any]]:
        """Queue a kill (thread-safe); the future receives the report. REDUCING starts now."""
        future: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        state = self.broker.trading_state
        if state.state.value == "active":
            state.reduce(f"kill switch: {reason or 'requested'}")
        self._pending.append(_Kill(flatten, reason, future))  # list.append is atomic
        return future

    def step(self) -> None:
        """Advance the kill in progress (called on the broker's thread, every cycle)."""
        if self._current is None:
            if not self._pending:
                return
            self._current = self._pending.pop(0)
        kill = self._current
        try:
            if kill.phase == "start":
                self._start(kill)
            if kill.phase == "cancel" and not self.broker.manager.alive_orders():
                kill.phase = "flatten" if kill.flatten else "halt"
            if kill.phase == "flatten":
                self._flatten(kill)
            if kill.phase == "halt":
                self._finish(kill)
        except Exception as exc:  # a kill must end: halt, and report the error
            _log.exception("kill switch failed")
            kill.report.setdefault("errors", []).append(f"{type(exc).__name__}: {exc}")
            self._finish(kill)

    # ------------------------------------------------------------------ phases
    def _start(self, kill: _Kill) -> None:
        broker = self.broker
        manager = broker.manager
        alive = manager.alive_orders()
        positions = broker.flatten_targets(tradable_only=True) if kill.flatten else {}
        halted = broker.trading_state.state.value == "halted"
        kill.report = {
            "reason": kill.reason,
            "flatten": kill.flatten,
            "canceled": [],
            "flattened": [],
            "dust": [],
            "errors": [],
            "already_halted": False,
            "strategy": broker.strategy_name,
            "started_ms": time.time_ns() // 10**6,
        }
        if halted and not alive and not positions:
            kill.report["already_halted"] = True
            kill.phase = "halt"
            return
        broker.trading_state.reduce(f"kill switch: {kill.reason or 'requested'}")
        broker.publish(
            "killswitch.engaged",
            {
                "reason": kill.reason,
                "flatten": kill.flatten,
                "strategy": broker.strategy_name,
                "open_orders": len(alive),
            },
        )
        for mo in alive:
            kill.report["canceled"].append(mo.client_order_id or f"local {mo.local_id}")
            manager.cancel(mo.local_id)
        kill.report["errors"] += broker.cancel_untracked_at_exchange(kill.report["canceled"])
        kill.phase = "cancel"

    def _flatten(self, kill: _Kill) -> None:
        broker = self.broker
        if any(broker.order_alive(ref) for ref in kill.flatten_refs):
            return
        dust = {d["symbol"] for d in kill.report["dust"]}
        targets = {s: a for s, a in broker.flatten_targets().items() if s not in dust}
        if not targets or kill.rounds >= _MAX_FLATTEN_ROUNDS:
            for symbol, amount in targets.items():
                kill.report["errors"].append(
                    f"{symbol}: {amount:g} still held after {kill.rounds} flatten round(s)"
                )
            kill.phase = "halt"
            return
        kill.rounds += 1
        kill.flatten_refs = []
        for symbol, amount in targets.items():
            order, dust_reason = broker.close_position(symbol, amount)
            if order is None:
                kill.report["dust"].append(
                    {"symbol": symbol, "amount": amount, "reason": dust_reason}
                )
                continue
            kill.flatten_refs.append(order.ref)
            kill.report["flattened"].append({"symbol": symbol, "amount": amount})
        if not kill.flatten_refs:
            kill.phase = "halt"

    def _finish(self, kill: _Kill) -> None:
        broker = self.broker
        reason = f"kill switch: {kill.reason or 'requested'}"
        broker.trading_state.halt(reason)
        kill.report["state"] = "halted"
        kill.report["finished_ms"] = time.time_ns() // 10**6
        broker.record_trading_state("halted", reason)
        broker.publish(KILL_TOPIC, dict(kill.report))
        done = (
            "nothing to do, already halted"
            if kill.report["already_halted"]
            else (
                f"{len(kill.report['canceled'])} order(s) canceled, "
                f"{len(kill.report['flattened'])} position(s) flattened, "
                f"{len(kill.report['dust'])} dust"
            )
        )
        _log.warning(
            "kill switch engaged (%s): %s; trading HALTED", kill.reason or "requested", done
        )
        self._current = None
        if not kill.future.done():
            kill.future.set_result(dict(kill.report))
