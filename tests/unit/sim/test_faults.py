"""The simulator's fault plan: arming, consuming, determinism by seed, validation."""

from __future__ import annotations

import pytest

from real_trade.sim.faults import FaultPlan


def test_request_faults_are_consumed_in_order_and_filtered_by_path() -> None:
    plan = FaultPlan()
    plan.fail_next(1, "503")
    plan.fail_next(1, "429", retry_after=7, path_prefix="/api/v3/order")
    first = plan.take_request_fault("/api/v3/time")
    assert first is not None and first.kind == "503"
    assert plan.take_request_fault("/api/v3/time") is None  # the 429 only applies to orders
    second = plan.take_request_fault("/api/v3/order")
    assert second is not None and second.kind == "429" and second.retry_after == 7
    assert plan.take_request_fault("/api/v3/order") is None
    assert plan.injected == {"request:503": 1, "request:429": 1}


def test_delays_ambiguous_and_rejections_are_one_shot() -> None:
    plan = FaultPlan()
    plan.delay_next(2, 0.25)
    plan.ambiguous_next(1, "timeout")
    plan.reject_next_orders(1, msg="nope")
    assert [plan.request_delay() for _ in range(3)] == [0.25, 0.25, 0.0]
    assert plan.take_ambiguous() == "timeout"
    assert plan.take_ambiguous() is None
    assert plan.take_order_rejection() == "nope"
    assert plan.take_order_rejection() is None


def test_depth_actions_are_deterministic_given_the_seed() -> None:
    def run(seed: int) -> list[str]:
        plan = FaultPlan(seed)
        plan.set_depth_faults(drop=0.2, duplicate=0.1, reorder=0.1)
        return [plan.depth_action() for _ in range(200)]

    a, b, c = run(7), run(7), run(8)
    assert a == b
    assert a != c
    assert {"send", "drop", "duplicate", "reorder"} <= set(a)
    assert 20 <= a.count("drop") <= 60  # ~40 expected from p=0.2 over 200 draws


def test_no_depth_faults_means_every_diff_is_sent() -> None:
    plan = FaultPlan(1)
    assert {plan.depth_action() for _ in range(100)} == {"send"}


def test_drop_connections_calls_every_registered_dropper_until_unregistered() -> None:
    plan = FaultPlan()
    closed: list[tuple[str, int]] = []
    unregister_a = plan.register_dropper(lambda code: closed.append(("a", code)))
    plan.register_dropper(lambda code: closed.append(("b", code)))
    assert plan.drop_connections(1001) == 2
    unregister_a()
    assert plan.drop_connections(1006) == 1
    assert closed == [("a", 1001), ("b", 1001), ("b", 1006)]


def test_reset_disarms_everything() -> None:
    plan = FaultPlan()
    plan.fail_next(3, "500")
    plan.delay_next(1, 1.0)
    plan.ambiguous_next(2)
    plan.set_clock_skew(5_000)
    plan.set_depth_faults(drop=1.0)
    plan.pause_user_stream()
    plan.reset()
    assert plan.take_request_fault("/x") is None
    assert plan.request_delay() == 0.0
    assert plan.take_ambiguous() is None
    assert plan.clock_skew_ms == 0
    assert plan.depth_action() == "send"
    assert plan.user_stream_paused() is False


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: p.fail_next(1, "999"), "unknown request fault"),
        (lambda p: p.fail_next(-1, "500"), "n must be"),
        (lambda p: p.ambiguous_next(1, "maybe"), "unknown ambiguous fault"),
        (lambda p: p.set_depth_faults(drop=1.5), "within"),
        (lambda p: p.set_depth_faults(drop=0.6, reorder=0.6), "must not exceed"),
        (lambda p: p.delay_next(1, -1), ">= 0"),
    ],
)
def test_bad_arguments_are_rejected_with_clear_messages(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call(FaultPlan())
