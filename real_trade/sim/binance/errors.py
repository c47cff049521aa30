"""Binance spot's error answers: ``{"code": ..., "msg": ...}`` with the right HTTP status.

:class:`BinanceApiError` is what every Binance face of the simulator raises when it must refuse a
request; the REST face turns it into an HTTP response with :meth:`BinanceApiError.to_json`,
:attr:`~BinanceApiError.http_status` and, for rate limits, a ``Retry-After`` header; the
WebSocket API face puts the same ``code``/``msg`` into its error frame. Messages are Binance's
own text, word for word, because clients (ccxt among them) match on them.

:func:`from_sim_error` turns an error of the protocol-free core (a ``SimError`` carrying a Binance
``code`` and ``msg``) into one, choosing the query variant of "unknown order" (-2013
"Order does not exist.") instead of the cancel variant (-2011 "Unknown order sent.") when asked.
The helpers below build the errors the faces raise themselves (bad parameters, auth, limits).
"""

from __future__ import annotations

from typing import Any

from real_trade.sim.errors import SimError

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
]

AMBIGUOUS_MSG = (
    "Timeout waiting for response from backend server. Send status unknown; "
    "execution status unknown."
)
"""Binance's -1007 text: the request reached the engine and its outcome is unknown."""

_UNKNOWN_ORDER_CANCEL = (-2011, "Unknown order sent.")
_UNKNOWN_ORDER_QUERY = (-2013, "Order does not exist.")

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


def from_sim_error(err: SimError, *, for_query: bool = False) -> BinanceApiError:
    """Translate an error of the core (a ``SimError`` with Binance ``code`` and ``msg``).

    With ``for_query=True`` an unknown-order error becomes -2013 "Order does not exist." (what
    GET order answers); otherwise it is -2011 "Unknown order sent." (what cancels answer).
    """
    code = int(err.code)
    msg = str(err.msg)
    if code in (_UNKNOWN_ORDER_CANCEL[0], _UNKNOWN_ORDER_QUERY[0]) and msg in (
        _UNKNOWN_ORDER_CANCEL[1],
        _UNKNOWN_ORDER_QUERY[1],
    ):
        code, msg = _UNKNOWN_ORDER_QUERY if for_query else _UNKNOWN_ORDER_CANCEL
    retry_after = getattr(err, "retry_after", None)
    return BinanceApiError(
        code, msg, retry_after=retry_after if isinstance(retry_after, int) else None
    )


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
