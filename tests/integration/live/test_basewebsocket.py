"""BaseWebSocket and the venue websockets over loopback: the simulator and a tiny local server.

The simulator (stepped clock) serves Binance market streams end to end; a local aiohttp server
started by each test plays the misbehaving exchange: garbage frames, instant disconnects,
silence, text pings. Backoff is observed through an injected sleep that records the delays.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from real_trade.errors import ExchangeProtocolError
from real_trade.feeds.bars import Bar, BarStream, StateChange
from real_trade.feeds.basewebsocket import BaseWebSocket, DisconnectInfo, KlineUpdate
from real_trade.feeds.binance_klines import BinanceKlineSource
from real_trade.feeds.binancews import BinanceWebSocket
from real_trade.feeds.bybitws import BybitWebSocket
from real_trade.feeds.okxws import OKXWebSocket
from real_trade.sim import SimExchange
from tests.support import eventually

pytestmark = pytest.mark.integration

Handler = Callable[[web.WebSocketResponse, "LocalServer"], Awaitable[None]]


class LocalServer:
    """An aiohttp websocket server on loopback in its own thread; ``handler`` serves each
    connection. ``received`` holds every text frame clients sent; ``connections`` counts them."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.received: list[str] = []
        self.connections = 0
        self.sockets: set[web.WebSocketResponse] = set()
        self.loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        self.sockets.add(ws)
        try:
            await self.handler(ws, self)
        finally:
            self.sockets.discard(ws)
        return ws

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._serve)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def __enter__(self) -> LocalServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    async def _stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


async def read_into(ws: web.WebSocketResponse, server: LocalServer) -> None:
    """Record the client's text frames until it goes away."""
    async for msg in ws:
        if msg.type is WSMsgType.TEXT:
            server.received.append(msg.data)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RecordingSleep:
    """An async sleep that records the delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


def record(ws: BaseWebSocket, *events: str) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []
    for event in events:
        ws.on(event, lambda data, event=event: seen.append((event, data)))
    return seen


def kline_frame(open_ms: int, close: float, closed: bool) -> str:
    k = {
        "t": open_ms,
        "T": open_ms + 59_999,
        "s": "BTCUSDT",
        "i": "1m",
        "o": "1",
        "h": "9",
        "l": "0.5",
        "c": str(close),
        "v": "3",
        "x": closed,
    }
    return json.dumps({"e": "kline", "E": open_ms + 1, "s": "BTCUSDT", "k": k})


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    with SimExchange(stepped=True, seed=3) as exchange:
        yield exchange


# -- against the simulator --------------------------------------------------------------------
def test_binance_klines_end_to_end_on_the_simulator(sim: SimExchange) -> None:
    ws = BinanceWebSocket(sim_url=sim.url)
    seen = record(ws, "connected", "subscribed", "kline", "trade")
    ws.start([ws.kline_stream("BTC/USDT", "1m"), ws.trade_stream("BTC/USDT")])
    try:
        eventually(lambda: any(e == "kline" for e, _ in seen), 10, message="first kline")
        sim.advance(60)
        closed = eventually(lambda: [k for e, k in seen if e == "kline" and k.closed], 10)
        assert [e for e, _ in seen][:2] == ["connected", "subscribed"]
        bar = closed[0]
        assert isinstance(bar, KlineUpdate) and bar.symbol == "BTCUSDT"
        (rest,) = sim.core.klines("BTCUSDT", "1m", start_ms=bar.open_ms, limit=1)
        assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == pytest.approx(
            (
                float(rest.open),
                float(rest.high),
                float(rest.low),
                float(rest.close),
                float(rest.volume),
            )
        )
        assert any(e == "trade" for e, _ in seen) and ws.stats["malformed"] == 0
    finally:
        ws.stop()
    assert not ws.is_running and not ws.is_connected


def test_reconnects_and_resubscribes_after_the_venue_drops_the_connection(
    sim: SimExchange,
) -> None:
    ws = BinanceWebSocket(sim_url=sim.url, reconnect_delay=0.05, reconnect_jitter=0)
    seen = record(ws, "connected", "disconnected", "kline")
    ws.start([ws.kline_stream("BTCUSDT", "1m")])
    try:
        eventually(lambda: any(e == "kline" for e, _ in seen), 10)
        sim.faults.drop_connections(1006)
        eventually(
            lambda: (
                [e for e, _ in seen if e != "kline"] == ["connected", "disconnected", "connected"]
            ),
            10,
        )
        info = next(d for e, d in seen if e == "disconnected")
        assert isinstance(info, DisconnectInfo) and info.will_reconnect
        reconnected = len(seen)  # the new connection carries the subscription again: data flows
        eventually(lambda: any(e == "kline" for e, _ in seen[reconnected:]), 10)
        sim.advance(60)
        eventually(lambda: any(e == "kline" and d.closed for e, d in seen[reconnected:]), 10)
        assert ws.stats["connects"] == 2 and ws.stats["reconnect_attempts"] == 1
    finally:
        ws.stop()


def test_kline_source_emits_each_closed_bar_once_in_order_across_a_reconnect(
    sim: SimExchange,
) -> None:
    bars: list[Bar] = []
    states: list[str] = []
    updates_at_state: list[int] = []

    def on_state(state: str) -> None:
        states.append(state)
        updates_at_state.append(len(bars))

    source = BinanceKlineSource("BTC/USDT", "1m", sim_url=sim.url, reconnect_delay=0.05)
    source.start(bars.append, on_state)
    try:
        eventually(lambda: bars, 10, message="first bar update")
        for _ in range(2):
            sim.advance(60)
        eventually(lambda: source.emitted_closed >= 2, 10)
        sim.faults.drop_connections(1006)
        eventually(lambda: states == ["connected", "disconnected", "connected"], 10)
        eventually(lambda: len(bars) > updates_at_state[-1], 10, message="data after reconnect")
        for _ in range(2):
            sim.advance(60)
        eventually(lambda: source.emitted_closed >= 4, 10)
    finally:
        source.stop()
    closed = [b.open_ms for b in bars if b.closed]
    assert closed == sorted(set(closed)) and len(closed) == 4
    assert all(later - earlier == 60_000 for earlier, later in itertools.pairwise(closed))
    rest = sim.core.klines("BTCUSDT", "1m", start_ms=closed[0], limit=4)
    assert [b.close for b in bars if b.closed] == pytest.approx([float(k.close) for k in rest])
    for index, bar in enumerate(bars):  # no update of a bar after it was final
        final_before = [b.open_ms for b in bars[:index] if b.closed]
        assert not final_before or bar.open_ms > final_before[-1]


def test_bar_stream_over_the_kline_source_fills_a_gap_left_by_a_disconnect(
    sim: SimExchange,
) -> None:
    def history(since_ms: int | None, until_ms: int | None) -> list[Bar]:
        rows = sim.core.klines("BTCUSDT", "1m", start_ms=since_ms, end_ms=until_ms, limit=1000)
        return [
            Bar(
                k.open_ms,
                float(k.open),
                float(k.high),
                float(k.low),
                float(k.close),
                float(k.volume),
            )
            for k in rows
            if k.is_closed
        ]

    source = BinanceKlineSource("BTCUSDT", "1m", sim_url=sim.url, reconnect_delay=0.5)
    stream = BarStream(history, source, "1m", backfill_start=False)
    items: list[Bar | StateChange] = []

    def read_until(condition: Callable[[], bool]) -> None:
        def poll() -> bool:
            item = stream.next_item(0.05)
            if item is not None:
                items.append(item)
            return condition()

        eventually(poll, 15)

    stream.start()
    try:
        read_until(lambda: source.emitted_closed == 0 and source.websocket.stats["messages"] > 1)
        sim.advance(60)
        read_until(lambda: any(isinstance(i, Bar) for i in items))
        sim.faults.drop_connections(1006)
        sim.advance(180)  # three bars close while the client waits to reconnect
        read_until(lambda: sum(isinstance(i, Bar) for i in items) >= 4)
        sim.advance(60)
        read_until(lambda: sum(isinstance(i, Bar) for i in items) >= 5)
    finally:
        stream.stop()
    bars = [i.open_ms for i in items if isinstance(i, Bar)]
    assert bars == [bars[0] + n * 60_000 for n in range(len(bars))]  # every bar once, in order
    states = [i.state.value for i in items if isinstance(i, StateChange)]
    assert states[states.index("CONNBROKEN") :] == ["CONNBROKEN", "DELAYED", "LIVE"]


# -- against a local server -------------------------------------------------------------------
def test_kline_source_drops_duplicate_and_late_updates() -> None:
    async def handler(ws: web.WebSocketResponse, server: LocalServer) -> None:
        await ws.receive()  # the SUBSCRIBE
        for frame in (
            kline_frame(0, 1.0, False),
            kline_frame(0, 2.0, True),
            kline_frame(0, 2.0, True),
            kline_frame(60_000, 3.0, False),
            kline_frame(0, 5.0, False),
            kline_frame(60_000, 4.0, True),
            kline_frame(120_000, 6.0, False),
        ):
            await ws.send_str(frame)
        await read_into(ws, server)

    with LocalServer(handler) as server:
        bars: list[Bar] = []
        source = BinanceKlineSource(
            "BTCUSDT", "1m", websocket=BinanceWebSocket(base_url=server.url)
        )
        source.start(bars.append, lambda _state: None)
        try:
            eventually(lambda: len(bars) >= 5, 10)
        finally:
            source.stop()
    assert [(b.open_ms, b.close, b.closed) for b in bars] == [
        (0, 1.0, False),
        (0, 2.0, True),
        (60_000, 3.0, False),
        (60_000, 4.0, True),
        (120_000, 6.0, False),
    ]


def test_malformed_frames_are_counted_and_skipped_not_fatal() -> None:
    async def handler(ws: web.WebSocketResponse, server: LocalServer) -> None:
        await ws.receive()
        for frame in (
            "{oops",
            "[1, 2",
            '{"e": "kline", "k": {"t": "soon"}}',
            "null",
            kline_frame(0, 7.5, True),
        ):
            await ws.send_str(frame)
        await ws.send_bytes(b"\x00\x01")
        await ws.send_str(kline_frame(60_000, 8.5, False))
        await read_into(ws, server)

    with LocalServer(handler) as server:
        ws = BinanceWebSocket(base_url=server.url)
        seen = record(ws, "kline", "error", "disconnected")
        ws.start(["btcusdt@kline_1m"])
        try:
            eventually(lambda: sum(e == "kline" for e, _ in seen) == 2, 10)
        finally:
            ws.stop()
    assert ws.stats["malformed"] == 5 and ws.stats["connects"] == 1
    errors = [d for e, d in seen if e == "error"]
    assert len(errors) == 5 and all(isinstance(d, ExchangeProtocolError) for d in errors)
    assert [d.close for e, d in seen if e == "kline"] == [7.5, 8.5]


def test_max_reconnect_against_a_closed_port_with_growing_delays() -> None:
    sleep = RecordingSleep()
    ws = BinanceWebSocket(
        base_url=f"ws://127.0.0.1:{closed_port()}",
        reconnect_delay=0.5,
        max_reconnect_attempts=3,
        reconnect_jitter=0,
        sleep=sleep,
    )
    seen = record(ws, "error", "max_reconnect", "connected")
    ws.start(["btcusdt@trade"])
    eventually(lambda: not ws.is_running, 10, message="gave up")
    ws.stop()
    assert sleep.delays == [0.5, 1.0, 2.0]
    assert [d for e, d in seen if e == "max_reconnect"] == [3]
    assert sum(e == "error" for e, _ in seen) == 4  # the first try and three reconnects
    assert ws.stats["connects"] == 0 and ws.stats["reconnect_attempts"] == 3


def test_backoff_is_capped_jittered_and_reset_by_a_stable_connection() -> None:
    async def hang_up(ws: web.WebSocketResponse, server: LocalServer) -> None:
        await ws.close()

    with LocalServer(hang_up) as server:
        sleep = RecordingSleep()
        flapping = BinanceWebSocket(
            base_url=server.url,
            reconnect_delay=1,
            max_reconnect_delay=4,
            max_reconnect_attempts=5,
            reconnect_jitter=0.5,
            rng=random.Random(7),
            sleep=sleep,
        )
        flapping.start(["btcusdt@trade"])
        eventually(lambda: not flapping.is_running, 10)
        flapping.stop()
        highs = [1, 2, 4, 4, 4]
        assert len(sleep.delays) == 5
        assert all(high / 2 <= d <= high for d, high in zip(sleep.delays, highs, strict=True))
        assert server.connections == 6 and flapping.stats["disconnects"] == 6

        stable = RecordingSleep()
        steady = BinanceWebSocket(
            base_url=server.url,
            reconnect_delay=1,
            reconnect_jitter=0,
            max_reconnect_attempts=2,
            stable_after=0,
            sleep=stable,
        )
        steady.start(["btcusdt@trade"])
        eventually(lambda: len(stable.delays) >= 4, 10)
        steady.stop()
        assert set(stable.delays) == {1}  # each connection counted as stable: no growth


def test_proactive_reconnect_before_the_maximum_connection_age() -> None:
    with LocalServer(read_into) as server:
        sleep = RecordingSleep()
        ws = BinanceWebSocket(base_url=server.url, max_connection_age=0.2, sleep=sleep)
        seen = record(ws, "connected", "disconnected")
        ws.start(["btcusdt@trade"])
        try:
            eventually(lambda: sum(e == "connected" for e, _ in seen) >= 3, 10)
        finally:
            ws.stop()
        info = next(d for e, d in seen if e == "disconnected")
        assert info.will_reconnect and "age" in info.reason and sleep.delays == []
        subscribes = [json.loads(t) for t in server.received]
        assert len(subscribes) >= 3 and all(s["params"] == ["btcusdt@trade"] for s in subscribes)


def test_okx_text_heartbeat_and_stale_connection_detection() -> None:
    async def two_pongs_then_silence(ws: web.WebSocketResponse, server: LocalServer) -> None:
        pongs = 0
        async for msg in ws:
            server.received.append(msg.data)
            if msg.data == "ping" and pongs < 2:
                pongs += 1
                await ws.send_str("pong")

    with LocalServer(two_pongs_then_silence) as server:
        # idle limit 2 x 0.5 s: a pong a loaded machine delivers 0.1 s late still counts
        ws = OKXWebSocket(base_url=server.url, ping_interval=0.5, reconnect_delay=0.01)
        seen = record(ws, "connected", "disconnected")
        ws.start([ws.trades_channel("BTC-USDT")])
        try:  # answered pings keep a connection; unanswered ones get it replaced
            eventually(lambda: sum(e == "connected" for e, _ in seen) >= 2, 10)
        finally:
            ws.stop()
        first = next(d for e, d in seen if e == "disconnected")
        assert "stale" in first.reason and first.will_reconnect
        # a third ping means the first connection outlived one idle limit thanks to the pongs
        assert server.received.count("ping") >= 3 and ws.stats["malformed"] == 0
        subscribe = json.loads(server.received[0])
        assert subscribe == {
            "op": "subscribe",
            "args": [{"channel": "trades", "instId": "BTC-USDT"}],
        }


def test_bybit_subscribes_answers_and_parses_on_a_local_server() -> None:
    trade = {
        "topic": "publicTrade.BTCUSDT",
        "type": "snapshot",
        "ts": 1672304486868,
        "data": [
            {
                "T": 1672304486865,
                "s": "BTCUSDT",
                "S": "Sell",
                "v": "0.001",
                "p": "16578.50",
                "i": "t-1",
                "BT": False,
            }
        ],
    }

    async def handler(ws: web.WebSocketResponse, server: LocalServer) -> None:
        async for msg in ws:
            server.received.append(msg.data)
            request = json.loads(msg.data)
            if request["op"] == "subscribe":
                await ws.send_json(
                    {
                        "success": True,
                        "ret_msg": "subscribe",
                        "op": "subscribe",
                        "req_id": request["req_id"],
                        "conn_id": "c",
                    }
                )
                await ws.send_json(trade)
            elif request["op"] == "ping":
                await ws.send_json({"success": True, "ret_msg": "pong", "op": "ping"})

    with LocalServer(handler) as server:
        # idle cut 2 x 0.5 s (not 0.1 s: a loaded machine's stall reconnected it)
        ws = BybitWebSocket(base_url=server.url, ping_interval=0.5)
        seen = record(ws, "subscribed", "trade")
        ws.start([ws.trade_topic("BTC/USDT")])
        try:
            eventually(lambda: len(seen) == 2 and ws.stats["heartbeats"] >= 2, 10)
        finally:
            ws.stop()
    assert seen[0] == ("subscribed", "1") and seen[1][1].side == "sell"
    assert json.loads(server.received[0])["args"] == ["publicTrade.BTCUSDT"]


def test_runs_on_a_given_loop_and_stops_cleanly_from_another_thread() -> None:
    async def push(ws: web.WebSocketResponse, server: LocalServer) -> None:
        await ws.receive()
        await ws.send_str(kline_frame(0, 1.0, False))
        await read_into(ws, server)

    io_loop = asyncio.new_event_loop()
    io_thread = threading.Thread(target=io_loop.run_forever, daemon=True)
    io_thread.start()
    try:
        with LocalServer(push) as server:
            ws = BinanceWebSocket(base_url=server.url)
            klines = record(ws, "kline")
            ws.start(["btcusdt@kline_1m"], loop=io_loop)
            try:
                eventually(lambda: klines, 10)
                assert ws.send({"method": "LIST_SUBSCRIPTIONS", "id": 9})
                eventually(lambda: server.received, 10)
            finally:
                ws.stop()
            assert json.loads(server.received[0]) == {"method": "LIST_SUBSCRIPTIONS", "id": 9}
            assert not ws.is_running and not ws.send("late")

            async def leftovers() -> set[asyncio.Task[Any]]:
                return asyncio.all_tasks() - {asyncio.current_task()}

            assert asyncio.run_coroutine_threadsafe(leftovers(), io_loop).result(5) == set()
    finally:
        io_loop.call_soon_threadsafe(io_loop.stop)
        io_thread.join(5)
        io_loop.close()


def test_stop_interrupts_a_connection_attempt_that_hangs() -> None:
    with socket.socket() as silent:  # accepts TCP connections, never answers the handshake
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        ws = BinanceWebSocket(base_url=f"ws://127.0.0.1:{port}", connect_timeout=120)
        errors = record(ws, "error", "connected")
        ws.start(["btcusdt@trade"])
        silent.settimeout(10)
        pending, _ = silent.accept()  # the client now waits for its handshake answer
        with pending:
            assert ws.is_running and not ws.is_connected
            ws.stop(timeout=5)
            assert not ws.is_running and errors == []
