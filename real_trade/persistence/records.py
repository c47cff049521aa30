"""What the journal stores and returns: order intents, account snapshots and the query rows.

An :class:`OrderIntent` is written synchronously *before* an order is sent (with its
deterministic client order id); an :class:`AccountSnapshot` is published on the bus topic
:data:`ACCOUNT_SNAPSHOT_TOPIC` (or written directly) and also appends a point to the equity
curve. The row types (:class:`OrderRow`, :class:`FillRow`, :class:`TradeRow`,
:class:`EquityPoint`, :class:`JournalEvent`) are what the report queries of
:class:`~real_trade.persistence.journal.Journal` return. All are frozen dataclasses; times are
epoch milliseconds (UTC).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from real_trade.execution.orders import OrderRequest, OrderState

__all__ = [
    "ACCOUNT_SNAPSHOT_TOPIC",
    "TERMINAL_STATES",
    "AccountSnapshot",
    "EquityPoint",
    "FillRow",
    "JournalEvent",
    "OrderIntent",
    "OrderRow",
    "TradeRow",
    "to_json",
]

ACCOUNT_SNAPSHOT_TOPIC = "account.snapshot"
"""The bus topic of :class:`AccountSnapshot` events."""

TERMINAL_STATES: frozenset[str] = frozenset(
    s.name
    for s in (
        OrderState.COMPLETED,
        OrderState.CANCELED,
        OrderState.EXPIRED,
        OrderState.MARGIN,
        OrderState.REJECTED,
    )
)
"""The :class:`OrderState` names after which an order has an outcome (nothing more happens)."""


def _json_value(value: Any) -> Any:
    """``json.dumps`` fallback: enums by value, dataclasses as dicts, the rest as text."""
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return str(value)


def to_json(value: Any) -> str:
    """Encode ``value`` as compact JSON text; enums, dataclasses, dates and others become plain.

    Used for intent params, event payloads, snapshot balances and control-state values, so that
    anything a caller hands over can be stored (what JSON cannot hold is stored as its text).
    """
    return json.dumps(value, default=_json_value, separators=(",", ":"), sort_keys=True)


def _text(value: Any) -> str:
    return str(getattr(value, "value", value))


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """An order as decided, journaled synchronously before it is sent to the venue.

    ``client_order_id`` is the deterministic id the order will carry (the primary key: writing
    the same intent twice keeps one); ``strategy`` names who decided it; ``local_id`` is
    backtrader's ``order.ref``; ``side`` (``buy``/``sell``) and ``kind`` (``Market``, ``Limit``,
    ...) accept the enums of :mod:`real_trade.execution.orders` and are stored as their values;
    ``params`` holds whatever else explains the decision (JSON-encodable; other values are
    stored as text). ``time_ms`` 0 means "now" when written.
    """

    client_order_id: str
    strategy: str
    local_id: int
    symbol: str
    side: str
    kind: str
    amount: float
    price: float | None = None
    stop_price: float | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    time_ms: int = 0

    def __post_init__(self) -> None:
        """Normalise enum sides and kinds to their text values; refuse an empty order id."""
        if not self.client_order_id:
            raise ValueError("an order intent needs its client order id (the journal's key)")
        object.__setattr__(self, "side", _text(self.side))
        object.__setattr__(self, "kind", _text(self.kind))

    @classmethod
    def from_request(
        cls,
        request: OrderRequest,
        *,
        strategy: str,
        client_order_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        time_ms: int = 0,
    ) -> OrderIntent:
        """Build the intent of an :class:`OrderRequest` (its own client order id by default)."""
        return cls(
            client_order_id=client_order_id or request.client_order_id,
            strategy=strategy,
            local_id=request.local_id,
            symbol=request.symbol,
            side=request.side.value,
            kind=request.kind.value,
            amount=request.amount,
            price=request.price,
            stop_price=request.stop_price,
            params=dict(params or {}),
            time_ms=time_ms,
        )


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """The account of one strategy at one moment: cash, equity, balances and positions.

    ``balances`` maps an asset to ``(free, locked)``; ``positions`` a symbol to its signed size
    in base units; ``cash`` and ``equity`` are in the quote currency. Writing a snapshot also
    appends ``(time_ms, equity, cash)`` to the equity curve.
    """

    strategy: str
    time_ms: int
    cash: float
    equity: float
    balances: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    positions: Mapping[str, float] = field(default_factory=dict)

    @property
    def topic(self) -> str:
        """The bus topic this snapshot is published on."""
        return ACCOUNT_SNAPSHOT_TOPIC


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One order as the journal knows it: its intent plus the latest state event.

    The intent fields are empty (``params`` ``{}``) for an order that has events but no intent
    (refused before it was sent, or journaled by a process that wrote no intents); ``time_ms``
    is then its first event's time. ``state`` is the latest :class:`OrderState` name
    (``"COMPLETED"``) or None when no state was ever recorded (sent, but the outcome unknown);
    ``updated_ms`` is that event's time.
    """

    client_order_id: str
    strategy: str
    local_id: int
    symbol: str
    side: str
    kind: str
    amount: float
    price: float | None
    stop_price: float | None
    params: Mapping[str, Any]
    time_ms: int
    state: str | None
    exchange_order_id: str | None
    filled: float
    average_price: float | None
    reason: str | None
    updated_ms: int | None

    @property
    def order_state(self) -> OrderState | None:
        """``state`` as an :class:`OrderState` member, or None."""
        return OrderState[self.state] if self.state else None

    @property
    def is_open(self) -> bool:
        """Whether the order has no outcome yet (no state, or a non-terminal one)."""
        return self.state not in TERMINAL_STATES


@dataclass(frozen=True, slots=True)
class FillRow:
    """One execution as journaled: who, which order, which exchange trade, price, size and fees.

    ``fee_in_quote`` values the commission in the quote currency; ``position_change`` is what
    the fill did to the base-asset holding (a buy adds its amount less a base-asset fee).
    """

    strategy: str
    client_order_id: str
    exchange_order_id: str | None
    symbol: str
    side: str
    trade_id: str
    price: float
    amount: float
    commission: float
    commission_asset: str | None
    fee_in_quote: float
    time_ms: int
    position_change: float = 0.0
    local_id: int = 0
    is_maker: bool | None = None


@dataclass(frozen=True, slots=True)
class TradeRow:
    """A round trip: fills of one (strategy, symbol) matched first-in first-out.

    Each closing order yields one trade per run of fills: ``amount`` (base units) closed,
    ``side`` ``"long"`` or ``"short"``, ``entry_price`` the size-weighted price of the lots it
    closed (``entry_ms`` the oldest of them), ``exit_price`` the weighted price of the closing
    fills (``exit_ms`` the last). ``fees`` are the quote-valued commissions of both legs, pro
    rata; ``pnl`` is net of them. ``exit_client_order_id`` names the closing order.
    """

    strategy: str
    symbol: str
    side: str
    amount: float
    entry_ms: int
    exit_ms: int
    entry_price: float
    exit_price: float
    fees: float
    pnl: float
    exit_client_order_id: str


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """One point of the equity curve: account value and cash (quote currency) at ``time_ms``."""

    time_ms: int
    equity: float
    cash: float
    strategy: str


@dataclass(frozen=True, slots=True)
class JournalEvent:
    """Something worth keeping that is not an order: a risk denial, a reconciliation finding,
    a kill-switch action. ``kind`` is its topic-like name (``"risk.rejected"``) and
    ``payload`` its decoded JSON."""

    kind: str
    strategy: str
    time_ms: int
    payload: Mapping[str, Any]
    id: int = 0
