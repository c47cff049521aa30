"""Retry with exponential backoff and jitter, keyed on the exception tree (sync and async).

Only ``RetryableError`` is retried. For a call that places an order only errors that prove the
exchange did not act (``request_rejected``: rate limit, clock skew) are retried; everything
else, above all ``AmbiguousOutcomeError``, is raised at once so the caller looks the order up
instead of sending it twice. Exceptions are translated with ``translate_ccxt_error`` first.

The delay after failed attempt ``n`` is drawn uniformly from ``[d * (1 - jitter), d]`` with
``d = min(max_delay, base_delay * multiplier ** (n - 1))``, and is never shorter than the
``retry_after`` the venue asked for; a venue asking for more than ``max_retry_after`` seconds
makes the helper give up at once. The async helper awaits an injected async sleep, so it never
blocks the event loop; both take the sleep function and the random generator as arguments so
that tests run without waiting.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from real_trade.errors import (
    AmbiguousOutcomeError,
    ConfigError,
    RealTradeError,
    RetryableError,
    redact,
)
from real_trade.venues.ccxt_errors import translate_ccxt_error

__all__ = [
    "OnRetry",
    "RetryPolicy",
    "retry_async",
    "retry_call",
    "retrying",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

OnRetry = Callable[[int, RealTradeError, float], None]
"""Callback ``on_retry(attempt, error, delay)``, called before sleeping ahead of a retry."""

logger = logging.getLogger("real_trade.venues.retry")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: exponential backoff, capped, with jitter.

    ``max_attempts`` counts every call including the first. ``base_delay`` is the delay after
    the first failure, multiplied by ``multiplier`` after each further one and capped at
    ``max_delay``; ``jitter`` is the fraction by which a delay may be shortened at random.
    A server-requested ``retry_after`` above ``max_retry_after`` seconds is not waited for.
    Invalid values raise ``ConfigError`` naming the field.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.5
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        """Validate the fields; a bad one raises ConfigError with the field and the fix."""
        checks: tuple[tuple[str, bool, str], ...] = (
            ("max_attempts", self.max_attempts >= 1, "use an integer >= 1"),
            ("base_delay", self.base_delay >= 0, "use a number of seconds >= 0"),
            ("multiplier", self.multiplier >= 1, "use a number >= 1"),
            ("max_delay", self.max_delay >= self.base_delay, "use a value >= base_delay"),
            ("jitter", 0 <= self.jitter <= 1, "use a fraction between 0 and 1"),
            ("max_retry_after", self.max_retry_after >= 0, "use a number of seconds >= 0"),
        )
        for name, ok, fix in checks:
            # `not ok` is also true for NaN, which fails every comparison.
            if not ok:
                raise ConfigError(
                    f"invalid retry policy {name}={getattr(self, name)!r}", field=name, fix=fix
                )

    def backoff_bounds(self, attempt: int) -> tuple[float, float]:
        """The ``(low, high)`` range of the backoff delay after failed attempt ``attempt``."""
        exponent = max(0, attempt - 1)
        try:
            raw = self.base_delay * self.multiplier**exponent
        except OverflowError:
            raw = self.max_delay
        high = min(self.max_delay, raw)
        return high * (1.0 - self.jitter), high

    def delay_for(
        self,
        attempt: int,
        error: BaseException | None = None,
        rng: random.Random | None = None,
    ) -> float:
        """The seconds to wait after failed attempt ``attempt`` (1-based) before the next one.

        A jittered exponential backoff drawn with ``rng`` (the ``random`` module when None),
        never less than the error's ``retry_after`` when it has one. It does not decide whether
        to retry at all: that is ``should_retry``.
        """
        low, high = self.backoff_bounds(attempt)
        delay = (rng or random).uniform(low, high) if high > low else high
        retry_after = _retry_after(error)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def should_retry(self, attempt: int, error: BaseException, *, places_order: bool) -> bool:
        """Whether to try again after failed attempt ``attempt`` ended with ``error``.

        Yes only for a ``RetryableError`` with attempts left and a ``retry_after`` (if any) not
        above ``max_retry_after``; for an order-placing call additionally only when the error
        proves the request was rejected. ``AmbiguousOutcomeError`` is never retried.
        """
        if not isinstance(error, RetryableError) or isinstance(error, AmbiguousOutcomeError):
            return False
        if places_order and not error.request_rejected:
            return False
        if attempt >= self.max_attempts:
            return False
        retry_after = _retry_after(error)
        return retry_after is None or retry_after <= self.max_retry_after


_DEFAULT_POLICY = RetryPolicy()


def _retry_after(error: BaseException | None) -> float | None:
    """The error's ``retry_after`` in seconds, when it carries one."""
    value = getattr(error, "retry_after", None)
    return float(value) if isinstance(value, int | float) else None


def _name_of(func: Callable[..., Any]) -> str:
    """A readable name of a callable for log lines (looking through functools.partial)."""
    while isinstance(func, functools.partial):
        func = func.func
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)


def _next_delay(
    func: Callable[..., Any],
    exc: Exception,
    attempt: int,
    policy: RetryPolicy,
    places_order: bool,
    on_retry: OnRetry | None,
    rng: random.Random | None,
) -> tuple[RealTradeError, float | None]:
    """Translate ``exc`` and return it with the delay before the next attempt (None: give up)."""
    error = translate_ccxt_error(exc, places_order=places_order)
    if not policy.should_retry(attempt, error, places_order=places_order):
        return error, None
    delay = policy.delay_for(attempt, error, rng)
    logger.warning(
        "%s failed (attempt %d/%d): %s: %s; retrying in %.3f s",
        _name_of(func),
        attempt,
        policy.max_attempts,
        type(error).__name__,
        redact(str(error)),
        delay,
    )
    if on_retry is not None:
        on_retry(attempt, error, delay)
    return error, delay


def retry_call(
    func: Callable[..., T],
    *args: Any,
    policy: RetryPolicy | None = None,
    places_order: bool = False,
    on_retry: OnRetry | None = None,
    sleep: Callable[[float], object] = time.sleep,
    rng: random.Random | None = None,
    **kwargs: Any,
) -> T:
    """Call ``func(*args, **kwargs)``, retrying per ``policy``; return its result.

    The final failure is raised as a translated ``RealTradeError`` with the original as its
    cause (a ``RealTradeError`` raised by ``func`` is re-raised as is). ``on_retry(attempt,
    error, delay)`` runs before each wait; ``sleep`` and ``rng`` are injectable. Never call
    this on an event loop thread: use ``retry_async`` there.
    """
    policy = policy or _DEFAULT_POLICY
    attempt = 0
    while True:
        attempt += 1
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            error, delay = _next_delay(func, exc, attempt, policy, places_order, on_retry, rng)
            if delay is None:
                if error is exc:
                    raise
                raise error from exc
        sleep(delay)


async def retry_async(
    func: Callable[..., Awaitable[T]],
    *args: Any,
    policy: RetryPolicy | None = None,
    places_order: bool = False,
    on_retry: OnRetry | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    rng: random.Random | None = None,
    **kwargs: Any,
) -> T:
    """Await ``func(*args, **kwargs)``, retrying per ``policy``; the async twin of ``retry_call``.

    Waits with the injected async ``sleep`` (``asyncio.sleep`` by default), so the event loop
    is never blocked; cancellation propagates untouched.
    """
    policy = policy or _DEFAULT_POLICY
    attempt = 0
    while True:
        attempt += 1
        try:
            return await func(*args, **kwargs)
        except Exception as exc:
            error, delay = _next_delay(func, exc, attempt, policy, places_order, on_retry, rng)
            if delay is None:
                if error is exc:
                    raise
                raise error from exc
        await sleep(delay)


def retrying(
    policy: RetryPolicy | None = None,
    places_order: bool = False,
    on_retry: OnRetry | None = None,
) -> Callable[[F], F]:
    """Decorator: run a sync function through ``retry_call``, an async one through ``retry_async``.

    Uses the default sleeps (``time.sleep`` / ``asyncio.sleep``); call the helpers directly to
    inject others.
    """

    def decorate(func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                call = functools.partial(func, *args, **kwargs)
                return await retry_async(
                    call, policy=policy, places_order=places_order, on_retry=on_retry
                )

            return cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            call = functools.partial(func, *args, **kwargs)
            return retry_call(call, policy=policy, places_order=places_order, on_retry=on_retry)

        return cast(F, wrapper)

    return decorate
