"""Tests for the event bus: wildcards, ordering, thread safety, isolation, modes."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import pytest

from real_trade.bus import EventBus, get_bus, topic_matches


@dataclass(frozen=True)
class Filled:
    order_id: int
    publisher: int = 0


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("order.*", "order.filled", True),
        ("order.*", "order", False),
        ("order.*", "order.fill.partial", False),
        ("order.**", "order.fill.partial", True),
        ("order.**", "order", True),
        ("**", "anything.at.all", True),
        ("*.filled", "order.filled", True),
        ("*.filled", "order.canceled", False),
        ("sim.*.BTCUSDT", "sim.trade.BTCUSDT", True),
        ("sim.*.BTCUSDT", "sim.trade.ETHUSDT", False),
        ("sim.**.BTCUSDT", "sim.a.b.BTCUSDT", True),
        ("order.filled", "order.filled", True),
        ("order.filled", "order.filledx", False),
    ],
)
def test_topic_matching(pattern: str, topic: str, expected: bool) -> None:
    assert topic_matches(pattern, topic) is expected


def test_wildcard_subscriptions_receive_matching_topics_only() -> None:
    bus = EventBus(synchronous=True)
    got: list[tuple[str, str]] = []
    bus.subscribe("order.*", lambda t, e: got.append(("orders", t)))
    bus.subscribe("**", lambda t, e: got.append(("all", t)))
    bus.subscribe("bar.closed", lambda t, e: got.append(("bars", t)))
    bus.publish("order.filled", Filled(1))
    bus.publish("order.fill.partial", Filled(2))
    bus.publish("bar.closed", object())
    assert got == [
        ("orders", "order.filled"),
        ("all", "order.filled"),
        ("all", "order.fill.partial"),
        ("all", "bar.closed"),
        ("bars", "bar.closed"),
    ]


def test_bad_pattern_is_rejected_with_a_clear_message() -> None:
    bus = EventBus(synchronous=True)
    with pytest.raises(ValueError, match="dotted segments"):
        bus.subscribe("order..x", lambda t, e: None)


def test_unsubscribe_stops_delivery_and_is_idempotent() -> None:
    bus = EventBus(synchronous=True)
    got: list[object] = []
    sub = bus.subscribe("order.*", lambda t, e: got.append(e))
    bus.publish("order.filled", Filled(1))
    sub.unsubscribe()
    sub.unsubscribe()
    bus.publish("order.filled", Filled(2))
    assert got == [Filled(1)]


@pytest.mark.parametrize("synchronous", [True, False])
def test_failing_handler_is_isolated_and_logged(
    caplog: pytest.LogCaptureFixture, synchronous: bool
) -> None:
    bus = EventBus(synchronous=synchronous)
    got: list[object] = []

    def boom(topic: str, event: object) -> None:
        raise RuntimeError("handler bug")

    bus.subscribe("order.*", boom)
    bus.subscribe("order.*", lambda t, e: got.append(e))
    with caplog.at_level(logging.ERROR, logger="real_trade.bus"):
        bus.publish("order.filled", Filled(1))  # must not raise
        bus.publish("order.filled", Filled(2))
        assert bus.flush(5)
    assert got == [Filled(1), Filled(2)]
    assert bus.stats.handler_errors == 2
    assert "handler bug" in caplog.text and "order.filled" in caplog.text
    bus.close()


def test_async_publish_returns_before_delivery_and_flush_waits() -> None:
    bus = EventBus()
    release = threading.Event()
    got: list[object] = []

    def slow(topic: str, event: object) -> None:
        release.wait(5)
        got.append(event)

    bus.subscribe("x.*", slow)
    bus.publish("x.a", 1)
    assert got == []  # the publisher was not blocked by the slow handler
    release.set()
    assert bus.flush(5)
    assert got == [1]
    bus.close()


def test_concurrent_publishers_deliver_everything_in_per_publisher_order() -> None:
    bus = EventBus()
    seen: dict[int, list[int]] = {}
    lock = threading.Lock()

    def record(topic: str, event: Filled) -> None:
        with lock:
            seen.setdefault(event.publisher, []).append(event.order_id)

    bus.subscribe("order.**", record)
    publishers, per_publisher = 8, 2_000
    start = threading.Barrier(publishers)

    def publish(pid: int) -> None:
        start.wait()
        for i in range(per_publisher):
            bus.publish(f"order.filled.p{pid}", Filled(i, pid))

    threads = [threading.Thread(target=publish, args=(p,)) for p in range(publishers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bus.flush(30)
    assert sorted(seen) == list(range(publishers))
    for pid in range(publishers):
        assert seen[pid] == list(range(per_publisher)), f"publisher {pid} out of order"
    assert bus.stats.published == publishers * per_publisher
    assert bus.stats.delivered == publishers * per_publisher
    bus.close()


def test_synchronous_mode_delivers_before_publish_returns_in_publisher_thread() -> None:
    bus = EventBus(synchronous=True)
    threads: list[str] = []
    bus.subscribe("a", lambda t, e: threads.append(threading.current_thread().name))
    bus.publish("a", None)
    assert threads == [threading.current_thread().name]


@pytest.mark.parametrize("synchronous", [True, False])
def test_handler_may_publish_while_handling(synchronous: bool) -> None:
    bus = EventBus(synchronous=synchronous)
    got: list[str] = []
    bus.subscribe("first", lambda t, e: bus.publish("second", e))
    bus.subscribe("second", lambda t, e: got.append(t))
    bus.publish("first", 1)
    assert bus.flush(5)
    assert got == ["second"]
    bus.close()


def test_closed_bus_refuses_publish_after_delivering_queue() -> None:
    bus = EventBus()
    got: list[int] = []
    bus.subscribe("n", lambda t, e: got.append(e))
    for i in range(100):
        bus.publish("n", i)
    bus.close()
    assert got == list(range(100))
    with pytest.raises(RuntimeError, match="closed"):
        bus.publish("n", 1)


def test_default_bus_is_a_singleton() -> None:
    assert get_bus() is get_bus()


@pytest.mark.parametrize("synchronous", [True, False])
def test_deferred_holds_this_threads_publications_until_the_block_ends(synchronous: bool) -> None:
    bus = EventBus(synchronous=synchronous)
    got: list[int] = []
    bus.subscribe("n", lambda t, e: got.append(e))
    other = threading.Thread(target=lambda: bus.publish("n", 99))
    with bus.deferred():
        bus.publish("n", 1)
        with bus.deferred():  # nested: the outer block publishes
            bus.publish("n", 2)
        bus.publish("n", 3)
        other.start()  # another thread is not held
        other.join(5)
        assert bus.flush(5)
        assert got == [99]
    assert bus.flush(5)
    assert got == [99, 1, 2, 3]
    bus.publish("n", 4)  # after the block: as usual
    assert bus.flush(5)
    assert got == [99, 1, 2, 3, 4]
    bus.close()


def test_deferred_holds_while_another_threads_block_ends() -> None:
    bus = EventBus(synchronous=True)
    got: list[int] = []
    bus.subscribe("n", lambda t, e: got.append(e))

    def other_block() -> None:
        with bus.deferred():
            bus.publish("n", 50)

    with bus.deferred():
        bus.publish("n", 1)
        other = threading.Thread(target=other_block)
        other.start()
        other.join(5)
        assert got == [50]  # the other block ended: it published its own
        bus.publish("n", 2)  # still held: this block has not ended
        assert got == [50]
    assert got == [50, 1, 2]
    bus.publish("n", 3)
    assert got == [50, 1, 2, 3]


def test_deferred_publishes_what_it_held_when_the_block_raises() -> None:
    bus = EventBus(synchronous=True)
    got: list[int] = []
    bus.subscribe("n", lambda t, e: got.append(e))
    with pytest.raises(ValueError, match="boom"), bus.deferred():
        bus.publish("n", 1)
        raise ValueError("boom")
    assert got == [1]


def test_subscribed_and_has_subscribers_follow_the_subscriptions() -> None:
    bus = EventBus(synchronous=True)
    assert not bus.subscribed and not bus.has_subscribers("order.submitted")
    sub = bus.subscribe("order.*", lambda _topic, _event: None)
    assert bus.subscribed and bus.has_subscribers("order.submitted")
    assert not bus.has_subscribers("fill")
    sub.unsubscribe()
    assert not bus.subscribed and not bus.has_subscribers("order.submitted")
