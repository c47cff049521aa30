"""The risk engine in front of one broker: the gate every order passes before it is sent.

:class:`BrokerRiskGuard` adapts a :class:`~real_trade.risk.engine.RiskEngine` to the order
manager's hooks: :meth:`BrokerRiskGuard.gate` checks each order just before it would be sent
(after the transmit hold, when a local trigger fires: whatever really reaches the venue) in the
broker's current account context, and answers with the decision's reason when it is refused;
the refusal is kept by backtrader ``order.ref`` so the broker can put the rule and the numbers
in ``order.info``. :meth:`BrokerRiskGuard.on_outcome` and :meth:`BrokerRiskGuard.on_connection`
feed the circuit breaker with what the venue does: refusals, lost orders and user-data stream
drops count as failures, acknowledgements as successes; the breaker opening or closing again
is published on ``risk.breaker``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from real_trade.execution import ManagedOrder, OrderKind, OrderRequest
from real_trade.risk import (
    AccountContext,
    BreakerState,
    CircuitBreaker,
    LiveRiskConfig,
    PreTradeOrder,
    RiskDecision,
    RiskEngine,
    TradingState,
    TradingStateHolder,
)

__all__ = ["BREAKER_TOPIC", "BrokerRiskGuard", "build_guard", "build_risk_engine"]

BREAKER_TOPIC = "risk.breaker"
"""Bus topic of the circuit breaker's changes: ``{"state": "open" | "closed", "reason",
"reset_timeout"}`` when venue outcomes open it or close it again."""

_log = logging.getLogger("real_trade.risk")
_PRICED = (OrderKind.LIMIT, OrderKind.STOP_LIMIT)


def build_risk_engine(
    risk: RiskEngine | LiveRiskConfig, *, bus: Any = None, clock: Callable[[], float] | None = None
) -> RiskEngine:
    """A :class:`RiskEngine` for a broker: ``risk`` itself, or one built from a config (with
    the circuit breaker it asks for, timed on ``clock``, default the monotonic clock)."""
    if isinstance(risk, RiskEngine):
        if risk.bus is None:
            risk.bus = bus
        return risk
    if not isinstance(risk, LiveRiskConfig):
        raise TypeError(f"risk must be a RiskEngine or a LiveRiskConfig, not {type(risk).__name__}")
    timing: dict[str, Any] = {} if clock is None else {"clock": clock}
    breaker = None
    if risk.breaker_max_failures is not None:
        breaker = CircuitBreaker(risk.breaker_max_failures, risk.breaker_reset_timeout, **timing)
    return RiskEngine(risk, breaker=breaker, bus=bus, **timing)


def build_guard(
    risk: RiskEngine | LiveRiskConfig | None,
    state: TradingStateHolder,
    context: Callable[[str], AccountContext],
    bus: Any = None,
    clock: Callable[[], float] | None = None,
) -> BrokerRiskGuard:
    """The gate for ``risk`` (None: no limits, but the trading state ``state`` still applies);
    a config's engine reads ``state``; a user's engine keeps its own state holder, which takes
    over a halt already in ``state`` (the guard's ``engine.state`` is the one to use)."""
    if risk is None:
        engine = RiskEngine(LiveRiskConfig(breaker_max_failures=None), state=state)
    else:
        engine = build_risk_engine(risk, bus=bus, clock=clock)
        if isinstance(risk, LiveRiskConfig):
            engine.state = state
        else:
            previous = state.snapshot()
            if previous.state is not TradingState.ACTIVE:
                engine.state.set(previous.state, previous.reason)
    return BrokerRiskGuard(engine, context)


class BrokerRiskGuard:
    """One broker's gate (module docstring): ``context(symbol)`` gives the account context."""

    def __init__(self, engine: RiskEngine, context: Callable[[str], AccountContext]) -> None:
        """Guard with ``engine``; ``context`` is asked for the account state of each order."""
        self.engine = engine
        self._context = context
        self._denials: dict[int, RiskDecision] = {}

    def gate(self, order: ManagedOrder, request: OrderRequest) -> str | None:
        """None when ``request`` may go to the venue, else the reason it is refused."""
        price = request.price if request.kind in _PRICED else None
        engine = self.engine
        if engine.allows_unseen(request.symbol, request.amount, price):
            return None  # nothing could refuse it: no order or account context to build
        check = PreTradeOrder(request.symbol, request.side, request.amount, price)
        decision = engine.check(check, self._context(request.symbol))
        if decision.allowed:
            return None
        self._denials[request.local_id] = decision
        _log.warning(
            "order %s %s %g %s refused: %s",
            request.local_id,
            request.side.value,
            request.amount,
            request.symbol,
            decision.reason,
        )
        return decision.reason

    def take_denial(self, local_id: int) -> RiskDecision | None:
        """The refusal of order ``local_id`` (once), or None."""
        return self._denials.pop(local_id, None)

    def on_outcome(self, ok: bool, reason: str) -> None:
        """The venue acknowledged (``ok``) or refused / lost an order: the breaker hears it."""
        breaker = self.engine.breaker
        if breaker is None:
            return
        before = breaker.get_state()
        if ok:
            breaker.record_success()
        else:
            breaker.record_failure(reason)
        self._tell_change(before, reason)

    def on_connection(self, up: bool, reason: str) -> None:
        """A user-data stream drop counts as a failure for the breaker."""
        if not up and self.engine.breaker is not None:
            _log.warning("circuit breaker: %s", reason)
            before = self.engine.breaker.get_state()
            self.engine.breaker.record_failure(reason)
            self._tell_change(before, reason)

    def _tell_change(self, before: BreakerState, reason: str) -> None:
        """Publish ``risk.breaker`` when the breaker opened or closed again."""
        breaker, bus = self.engine.breaker, self.engine.bus
        if breaker is None or bus is None:
            return
        after = breaker.get_state()
        if after is before or after is BreakerState.HALF_OPEN:
            return
        why = breaker.last_reason if after is BreakerState.OPEN else reason
        bus.publish(
            BREAKER_TOPIC,
            {
                "state": after.name.lower(),
                "reason": why or reason,
                "reset_timeout": breaker.reset_timeout,
            },
        )
