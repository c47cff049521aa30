"""What moves between the pieces: the reports of an execution port and the order events.

An :class:`ExecutionPort` (where orders go: the paper engine or a venue) answers with
:data:`Report` items: an :class:`OrderReport` (the exchange's view of an order), a
:class:`FillReport` (one execution, an :class:`ExchangeFill`), a :class:`SubmitFailed` (the
order never reached the book) or a :class:`BalanceReport`.

Every state change of every order is published as an :class:`OrderUpdate` on
``order.<state>`` (``order.submitted``, ``order.accepted``, ``order.partial``,
``order.completed``, ``order.canceled``, ``order.expired``, ``order.margin``,
``order.rejected``); every execution as a :class:`FillEvent` on ``fill``, just before the
``order.partial`` / ``order.completed`` update it causes. The journal, the monitor and the
notifications subscribe to these; the broker shim reads the same objects to drive backtrader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from real_trade.execution.orders import (
    ExchangeStatus,
    OrderRequest,
    OrderState,
    SymbolLimits,
    TrackedOrder,
)
from real_trade.utils.frozen import quick_frozen_init
from real_trade.vocabulary import OrderKind, OrderSide, split_symbol

__all__ = [
    "FILL_TOPIC",
    "ORDER_TOPICS",
    "Balance",
    "BalanceReport",
    "ExchangeFill",
    "ExecutionPort",
    "FillEvent",
    "FillReport",
    "OrderReport",
    "OrderUpdate",
    "Report",
    "SubmitFailed",
    "fill_event",
    "order_topic",
    "order_update",
]


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class ExchangeFill:
    """One execution as the exchange reported it: its trade id, price, size and commission.

    ``commission`` is charged in ``commission_asset`` (Binance spot: the base asset for a buy,
    the quote asset for a sell).
    """

    trade_id: str
    price: float
    amount: float
    commission: float = 0.0
    commission_asset: str | None = None
    time_ms: int = 0
    is_maker: bool | None = None


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class OrderReport:
    """The exchange's view of one order: status, cumulative filled amount, reject reason."""

    client_order_id: str
    exchange_order_id: str | None
    status: ExchangeStatus
    filled: float = 0.0
    amount: float | None = None
    reason: str | None = None
    time_ms: int = 0


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class FillReport:
    """One fill of one order, located by client order id and/or exchange order id."""

    client_order_id: str | None
    exchange_order_id: str | None
    fill: ExchangeFill


@dataclass(frozen=True, slots=True)
class SubmitFailed:
    """An order that never reached the book: ``state`` is REJECTED, MARGIN or CANCELED (lost)."""

    client_order_id: str
    state: OrderState
    reason: str
    code: str | None = None


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class Balance:
    """One asset's balance: ``free`` to trade, ``locked`` by open orders."""

    free: float = 0.0
    locked: float = 0.0

    @property
    def total(self) -> float:
        """``free + locked``."""
        return self.free + self.locked


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class BalanceReport:
    """Balances that changed: ``{asset: Balance}`` after the change."""

    balances: Mapping[str, Balance]
    time_ms: int = 0


Report = OrderReport | FillReport | SubmitFailed | BalanceReport
"""What an :class:`ExecutionPort` hands back."""


class ExecutionPort(Protocol):
    """Where orders go: the paper engine or a venue. Outcomes come back from :meth:`drain`."""

    def limits(self, symbol: str) -> SymbolLimits:
        """The steps and minimums of ``symbol``."""
        ...

    def place(self, request: OrderRequest) -> None:
        """Send a Market, Limit, Stop or StopLimit order; the outcome arrives as reports."""
        ...

    def cancel(self, client_order_id: str, symbol: str, exchange_order_id: str | None) -> None:
        """Ask the exchange to cancel an order; the outcome arrives as reports."""
        ...

    def drain(self) -> list[Report]:
        """Return and forget the reports that arrived since the last call, in order."""
        ...

    def balances(self) -> dict[str, Balance]:
        """The latest known balances of the account."""
        ...

    def last_price(self, symbol: str) -> float | None:
        """The latest known trade price of ``symbol``."""
        ...


FILL_TOPIC = "fill"
"""The bus topic of :class:`FillEvent`."""


ORDER_TOPICS: dict[OrderState, str] = {s: f"order.{s.name.lower()}" for s in OrderState}
"""The bus topic of an update to each state (``order_topic`` as a table)."""
# the events carry sides and kinds as plain text (an enum's ``.value`` is a descriptor call)
_SPELLING: dict[OrderSide | OrderKind, str] = {m: m.value for m in (*OrderSide, *OrderKind)}


def order_topic(state: OrderState) -> str:
    """The bus topic of an update to ``state`` (``order.completed``)."""
    return ORDER_TOPICS[state]


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """One state change of one order, with what is known about it at that moment.

    ``local_id`` is backtrader's ``order.ref``; ``client_order_id`` the id sent to the venue
    (empty for an order still held locally); ``emulated`` tells an order the broker works
    itself (trailing stops, OCO and bracket stop legs) until it sends its market or limit leg.
    ``reason`` carries the exchange's (or the pre-send check's) words for Rejected, Margin,
    Canceled and Expired. ``strategy`` names the broker's run (its ``run_id``): the journal key.
    ``requested``/``trimmed`` are set when the order went out smaller than asked (a sell fitted
    to the holding, net of the fees taken in the base asset): the amount asked and why.
    """

    local_id: int
    client_order_id: str
    exchange_order_id: str | None
    symbol: str
    side: str
    kind: str
    state: OrderState
    amount: float
    filled: float
    average_price: float | None
    price: float | None
    stop_price: float | None
    reason: str | None
    time_ms: int
    emulated: bool = False
    strategy: str = ""
    requested: float | None = None
    trimmed: str | None = None

    @property
    def topic(self) -> str:
        """The bus topic this update is published on."""
        return ORDER_TOPICS[self.state]

    @property
    def remaining(self) -> float:
        """The amount not executed yet."""
        return max(0.0, self.amount - self.filled)


@dataclass(frozen=True, slots=True)
class FillEvent:
    """One execution of one order: the exchange's trade id, price, size and commission.

    ``position_change`` is what the fill does to the base-asset holding (a buy adds its amount
    less a fee charged in the base asset, a sell removes its amount); ``fee_in_quote`` values
    the commission in the quote currency (0 when charged in a third asset, such as BNB).
    ``strategy`` names the broker's run (its ``run_id``).
    """

    local_id: int
    client_order_id: str
    exchange_order_id: str | None
    symbol: str
    side: str
    trade_id: str
    price: float
    amount: float
    commission: float
    commission_asset: str | None
    time_ms: int
    is_maker: bool | None = None
    position_change: float = 0.0
    fee_in_quote: float = 0.0
    strategy: str = ""

    @property
    def topic(self) -> str:
        """The bus topic this event is published on."""
        return FILL_TOPIC


def order_update(
    order: TrackedOrder,
    state: OrderState,
    *,
    client_order_id: str,
    time_ms: int,
    emulated: bool = False,
    strategy: str = "",
) -> OrderUpdate:
    """Build the :class:`OrderUpdate` of ``order`` entering ``state``."""
    req, trim = order.request, order.trim
    return OrderUpdate(  # positional, in the fields' order: one update per order change
        req.local_id,
        client_order_id,
        order.exchange_order_id,
        req.symbol,
        _SPELLING[req.side],
        _SPELLING[req.kind],
        state,
        req.amount,
        order.filled,
        order.average_price,
        req.price,
        req.stop_price,
        order.reason,
        time_ms,
        emulated,
        strategy,
        None if trim is None else trim.requested,
        None if trim is None else trim.reason,
    )


def fill_event(
    order: TrackedOrder, fill: ExchangeFill, *, client_order_id: str, strategy: str = ""
) -> FillEvent:
    """Build the :class:`FillEvent` of ``fill`` on ``order``."""
    req = order.request
    base, quote = split_symbol(req.symbol)
    buy = req.side is OrderSide.BUY
    change = fill.amount if buy else -fill.amount
    if fill.commission_asset == base:
        fee_in_quote = fill.commission * fill.price
        change -= fill.commission if buy else 0.0
    else:
        fee_in_quote = fill.commission if fill.commission_asset == quote else 0.0
    return FillEvent(
        local_id=req.local_id,
        client_order_id=client_order_id,
        exchange_order_id=order.exchange_order_id,
        symbol=req.symbol,
        side=_SPELLING[req.side],
        trade_id=fill.trade_id,
        price=fill.price,
        amount=fill.amount,
        commission=fill.commission,
        commission_asset=fill.commission_asset,
        time_ms=fill.time_ms,
        is_maker=fill.is_maker,
        position_change=change,
        fee_in_quote=fee_in_quote,
        strategy=strategy,
    )
