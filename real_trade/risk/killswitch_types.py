"""The values of the kill switch: orders, positions, per-step outcomes, the report, the target.

:class:`KillTarget` is what :class:`~real_trade.risk.killswitch.KillSwitch` acts on; it speaks in
:class:`KillOrder` and :class:`KillPosition`. Each step's result is a :class:`CancelOutcome` or a
:class:`FlattenOutcome` (published on the bus as they happen) and the whole run a
:class:`KillReport`. All are frozen dataclasses, JSON-able through :func:`dataclasses.asdict`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from real_trade.risk.state import TradingState
from real_trade.vocabulary import OrderSide

__all__ = [
    "CancelOutcome",
    "FlattenOutcome",
    "KillEngaged",
    "KillOrder",
    "KillPosition",
    "KillReport",
    "KillTarget",
]


@dataclass(frozen=True)
class KillOrder:
    """An open order as the kill switch sees it: exchange id, symbol, side, remaining amount."""

    id: str
    symbol: str
    side: str
    amount: float
    price: float | None = None
    client_order_id: str | None = None


@dataclass(frozen=True)
class KillPosition:
    """A position: signed ``amount`` (base units or contracts) and the exchange's minimums.

    ``closable`` is the absolute amount an order can carry after the exchange's precision (None:
    all of it); ``min_amount``/``min_notional`` the smallest order accepted, valued at ``price``.
    """

    symbol: str
    amount: float
    closable: float | None = None
    min_amount: float = 0.0
    min_notional: float = 0.0
    price: float | None = None

    @property
    def close_side(self) -> OrderSide:
        """The side of the closing order: sell a long, buy back a short."""
        return OrderSide.SELL if self.amount > 0 else OrderSide.BUY

    @property
    def tradable(self) -> float:
        """The absolute amount a closing order carries."""
        return abs(self.amount) if self.closable is None else min(self.closable, abs(self.amount))

    def dust_reason(self) -> str | None:
        """Why the position is below the exchange minimum (dust), or None when it can close."""
        amount = self.tradable
        if amount <= 0:
            return f"{abs(self.amount):.10g} is below the amount precision"
        if self.min_amount and amount < self.min_amount:
            return f"{amount:.10g} is below the minimum amount {self.min_amount:.10g}"
        if self.min_notional and self.price and amount * self.price < self.min_notional:
            return (
                f"notional {amount * self.price:.10g} is below the minimum {self.min_notional:.10g}"
            )
        return None


class KillTarget(Protocol):
    """What the kill switch acts on: the open orders and positions of one account.

    ``cancel`` raises on failure (``OrderNotFoundError`` when the order is already gone);
    ``close_position`` places a market order of ``amount`` that only reduces the position and
    returns the order's id.
    """

    def open_orders(self) -> list[KillOrder]:
        """Every open order."""
        ...

    def cancel(self, order: KillOrder) -> None:
        """Cancel ``order``."""
        ...

    def positions(self) -> list[KillPosition]:
        """Every non-zero position."""
        ...

    def close_position(self, position: KillPosition, amount: float) -> str:
        """Close ``amount`` of ``position``; return the order id."""
        ...


@dataclass(frozen=True)
class KillEngaged:
    """Published first: why, whether to flatten, for which strategy, and the state before."""

    reason: str
    flatten: bool
    strategy: str
    previous_state: str
    time_ms: int


@dataclass(frozen=True)
class CancelOutcome:
    """One order's cancel: ``canceled``, ``already_closed``, ``failed`` or ``unconfirmed``."""

    order: KillOrder
    status: Literal["canceled", "already_closed", "failed", "unconfirmed"]
    error: str = ""


@dataclass(frozen=True)
class FlattenOutcome:
    """One position's close: ``closed``, ``dust`` (not attempted, ``error`` says why) or
    ``failed``."""

    position: KillPosition
    side: str
    amount: float
    status: Literal["closed", "dust", "failed"]
    order_id: str | None = None
    error: str = ""


@dataclass(frozen=True)
class KillReport:
    """What one :meth:`KillSwitch.engage` did and what it left.

    ``still_open``: orders listed after the bounded wait; ``remaining``: non-dust positions left
    after flattening; ``errors``: failures to read the account; ``warnings``: failures to
    journal. :attr:`ok` means no order open, flat (or dust only) when flattening, no failure.
    """

    reason: str
    flatten: bool
    strategy: str
    previous_state: str
    started_ms: int
    finished_ms: int
    cancels: tuple[CancelOutcome, ...] = ()
    flattens: tuple[FlattenOutcome, ...] = ()
    still_open: tuple[KillOrder, ...] = ()
    remaining: tuple[KillPosition, ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    state: str = TradingState.HALTED.value

    @property
    def already_halted(self) -> bool:
        """Whether trading was already HALTED when the switch was engaged."""
        return self.previous_state == TradingState.HALTED.value

    @property
    def nothing_to_do(self) -> bool:
        """True when no order was open and no position needed closing."""
        return not (self.cancels or self.errors or self.closes("closed", "failed"))

    def closes(self, *statuses: str) -> list[FlattenOutcome]:
        """The flatten outcomes with one of ``statuses``."""
        return [f for f in self.flattens if f.status in statuses]

    @property
    def problems(self) -> list[str]:
        """Every failure, one sentence each (empty when :attr:`ok`)."""
        found = [*self.errors]
        found += [f"{len(self.still_open)} order(s) still open"] if self.still_open else []
        found += [f"{len(self.remaining)} position(s) not flat"] if self.remaining else []
        found += [
            f"{c.order.symbol} order {c.order.id}: {c.error}" for c in self.cancels if c.error
        ]
        return found + [f"{f.position.symbol}: {f.error}" for f in self.closes("failed")]

    @property
    def ok(self) -> bool:
        """No order open, flat (or dust only) when flattening, no failure."""
        return not self.problems

    def summary(self) -> str:
        """One line for people: what was done and how the account was left."""
        if self.nothing_to_do and self.ok:
            head = "already halted, nothing open" if self.already_halted else "nothing open"
            dust = len(self.closes("dust"))
            return head + (f" ({dust} dust position(s) left)" if dust else "") + "; trading HALTED"
        canceled = sum(c.status in ("canceled", "already_closed") for c in self.cancels)
        text = f"canceled {canceled}/{len(self.cancels)} open order(s)"
        if self.flatten:
            text += f", closed {len(self.closes('closed'))} position(s)"
            text += f", {len(self.closes('dust'))} dust" if self.closes("dust") else ""
        problems = "; PROBLEMS: " + "; ".join(self.problems) if self.problems else ""
        return f"{text}{problems}; trading HALTED"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of the report, with ``ok``, ``summary`` and ``already_halted``."""
        data = asdict(self)
        data.update(ok=self.ok, summary=self.summary(), already_halted=self.already_halted)
        return data
