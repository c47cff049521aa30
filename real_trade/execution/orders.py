"""The typed order model and the order state machine shared by paper and live execution.

An :class:`OrderRequest` is what the strategy asked for (backtrader's order kinds, sides and
prices); an :class:`ExecutionPort` (paper: :mod:`~real_trade.execution.paper`, live:
:mod:`~real_trade.execution.live`, see :class:`~real_trade.execution.events.ExecutionPort`)
places it and answers with the reports of :mod:`~real_trade.execution.events`. A
:class:`LocalTrigger` is a stop the broker watches itself (trailing stops, emulated legs) and a
:class:`ManagedOrder` is an order as the order manager works it.

:class:`TrackedOrder` turns those reports into backtrader's statuses (:class:`OrderState`,
numbered as ``bt.Order.Status``): Submitted, Accepted, Partial, Completed, Canceled, Expired,
Margin, Rejected. It is idempotent by exchange trade id (a fill seen twice, once from the
websocket and once from REST, counts once), never goes back from a terminal state, and reports a
terminal state only once every fill the exchange counted has been applied, so ``Completed``
always carries the executions. :class:`SymbolLimits` rounds amounts and prices to the market's
steps and rejects below-minimum orders before they are sent. Sides and kinds are the
vocabulary's :class:`~real_trade.vocabulary.orders.OrderSide` and
:class:`~real_trade.vocabulary.orders.OrderKind`.
"""

from __future__ import annotations

import enum
import functools
import math
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

from real_trade.vocabulary.orders import OrderKind, OrderSide

if TYPE_CHECKING:
    from real_trade.execution.events import ExchangeFill, OrderReport
    from real_trade.execution.holdings import SellTrim

__all__ = [
    "ExchangeStatus",
    "LocalTrigger",
    "ManagedOrder",
    "OrderChange",
    "OrderRequest",
    "OrderState",
    "SymbolLimits",
    "TrackedOrder",
]

_REL_TOL = 1e-9
# the kinds that need a limit price (a StopTrailLimit's follows its stop) and a stop price
_PRICED_KINDS = frozenset({OrderKind.LIMIT, OrderKind.STOP_LIMIT})
_STOP_KINDS = frozenset({OrderKind.STOP, OrderKind.STOP_LIMIT})


def _reached(value: float, target: float) -> bool:
    """Whether ``value`` reaches ``target`` up to float noise (quantities are exchange steps)."""
    return value >= target - _REL_TOL * max(1.0, abs(target))


class OrderState(enum.IntEnum):
    """backtrader's order statuses, with the same numbers as ``bt.Order.Status``."""

    CREATED = 0
    SUBMITTED = 1
    ACCEPTED = 2
    PARTIAL = 3
    COMPLETED = 4
    CANCELED = 5
    EXPIRED = 6
    MARGIN = 7
    REJECTED = 8

    @property
    def alive(self) -> bool:
        """Whether an order in this state may still execute."""
        return self <= OrderState.PARTIAL

    @property
    def bt_name(self) -> str:
        """backtrader's name of the status (``"Completed"``)."""
        return self.name.capitalize()


_LAST_ALIVE = OrderState.PARTIAL  # a state above it is an end (``OrderState.alive``, inline)


class ExchangeStatus(str, enum.Enum):
    """An order's status at the exchange, normalised from ccxt's and Binance's spellings."""

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"

    @classmethod
    def parse(cls, status: str | None, filled: float = 0.0) -> ExchangeStatus:
        """Map ccxt's ``open``/``closed``/``canceled``/... or a raw venue status to a member."""
        text = (status or "").strip().upper()
        aliases = {
            "OPEN": cls.NEW,
            "CLOSED": cls.FILLED,
            "CANCELLED": cls.CANCELED,
            "EXPIRED_IN_MATCH": cls.EXPIRED,
            "PENDING_CANCEL": cls.NEW,
            "PENDING_NEW": cls.NEW,
        }
        member = aliases.get(text) or cls.__members__.get(text)
        if member is None:
            raise ValueError(f"unknown order status {status!r}")
        if member is cls.NEW and filled > 0:
            return cls.PARTIALLY_FILLED
        return member

    @property
    def terminal(self) -> bool:
        """Whether the exchange will do nothing more with the order."""
        return self in (
            ExchangeStatus.FILLED,
            ExchangeStatus.CANCELED,
            ExchangeStatus.EXPIRED,
            ExchangeStatus.REJECTED,
        )


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One order as the strategy asked for it, in exchange terms.

    ``local_id`` is the broker's reference (backtrader's ``order.ref``); ``price`` is the limit
    price (Limit, StopLimit, the limit of a triggered StopTrailLimit), ``stop_price`` the
    trigger (Stop, StopLimit, the current stop of a trailing stop); ``trail_amount`` /
    ``trail_percent`` (a fraction, 0.02 = 2%) drive trailing stops and ``limit_offset`` keeps a
    StopTrailLimit's limit at ``stop - limit_offset``. ``expires_ms`` is backtrader's ``valid``.
    ``reduce_only`` (contracts): the order may only reduce the position (the venue trims or
    refuses what would open or flip it).
    """

    local_id: int
    symbol: str
    side: OrderSide
    kind: OrderKind
    amount: float
    price: float | None = None
    stop_price: float | None = None
    trail_amount: float | None = None
    trail_percent: float | None = None
    limit_offset: float = 0.0
    expires_ms: int | None = None
    client_order_id: str = ""
    reduce_only: bool = False

    def __post_init__(self) -> None:
        """Check the numbers: ValueError naming the field."""
        if not math.isfinite(self.amount) or self.amount <= 0:
            raise ValueError(f"amount must be a positive number, got {self.amount}")
        for name in ("price", "stop_price"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value <= 0):
                raise ValueError(f"{name} must be a positive number, got {value}")
        if self.kind in _PRICED_KINDS and not self.price:
            raise ValueError(f"a {self.kind.value} order needs a limit price")
        if self.kind in _STOP_KINDS and not self.stop_price:
            raise ValueError(f"a {self.kind.value} order needs a stop price")

    def with_client_order_id(self, client_order_id: str) -> OrderRequest:
        """This request carrying ``client_order_id`` (what goes on the wire): the same as
        ``dataclasses.replace(self, client_order_id=...)``, built field by field (once per
        order sent; ``replace`` looks the fields up again each time)."""
        return OrderRequest(
            self.local_id,
            self.symbol,
            self.side,
            self.kind,
            self.amount,
            self.price,
            self.stop_price,
            self.trail_amount,
            self.trail_percent,
            self.limit_offset,
            self.expires_ms,
            client_order_id,
            self.reduce_only,
        )


@dataclass(frozen=True, slots=True)
class SymbolLimits:
    """A market's steps and minimums, for rounding and pre-send checks (None: not known)."""

    amount_step: float | None = None
    price_tick: float | None = None
    min_amount: float | None = None
    min_cost: float | None = None

    def round_amount(self, amount: float) -> float:
        """``amount`` rounded down to the amount step (never more than asked)."""
        return _to_step(amount, self.amount_step, ROUND_DOWN)

    def round_price(self, price: float) -> float:
        """``price`` rounded to the nearest tick."""
        return _to_step(price, self.price_tick, ROUND_HALF_EVEN)

    def problem(self, amount: float, price: float | None) -> str | None:
        """Why an order of ``amount`` at about ``price`` is below the market's minimum, or None."""
        if amount <= 0:
            step = f" (amount step {self.amount_step:g})" if self.amount_step else ""
            return f"amount rounds to 0{step}"
        if self.min_amount is not None and not _reached(amount, self.min_amount):
            return f"amount {amount:g} is below the minimum amount {self.min_amount:g}"
        if self.min_cost is not None and price is not None:
            cost = amount * price
            if not _reached(cost, self.min_cost):
                return (
                    f"order value {cost:g} (amount {amount:g} x price {price:g}) is below "
                    f"the minimum order value {self.min_cost:g}"
                )
        return None


@functools.lru_cache(maxsize=4_096)  # the same amounts and prices come back bar after bar
def _to_step(value: float, step: float | None, rounding: str) -> float:
    if not step:
        return value
    dstep = Decimal(repr(step))
    units = (Decimal(repr(value)) / dstep).to_integral_value(rounding=rounding)
    return float(units * dstep)


@dataclass(frozen=True, slots=True)
class OrderChange:
    """One step of an order's life: a new state, and the fill that caused it (if any)."""

    state: OrderState
    fill: ExchangeFill | None = None


@dataclass
class TrackedOrder:
    """The state machine of one order (see the module docstring).

    ``filled`` sums the applied fills; ``exchange_filled`` is the most the exchange reported;
    ``cancel_as`` is what a cancellation means (Expired when the broker cancelled the order
    because its ``valid`` time passed); ``trim`` says why the order went out smaller than
    asked (a sell fitted to the holding). Every method returns the :class:`OrderChange` steps
    to notify, in order (empty: nothing new).
    """

    request: OrderRequest
    state: OrderState = OrderState.CREATED
    exchange_order_id: str | None = None
    filled: float = 0.0
    exchange_filled: float = 0.0
    reason: str | None = None
    cancel_as: OrderState = OrderState.CANCELED
    trim: SellTrim | None = None
    fills: list[ExchangeFill] = field(default_factory=list)
    _trade_ids: set[str] = field(default_factory=set, repr=False)
    _pending_end: OrderState | None = None

    @property
    def amount(self) -> float:
        """The ordered amount."""
        return self.request.amount

    @property
    def remaining(self) -> float:
        """The amount not executed yet."""
        return max(0.0, self.amount - self.filled)

    @property
    def average_price(self) -> float | None:
        """The size-weighted price of the applied fills."""
        if not self.filled:
            return None
        return sum(f.price * f.amount for f in self.fills) / self.filled

    def _to(self, state: OrderState, fill: ExchangeFill | None = None) -> OrderChange:
        self.state = state
        return OrderChange(state, fill)

    def submit(self) -> list[OrderChange]:
        """Created -> Submitted (the broker took the order)."""
        return [self._to(OrderState.SUBMITTED)] if self.state is OrderState.CREATED else []

    def accept(self) -> list[OrderChange]:
        """-> Accepted (the exchange, or the local emulation, holds the order)."""
        if self.state in (OrderState.CREATED, OrderState.SUBMITTED):
            return [self._to(OrderState.ACCEPTED)]
        return []

    def end(self, state: OrderState, reason: str | None = None) -> list[OrderChange]:
        """End the order locally (Canceled, Expired, Margin, Rejected) unless already ended."""
        if self.state > _LAST_ALIVE:
            return []
        if reason:
            self.reason = reason
        return [self._to(state)]

    def on_report(self, report: OrderReport) -> list[OrderChange]:
        """Apply the exchange's view of the order."""
        if report.exchange_order_id and not self.exchange_order_id:
            self.exchange_order_id = report.exchange_order_id
        self.exchange_filled = max(self.exchange_filled, report.filled)
        if self.state > _LAST_ALIVE:
            return []
        if report.reason:
            self.reason = report.reason
        status = report.status
        if status is ExchangeStatus.REJECTED:
            return self.end(OrderState.REJECTED)
        changes = self.accept()
        if status.terminal:
            end = {
                ExchangeStatus.FILLED: OrderState.COMPLETED,
                ExchangeStatus.CANCELED: self.cancel_as,
                ExchangeStatus.EXPIRED: OrderState.EXPIRED,
            }[status]
            self._pending_end = end
            changes += self._settle()
        return changes

    def on_fill(self, fill: ExchangeFill) -> list[OrderChange]:
        """Apply one fill (ignored when its trade id was applied before)."""
        if fill.trade_id in self._trade_ids:
            return []
        self._trade_ids.add(fill.trade_id)
        self.fills.append(fill)
        self.filled += fill.amount
        self.exchange_filled = max(self.exchange_filled, self.filled)
        if self.state > _LAST_ALIVE:  # money moved after the end: still count it, state stays
            return [OrderChange(self.state, fill)]
        changes = self.accept()
        if _reached(self.filled, self.amount):
            changes.append(self._to(OrderState.COMPLETED, fill))
            return changes
        changes.append(self._to(OrderState.PARTIAL, fill))
        changes += self._settle()
        return changes

    def _settle(self) -> list[OrderChange]:
        """Report the exchange's terminal state once every fill it counted was applied."""
        end = self._pending_end
        if (
            end is None
            or self.state > _LAST_ALIVE
            or not _reached(self.filled, self.exchange_filled)
        ):
            return []
        return [self._to(end)]

    def net_bought(self, base: str) -> float:
        """The base asset the fills delivered: their amounts less fees charged in ``base``."""
        return sum(
            f.amount - (f.commission if f.commission_asset == base else 0.0) for f in self.fills
        )

    @property
    def missing_fills(self) -> bool:
        """Whether the exchange counted more executions than were applied."""
        return not _reached(self.filled, self.exchange_filled)


@dataclass
class LocalTrigger:
    """A stop the broker watches itself: fixed, or trailing by an amount or a fraction.

    ``observe(price)`` returns True once the price reaches the stop (a sell stop: at or below;
    a buy stop: at or above); otherwise a trailing stop follows the price (a sell stop only up,
    a buy stop only down), as backtrader's ``trailadjust`` does.
    """

    side: OrderSide
    stop: float
    trail_amount: float | None = None
    trail_percent: float | None = None

    def observe(self, price: float) -> bool:
        """Check ``price`` against the stop, then let a trailing stop follow it."""
        if self.side is OrderSide.SELL and price <= self.stop:
            return True
        if self.side is OrderSide.BUY and price >= self.stop:
            return True
        offset = self.trail_amount or (price * self.trail_percent if self.trail_percent else 0)
        if not offset:
            return False
        if self.side is OrderSide.SELL:
            self.stop = max(self.stop, price - offset)
        else:
            self.stop = min(self.stop, price + offset)
        return False


@dataclass
class ManagedOrder:
    """One order in the manager's hands: its state machine plus how it is being worked."""

    tracked: TrackedOrder
    reference_price: float | None = None
    client_order_id: str = ""
    trigger: LocalTrigger | None = None
    parent: int | None = None
    children: list[int] = field(default_factory=list)
    oco_leader: int | None = None
    released: bool = False
    sent: bool = False
    fire_pending: bool = False
    cancel_requested: bool = False
    canceled_for: int | None = None

    @property
    def local_id(self) -> int:
        """backtrader's ``order.ref``."""
        return self.tracked.request.local_id
