"""The one exception tree of real_trade.

Every error the project raises is a ``RealTradeError``. The tree splits on the one question a
caller must answer first, *may I try again?*::

    RealTradeError                      .exchange_code, original exception as __cause__
    ├── RetryableError                  retryable = True, .retry_after (seconds | None)
    │   ├── NetworkError                request_rejected = False
    │   │   └── RequestTimeoutError     request_rejected = False
    │   ├── RateLimitError              request_rejected = True  (429/418, DDoS protection)
    │   ├── ClockSkewError              request_rejected = True  (outside recvWindow: resync)
    │   ├── ExchangeUnavailableError    request_rejected = False (5xx, maintenance, busy)
    │   └── AmbiguousOutcomeError       request_rejected = False, .client_order_id
    │                                   (the order MAY exist: look it up, NEVER resend)
    └── FinalError                      retryable = False, request_rejected = True
        ├── AuthenticationError
        │   └── PermissionDeniedError
        ├── InsufficientFundsError
        ├── InvalidOrderError           .reason
        │   ├── OrderNotFoundError
        │   └── DuplicateOrderError
        ├── BadSymbolError              unknown symbol / market
        ├── NotSupportedError
        ├── RiskRejectedError           .rule, .limit, .value (a risk denial)
        ├── ConfigError                 .field, .fix
        ├── ExchangeProtocolError       malformed / unexpected exchange message
        └── ExchangeError               any other final error reported by the exchange

``request_rejected`` says the exchange certainly did NOT act on the request; only those errors
may be retried for a call that places an order (see ``real_trade.venues.retry``).

ccxt exceptions are translated in one place, beside the venue client:
:mod:`real_trade.venues.ccxt_errors` (``translate_ccxt_error``, ``ccxt_errors``,
``CCXT_ERROR_TABLE``; the mapping and the decisions behind it are explained there). This module
imports nothing of the project, so every package may import it.
"""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar

__all__ = [
    "REFUSED_KEY_FIX",
    "AmbiguousOutcomeError",
    "AuthenticationError",
    "BadSymbolError",
    "ClockSkewError",
    "ConfigError",
    "DuplicateOrderError",
    "ExchangeError",
    "ExchangeProtocolError",
    "ExchangeUnavailableError",
    "FinalError",
    "InsufficientFundsError",
    "InvalidOrderError",
    "NetworkError",
    "NotSupportedError",
    "OrderNotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RealTradeError",
    "RequestTimeoutError",
    "RetryableError",
    "RiskRejectedError",
    "redact",
]


def _restore(cls: type[BaseException], args: tuple[Any, ...]) -> BaseException:
    """Rebuild an exception without calling ``__init__`` (pickle support; state follows)."""
    obj = cls.__new__(cls)
    obj.args = args
    return obj


class RealTradeError(Exception):
    """The root of every error real_trade raises.

    ``exchange_code`` is the venue's own error code as a string (e.g. ``"-2010"``) when known.
    ``retryable`` and ``request_rejected`` are class attributes: whether trying again may help,
    and whether the exchange certainly did not act on the request. Instances pickle (they may
    cross process boundaries on the message bus) with all their attributes.
    """

    retryable: ClassVar[bool] = False
    request_rejected: ClassVar[bool] = True

    def __init__(self, message: str, *, exchange_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.exchange_code = exchange_code

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as (restore without __init__, args, attribute dict)."""
        return (_restore, (type(self), self.args), self.__dict__)


class RetryableError(RealTradeError):
    """A failure that may go away if the same call is made again later.

    ``retry_after`` is the delay in seconds the venue asked for (``Retry-After``), if any; a
    negative value counts as 0 and NaN as unknown.
    """

    retryable: ClassVar[bool] = True
    request_rejected: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        exchange_code: str | None = None,
    ) -> None:
        super().__init__(message, exchange_code=exchange_code)
        if retry_after is not None:
            retry_after = None if math.isnan(retry_after) else max(0.0, float(retry_after))
        self.retry_after = retry_after


class NetworkError(RetryableError):
    """The request or its response was lost on the way; the exchange may have acted on it."""


class RequestTimeoutError(NetworkError):
    """No response arrived in time; the exchange may have acted on the request."""


class RateLimitError(RetryableError):
    """The venue refused the request for exceeding a rate limit (429/418, DDoS protection)."""

    request_rejected: ClassVar[bool] = True


class ClockSkewError(RetryableError):
    """The request's timestamp fell outside the venue's receive window (ccxt ``InvalidNonce``).

    The request was refused; resynchronise the clock offset with the server, then retry.
    """

    request_rejected: ClassVar[bool] = True


class ExchangeUnavailableError(RetryableError):
    """The venue cannot serve the request now: a 5xx, maintenance, or busy with the same order."""


class AmbiguousOutcomeError(RetryableError):
    """An order-placing call failed in a way that leaves its outcome unknown: the order may exist.

    Resolve it by looking the order up by ``client_order_id``; NEVER resend it blindly. It is
    retryable in the sense that the situation can be resolved, but no retry helper retries it.
    """

    def __init__(
        self,
        message: str,
        *,
        client_order_id: str | None = None,
        retry_after: float | None = None,
        exchange_code: str | None = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after, exchange_code=exchange_code)
        self.client_order_id = client_order_id


class FinalError(RealTradeError):
    """A failure that the same call will meet again: fix the cause instead of retrying."""


class AuthenticationError(FinalError):
    """The credentials were refused (bad key, bad signature, suspended account).

    ``fix`` lists the likely remedies when the venue refused them (see
    :data:`REFUSED_KEY_FIX`); ``str()`` of the error ends with it, so the user reading only the
    message knows what to check.
    """

    def __init__(
        self, message: str, *, fix: str | None = None, exchange_code: str | None = None
    ) -> None:
        super().__init__(message, exchange_code=exchange_code)
        self.fix = fix

    def __str__(self) -> str:
        """The message, followed by the likely fixes when known."""
        fix = getattr(self, "fix", None)
        return f"{self.message} (likely fixes: {fix})" if fix else self.message


class PermissionDeniedError(AuthenticationError):
    """The credentials are valid but lack the permission (or the account the standing) needed."""


REFUSED_KEY_FIX = (
    "use the keys of this venue and mode: testnet keys differ from live keys (a testnet key "
    "is made on the venue's testnet site, and a live key does not work on the testnet); copy "
    "the key and secret whole, without spaces; set the computer's clock right (NTP), as a "
    "signed request more than a few seconds off is refused; add this machine's IP to the "
    "key's IP allow-list if it has one; and give the key the reading and trading permissions"
)
"""The likely fixes of an API key the venue refused, added to the translated error's text."""


class InsufficientFundsError(FinalError):
    """The account's balance or margin does not cover the request."""


class InvalidOrderError(FinalError):
    """The venue refused the order as invalid; ``reason`` says why (defaults to the message)."""

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        exchange_code: str | None = None,
    ) -> None:
        super().__init__(message, exchange_code=exchange_code)
        self.reason: str = reason if reason is not None else message


class OrderNotFoundError(InvalidOrderError):
    """The venue does not know the order (Binance -2011 on cancel, -2013 on query)."""


class DuplicateOrderError(InvalidOrderError):
    """An open order with the same client order id already exists on the venue."""


class BadSymbolError(FinalError):
    """The symbol or market is unknown to the venue."""


class NotSupportedError(FinalError):
    """The venue (or its client library) does not support the requested operation."""


class RiskRejectedError(FinalError):
    """The risk engine denied an order: ``rule`` names the check, ``limit``/``value`` the numbers.

    A risk denial is normally reported as a Rejected order event with this as its reason; the
    exception exists for callers that ask the risk engine directly.
    """

    def __init__(
        self,
        message: str,
        *,
        rule: str,
        limit: Any = None,
        value: Any = None,
        exchange_code: str | None = None,
    ) -> None:
        super().__init__(message, exchange_code=exchange_code)
        self.rule = rule
        self.limit = limit
        self.value = value


class ConfigError(FinalError):
    """Bad configuration or input: ``field`` names what is wrong and ``fix`` how to correct it.

    ``str()`` of the error includes the field (unless the message already names it) and the fix,
    so a user reading only the message knows what to change.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        fix: str | None = None,
        exchange_code: str | None = None,
    ) -> None:
        super().__init__(message, exchange_code=exchange_code)
        self.field = field
        self.fix = fix

    def __str__(self) -> str:
        """The message, prefixed by the field and followed by the fix when they add something."""
        text = self.message
        if self.field and self.field not in text:
            text = f"{self.field}: {text}"
        if self.fix and self.fix not in text:
            text = f"{text} (fix: {self.fix})"
        return text


class ExchangeProtocolError(FinalError):
    """The venue sent a malformed or unexpected message (bad JSON, empty body, bad checksum)."""


class ExchangeError(FinalError):
    """Any other final error reported by the exchange or raised by its client library."""


# --------------------------------------------------------------------------------------------
# Redaction

_SENSITIVE_KEYS = (
    r"x-mbx-apikey|ok-access-(?:key|sign|passphrase)|x-bapi-(?:api-key|sign)"
    r"|api[-_]?(?:key|secret|sign)|access[-_]?(?:key|sign|passphrase)|secret[-_]?key|secret"
    r"|private[-_]?key|signature|sign|passphrase|password|listen[-_]?key"
    r"|(?:access[-_]?)?token|authorization"
)
_SECRET_RE = re.compile(
    rf"(?P<key>(?<![A-Za-z0-9_])(?:{_SENSITIVE_KEYS}))"
    r"(?P<sep>[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic)\s+)?)"
    r"(?P<value>[^\s&'\",;}\]\)<>]+)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """Return ``text`` with the values of secret-looking keys replaced by ``***``.

    Covers query strings and form bodies (``signature=...&apiKey=...``), headers and dict reprs
    (``X-MBX-APIKEY: ...``, ``'OK-ACCESS-SIGN': '...'``), JSON (``"secret": "..."``) and
    ``Authorization: Bearer ...``. Keys: api key/secret, signature/sign, secret, passphrase,
    password, listen key, token, authorization. The key names stay so the text remains readable.
    """
    if "=" not in text and ":" not in text:
        return text
    return _SECRET_RE.sub(r"\g<key>\g<sep>***", text)
