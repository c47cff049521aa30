"""The simulator core's typed errors: a neutral :class:`Reason` and the data a face needs.

The core raises them without changing any state; it never speaks a venue's codes or texts.
Each protocol face turns a :class:`SimError` into its own answer from ``reason`` plus
``fields`` (the neutral names of the request fields involved: ``quantity``, ``quote_quantity``,
``price``, ``stop_price``, ``time_in_force``, ``order_id``, ``client_order_id``...) and
``order_type`` (for :attr:`Reason.ORDER_TYPE_NOT_ALLOWED`). ``str(err)`` is a short neutral
English text (what paper trading reports). The tree, for ``except`` clauses::

    SimError
     ├── BadParameter          malformed, missing or unwanted request values
     ├── BadSymbol             the symbol is not traded here
     ├── FilterError           the order breaks one of the symbol's rules (price, lot, notional)
     ├── OrderRejected         the matching engine refused the order
     │    ├── InsufficientBalance, DuplicateOrder, WouldTakeAsMaker, WouldTriggerImmediately
     └── UnknownOrder          no such order (the face picks its cancel or query wording)

They are also re-exported by :mod:`real_trade.sim.types` and :mod:`real_trade.sim`.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from real_trade.sim.types import OrderType

__all__ = [
    "BadParameter",
    "BadSymbol",
    "DuplicateOrder",
    "FilterError",
    "InsufficientBalance",
    "OrderRejected",
    "Reason",
    "SimError",
    "UnknownOrder",
    "WouldTakeAsMaker",
    "WouldTriggerImmediately",
]


class Reason(str, enum.Enum):
    """Why the core refused a request, in no venue's words."""

    # -- request values
    BAD_NUMBER = "bad_number"
    """``fields[0]`` is not a finite number >= 0."""
    BAD_CLIENT_ID = "bad_client_id"
    """The client order id has characters or a length the exchange does not take."""
    MISSING_FIELD = "missing_field"
    """``fields[0]`` is required by this order type."""
    MISSING_ONE_OF = "missing_one_of"
    """One of ``fields`` must be given and none was."""
    FIELD_NOT_TAKEN = "field_not_taken"
    """``fields[0]`` was given but this order (type) does not take it."""
    TOO_MUCH_PRECISION = "too_much_precision"
    """``fields[0]`` has more decimals than the asset's precision."""
    INVALID_SIDE = "invalid_side"
    INVALID_ORDER_TYPE = "invalid_order_type"
    INVALID_TIME_IN_FORCE = "invalid_time_in_force"
    INVALID_INTERVAL = "invalid_interval"
    UNKNOWN_SYMBOL = "unknown_symbol"
    # -- symbol rules
    INVALID_PRICE = "invalid_price"
    """The price is zero."""
    INVALID_STOP_PRICE = "invalid_stop_price"
    """The stop price is zero."""
    PRICE_FILTER = "price_filter"
    """The price (or stop price) is off the tick or outside the price range."""
    INVALID_QUANTITY = "invalid_quantity"
    """The quantity is zero."""
    LOT_SIZE = "lot_size"
    """The quantity is off the step or outside the quantity range."""
    MARKET_LOT_SIZE = "market_lot_size"
    """A market order's quantity is off the market step or outside the market range."""
    NOTIONAL = "notional"
    """The order's value is below the minimum (or above the maximum) notional."""
    MAX_NUM_ORDERS = "max_num_orders"
    """The account has the most open orders the symbol allows."""
    # -- matching-engine rejections
    ORDER_TYPE_NOT_ALLOWED = "order_type_not_allowed"
    """``order_type`` is not traded on this symbol."""
    QUOTE_QUANTITY_NOT_ALLOWED = "quote_quantity_not_allowed"
    """Market orders by quote quantity are not taken on this symbol."""
    INSUFFICIENT_BALANCE = "insufficient_balance"
    DUPLICATE_ORDER = "duplicate_order"
    """The client order id is in use by an open order of the account."""
    WOULD_TAKE = "would_take"
    """A post-only (maker-only) order would match immediately."""
    WOULD_TRIGGER_IMMEDIATELY = "would_trigger_immediately"
    """The stop price is already crossed by the last trade price."""
    NO_LIQUIDITY = "no_liquidity"
    """The book holds less than the symbol's minimum quantity."""
    TRADING_DISABLED = "trading_disabled"
    """The account may not place or cancel orders."""
    # -- lookups
    UNKNOWN_ORDER = "unknown_order"


_TEXTS: dict[Reason, str] = {
    Reason.BAD_NUMBER: "{0} is not a valid number",
    Reason.BAD_CLIENT_ID: "illegal client order id",
    Reason.MISSING_FIELD: "{0} is required",
    Reason.MISSING_ONE_OF: "one of {0} or {1} is required",
    Reason.FIELD_NOT_TAKEN: "{0} is not taken by this order",
    Reason.TOO_MUCH_PRECISION: "{0} has too many decimals",
    Reason.INVALID_SIDE: "invalid side",
    Reason.INVALID_ORDER_TYPE: "invalid order type",
    Reason.INVALID_TIME_IN_FORCE: "invalid time in force",
    Reason.INVALID_INTERVAL: "invalid interval",
    Reason.UNKNOWN_SYMBOL: "unknown symbol",
    Reason.INVALID_PRICE: "invalid price",
    Reason.INVALID_STOP_PRICE: "invalid stop price",
    Reason.PRICE_FILTER: "price breaks the price filter",
    Reason.INVALID_QUANTITY: "invalid quantity",
    Reason.LOT_SIZE: "quantity breaks the lot size",
    Reason.MARKET_LOT_SIZE: "quantity breaks the market lot size",
    Reason.NOTIONAL: "order value breaks the notional limits",
    Reason.MAX_NUM_ORDERS: "too many open orders",
    Reason.ORDER_TYPE_NOT_ALLOWED: "order type not supported for this symbol",
    Reason.QUOTE_QUANTITY_NOT_ALLOWED: "quote quantity market orders not supported",
    Reason.INSUFFICIENT_BALANCE: "insufficient balance",
    Reason.DUPLICATE_ORDER: "duplicate client order id",
    Reason.WOULD_TAKE: "post-only order would take",
    Reason.WOULD_TRIGGER_IMMEDIATELY: "stop order would trigger immediately",
    Reason.NO_LIQUIDITY: "book liquidity is less than the minimum quantity",
    Reason.TRADING_DISABLED: "account may not place or cancel orders",
    Reason.UNKNOWN_ORDER: "unknown order",
}


class SimError(Exception):
    """Base of the simulator's errors: a neutral ``reason`` and the ``fields`` it concerns."""

    default_reason: Reason = Reason.BAD_NUMBER

    def __init__(
        self,
        reason: Reason | None = None,
        *fields: str,
        order_type: OrderType | None = None,
    ) -> None:
        """Build the error for ``reason`` (the class's default when None) about ``fields``."""
        self.reason = self.default_reason if reason is None else reason
        self.fields: tuple[str, ...] = fields
        self.order_type = order_type
        super().__init__(_TEXTS[self.reason].format(*fields, "", ""))

    @property
    def field(self) -> str:
        """The first field the error is about ('' when none)."""
        return self.fields[0] if self.fields else ""

    def __repr__(self) -> str:
        """Show the class, reason and fields."""
        return f"{type(self).__name__}({self.reason.value}, fields={self.fields})"


class BadParameter(SimError):  # noqa: N818 - names fixed by the spec
    """A malformed, missing or unwanted request value; ``field`` names it."""

    @classmethod
    def illegal_chars(cls, name: str) -> BadParameter:
        """A number that is negative, not finite or otherwise unparsable."""
        return cls(Reason.BAD_NUMBER, name)

    @classmethod
    def mandatory(cls, name: str) -> BadParameter:
        """A required field is missing."""
        return cls(Reason.MISSING_FIELD, name)

    @classmethod
    def one_of(cls, first: str, second: str) -> BadParameter:
        """Neither of two alternative fields was given."""
        return cls(Reason.MISSING_ONE_OF, first, second)

    @classmethod
    def not_required(cls, name: str) -> BadParameter:
        """A field was given that this order type does not take."""
        return cls(Reason.FIELD_NOT_TAKEN, name)

    @classmethod
    def too_much_precision(cls, name: str) -> BadParameter:
        """More decimals than the asset's precision."""
        return cls(Reason.TOO_MUCH_PRECISION, name)


class BadSymbol(SimError):  # noqa: N818 - names fixed by the spec
    """The symbol is not traded here."""

    default_reason = Reason.UNKNOWN_SYMBOL


class FilterError(SimError):
    """The order breaks one of the symbol's rules; ``reason`` says which."""

    default_reason = Reason.NOTIONAL


class OrderRejected(SimError):  # noqa: N818 - names fixed by the spec
    """The matching engine rejected the order; ``reason`` says why."""

    default_reason = Reason.TRADING_DISABLED


class InsufficientBalance(OrderRejected):
    """Not enough free balance for the order."""

    default_reason = Reason.INSUFFICIENT_BALANCE


class DuplicateOrder(OrderRejected):
    """The client order id is already used by an open order of the account."""

    default_reason = Reason.DUPLICATE_ORDER


class WouldTakeAsMaker(OrderRejected):
    """A maker-only order would match immediately."""

    default_reason = Reason.WOULD_TAKE


class WouldTriggerImmediately(OrderRejected):
    """The stop price is already crossed by the last trade price."""

    default_reason = Reason.WOULD_TRIGGER_IMMEDIATELY


class UnknownOrder(SimError):  # noqa: N818 - names fixed by the spec
    """No such order (for this account and symbol)."""

    default_reason = Reason.UNKNOWN_ORDER
