"""The one place ccxt exceptions are translated into the tree of :mod:`real_trade.errors`.

``translate_ccxt_error`` maps a ccxt exception by walking its MRO against ``CCXT_ERROR_TABLE``
(ccxt class name -> project class for an ordinary call, and for an order-placing call). For an
order-placing call every failure whose outcome is unknown (network errors, timeouts, 5xx,
maintenance, malformed or empty responses, unknown exceptions) becomes ``AmbiguousOutcomeError``;
failures that prove the request was rejected keep their class. Decisions worth knowing:

* ``ChecksumError`` (a ccxt.pro local order book failed its checksum) -> ``ExchangeProtocolError``,
  final: a generic retry loop must not paper over a corrupted book; the stream's owner resyncs
  from a fresh snapshot. It never comes from placing an order, so it is not ambiguous.
* ``BadResponse``/``NullResponse`` -> ``ExchangeProtocolError`` (final: a parser mismatch repeats).
* ``CancelPending`` -> ``ExchangeUnavailableError`` (the exchange is busy with it: retry later).
* ``BadRequest``/``MarketClosed`` -> ``ExchangeError``, but ``InvalidOrderError`` when placing.
* ``ArgumentsRequired`` (a caller bug caught by ccxt before sending) -> ``ExchangeError``.
* ``InvalidProxySettings`` -> ``ConfigError(field="proxy")``.
* Binance codes refine ccxt's choice (ccxt maps some codes differently per endpoint family):
  -1003 rate limit; -1006/-1007 "execution status unknown" (ambiguous when placing); -1021
  clock skew; -2013 and -2011 "Unknown order" -> not found; -2010 "Duplicate order sent." ->
  duplicate, -2010 "insufficient balance" -> insufficient funds.
* Bybit's rate limits are ``RateLimitError`` (retried with backoff), whatever ccxt made of
  them: an IP over its 600 requests / 5 s is answered HTTP 403 "access too frequent" (ccxt's
  ``httpExceptions`` make a plain 403 ``RateLimitExceeded``, but a 403 whose body is a v5
  envelope goes through ``handle_errors`` first, and an unknown ``retCode`` there is a final
  ``ExchangeError``; a 403 is never a refused key on Bybit); retCodes 10006 (UID limit), 10018
  (IP limit) and 170222 (spot) too.
* Non-ccxt exceptions: ``TimeoutError`` -> ``RequestTimeoutError``, ``ConnectionError`` ->
  ``NetworkError``, anything else -> ``ExchangeError``; all ``AmbiguousOutcomeError`` when placing.

Messages built from ccxt exceptions pass through :func:`real_trade.errors.redact` (ccxt puts
signed URLs in messages), and the original exception's string arguments are redacted in place, so
no traceback shows one. ccxt itself is never imported here: classes are matched by module and
name. The public names are also importable from :mod:`real_trade.errors`.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal, TypeVar, cast

from real_trade.errors import (
    REFUSED_KEY_FIX,
    AmbiguousOutcomeError,
    AuthenticationError,
    BadSymbolError,
    ClockSkewError,
    ConfigError,
    DuplicateOrderError,
    ExchangeError,
    ExchangeProtocolError,
    ExchangeUnavailableError,
    InsufficientFundsError,
    InvalidOrderError,
    NetworkError,
    NotSupportedError,
    OrderNotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RealTradeError,
    RequestTimeoutError,
    RetryableError,
    redact,
)

__all__ = ["CCXT_ERROR_TABLE", "ccxt_errors", "translate_ccxt_error"]

F = TypeVar("F", bound=Callable[..., Any])

_MAX_MESSAGE_CHARS = 2000

# ccxt class name (in ccxt.base.errors) -> (class for an ordinary call, class when placing).
# Keep in step with the expected table in tests/unit/test_errors.py.
CCXT_ERROR_TABLE: dict[str, tuple[type[RealTradeError], type[RealTradeError]]] = {
    "BaseError": (ExchangeError, AmbiguousOutcomeError),  # unclassified: outcome unknown
    "ExchangeError": (ExchangeError, ExchangeError),  # the venue answered with an error
    "AuthenticationError": (AuthenticationError, AuthenticationError),
    "PermissionDenied": (PermissionDeniedError, PermissionDeniedError),
    "AccountNotEnabled": (PermissionDeniedError, PermissionDeniedError),
    "AccountSuspended": (PermissionDeniedError, PermissionDeniedError),
    "ArgumentsRequired": (ExchangeError, ExchangeError),  # caller bug, never sent
    "BadRequest": (ExchangeError, InvalidOrderError),
    "BadSymbol": (BadSymbolError, BadSymbolError),
    "OperationRejected": (ExchangeError, ExchangeError),
    "NoChange": (ExchangeError, ExchangeError),
    "MarginModeAlreadySet": (ExchangeError, ExchangeError),
    "MarketClosed": (ExchangeError, InvalidOrderError),
    "ManualInteractionNeeded": (PermissionDeniedError, PermissionDeniedError),
    "RestrictedLocation": (PermissionDeniedError, PermissionDeniedError),
    "InsufficientFunds": (InsufficientFundsError, InsufficientFundsError),
    "InvalidAddress": (ExchangeError, ExchangeError),
    "AddressPending": (ExchangeError, ExchangeError),
    "InvalidOrder": (InvalidOrderError, InvalidOrderError),
    "OrderNotFound": (OrderNotFoundError, OrderNotFoundError),
    "OrderNotCached": (OrderNotFoundError, OrderNotFoundError),
    "OrderImmediatelyFillable": (InvalidOrderError, InvalidOrderError),  # post-only would cross
    "OrderNotFillable": (InvalidOrderError, InvalidOrderError),  # FOK/IOC cannot fill
    "DuplicateOrderId": (DuplicateOrderError, DuplicateOrderError),
    "ContractUnavailable": (InvalidOrderError, InvalidOrderError),
    "NotSupported": (NotSupportedError, NotSupportedError),
    "InvalidProxySettings": (ConfigError, ConfigError),
    # the client was closed mid-call: the outcome is unknown
    "ExchangeClosedByUser": (ExchangeError, AmbiguousOutcomeError),
    "OperationFailed": (NetworkError, AmbiguousOutcomeError),
    "NetworkError": (NetworkError, AmbiguousOutcomeError),
    "DDoSProtection": (RateLimitError, RateLimitError),
    "RateLimitExceeded": (RateLimitError, RateLimitError),
    "ExchangeNotAvailable": (ExchangeUnavailableError, AmbiguousOutcomeError),
    "OnMaintenance": (ExchangeUnavailableError, AmbiguousOutcomeError),
    "InvalidNonce": (ClockSkewError, ClockSkewError),
    "ChecksumError": (ExchangeProtocolError, ExchangeProtocolError),
    "RequestTimeout": (RequestTimeoutError, AmbiguousOutcomeError),
    "BadResponse": (ExchangeProtocolError, AmbiguousOutcomeError),
    "NullResponse": (ExchangeProtocolError, AmbiguousOutcomeError),
    "CancelPending": (ExchangeUnavailableError, AmbiguousOutcomeError),
    "UnsubscribeError": (ExchangeError, ExchangeError),
}

# Venue code refinements: (code or None for any, lower-case message fragment or None,
# ordinary, placing), keyed by the venue id ccxt starts its messages with.
_Rule = tuple[str | None, str | None, type[RealTradeError], type[RealTradeError]]
_BINANCE_CODE_RULES: tuple[_Rule, ...] = (
    ("-1003", None, RateLimitError, RateLimitError),
    ("-1006", None, ExchangeUnavailableError, AmbiguousOutcomeError),
    ("-1007", None, RequestTimeoutError, AmbiguousOutcomeError),
    ("-1021", None, ClockSkewError, ClockSkewError),
    ("-2010", "duplicate order", DuplicateOrderError, DuplicateOrderError),
    ("-2010", "insufficient balance", InsufficientFundsError, InsufficientFundsError),
    ("-2011", "unknown order", OrderNotFoundError, OrderNotFoundError),
    ("-2013", None, OrderNotFoundError, OrderNotFoundError),
)
_BYBIT_CODE_RULES: tuple[_Rule, ...] = (
    ("403", None, RateLimitError, RateLimitError),  # the IP limit, in a v5 envelope
    (None, "access too frequent", RateLimitError, RateLimitError),  # the IP limit's words
    ("10006", None, RateLimitError, RateLimitError),
    ("10018", None, RateLimitError, RateLimitError),
    ("170222", None, RateLimitError, RateLimitError),
)
_VENUE_CODE_RULES: dict[str, tuple[_Rule, ...]] = {
    "binance": _BINANCE_CODE_RULES,  # binance, binanceusdm, binancecoinm
    "bybit": _BYBIT_CODE_RULES,
}

_CCXT_ERRORS_MODULE = "ccxt.base.errors"
_JSON = json.JSONDecoder()
_CODE_FALLBACK_RE = re.compile(r"[\"'](?:code|retCode|ret_code)[\"']\s*:\s*[\"']?(-?\w+)")
_RETRY_AFTER_RE = re.compile(r"retry[-_ ]?after[\"']?\s*[:=]?\s*[\"']?(\d+(?:\.\d+)?)", re.I)
_BANNED_UNTIL_RE = re.compile(r"banned until (\d{10,13})", re.I)


def _code_of(payload: Any) -> str | None:
    """The error code in one decoded JSON payload (OKX ``data[].sCode`` first, then the top)."""
    if not isinstance(payload, dict):
        return None
    data = payload.get("data")
    if isinstance(data, list):
        for item in data:
            if isinstance(item, dict):
                code = _clean_code(item.get("sCode"))
                if code is not None:
                    return code
    for key in ("code", "retCode", "ret_code", "error_code", "errorCode"):
        code = _clean_code(payload.get(key))
        if code is not None:
            return code
    return None


def _clean_code(value: Any) -> str | None:
    """A code as a string, or None when absent or a success code (0)."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return None if text in ("", "0") else text


def _parse_exchange_code(text: str) -> str | None:
    """The venue error code found in JSON embedded in a ccxt message, if any."""
    start = text.find("{")
    for _ in range(8):
        if start == -1:
            break
        try:
            payload, _end = _JSON.raw_decode(text, start)
        except ValueError:
            pass
        else:
            code = _code_of(payload)
            if code is not None:
                return code
        start = text.find("{", start + 1)
    match = _CODE_FALLBACK_RE.search(text)
    return _clean_code(match.group(1)) if match else None


def _parse_retry_after(text: str) -> float | None:
    """Seconds to wait, from a ``Retry-After`` hint or Binance's ``banned until <ms>``."""
    match = _RETRY_AFTER_RE.search(text)
    if match:
        return float(match.group(1))
    match = _BANNED_UNTIL_RE.search(text)
    if match:
        until = int(match.group(1))
        until_s = until / 1000.0 if until > 10**11 else float(until)
        return max(0.0, until_s - time.time())
    return None


def _scrub_in_place(exc: BaseException) -> None:
    """Redact the string arguments of ``exc`` itself, so its traceback shows no secret."""
    try:
        args = exc.args
        scrubbed = tuple(redact(a) if isinstance(a, str) else a for a in args)
        if scrubbed != args:
            exc.args = scrubbed
    except Exception:  # noqa: S110 - an exotic exception type must not break translation
        pass


def _ccxt_target(exc: BaseException, places_order: bool) -> type[RealTradeError] | None:
    """The project class for a ccxt exception (MRO walk, most specific first), else None."""
    for klass in type(exc).__mro__:
        if klass.__module__ == _CCXT_ERRORS_MODULE and klass.__name__ in CCXT_ERROR_TABLE:
            ordinary, placing = CCXT_ERROR_TABLE[klass.__name__]
            return placing if places_order else ordinary
    return None


def _venue_refinement(
    message: str, code: str | None, places_order: bool
) -> type[RealTradeError] | None:
    """The class a venue's error code (or words) implies, overriding ccxt's choice (Binance:
    endpoint-dependent; Bybit: its rate limits, see the module docstring)."""
    lowered = message.lstrip().lower()
    rules = next((r for v, r in _VENUE_CODE_RULES.items() if lowered.startswith(v)), ())
    for rule_code, fragment, ordinary, placing in rules:
        if rule_code is not None and rule_code != code:
            continue
        if fragment is None or fragment in lowered:
            return placing if places_order else ordinary
    return None


def translate_ccxt_error(
    exc: BaseException,
    *,
    places_order: bool = False,
    client_order_id: str | None = None,
    retry_after: float | None = None,
) -> RealTradeError:
    """Translate any exception (ccxt's above all) into the project's tree; THE one place.

    A ``RealTradeError`` is returned unchanged. Otherwise the class comes from
    ``CCXT_ERROR_TABLE`` (walking the exception's MRO), refined by Binance error codes and
    Bybit's rate limits, with ``TimeoutError``/``ConnectionError`` as network failures and
    anything else as ``ExchangeError``. With ``places_order=True`` every failure of unknown
    outcome becomes ``AmbiguousOutcomeError`` carrying ``client_order_id``. The message is
    redacted (and so are the original's arguments), ``exchange_code`` is parsed from JSON in the
    message, ``retry_after`` comes from the argument or a hint in the message, and the original
    becomes ``__cause__``. ccxt itself is never imported here.
    """
    if isinstance(exc, RealTradeError):
        return exc
    _scrub_in_place(exc)
    raw = str(exc)
    message = redact(raw) or type(exc).__name__
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[:_MAX_MESSAGE_CHARS] + "..."
    code = _parse_exchange_code(raw)

    target = _venue_refinement(raw, code, places_order) or _ccxt_target(exc, places_order)
    if target is None:
        if isinstance(exc, TimeoutError):
            target = RequestTimeoutError
        elif isinstance(exc, ConnectionError):
            target = NetworkError
        else:
            target = ExchangeError
        if places_order:
            target = AmbiguousOutcomeError

    error: RealTradeError
    if issubclass(target, AmbiguousOutcomeError):
        error = target(
            message,
            client_order_id=client_order_id,
            retry_after=retry_after,
            exchange_code=code,
        )
    elif issubclass(target, RetryableError):
        if retry_after is None:
            retry_after = _parse_retry_after(raw)
        error = target(message, retry_after=retry_after, exchange_code=code)
    elif issubclass(target, AuthenticationError):
        error = target(message, fix=REFUSED_KEY_FIX, exchange_code=code)
    elif issubclass(target, ConfigError):
        error = target(
            message,
            field="proxy",
            fix="give one proxy URL (http://host:port or socks5://host:port), or none",
            exchange_code=code,
        )
    else:
        error = target(message, exchange_code=code)
    error.__cause__ = exc
    return error


class _CcxtErrorTranslator:
    """Context manager and decorator behind ``ccxt_errors`` (see there)."""

    def __init__(self, places_order: bool, client_order_id: str | None) -> None:
        self.places_order = places_order
        self.client_order_id = client_order_id

    def __enter__(self) -> _CcxtErrorTranslator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        if exc is None or not isinstance(exc, Exception) or isinstance(exc, RealTradeError):
            return False
        raise translate_ccxt_error(
            exc, places_order=self.places_order, client_order_id=self.client_order_id
        ) from exc

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await func(*args, **kwargs)

            return cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return cast(F, wrapper)


def ccxt_errors(
    places_order: bool = False, client_order_id: str | None = None
) -> _CcxtErrorTranslator:
    """Re-raise exceptions escaping a block or function as translated ``RealTradeError``\\ s.

    Use as ``with ccxt_errors(): ...`` or as a decorator ``@ccxt_errors(places_order=True)`` on
    a sync or async function. ``RealTradeError`` passes through untouched, and so do
    ``BaseException``\\ s that are not ``Exception`` (cancellation, KeyboardInterrupt).
    """
    return _CcxtErrorTranslator(places_order, client_order_id)
