"""Binance spot's error answers: ``{"code": ..., "msg": ...}`` with the right HTTP status.

:class:`BinanceApiError` is what every Binance face of the simulator raises when it must refuse a
request; the REST face turns it into an HTTP response with :meth:`BinanceApiError.to_json`,
:attr:`~BinanceApiError.http_status` and, for rate limits, a ``Retry-After`` header; the
WebSocket API face puts the same ``code``/``msg`` into its error frame. Messages are Binance's
own text, word for word, because clients (ccxt among them) match on them.

:func:`from_sim_error` turns an error of the protocol-free core (a ``SimError`` with a neutral
``reason`` and the request fields it concerns) into Binance's code and text, naming the fields
as Binance's parameters and choosing the query variant of "unknown order" (-2013
"Order does not exist.") instead of the cancel variant (-2011 "Unknown order sent.") when asked.
The helpers below build the errors the faces raise themselves (bad parameters, auth, limits).
"""

from __future__ import annotations

from typing import Any

from real_trade.sim.errors import Reason, SimError
from real_trade.sim.types import OrderType

__all__ = [
    "AMBIGUOUS_MSG",
    "BinanceApiError",
    "bad_api_key_format",
    "bad_param_value",
    "from_sim_error",
    "http_status_for",
    "illegal_chars",
    "invalid_api_key",
    "invalid_symbol",
    "mandatory_missing",
    "not_all_read",
    "param_not_required",
    "rate_limited",
    "sim_error_code_msg",
    "unknown_order_cancel",
]

AMBIGUOUS_MSG = (
    "Timeout waiting for response from backend server. Send status unknown; "
    "execution status unknown."
)
"""Binance's -1007 text: the request reached the engine and its outcome is unknown."""


# HTTP statuses Binance uses for codes that are not an ordinary 400.
_STATUS_BY_CODE: dict[int, int] = {
    -1000: 500,
    -1001: 500,
    -1003: 429,
    -1006: 500,
    -1007: 408,
    -1008: 503,
    -1016: 503,
    -1002: 401,
    -1099: 401,
    -2014: 401,
    -2015: 401,
}


def http_status_for(code: int) -> int:
    """Return the HTTP status Binance answers with for error ``code`` (400 unless special)."""
    return _STATUS_BY_CODE.get(code, 400)


class BinanceApiError(Exception):
    """A refusal in Binance's words: error ``code``, exact ``msg`` and the HTTP status to use.

    ``http_status`` defaults to what Binance uses for ``code`` (see :func:`http_status_for`);
    ``retry_after`` (seconds) becomes a ``Retry-After`` header on 429/418 answers. The error
    never carries request parameters, so no secret or signature can leak through it.
    """

    def __init__(
        self,
        code: int,
        msg: str,
        http_status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Build the error; ``http_status`` defaults from ``code``."""
        super().__init__(f"{code}: {msg}")
        self.code = int(code)
        self.msg = msg
        self.http_status = http_status if http_status is not None else http_status_for(code)
        self.retry_after = retry_after

    def to_json(self) -> dict[str, Any]:
        """Return Binance's error payload ``{"code": code, "msg": msg}``."""
        return {"code": self.code, "msg": self.msg}

    def __repr__(self) -> str:
        """Show code, message and status."""
        return (
            f"BinanceApiError(code={self.code}, msg={self.msg!r}, http_status={self.http_status})"
        )


_PARAM_NAMES: dict[str, str] = {
    "quote_quantity": "quoteOrderQty",
    "stop_price": "stopPrice",
    "time_in_force": "timeInForce",
    "order_id": "orderId",
    "client_order_id": "origClientOrderId",
    "reference_price": "referencePrice",
}
"""Binance's parameter name for each neutral field name the core reports (others as they are)."""

_TYPE_NAMES: dict[OrderType, str] = {
    OrderType.MARKET: "Market",
    OrderType.STOP_LOSS: "Stop loss",
    OrderType.STOP_LOSS_LIMIT: "Stop loss limit",
    OrderType.TAKE_PROFIT: "Take profit",
    OrderType.TAKE_PROFIT_LIMIT: "Take profit limit",
    OrderType.LIMIT_MAKER: "Limit maker",
    OrderType.LIMIT: "Limit",
}

_NUMBER_RANGE = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"

_FIXED: dict[Reason, tuple[int, str]] = {
    Reason.BAD_CLIENT_ID: (
        -1100,
        "Illegal characters found in parameter 'newClientOrderId'; legal range is "
        "'^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
    ),
    Reason.INVALID_TIME_IN_FORCE: (-1115, "Invalid timeInForce."),
    Reason.INVALID_ORDER_TYPE: (-1116, "Invalid orderType."),
    Reason.INVALID_SIDE: (-1117, "Invalid side."),
    Reason.INVALID_INTERVAL: (-1120, "Invalid interval."),
    Reason.UNKNOWN_SYMBOL: (-1121, "Invalid symbol."),
    Reason.INVALID_PRICE: (-1013, "Invalid price."),
    Reason.INVALID_STOP_PRICE: (-1013, "Invalid stop price."),
    Reason.PRICE_FILTER: (-1013, "Filter failure: PRICE_FILTER"),
    Reason.INVALID_QUANTITY: (-1013, "Invalid quantity."),
    Reason.LOT_SIZE: (-1013, "Filter failure: LOT_SIZE"),
    Reason.MARKET_LOT_SIZE: (-1013, "Filter failure: MARKET_LOT_SIZE"),
    Reason.NOTIONAL: (-1013, "Filter failure: NOTIONAL"),
    Reason.MAX_NUM_ORDERS: (-1013, "Filter failure: MAX_NUM_ORDERS"),
    Reason.QUOTE_QUANTITY_NOT_ALLOWED: (
        -2010,
        "Quote order qty market orders are not support for this symbol.",
    ),
    Reason.INSUFFICIENT_BALANCE: (-2010, "Account has insufficient balance for requested action."),
    Reason.DUPLICATE_ORDER: (-2010, "Duplicate order sent."),
    Reason.WOULD_TAKE: (-2010, "Order would immediately match and take."),
    Reason.WOULD_TRIGGER_IMMEDIATELY: (-2010, "Order would trigger immediately."),
    Reason.NO_LIQUIDITY: (-2010, "Order book liquidity is less than symbol minimum quantity."),
    Reason.TRADING_DISABLED: (-2010, "This account may not place or cancel orders."),
}
"""Binance's code and exact text for each reason that names no field."""


def _param(field: str) -> str:
    return _PARAM_NAMES.get(field, field)


def sim_error_code_msg(err: SimError, *, for_query: bool = False) -> tuple[int, str]:
    """Binance's ``(code, msg)`` for an error of the core (see :func:`from_sim_error`)."""
    reason = err.reason
    fixed = _FIXED.get(reason)
    if fixed is not None:
        return fixed
    names = [_param(f) for f in err.fields]
    if reason is Reason.UNKNOWN_ORDER:
        return (-2013, "Order does not exist.") if for_query else (-2011, "Unknown order sent.")
    if reason is Reason.BAD_NUMBER:
        return (
            -1100,
            f"Illegal characters found in parameter '{names[0]}'; legal range is "
            f"'{_NUMBER_RANGE}'.",
        )
    if reason is Reason.MISSING_FIELD:
        return (
            -1102,
            f"Mandatory parameter '{names[0]}' was not sent, was empty/null, or malformed.",
        )
    if reason is Reason.MISSING_ONE_OF:
        return -1102, f"Param '{names[0]}' or '{names[1]}' must be sent, but both were empty/null!"
    if reason is Reason.FIELD_NOT_TAKEN:
        return -1106, f"Parameter '{names[0]}' sent when not required."
    if reason is Reason.TOO_MUCH_PRECISION:
        return -1111, f"Parameter '{names[0]}' has too much precision."
    if reason is Reason.ORDER_TYPE_NOT_ALLOWED:
        assert err.order_type is not None
        return -2010, f"{_TYPE_NAMES[err.order_type]} orders are not supported for this symbol."
    raise AssertionError(f"no Binance answer for {reason!r}")  # pragma: no cover


def from_sim_error(err: SimError, *, for_query: bool = False) -> BinanceApiError:
    """Translate an error of the core (a neutral ``SimError``) into Binance's code and text.

    With ``for_query=True`` an unknown order becomes -2013 "Order does not exist." (what
    GET order answers); otherwise it is -2011 "Unknown order sent." (what cancels answer).
    """
    code, msg = sim_error_code_msg(err, for_query=for_query)
    return BinanceApiError(code, msg)


def unknown_order_cancel() -> BinanceApiError:
    """-2011 "Unknown order sent.": what cancel endpoints answer for an order not open."""
    return BinanceApiError(-2011, "Unknown order sent.")


# -- the errors the faces raise themselves ----------------------------------------------------
def mandatory_missing(name: str) -> BinanceApiError:
    """-1102: a mandatory parameter was not sent, was empty/null, or malformed."""
    return BinanceApiError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def illegal_chars(name: str, legal: str | None = None) -> BinanceApiError:
    """-1100: illegal characters in parameter ``name`` (optionally naming the legal range)."""
    if legal is None:
        return BinanceApiError(-1100, f"Illegal characters found in parameter '{name}'.")
    return BinanceApiError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'."
    )


def bad_param_value(name: str) -> BinanceApiError:
    """-1100 for a numeric parameter that does not parse (Binance's answer for ``price=abc``)."""
    return illegal_chars(name, "^([0-9]{1,20})(\\.[0-9]{1,20})?$")


def param_not_required(name: str) -> BinanceApiError:
    """-1106: a parameter was sent when not required."""
    return BinanceApiError(-1106, f"Parameter '{name}' sent when not required.")


def not_all_read(read: int, sent: int) -> BinanceApiError:
    """-1104: not all sent parameters were read."""
    return BinanceApiError(
        -1104,
        f"Not all sent parameters were read; read '{read}' parameter(s) but was sent '{sent}'.",
    )


def invalid_symbol() -> BinanceApiError:
    """-1121: the symbol is not traded here."""
    return BinanceApiError(-1121, "Invalid symbol.")


def bad_api_key_format() -> BinanceApiError:
    """-2014 (HTTP 401): the API key header is missing or malformed."""
    return BinanceApiError(-2014, "API-key format invalid.")


def invalid_api_key() -> BinanceApiError:
    """-2015 (HTTP 401): the API key is unknown (or lacks the permission)."""
    return BinanceApiError(-2015, "Invalid API-key, IP, or permissions for action.")


def rate_limited(
    limit: int, interval: str, retry_after: int, *, banned_until: int | None = None
) -> BinanceApiError:
    """-1003: over the request-weight limit (429), or banned (418) until ``banned_until`` ms."""
    if banned_until is not None:
        return BinanceApiError(
            -1003,
            f"Way too much request weight used; IP banned until {banned_until}. "
            "Please use WebSocket Streams for live updates to avoid bans.",
            http_status=418,
            retry_after=retry_after,
        )
    return BinanceApiError(
        -1003,
        f"Too much request weight used; current limit is {limit} request weight per {interval}. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
        http_status=429,
        retry_after=retry_after,
    )
