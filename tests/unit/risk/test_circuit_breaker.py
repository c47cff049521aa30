"""CircuitBreaker transitions on an injected clock: closed -> open -> half-open -> closed/open."""

from __future__ import annotations

import pytest

from real_trade.risk import BreakerState, CircuitBreaker


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_opens_after_max_failures_in_a_row(clock: FakeClock) -> None:
    breaker = CircuitBreaker(max_failures=3, reset_timeout=10, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.get_state() is BreakerState.CLOSED
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.get_state() is BreakerState.OPEN
    assert not breaker.allow()
    assert "3 consecutive failures" in breaker.last_reason


def test_a_success_resets_the_consecutive_count(clock: FakeClock) -> None:
    breaker = CircuitBreaker(max_failures=2, reset_timeout=10, clock=clock)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.get_state() is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.get_state() is BreakerState.OPEN


def test_open_becomes_half_open_exactly_at_the_timeout(clock: FakeClock) -> None:
    breaker = CircuitBreaker(max_failures=1, reset_timeout=10, clock=clock)
    breaker.record_failure()
    clock.now += 9.999
    assert breaker.get_state() is BreakerState.OPEN
    assert breaker.retry_in() == pytest.approx(0.001)
    clock.now += 0.001
    assert breaker.get_state() is BreakerState.HALF_OPEN


def test_half_open_probe_success_closes(clock: FakeClock) -> None:
    breaker = CircuitBreaker(max_failures=1, reset_timeout=5, clock=clock)
    breaker.trip("venue down")
    clock.now += 5
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # only one probe in flight
    breaker.record_success()
    assert breaker.get_state() is BreakerState.CLOSED
    assert breaker.allow() and breaker.allow()


def test_half_open_probe_failure_reopens_for_a_new_timeout(clock: FakeClock) -> None:
    breaker = CircuitBreaker(max_failures=1, reset_timeout=5, clock=clock)
    breaker.record_failure()
    clock.now += 5
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.get_state() is BreakerState.OPEN
    assert "probe failed" in breaker.last_reason
    clock.now += 4
    assert breaker.get_state() is BreakerState.OPEN
    clock.now += 1
    assert breaker.get_state() is BreakerState.HALF_OPEN


def test_half_open_allows_the_configured_number_of_probes(clock: FakeClock) -> None:
    breaker = CircuitBreaker(max_failures=1, reset_timeout=1, half_open_max_calls=2, clock=clock)
    breaker.trip()
    clock.now += 1
    assert [breaker.allow() for _ in range(3)] == [True, True, False]


def test_trip_and_reset(clock: FakeClock) -> None:
    breaker = CircuitBreaker(max_failures=5, reset_timeout=60, clock=clock)
    breaker.trip("operator")
    assert breaker.get_state() is BreakerState.OPEN
    assert breaker.last_reason == "operator"
    breaker.record_success()  # an outcome arriving while open does not close it
    assert breaker.get_state() is BreakerState.OPEN
    breaker.reset()
    assert breaker.get_state() is BreakerState.CLOSED
    assert breaker.failures == 0
    assert breaker.allow()


@pytest.mark.parametrize(
    "kwargs",
    [{"max_failures": 0}, {"reset_timeout": -1}, {"half_open_max_calls": 0}],
)
def test_rejects_bad_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(**kwargs)  # type: ignore[arg-type]


def test_is_tripped_while_open_only(clock: FakeClock) -> None:
    """The seed's ``is_tripped()``: true exactly while the breaker refuses every call."""
    breaker = CircuitBreaker(max_failures=2, reset_timeout=10, clock=clock)
    assert not breaker.is_tripped()
    breaker.record_failure()
    assert not breaker.is_tripped()
    breaker.record_failure()
    assert breaker.is_tripped()
    clock.now += 10  # half-open: probing, no longer tripped
    assert not breaker.is_tripped()
    assert breaker.allow()
    breaker.record_failure("probe failed")
    assert breaker.is_tripped()
    breaker.reset()
    assert not breaker.is_tripped()
    breaker.trip("operator")
    assert breaker.is_tripped()
