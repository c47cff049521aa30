"""The shared pieces of the one stream stack: reconnect backoff, the I/O loop owner, events on
the bus, and the native bar source named by the venue table."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import socket
import threading
from typing import Any

import pytest

from real_trade.bus import EventBus
from real_trade.errors import ConfigError
from real_trade.feeds.basedata import native_source_factory
from real_trade.feeds.binance_klines import binance_kline_source
from real_trade.feeds.binancews import BinanceWebSocket
from real_trade.venues.ioloop import IoLoop
from real_trade.venues.reconnect import ReconnectBackoff
from real_trade.venues.spec import BINANCE, BYBIT, OKX
from tests.support import eventually


# -- ReconnectBackoff -------------------------------------------------------------------------
def test_backoff_doubles_caps_and_gives_up_after_max_failures() -> None:
    backoff = ReconnectBackoff(base_delay=0.5, max_delay=3.0, jitter=0, max_failures=4)
    delays = []
    while backoff.failed():
        delays.append(backoff.delay())
    assert delays == [0.5, 1.0, 2.0, 3.0] and backoff.failures == 5
    backoff.succeeded()
    assert backoff.failed() and backoff.delay() == 0.5


def test_backoff_without_a_limit_never_gives_up_and_jitters_within_bounds() -> None:
    backoff = ReconnectBackoff(base_delay=1, max_delay=8, jitter=0.5, rng=random.Random(3))
    for failures in range(1, 50):
        assert backoff.failed()
        high = min(8, 2 ** (failures - 1))
        assert high / 2 <= backoff.delay() <= high


def test_backoff_settings_are_validated_naming_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        ReconnectBackoff(base_delay=2, max_delay=1)
    assert info.value.field == "max_delay"
    with pytest.raises(ConfigError) as info:
        ReconnectBackoff(base_delay=1, max_delay=2, jitter=2)
    assert info.value.field == "jitter"


def test_backoff_wait_uses_the_injected_sleep_and_a_stop_event_cuts_it_short() -> None:
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    async def forever(_seconds: float) -> None:
        await asyncio.Event().wait()

    async def scenario() -> None:
        quick = ReconnectBackoff(base_delay=0.25, max_delay=1, jitter=0, sleep=record)
        quick.failed()
        await quick.wait()
        stop = asyncio.Event()
        stuck = ReconnectBackoff(base_delay=5, max_delay=5, sleep=forever)
        stuck.failed()
        waiting = asyncio.ensure_future(stuck.wait(stop))
        await asyncio.sleep(0)
        assert not waiting.done()
        stop.set()
        await asyncio.wait_for(waiting, 5)

    asyncio.run(scenario())
    assert slept == [0.25]


# -- IoLoop -----------------------------------------------------------------------------------
def test_io_loop_runs_coroutines_on_its_thread_and_stops_idempotently() -> None:
    io = IoLoop("rt-test-io")
    loop = io.start()
    assert io.start() is loop and io.is_running

    async def where() -> str:
        return threading.current_thread().name

    assert asyncio.run_coroutine_threadsafe(where(), loop).result(5) == "rt-test-io"
    io.stop(5)
    io.stop(5)
    assert not io.is_running and loop.is_closed() and io.loop is None


def test_io_loop_stopped_from_its_own_thread_ends_and_closes_itself() -> None:
    io = IoLoop("rt-test-io-self")
    loop = io.start()
    thread = io.thread
    assert thread is not None

    def on_loop() -> None:
        with pytest.raises(RuntimeError):
            io.stop()
        io.stop_soon()

    loop.call_soon_threadsafe(on_loop)
    thread.join(5)
    assert not thread.is_alive() and loop.is_closed()
    io.stop(5)  # still harmless


# -- events through the bus -------------------------------------------------------------------
def test_on_subscribes_to_a_bus_topic_and_emit_publishes_there() -> None:
    bus = EventBus(synchronous=True)
    ws = BinanceWebSocket(bus=bus)
    seen: list[tuple[str, Any]] = []
    bus.subscribe("ws.**", lambda topic, data: seen.append((topic, data)))
    got: list[Any] = []
    ws.on("kline", got.append)
    ws.emit("kline", 1)
    ws.off("kline", got.append)
    ws.off("kline", got.append)  # an unknown pair is ignored
    ws.emit("kline", 2)
    assert got == [1] and seen == [(ws.topic("kline"), 1), (ws.topic("kline"), 2)]
    assert ws.topic("kline").startswith("ws.binancewebsocket-")
    assert BinanceWebSocket().topic("kline") != ws.topic("kline")  # one topic per client


def test_a_failing_callback_is_counted_and_stops_neither_the_others_nor_the_emitter() -> None:
    ws = BinanceWebSocket()
    got: list[Any] = []

    def broken(_data: Any) -> None:
        raise ValueError("boom")

    ws.on("trade", broken)
    ws.on("trade", got.append)
    ws.emit("trade", "t")
    assert got == ["t"] and ws.stats["callback_errors"] == 1
    assert ws.bus.synchronous  # by default the callbacks run in the emitting (I/O) thread


# -- the native bar source comes from the venue table -----------------------------------------
def test_the_venue_table_names_the_native_bar_source() -> None:
    assert native_source_factory(BINANCE) is binance_kline_source
    for venue in (BYBIT, OKX):
        assert venue.native_kline_stream is None
        assert native_source_factory(venue)(object(), "BTC/USDT", "1m") is None


def test_a_venue_naming_another_factory_gets_it() -> None:
    venue = dataclasses.replace(
        BYBIT, native_kline_stream="tests.unit.test_stream_stack:fake_source"
    )
    assert native_source_factory(venue)(None, "BTC/USDT", "1m") == ("BTC/USDT", "1m")


def fake_source(_client: Any, symbol: str, timeframe: str) -> Any:
    """A stand-in native source factory for the venue-table test."""
    return (symbol, timeframe)


# -- a websocket without a store runs on an IoLoop of its own ---------------------------------
def test_a_standalone_websocket_runs_on_its_own_io_loop_and_leaves_no_thread() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def no_wait(_seconds: float) -> None:
        return None

    ws = BinanceWebSocket(
        base_url=f"ws://127.0.0.1:{port}", max_reconnect_attempts=1, sleep=no_wait
    )
    gave_up: list[int] = []
    threads: list[str] = []
    ws.on("max_reconnect", gave_up.append)
    ws.on("error", lambda _error: threads.append(threading.current_thread().name))
    ws.start(["btcusdt@trade"])
    eventually(lambda: not ws.is_running, 10, message="gave up")
    ws.stop()
    assert gave_up == [1] and set(threads) == {"BinanceWebSocket-io"}
    assert not any(t.name == "BinanceWebSocket-io" for t in threading.enumerate())
