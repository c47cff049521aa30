"""Tests of the retry helper: backoff bounds, jitter, Retry-After, and what is (not) retried."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from typing import Any

import ccxt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from real_trade.errors import (
    AmbiguousOutcomeError,
    ClockSkewError,
    ConfigError,
    ExchangeUnavailableError,
    InsufficientFundsError,
    NetworkError,
    RateLimitError,
    RealTradeError,
    RequestTimeoutError,
)
from real_trade.venues.retry import RetryPolicy, retry_async, retry_call, retrying

FAST = RetryPolicy(max_attempts=4, base_delay=1.0, multiplier=2.0, max_delay=30.0, jitter=0.5)


class Flaky:
    """A callable that raises the given exceptions in turn, then returns ``result``."""

    def __init__(self, failures: list[BaseException], result: str = "ok") -> None:
        self.failures = list(failures)
        self.result = result
        self.calls = 0

    def __call__(self, *args: object, **kwargs: object) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return self.result


class AsyncFlaky(Flaky):
    """The coroutine twin of Flaky; yields to the loop once per call."""

    async def run(self) -> str:
        await asyncio.sleep(0)
        return self()


class SleepRecorder:
    """A fake sleep that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, delay: float) -> None:
        self.delays.append(delay)

    async def async_sleep(self, delay: float) -> None:
        self.delays.append(delay)


# ---------------------------------------------------------------------------- the policy


def test_backoff_bounds_grow_and_are_capped() -> None:
    policy = RetryPolicy()  # 0.5 s base, x2, cap 30 s, jitter 0.5
    expected_high = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    for attempt, high in enumerate(expected_high, start=1):
        assert policy.backoff_bounds(attempt) == pytest.approx((high * 0.5, high))
    assert policy.backoff_bounds(10_000) == (15.0, 30.0)  # no overflow for huge attempts


@settings(max_examples=150, deadline=None)
@given(
    attempt=st.integers(min_value=1, max_value=60),
    seed=st.integers(min_value=0, max_value=2**32),
    base=st.floats(min_value=0.0, max_value=5.0),
    multiplier=st.floats(min_value=1.0, max_value=4.0),
    jitter=st.floats(min_value=0.0, max_value=1.0),
)
def test_every_delay_lies_within_its_bounds(
    attempt: int, seed: int, base: float, multiplier: float, jitter: float
) -> None:
    policy = RetryPolicy(base_delay=base, multiplier=multiplier, max_delay=20.0, jitter=jitter)
    low, high = policy.backoff_bounds(attempt)
    delay = policy.delay_for(attempt, NetworkError("x"), random.Random(seed))
    assert 0.0 <= low <= delay <= high <= 20.0
    assert high == pytest.approx(min(20.0, base * multiplier ** (attempt - 1)))


def test_jitter_is_reproducible_with_a_seeded_rng() -> None:
    first = [FAST.delay_for(n, None, random.Random(7)) for n in range(1, 6)]
    again = [FAST.delay_for(n, None, random.Random(7)) for n in range(1, 6)]
    assert first == again
    rng = random.Random(1)
    draws = {FAST.delay_for(3, None, rng) for _ in range(20)}
    assert len(draws) > 1  # jitter really varies the delay
    assert all(2.0 <= d <= 4.0 for d in draws)


def test_no_jitter_gives_the_exact_backoff() -> None:
    policy = RetryPolicy(base_delay=0.5, multiplier=3.0, max_delay=10.0, jitter=0.0)
    assert [policy.delay_for(n) for n in (1, 2, 3, 4)] == [0.5, 1.5, 4.5, 10.0]


def test_delay_is_never_below_retry_after() -> None:
    error = RateLimitError("slow down", retry_after=45.0)
    for attempt in range(1, 8):
        assert FAST.delay_for(attempt, error, random.Random(attempt)) >= 45.0
    # A short retry_after does not shorten the backoff either.
    assert FAST.delay_for(5, RateLimitError("x", retry_after=0.1), random.Random(0)) >= 8.0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_attempts", 0),
        ("base_delay", -1.0),
        ("multiplier", 0.5),
        ("max_delay", 0.1),
        ("jitter", 1.5),
        ("max_retry_after", float("nan")),
    ],
)
def test_invalid_policy_names_the_field(field: str, value: float) -> None:
    with pytest.raises(ConfigError) as info:
        kwargs: dict[str, Any] = {field: value}
        RetryPolicy(**kwargs)
    assert info.value.field == field
    assert info.value.fix


def test_policy_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        FAST.max_attempts = 10  # type: ignore[misc]


@pytest.mark.parametrize(
    ("error", "places_order", "expected"),
    [
        (NetworkError("x"), False, True),
        (NetworkError("x"), True, False),
        (ExchangeUnavailableError("503"), True, False),
        (RateLimitError("429"), True, True),
        (ClockSkewError("-1021"), True, True),
        (AmbiguousOutcomeError("?"), False, False),
        (InsufficientFundsError("no"), False, False),
        (RateLimitError("429", retry_after=121.0), False, False),
        (RateLimitError("429", retry_after=120.0), False, True),
        (ValueError("not ours"), False, False),
    ],
)
def test_should_retry(error: BaseException, places_order: bool, expected: bool) -> None:
    assert RetryPolicy().should_retry(1, error, places_order=places_order) is expected


# ---------------------------------------------------------------------------- retry_call


def test_retries_until_success_and_reports_each_retry() -> None:
    func = Flaky([ccxt.NetworkError("reset"), ccxt.RequestTimeout("slow")], result="filled")
    sleep = SleepRecorder()
    seen: list[tuple[int, type[RealTradeError], float]] = []
    result = retry_call(
        func,
        policy=FAST,
        sleep=sleep,
        rng=random.Random(3),
        on_retry=lambda attempt, error, delay: seen.append((attempt, type(error), delay)),
    )
    assert result == "filled"
    assert func.calls == 3
    assert [(a, t) for a, t, _ in seen] == [(1, NetworkError), (2, RequestTimeoutError)]
    assert [d for _, _, d in seen] == sleep.delays
    assert 0.5 <= sleep.delays[0] <= 1.0
    assert 1.0 <= sleep.delays[1] <= 2.0


def test_attempts_are_counted_and_the_last_error_raised() -> None:
    failure = ccxt.ExchangeNotAvailable("binance 503 Service Unavailable")
    func = Flaky([failure] * 10)
    sleep = SleepRecorder()
    with pytest.raises(ExchangeUnavailableError) as info:
        retry_call(func, policy=FAST, sleep=sleep, rng=random.Random(0))
    assert func.calls == FAST.max_attempts
    assert len(sleep.delays) == FAST.max_attempts - 1
    assert info.value.__cause__ is failure
    for attempt, delay in enumerate(sleep.delays, start=1):
        low, high = FAST.backoff_bounds(attempt)
        assert low <= delay <= high


def test_arguments_are_passed_through() -> None:
    def add(a: int, b: int, *, scale: int) -> int:
        return (a + b) * scale

    assert retry_call(add, 1, 2, scale=3, policy=FAST, sleep=SleepRecorder()) == 9


def test_retry_after_is_honoured() -> None:
    func = Flaky([ccxt.RateLimitExceeded("binance 429 Retry-After: 42")])
    sleep = SleepRecorder()
    assert retry_call(func, policy=FAST, sleep=sleep, rng=random.Random(0)) == "ok"
    assert len(sleep.delays) == 1
    assert sleep.delays[0] >= 42.0


def test_too_long_retry_after_gives_up_at_once() -> None:
    func = Flaky([ccxt.DDoSProtection("binance 429 Retry-After: 600")])
    sleep = SleepRecorder()
    with pytest.raises(RateLimitError) as info:
        retry_call(func, policy=FAST, sleep=sleep)
    assert info.value.retry_after == 600.0
    assert func.calls == 1
    assert sleep.delays == []


def test_final_errors_are_not_retried() -> None:
    failure = ccxt.InsufficientFunds('binance {"code":-2010,"msg":"insufficient balance"}')
    func = Flaky([failure])
    sleep = SleepRecorder()
    with pytest.raises(InsufficientFundsError) as info:
        retry_call(func, policy=FAST, sleep=sleep)
    assert func.calls == 1
    assert sleep.delays == []
    assert info.value.__cause__ is failure
    assert info.value.exchange_code == "-2010"


def test_non_ccxt_bugs_are_not_retried() -> None:
    func = Flaky([KeyError("oops")])
    with pytest.raises(RealTradeError):
        retry_call(func, policy=FAST, sleep=SleepRecorder())
    assert func.calls == 1


def test_project_errors_are_reraised_as_they_are() -> None:
    own = InsufficientFundsError("no money")
    with pytest.raises(InsufficientFundsError) as info:
        retry_call(Flaky([own]), policy=FAST, sleep=SleepRecorder())
    assert info.value is own


@pytest.mark.parametrize(
    "failure",
    [
        ccxt.NetworkError("binance POST /api/v3/order connection reset"),
        ccxt.RequestTimeout("binance POST /api/v3/order timed out"),
        ccxt.ExchangeNotAvailable("binance 502 Bad Gateway"),
        ccxt.OnMaintenance("binance 503 system maintenance"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_order_placing_unknown_outcomes_surface_as_ambiguous(failure: Exception) -> None:
    func = Flaky([failure])
    sleep = SleepRecorder()
    with pytest.raises(AmbiguousOutcomeError) as info:
        retry_call(func, policy=FAST, places_order=True, sleep=sleep)
    assert func.calls == 1  # never resent
    assert sleep.delays == []
    assert info.value.__cause__ is failure


def test_order_placing_project_ambiguity_is_never_retried() -> None:
    own = AmbiguousOutcomeError("unknown", client_order_id="cid")
    func = Flaky([own])
    with pytest.raises(AmbiguousOutcomeError):
        retry_call(func, policy=FAST, places_order=True, sleep=SleepRecorder())
    with pytest.raises(AmbiguousOutcomeError):
        retry_call(Flaky([own]), policy=FAST, places_order=False, sleep=SleepRecorder())
    assert func.calls == 1


def test_order_placing_rejections_are_retried() -> None:
    func = Flaky([ccxt.RateLimitExceeded("binance 429"), ccxt.InvalidNonce("binance -1021")])
    sleep = SleepRecorder()
    assert retry_call(func, policy=FAST, places_order=True, sleep=sleep) == "ok"
    assert func.calls == 3
    assert len(sleep.delays) == 2


def test_each_retry_is_logged_at_warning_without_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "abcdef0123456789SECRET"
    func = Flaky([ccxt.NetworkError(f"binance GET /api/v3/account?signature={secret}")] * 2)
    with caplog.at_level(logging.WARNING, logger="real_trade.venues.retry"):
        retry_call(func, policy=FAST, sleep=SleepRecorder())
    records = [r for r in caplog.records if r.name == "real_trade.venues.retry"]
    assert [r.levelno for r in records] == [logging.WARNING, logging.WARNING]
    assert "attempt 1/4" in records[0].getMessage()
    assert all(secret not in r.getMessage() for r in records)


# ------------------------------------------------------------------------------ async


def test_async_retries_with_the_injected_sleep() -> None:
    func = AsyncFlaky([ccxt.NetworkError("reset"), ccxt.DDoSProtection("429 Retry-After: 9")])
    sleep = SleepRecorder()
    retries: list[int] = []

    async def main() -> str:
        return await retry_async(
            func.run,
            policy=FAST,
            sleep=sleep.async_sleep,
            rng=random.Random(5),
            on_retry=lambda attempt, error, delay: retries.append(attempt),
        )

    assert asyncio.run(main()) == "ok"
    assert func.calls == 3
    assert retries == [1, 2]
    assert 0.5 <= sleep.delays[0] <= 1.0
    assert sleep.delays[1] >= 9.0


def test_async_order_placing_is_not_resent() -> None:
    func = AsyncFlaky([ccxt.ExchangeNotAvailable("binance 504 Gateway Timeout")])
    sleep = SleepRecorder()

    async def main() -> str:
        return await retry_async(func.run, policy=FAST, places_order=True, sleep=sleep.async_sleep)

    with pytest.raises(AmbiguousOutcomeError):
        asyncio.run(main())
    assert func.calls == 1
    assert sleep.delays == []


def test_async_gives_up_after_max_attempts() -> None:
    func = AsyncFlaky([ccxt.RequestTimeout("slow")] * 10)
    sleep = SleepRecorder()

    async def main() -> str:
        return await retry_async(func.run, policy=FAST, sleep=sleep.async_sleep)

    with pytest.raises(NetworkError):
        asyncio.run(main())
    assert func.calls == FAST.max_attempts
    assert len(sleep.delays) == FAST.max_attempts - 1


def test_async_cancellation_propagates_untouched() -> None:
    func = AsyncFlaky([asyncio.CancelledError()])
    sleep = SleepRecorder()

    async def main() -> str:
        return await retry_async(func.run, policy=FAST, sleep=sleep.async_sleep)

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())
    assert func.calls == 1


# ---------------------------------------------------------------------------- decorator

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)


def test_decorator_on_a_sync_function() -> None:
    func = Flaky([ccxt.NetworkError("reset")], result="balance")

    @retrying(NO_WAIT)
    def fetch(policy: str) -> str:  # a parameter named like a helper option still works
        return f"{func()}:{policy}"

    assert fetch(policy="p") == "balance:p"
    assert func.calls == 2
    assert fetch.__name__ == "fetch"


def test_decorator_on_an_async_function() -> None:
    func = AsyncFlaky([ccxt.NetworkError("reset"), ccxt.NetworkError("reset")])

    @retrying(NO_WAIT)
    async def fetch() -> str:
        return await func.run()

    assert asyncio.run(fetch()) == "ok"
    assert func.calls == 3


def test_decorator_for_order_placing() -> None:
    func = AsyncFlaky([ccxt.RequestTimeout("binance POST /api/v3/order")])

    @retrying(NO_WAIT, places_order=True)
    async def place() -> str:
        return await func.run()

    with pytest.raises(AmbiguousOutcomeError):
        asyncio.run(place())
    assert func.calls == 1
