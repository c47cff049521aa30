"""Value types of the simulator core: enums, orders, fills, trades and events.

Numbers are :class:`decimal.Decimal` (exact filters, exact balance conservation); times are
integer milliseconds since the Unix epoch (UTC) taken from the simulator's clock. Enum values
are the simulator's own neutral lower-case spellings (``"buy"``, ``"limit"``,
``"partially_filled"``); each protocol face maps them to and from its venue's words. The typed
errors live
in :mod:`real_trade.sim.errors` and are re-exported here, so ``from real_trade.sim.types import
SimError`` keeps working.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal

from real_trade.sim.errors import (
    BadParameter,
    BadSymbol,
    DuplicateOrder,
    FilterError,
    InsufficientBalance,
    OrderRejected,
    Reason,
    SimError,
    UnknownOrder,
    WouldTakeAsMaker,
    WouldTriggerImmediately,
)
from real_trade.utils.frozen import quick_frozen_init
from real_trade.vocabulary.orders import OrderSide

__all__ = [
    "ZERO",
    "AggTrade",
    "AvgPrice",
    "BadParameter",
    "BadSymbol",
    "BalanceEvent",
    "BookTicker",
    "DepthSnapshot",
    "DepthUpdate",
    "DuplicateOrder",
    "ExecutionType",
    "Fill",
    "FilterError",
    "InsufficientBalance",
    "Order",
    "OrderEvent",
    "OrderRejected",
    "OrderStatus",
    "OrderType",
    "PositionSide",
    "Reason",
    "Side",
    "SimError",
    "Ticker24h",
    "TimeInForce",
    "Trade",
    "UnknownOrder",
    "WorkingType",
    "WouldTakeAsMaker",
    "WouldTriggerImmediately",
]

ZERO = Decimal(0)
"""The Decimal zero, shared to avoid re-allocating it on hot paths."""


Side = OrderSide
"""Order side: the project's one side enum (``"buy"``/``"sell"``); faces map it to their venue's."""


class OrderType(str, enum.Enum):
    """Spot order types (neutral spelling; member names are Binance's type names)."""

    LIMIT = "limit"
    MARKET = "market"
    LIMIT_MAKER = "limit_maker"
    STOP_LOSS = "stop_loss"
    STOP_LOSS_LIMIT = "stop_loss_limit"
    TAKE_PROFIT = "take_profit"
    TAKE_PROFIT_LIMIT = "take_profit_limit"


class PositionSide(str, enum.Enum):
    """Which position of a contract an order works on: BOTH in one-way mode, LONG or SHORT in
    hedge mode (always BOTH on spot)."""

    BOTH = "both"
    LONG = "long"
    SHORT = "short"


class WorkingType(str, enum.Enum):
    """The price a stop order of a contract triggers on: the last trade price or the mark."""

    LAST = "last"
    MARK = "mark"


class TimeInForce(str, enum.Enum):
    """Time in force (neutral spelling)."""

    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderStatus(str, enum.Enum):
    """Order status (neutral spelling)."""

    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    EXPIRED_IN_MATCH = "expired_in_match"


class ExecutionType(str, enum.Enum):
    """What happened to an order in one :class:`OrderEvent` (neutral spelling)."""

    NEW = "new"
    TRADE = "trade"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    AMENDED = "amended"


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of one order (a row of Binance's ``myTrades`` and of an order's ``fills``).

    ``quote_qty`` is ``price * qty`` exactly; the commission is charged in ``commission_asset``
    (the base asset for the buyer, the quote asset for the seller).
    """

    symbol: str
    trade_id: int
    order_id: int
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    is_maker: bool
    is_buyer: bool
    time_ms: int
    realized_pnl: Decimal = ZERO
    position_side: PositionSide = PositionSide.BOTH


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class Trade:
    """One public trade on a symbol's tape (Binance's ``trades`` row and ``@trade`` event)."""

    trade_id: int
    symbol: str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    time_ms: int
    buyer_order_id: int
    seller_order_id: int
    is_buyer_maker: bool


@dataclass(frozen=True, slots=True)
class AggTrade:
    """Trades of one taker order at one price and instant, aggregated (Binance's ``aggTrades``)."""

    agg_id: int
    symbol: str
    price: Decimal
    qty: Decimal
    first_trade_id: int
    last_trade_id: int
    time_ms: int
    is_buyer_maker: bool


@dataclass(slots=True)
class Order:
    """An order as the exchange knows it; the core hands out snapshots (see :meth:`snapshot`).

    ``price`` is ``None`` for market-type orders and ``stop_price`` ``None`` for non-stop types;
    ``tif`` is GTC for types that take no time in force (as Binance reports them).
    ``working_time_ms`` is -1 until a stop order triggers; ``is_working`` tells whether the order
    is live on the book (or executing). ``locked_amount`` of ``locked_asset`` is what the order
    still holds of its owner's balance; it is released when the order ends.
    """

    order_id: int
    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    tif: TimeInForce
    price: Decimal | None
    stop_price: Decimal | None
    orig_qty: Decimal
    executed_qty: Decimal
    cummulative_quote_qty: Decimal
    status: OrderStatus
    time_ms: int
    update_time_ms: int
    working_time_ms: int
    is_working: bool
    account_id: int
    orig_quote_order_qty: Decimal = ZERO
    fills: list[Fill] = field(default_factory=list)
    locked_asset: str = ""
    locked_amount: Decimal = ZERO
    reduce_only: bool = False
    close_position: bool = False
    position_side: PositionSide = PositionSide.BOTH
    working_type: WorkingType = WorkingType.LAST

    @property
    def remaining_qty(self) -> Decimal:
        """The quantity not yet executed."""
        return self.orig_qty - self.executed_qty

    @property
    def is_open(self) -> bool:
        """Whether the order can still execute (NEW or PARTIALLY_FILLED)."""
        return self.status is OrderStatus.NEW or self.status is OrderStatus.PARTIALLY_FILLED

    def snapshot(self) -> Order:
        """Return an independent copy (its own ``fills`` list), safe to hand across threads."""
        return Order(
            self.order_id,
            self.client_order_id,
            self.symbol,
            self.side,
            self.type,
            self.tif,
            self.price,
            self.stop_price,
            self.orig_qty,
            self.executed_qty,
            self.cummulative_quote_qty,
            self.status,
            self.time_ms,
            self.update_time_ms,
            self.working_time_ms,
            self.is_working,
            self.account_id,
            self.orig_quote_order_qty,
            list(self.fills),
            self.locked_asset,
            self.locked_amount,
            self.reduce_only,
            self.close_position,
            self.position_side,
            self.working_type,
        )


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One change of one order: everything a venue's order update carries (Binance's
    ``executionReport``).

    ``order`` is a snapshot after the change. For ``execution_type == TRADE`` the ``last_*``
    fields describe the fill; otherwise they are zero / empty / -1. ``reject_reason`` is
    None unless the order was rejected.
    """

    order: Order
    execution_type: ExecutionType
    time_ms: int
    last_price: Decimal = ZERO
    last_qty: Decimal = ZERO
    last_quote_qty: Decimal = ZERO
    commission: Decimal = ZERO
    commission_asset: str | None = None
    trade_id: int = -1
    is_maker: bool = False
    reject_reason: Reason | None = None


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class BalanceEvent:
    """Balances of one account that changed in one operation (``outboundAccountPosition``).

    ``balances`` maps each changed asset to ``(free, locked)`` after the change. A deposit sets
    ``delta_asset`` and ``delta`` (Binance's ``balanceUpdate``).
    """

    account_id: int
    balances: dict[str, tuple[Decimal, Decimal]]
    time_ms: int
    delta_asset: str | None = None
    delta: Decimal | None = None


@dataclass(frozen=True, slots=True)
class DepthUpdate:
    """One batch of book changes on a symbol (Binance's ``@depth`` diff: ``U``..``u``).

    ``bids`` and ``asks`` hold ``(price, qty)`` with the new absolute quantity of each changed
    level (0 = level removed). Batches are contiguous: a batch's ``first_update_id`` is the
    previous batch's ``final_update_id + 1``.
    """

    symbol: str
    first_update_id: int
    final_update_id: int
    bids: list[tuple[Decimal, Decimal]]
    asks: list[tuple[Decimal, Decimal]]
    time_ms: int


@dataclass(frozen=True, slots=True)
class DepthSnapshot:
    """An aggregated book snapshot, consistent with the depth update id ``last_update_id``."""

    last_update_id: int
    bids: list[tuple[Decimal, Decimal]]
    asks: list[tuple[Decimal, Decimal]]


@dataclass(frozen=True, slots=True)
class BookTicker:
    """Best bid and ask of a symbol (``None`` for an empty side) at depth id ``update_id``."""

    symbol: str
    update_id: int
    bid_price: Decimal | None
    bid_qty: Decimal
    ask_price: Decimal | None
    ask_qty: Decimal


@dataclass(frozen=True, slots=True)
class AvgPrice:
    """Volume-weighted average price over the last ``mins`` minutes (Binance's ``avgPrice``)."""

    mins: int
    price: Decimal
    close_time_ms: int


@dataclass(frozen=True, slots=True)
class Ticker24h:
    """Rolling 24-hour statistics of a symbol (Binance's ``ticker/24hr``)."""

    symbol: str
    price_change: Decimal
    price_change_percent: Decimal
    weighted_avg_price: Decimal
    prev_close_price: Decimal
    last_price: Decimal
    last_qty: Decimal
    bid_price: Decimal | None
    bid_qty: Decimal
    ask_price: Decimal | None
    ask_qty: Decimal
    open_price: Decimal
    high_price: Decimal
    low_price: Decimal
    volume: Decimal
    quote_volume: Decimal
    open_time_ms: int
    close_time_ms: int
    first_trade_id: int
    last_trade_id: int
    count: int
