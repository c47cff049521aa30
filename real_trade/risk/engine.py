"""The pre-trade risk engine: one check in front of every order, a decision never an exception.

:meth:`RiskEngine.check` takes a :class:`PreTradeOrder` and the :class:`AccountContext` it would
trade in and returns a :class:`RiskDecision`. Checks, in order: trading state (HALTED refuses
all; REDUCING all but exposure-reducing orders), circuit breaker, order validity, per-order
limits (amount, notional, fat-finger price deviation), then, for exposure-increasing orders only,
position, leverage, liquidation distance, margin ratio and free-quote limits; last the
orders-per-second throttle (only an order that passed everything else uses a slot). Limits are
inclusive: a value equal to its limit passes. Every decision is published on the bus topic
``risk.decision`` when a bus is given. :meth:`RiskEngine.enforce` is the exception face: it raises
:class:`real_trade.errors.RiskRejectedError` for a denial.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from real_trade.bus import EventBus
from real_trade.errors import RiskRejectedError
from real_trade.risk.circuit_breaker import BreakerState, CircuitBreaker
from real_trade.risk.config import LiveRiskConfig, SymbolRiskLimits
from real_trade.risk.liquidation import estimated_liquidation_price, liquidation_distance
from real_trade.risk.state import TradingState, TradingStateHolder
from real_trade.risk.throttle import OrderThrottle
from real_trade.vocabulary import OrderSide

__all__ = ["RISK_DECISION_TOPIC", "AccountContext", "PreTradeOrder", "RiskDecision", "RiskEngine"]

RISK_DECISION_TOPIC = "risk.decision"
"""The bus topic every decision is published on (the event is the :class:`RiskDecision`)."""


@dataclass(frozen=True)
class PreTradeOrder:
    """An order as the risk engine sees it: symbol, side, amount (base units, > 0), price.

    ``side`` is an :class:`~real_trade.vocabulary.orders.OrderSide` (``"buy"``/``"sell"`` are
    taken as one; anything else is a ValueError). ``price`` is the limit price, or None for a
    market order (its notional is then valued at the last price). Whether it reduces exposure
    follows from the current position (:meth:`reduces_exposure`), not from a flag the caller
    could get wrong.
    """

    symbol: str
    side: OrderSide
    amount: float
    price: float | None = None

    def __post_init__(self) -> None:
        """Take ``"buy"``/``"sell"`` as their :class:`OrderSide`."""
        if type(self.side) is not OrderSide:
            object.__setattr__(self, "side", OrderSide(self.side))

    @property
    def signed_amount(self) -> float:
        """The amount with the sign of its effect on the position (+ buy, - sell)."""
        return self.amount * self.side.sign

    def position_after(self, position: float) -> float:
        """The position (signed base units) once this order has filled completely."""
        return position + self.signed_amount

    def reduces_exposure(self, position: float) -> bool:
        """True when it trades against ``position`` and cannot flip it (|after| <= |before|)."""
        opposite = position * self.side.sign < 0
        return opposite and self.amount <= abs(position)


@dataclass(frozen=True)
class AccountContext:
    """The account state an order is checked against, for the order's symbol.

    ``position`` is signed base units; ``last_price`` the last traded price (None if unknown);
    ``free_quote`` the free balance in the quote currency; ``equity`` the account value in quote;
    ``margin_ratio`` maintenance margin / margin balance (1 = liquidation) and ``leverage`` the
    account's leverage setting, both None for spot; ``liquidation_price`` and ``mark_price``
    are the contract position's (None: spot, flat, or no liquidation price).
    """

    position: float = 0.0
    last_price: float | None = None
    free_quote: float | None = None
    equity: float | None = None
    margin_ratio: float | None = None
    leverage: float | None = None
    liquidation_price: float | None = None
    mark_price: float | None = None
    margin_mode: str | None = None


@dataclass(frozen=True)
class RiskDecision:
    """The outcome of one check: allowed, or refused by ``rule`` with its ``limit`` and ``value``.

    ``reason`` is a sentence naming the rule and both numbers, fit to be the reason of a
    Rejected order event. ``reduces_exposure`` tells how the engine classified the order.
    """

    allowed: bool
    order: PreTradeOrder
    rule: str | None = None
    limit: float | None = None
    value: float | None = None
    reason: str = ""
    reduces_exposure: bool = False

    def to_error(self) -> RiskRejectedError:
        """The :class:`RiskRejectedError` that stands for this denial."""
        return RiskRejectedError(
            self.reason or "order refused by the risk engine",
            rule=self.rule or "unknown",
            limit=self.limit,
            value=self.value,
        )


class _DeniedError(Exception):
    """Internal: a rule refused; carries the decision fields."""

    def __init__(self, rule: str, limit: float | None, value: float | None, reason: str) -> None:
        super().__init__(reason)
        self.rule, self.limit, self.value, self.reason = rule, limit, value, reason


def _num(value: float) -> str:
    return f"{value:.10g}"


def _above(rule: str, what: str, value: float, limit: float | None, symbol: str) -> None:
    if limit is not None and value > limit:
        raise _DeniedError(
            rule,
            limit,
            value,
            f"{rule}: {what} {_num(value)} for {symbol} exceeds the limit {_num(limit)}",
        )


class _SymbolPlan:
    """One symbol's effective limits under one config, and which checks they arm: whether an
    exposure-increasing order needs a price (a position notional or leverage limit, a free
    quote threshold) and whether any exposure check can refuse one at all."""

    __slots__ = ("exposure", "limits", "prices_exposure", "unlimited")

    def __init__(self, config: LiveRiskConfig, limits: SymbolRiskLimits) -> None:
        self.limits = limits
        self.prices_exposure = (
            limits.max_position_notional is not None
            or limits.max_leverage is not None
            or config.min_free_quote is not None
        )
        self.exposure = (
            self.prices_exposure
            or limits.max_position_amount is not None
            or limits.min_liquidation_distance is not None
            or config.max_margin_ratio is not None
        )
        # no limit of any kind: only the state, the breaker and the throttle can refuse
        self.unlimited = not self.exposure and (
            limits.max_order_amount is None
            and limits.max_order_notional is None
            and limits.max_price_deviation is None
        )


class RiskEngine:
    """Pre-trade checks against a :class:`LiveRiskConfig`, a trading state, a breaker, a throttle.

    Every part is injected: ``state`` (a :class:`TradingStateHolder`, ACTIVE by default),
    ``breaker`` (None = no breaker), ``throttle`` (default: one built from
    ``config.max_orders_per_second`` on ``clock``, or none when that is unset), ``clock`` (a
    monotonic clock) and ``bus`` (an :class:`EventBus` receiving every decision). ``check`` is
    thread-safe; :meth:`update_config` swaps the limits at run time.
    """

    def __init__(
        self,
        config: LiveRiskConfig | None = None,
        state: TradingStateHolder | None = None,
        breaker: CircuitBreaker | None = None,
        throttle: OrderThrottle | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        bus: EventBus | None = None,
    ) -> None:
        """Assemble the engine; see the class docstring for each part's default."""
        self.config = config if config is not None else LiveRiskConfig()
        self.state = state if state is not None else TradingStateHolder()
        self.breaker = breaker
        self._clock = clock
        if throttle is None and self.config.max_orders_per_second is not None:
            throttle = OrderThrottle(self.config.max_orders_per_second, clock=clock)
        self.throttle = throttle
        self.bus = bus
        self._lock = threading.Lock()
        # each symbol's effective limits and which checks they arm, built once per config (not
        # per order: the limits took ~14 us each)
        self._limits_config: LiveRiskConfig | None = None
        self._limits: dict[str, _SymbolPlan] = {}

    def update_config(self, config: LiveRiskConfig) -> None:
        """Use ``config`` from the next check on (the throttle follows its order rate)."""
        with self._lock:
            self.config = config
            rate = config.max_orders_per_second
            if rate is None:
                self.throttle = None
            elif self.throttle is None or self.throttle.max_orders != rate:
                self.throttle = OrderThrottle(rate, clock=self._clock)

    # ----------------------------------------------------------------- checking
    def check(self, order: PreTradeOrder, ctx: AccountContext) -> RiskDecision:
        """Decide on ``order`` in ``ctx``; a denial is a decision, never an exception."""
        reducing = order.reduces_exposure(ctx.position)
        with self._lock:
            try:
                self._check_all(order, ctx, reducing)
                decision = RiskDecision(True, order, reason="accepted", reduces_exposure=reducing)
            except _DeniedError as denied:
                decision = RiskDecision(
                    False,
                    order,
                    rule=denied.rule,
                    limit=denied.limit,
                    value=denied.value,
                    reason=denied.reason,
                    reduces_exposure=reducing,
                )
        if self.bus is not None:
            self.bus.publish(RISK_DECISION_TOPIC, decision)
        return decision

    def allows_unseen(self, symbol: str, amount: float, price: float | None = None) -> bool:
        """Whether :meth:`check` would allow an order of ``amount`` of ``symbol`` (at the limit
        ``price``, None for a market order) in any account context, with nothing to publish or
        count: trading is ACTIVE, no limit is set for the symbol, no breaker, throttle or bus,
        and the numbers are valid. The caller may then skip building the order and its context
        (the broker's gate does, for every order of a run without limits); False means ask
        :meth:`check`. A subclass always asks :meth:`check` (it may check more)."""
        if type(self) is not RiskEngine:
            return False
        if self.bus is not None or self.breaker is not None or self.throttle is not None:
            return False
        if not (math.isfinite(amount) and amount > 0):
            return False
        if price is not None and not (math.isfinite(price) and price > 0):
            return False
        with self._lock:
            if self.state.snapshot().state is not TradingState.ACTIVE:
                return False
            return self._plan_of(symbol).unlimited

    def enforce(self, order: PreTradeOrder, ctx: AccountContext) -> RiskDecision:
        """Like :meth:`check`, but raise :class:`RiskRejectedError` when the order is refused."""
        decision = self.check(order, ctx)
        if not decision.allowed:
            raise decision.to_error()
        return decision

    def _check_all(self, order: PreTradeOrder, ctx: AccountContext, reducing: bool) -> None:
        self._check_state(order, reducing)
        if self.breaker is not None and self.breaker.get_state() is BreakerState.OPEN:
            raise _DeniedError(
                "circuit_breaker",
                None,
                None,
                f"circuit_breaker: open ({self.breaker.last_reason or 'tripped'}); "
                f"orders refused for {_num(self.breaker.retry_in())} more seconds",
            )
        plan = self._plan_of(order.symbol)
        limits = plan.limits
        notional = self._check_order(order, ctx, plan, reducing)
        if not reducing and plan.exposure:
            self._check_exposure(order, ctx, limits, notional)
        self._admit(order)

    def _plan_of(self, symbol: str) -> _SymbolPlan:
        """The :class:`_SymbolPlan` of ``config.limits_for(symbol)``, built on first use and
        kept while the config is the same object (configs are frozen; a new one, however set,
        starts afresh)."""
        config = self.config
        if self._limits_config is not config:
            self._limits_config, self._limits = config, {}
        plan = self._limits.get(symbol)
        if plan is None:
            plan = self._limits[symbol] = _SymbolPlan(config, config.limits_for(symbol))
        return plan

    def _check_state(self, order: PreTradeOrder, reducing: bool) -> None:
        snap = self.state.snapshot()
        if snap.state is TradingState.ACTIVE:
            return
        why = f" ({snap.reason})" if snap.reason else ""
        if snap.state is TradingState.HALTED:
            raise _DeniedError(
                "trading_state", None, None, f"trading_state: HALTED{why}; no orders"
            )
        if snap.state is TradingState.REDUCING and not reducing:
            raise _DeniedError(
                "trading_state",
                None,
                None,
                f"trading_state: REDUCING{why}; only orders that reduce the position pass, "
                f"and this {order.side} of {_num(order.amount)} {order.symbol} does not",
            )

    def _check_order(
        self, order: PreTradeOrder, ctx: AccountContext, plan: _SymbolPlan, reducing: bool
    ) -> float | None:
        limits = plan.limits
        if not (math.isfinite(order.amount) and order.amount > 0):
            raise _DeniedError(
                "invalid_order", None, order.amount, "invalid_order: amount must be > 0"
            )
        if order.price is not None and not (math.isfinite(order.price) and order.price > 0):
            raise _DeniedError(
                "invalid_order", None, order.price, "invalid_order: price must be > 0"
            )
        if limits.max_order_amount is not None:
            _above(
                "max_order_amount",
                "order amount",
                order.amount,
                limits.max_order_amount,
                order.symbol,
            )
        price = order.price if order.price is not None else ctx.last_price
        needs_price = limits.max_order_notional is not None or (
            not reducing and plan.prices_exposure
        )
        if price is None or not (math.isfinite(price) and price > 0):
            if needs_price:
                raise _DeniedError(
                    "price_unknown",
                    None,
                    None,
                    f"price_unknown: a market order for {order.symbol} cannot be valued "
                    "(no last price) while notional limits are set",
                )
            return None
        notional = order.amount * price
        _above(
            "max_order_notional",
            "order notional",
            notional,
            limits.max_order_notional,
            order.symbol,
        )
        if limits.max_price_deviation is not None and order.price is not None:
            last = ctx.last_price
            if last is None or not (math.isfinite(last) and last > 0):
                raise _DeniedError(
                    "max_price_deviation",
                    limits.max_price_deviation,
                    None,
                    f"max_price_deviation: no last price for {order.symbol} to compare the "
                    f"limit price {_num(order.price)} with",
                )
            deviation = abs(order.price - last) / last
            _above(
                "max_price_deviation",
                f"price {_num(order.price)} deviates from the last price {_num(last)} by",
                deviation,
                limits.max_price_deviation,
                order.symbol,
            )
        return notional

    def _check_exposure(
        self,
        order: PreTradeOrder,
        ctx: AccountContext,
        limits: SymbolRiskLimits,
        notional: float | None,
    ) -> None:
        after = abs(order.position_after(ctx.position))
        symbol = order.symbol
        _above(
            "max_position_amount",
            "position after the order",
            after,
            limits.max_position_amount,
            symbol,
        )
        price = order.price if order.price is not None else ctx.last_price
        after_notional = after * price if price is not None else None
        if after_notional is not None:
            _above(
                "max_position_notional",
                "position notional after the order",
                after_notional,
                limits.max_position_notional,
                symbol,
            )
        if limits.max_leverage is not None:
            if ctx.leverage is not None:
                _above(
                    "max_leverage",
                    "account leverage setting",
                    ctx.leverage,
                    limits.max_leverage,
                    symbol,
                )
            if after_notional is not None:
                if ctx.equity is None or ctx.equity <= 0:
                    raise _DeniedError(
                        "max_leverage",
                        limits.max_leverage,
                        None,
                        f"max_leverage: equity unknown or not positive for {symbol}; "
                        "leverage cannot be checked",
                    )
                _above(
                    "max_leverage",
                    "leverage after the order",
                    after_notional / ctx.equity,
                    limits.max_leverage,
                    symbol,
                )
        if limits.min_liquidation_distance is not None:
            self._check_liquidation(order, ctx, limits.min_liquidation_distance, price)
        if self.config.max_margin_ratio is not None and ctx.margin_ratio is not None:
            limit = self.config.max_margin_ratio
            if ctx.margin_ratio >= limit:
                raise _DeniedError(
                    "max_margin_ratio",
                    limit,
                    ctx.margin_ratio,
                    f"max_margin_ratio: margin ratio {_num(ctx.margin_ratio)} has reached the "
                    f"limit {_num(limit)}; only orders reducing the position pass",
                )
        if self.config.min_free_quote is not None and notional is not None:
            if ctx.free_quote is None:
                raise _DeniedError(
                    "min_free_quote",
                    self.config.min_free_quote,
                    None,
                    "min_free_quote: free quote balance unknown",
                )
            cost = notional / max(ctx.leverage or 1.0, 1.0)
            left = ctx.free_quote - cost
            if left < self.config.min_free_quote:
                raise _DeniedError(
                    "min_free_quote",
                    self.config.min_free_quote,
                    left,
                    f"min_free_quote: the order would leave {_num(left)} free quote for "
                    f"{symbol}, below the threshold {_num(self.config.min_free_quote)}",
                )

    @staticmethod
    def _check_liquidation(
        order: PreTradeOrder, ctx: AccountContext, limit: float, price: float | None
    ) -> None:
        """Refuse when the position after the order would be liquidated within ``limit`` of
        the mark (cross: backed by the equity; isolated: by its initial margin)."""
        mark = ctx.mark_price or ctx.last_price
        if mark is None or ctx.equity is None:
            return  # spot, or nothing to value it with: no liquidation price
        after = order.position_after(ctx.position)
        if ctx.margin_mode == "isolated":
            margin = abs(after) * (price or mark) / max(ctx.leverage or 1.0, 1.0)
        else:
            margin = ctx.equity
        distance = liquidation_distance(estimated_liquidation_price(after, mark, margin), mark)
        if distance is not None and distance < limit:
            raise _DeniedError(
                "min_liquidation_distance",
                limit,
                distance,
                f"min_liquidation_distance: the order would put {order.symbol}'s liquidation "
                f"price {_num(distance * 100)}% from the mark {_num(mark)}, closer than "
                f"{_num(limit * 100)}%",
            )

    def _admit(self, order: PreTradeOrder) -> None:
        throttle = self.throttle
        if throttle is not None and not throttle.would_allow():
            raise _DeniedError(
                "max_orders_per_second",
                throttle.max_orders,
                throttle.max_orders + 1,
                f"max_orders_per_second: {throttle.max_orders} orders already in the last "
                f"{_num(throttle.window)} s; the limit is {throttle.max_orders}",
            )
        if self.breaker is not None and not self.breaker.allow():
            raise _DeniedError(
                "circuit_breaker",
                None,
                None,
                "circuit_breaker: half-open and its probe order is already in flight",
            )
        if throttle is not None:
            throttle.try_acquire()
