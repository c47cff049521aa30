"""The simulator core's typed errors: each carries Binance's numeric ``code`` and exact ``msg``.

Protocol faces turn a :class:`SimError` into Binance's error body as it is; the core raises
them without changing any state. The tree::

    SimError
     ├── BadParameter          -1100 / -1102 / -1106 / -1111 / -1115 / -1116 / -1117 / -1120
     ├── BadSymbol             -1121 "Invalid symbol."
     ├── FilterError           -1013 "Filter failure: <FILTER>" (and "Invalid quantity.")
     ├── OrderRejected         -2010 (matching-engine rejections)
     │    ├── InsufficientBalance, DuplicateOrder, WouldTakeAsMaker, WouldTriggerImmediately
     └── UnknownOrder          -2011 "Unknown order sent." (cancel) / -2013 "Order does not exist."

They are also re-exported by :mod:`real_trade.sim.types` and :mod:`real_trade.sim`.
"""

from __future__ import annotations

__all__ = [
    "BadParameter",
    "BadSymbol",
    "DuplicateOrder",
    "FilterError",
    "InsufficientBalance",
    "OrderRejected",
    "SimError",
    "UnknownOrder",
    "WouldTakeAsMaker",
    "WouldTriggerImmediately",
]


class SimError(Exception):
    """Base of the simulator's errors: Binance's numeric ``code`` and exact ``msg``."""

    code: int = -1000
    http_status: int = 400

    def __init__(self, msg: str, code: int | None = None) -> None:
        """Build the error with Binance's message ``msg`` (and ``code`` when not the class's)."""
        super().__init__(msg)
        self.msg = msg
        if code is not None:
            self.code = code

    def __repr__(self) -> str:
        """Show the class, code and message."""
        return f"{type(self).__name__}(code={self.code}, msg={self.msg!r})"


class BadParameter(SimError):  # noqa: N818 - Binance-style names fixed by the spec
    """A malformed, missing or unwanted request parameter (-11xx codes), with Binance's texts."""

    @classmethod
    def illegal_chars(cls, name: str) -> BadParameter:
        """-1100: a number that is negative, not finite or otherwise unparsable."""
        return cls(
            f"Illegal characters found in parameter '{name}'; "
            "legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
            -1100,
        )

    @classmethod
    def mandatory(cls, name: str) -> BadParameter:
        """-1102: a required parameter is missing."""
        msg = f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
        return cls(msg, -1102)

    @classmethod
    def one_of(cls, first: str, second: str) -> BadParameter:
        """-1102: neither of two alternative parameters was sent."""
        return cls(f"Param '{first}' or '{second}' must be sent, but both were empty/null!", -1102)

    @classmethod
    def not_required(cls, name: str) -> BadParameter:
        """-1106: a parameter was sent that this order type does not take."""
        return cls(f"Parameter '{name}' sent when not required.", -1106)

    @classmethod
    def too_much_precision(cls, name: str) -> BadParameter:
        """-1111: more decimals than the asset's precision."""
        return cls(f"Parameter '{name}' has too much precision.", -1111)

    @classmethod
    def invalid_tif(cls) -> BadParameter:
        """-1115: unknown time in force."""
        return cls("Invalid timeInForce.", -1115)

    @classmethod
    def invalid_order_type(cls) -> BadParameter:
        """-1116: unknown order type."""
        return cls("Invalid orderType.", -1116)

    @classmethod
    def invalid_side(cls) -> BadParameter:
        """-1117: unknown side."""
        return cls("Invalid side.", -1117)

    @classmethod
    def invalid_interval(cls) -> BadParameter:
        """-1120: unknown kline interval."""
        return cls("Invalid interval.", -1120)


class BadSymbol(SimError):  # noqa: N818 - Binance-style names fixed by the spec
    """-1121: the symbol is not traded here."""

    code = -1121

    def __init__(self) -> None:
        """Build the error with Binance's text."""
        super().__init__("Invalid symbol.")


class FilterError(SimError):
    """-1013: the order breaks one of the symbol's filters; ``filter_name`` says which."""

    code = -1013

    def __init__(self, filter_name: str, msg: str | None = None) -> None:
        """Build ``"Filter failure: <filter_name>"`` (or the given Binance ``msg``)."""
        super().__init__(msg if msg is not None else f"Filter failure: {filter_name}")
        self.filter_name = filter_name


class OrderRejected(SimError):  # noqa: N818 - Binance-style names fixed by the spec
    """-2010: the matching engine rejected the order; the message says why."""

    code = -2010


class InsufficientBalance(OrderRejected):
    """-2010: not enough free balance for the order."""

    def __init__(self) -> None:
        """Build the error with Binance's text."""
        super().__init__("Account has insufficient balance for requested action.")


class DuplicateOrder(OrderRejected):
    """-2010: the client order id is already used by an open order of the account."""

    def __init__(self) -> None:
        """Build the error with Binance's text."""
        super().__init__("Duplicate order sent.")


class WouldTakeAsMaker(OrderRejected):
    """-2010: a LIMIT_MAKER order would match immediately."""

    def __init__(self) -> None:
        """Build the error with Binance's text."""
        super().__init__("Order would immediately match and take.")


class WouldTriggerImmediately(OrderRejected):
    """-2010: the stop price is already crossed by the last trade price."""

    def __init__(self) -> None:
        """Build the error with Binance's text."""
        super().__init__("Order would trigger immediately.")


class UnknownOrder(SimError):  # noqa: N818 - Binance-style names fixed by the spec
    """No such order: -2011 "Unknown order sent." on cancel, -2013 "Order does not exist." on query.

    Build it with :meth:`for_cancel` or :meth:`for_query` so the call site picks Binance's code.
    """

    @classmethod
    def for_cancel(cls) -> UnknownOrder:
        """The -2011 form used by cancel endpoints."""
        return cls("Unknown order sent.", -2011)

    @classmethod
    def for_query(cls) -> UnknownOrder:
        """The -2013 form used by query endpoints."""
        return cls("Order does not exist.", -2013)
