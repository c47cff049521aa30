"""Binance market streams of the simulator, spoken to with a raw aiohttp websocket client.

Covers the control protocol (SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY /
GET_PROPERTY and Binance's error replies), raw vs combined payloads, kline bars closing with
``x=true``, server pings and the pong timeout, the lifetime limit and ``drop_connections``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import WSMsgType, web

from real_trade.bus import EventBus
from real_trade.sim.binance.app import create_app
from real_trade.sim.binance.ws_market import settings_of
from real_trade.sim.clock import SimClock
from real_trade.sim.core import ExchangeCore
from real_trade.sim.faults import FaultPlan
from real_trade.sim.market_synthetic import SyntheticMarket
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.server import SimExchange
from tests.support import eventually_async

pytestmark = pytest.mark.integration
T = TypeVar("T")


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator shared by the tests of this module."""
    with SimExchange(stepped=True, seed=7) as exchange:
        yield exchange


@pytest.fixture(autouse=True)
def _reset_faults(sim: SimExchange) -> Iterator[None]:
    yield
    sim.faults.reset()


def run(fn: Callable[[], Awaitable[T]], timeout: float = 20.0) -> T:
    """Run an async test body with a hard timeout."""

    async def bounded() -> T:
        return await asyncio.wait_for(fn(), timeout)

    return asyncio.run(bounded())


async def advance(sim: SimExchange, seconds: float) -> None:
    await asyncio.to_thread(sim.advance, seconds)


async def recv_json(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> Any:
    msg = await ws.receive(timeout=timeout)
    assert msg.type is WSMsgType.TEXT, f"expected a text frame, got {msg.type} {msg.data!r}"
    return json.loads(msg.data)


async def request(ws: aiohttp.ClientWebSocketResponse, payload: Any) -> tuple[Any, list[Any]]:
    """Send a control message; return its reply and the stream events received before it."""
    await ws.send_str(payload if isinstance(payload, str) else json.dumps(payload))
    before: list[Any] = []

    async def reply() -> Any:
        msg = await recv_json(ws)
        if isinstance(msg, dict) and ("result" in msg or "error" in msg):
            return msg
        before.append(msg)
        return None

    answer = await eventually_async(reply, 10, interval=0, message=f"the reply to {payload!r}")
    return answer, before


async def until(
    ws: aiohttp.ClientWebSocketResponse,
    cond: Callable[[Any], bool],
    sim: SimExchange | None = None,
    step: float = 1.0,
) -> Any:
    """Read frames until one satisfies ``cond`` and return it. With ``sim``, the market moves
    ``step`` s whenever no frame came for 0.2 s (a stepped market stands still otherwise; the
    pause decides only when to move it, never what the test sees)."""

    async def matching() -> Any:
        try:
            msg = await recv_json(ws, timeout=0.2 if sim is not None else 5.0)
        except TimeoutError:
            if sim is None:
                raise
            await advance(sim, step)
            return None
        return msg if cond(msg) else None

    return await eventually_async(matching, 15, interval=0, message="a frame matching cond")


def test_subscribe_list_unsubscribe(sim: SimExchange) -> None:
    async def body() -> None:
        async with aiohttp.ClientSession() as http, http.ws_connect(sim.ws_url + "/ws") as ws:
            streams = ["btcusdt@trade", "btcusdt@aggTrade"]
            reply, _ = await request(ws, {"method": "SUBSCRIBE", "params": streams, "id": 1})
            assert reply == {"result": None, "id": 1}
            reply, _ = await request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 2})
            assert reply == {"result": ["btcusdt@trade", "btcusdt@aggTrade"], "id": 2}

            trade = await until(ws, lambda m: m.get("e") == "trade", sim)
            assert trade["s"] == "BTCUSDT"
            assert isinstance(trade["p"], str) and isinstance(trade["q"], str)
            assert isinstance(trade["t"], int) and isinstance(trade["m"], bool)
            tape = {t.trade_id: t for t in sim.core.recent_trades("BTCUSDT", 1000)}
            assert trade["p"] == f"{tape[trade['t']].price:.8f}"

            reply, _ = await request(
                ws, {"method": "UNSUBSCRIBE", "params": ["btcusdt@trade"], "id": "unsub3"}
            )
            assert reply == {"result": None, "id": "unsub3"}
            await advance(sim, 5)
            reply, before = await request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 4})
            assert reply == {"result": ["btcusdt@aggTrade"], "id": 4}
            assert before, "aggregate trades kept flowing"
            assert all(m.get("e") == "aggTrade" for m in before)

    run(body)


def test_agg_trades_match_the_rest_tape(sim: SimExchange) -> None:
    async def body() -> None:
        url = sim.ws_url + "/ws/btcusdt@aggTrade"
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
            agg = await until(ws, lambda m: m.get("e") == "aggTrade", sim)
            (rest,) = sim.core.agg_trades("BTCUSDT", from_id=agg["a"], limit=1)
            assert (agg["f"], agg["l"], agg["q"]) == (
                rest.first_trade_id,
                rest.last_trade_id,
                f"{rest.qty:.8f}",
            )

    run(body)


def test_combined_stream_wraps_payloads_and_set_property(sim: SimExchange) -> None:
    async def body() -> None:
        url = sim.ws_url + "/stream?streams=btcusdt@trade/btcusdt@depth@100ms"
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
            depth = await until(ws, lambda m: m.get("stream") == "btcusdt@depth@100ms", sim)
            data = depth["data"]
            assert data["e"] == "depthUpdate" and data["s"] == "BTCUSDT"
            assert isinstance(data["U"], int) and data["u"] >= data["U"]
            assert all(isinstance(p, str) and isinstance(q, str) for p, q in data["b"] + data["a"])
            trade = await until(ws, lambda m: m.get("stream") == "btcusdt@trade", sim)
            assert trade["data"]["e"] == "trade"

            get = {"method": "GET_PROPERTY", "params": ["combined"], "id": 5}
            reply, _ = await request(ws, get)
            assert reply == {"result": True, "id": 5}
            reply, _ = await request(
                ws, {"method": "SET_PROPERTY", "params": ["combined", False], "id": 6}
            )
            assert reply == {"result": None, "id": 6}
            await advance(sim, 3)
            raw = await until(ws, lambda m: "stream" not in m and m.get("e") == "trade", sim)
            assert raw["s"] == "BTCUSDT"

    run(body)


def test_book_ticker_partial_depth_and_statistics_streams(sim: SimExchange) -> None:
    streams = ["btcusdt@bookTicker", "btcusdt@depth5@100ms", "!miniTicker@arr", "btcusdt@avgPrice"]

    async def body() -> None:
        url = sim.ws_url + "/stream?streams=" + "/".join(streams)
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
            last: dict[str, Any] = {}
            while set(last) != set(streams):
                msg = await until(ws, lambda m: "stream" in m, sim)
                last[msg["stream"]] = msg["data"]

            def current() -> bool:
                """Each stream's last frame shows the core as it stands (the market is still)."""
                ticker = last["btcusdt@bookTicker"]
                depth = last["btcusdt@depth5@100ms"]
                return bool(
                    ticker["u"] == sim.core.book_ticker("BTCUSDT").update_id
                    and depth["lastUpdateId"] == sim.core.depth("BTCUSDT", 5).last_update_id
                    and last["!miniTicker@arr"][0]["c"]
                    == f"{sim.core.ticker_24h('BTCUSDT').last_price:.8f}"
                    and last["btcusdt@avgPrice"]["w"]
                    == f"{sim.core.avg_price('BTCUSDT').price:.8f}"
                )

            async def drained() -> bool:
                if current():
                    return True
                msg = await recv_json(ws)
                last[msg["stream"]] = msg["data"]
                return current()

            await eventually_async(drained, 10, interval=0, message="frames up to the core's state")
        bt, book = sim.core.book_ticker("BTCUSDT"), sim.core.depth("BTCUSDT", 5)
        assert last["btcusdt@bookTicker"] == {
            "u": bt.update_id,
            "s": "BTCUSDT",
            "b": f"{bt.bid_price:.8f}",
            "B": f"{bt.bid_qty:.8f}",
            "a": f"{bt.ask_price:.8f}",
            "A": f"{bt.ask_qty:.8f}",
        }
        assert last["btcusdt@depth5@100ms"] == {
            "lastUpdateId": book.last_update_id,
            "bids": [[f"{p:.8f}", f"{q:.8f}"] for p, q in book.bids],
            "asks": [[f"{p:.8f}", f"{q:.8f}"] for p, q in book.asks],
        }
        (mini,) = last["!miniTicker@arr"]
        assert mini["e"] == "24hrMiniTicker" and mini["s"] == "BTCUSDT"
        assert mini["c"] == f"{sim.core.ticker_24h('BTCUSDT').last_price:.8f}"
        avg = last["btcusdt@avgPrice"]
        assert avg["e"] == "avgPrice" and avg["w"] == f"{sim.core.avg_price('BTCUSDT').price:.8f}"

    run(body)


@pytest.mark.parametrize(
    ("payload", "code", "fragment", "rid"),
    [
        ("{not json", 3, "Invalid JSON", None),
        ({"method": "SUBSCRIB", "params": [], "id": 1}, 2, "unknown variant `SUBSCRIB`", 1),
        ({"params": [], "id": 2}, 2, "missing field `method`", None),
        ({"method": "SUBSCRIBE", "params": [], "id": 1.5}, 2, "request ID", None),
        ({"method": "SUBSCRIBE", "params": ["btcusdt@nope"], "id": 3}, 2, "invalid stream", 3),
        ({"method": "SUBSCRIBE", "params": ["xyzxyz@trade"], "id": 4}, 2, "invalid stream", 4),
        ({"method": "SET_PROPERTY", "params": ["colour", True], "id": 5}, 0, "Unknown property", 5),
        ({"method": "SET_PROPERTY", "params": ["combined", "yes"], "id": 6}, 1, "Boolean", 6),
    ],
)
def test_bad_requests_get_binance_error_replies(
    sim: SimExchange, payload: Any, code: int, fragment: str, rid: Any
) -> None:
    async def body() -> None:
        async with aiohttp.ClientSession() as http, http.ws_connect(sim.ws_url + "/ws") as ws:
            reply, _ = await request(ws, payload)
            assert reply["error"]["code"] == code
            assert fragment in reply["error"]["msg"]
            assert reply.get("id") == rid
            # the connection survives a bad request
            ok, _ = await request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 9})
            assert ok == {"result": [], "id": 9}

    run(body)


def test_kline_final_update_has_x_true_then_a_new_bar_starts(sim: SimExchange) -> None:
    async def body() -> None:
        url = sim.ws_url + "/ws/btcusdt@kline_1m"
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
            first = await until(ws, lambda m: m.get("e") == "kline", sim)
            bar_open = first["k"]["t"]
            assert first["k"]["T"] == bar_open + 59_999 and first["k"]["i"] == "1m"
            closed = await until(ws, lambda m: m["k"]["x"], sim, step=10)
            assert closed["k"]["t"] == bar_open
            nxt = await until(ws, lambda m: m["k"]["t"] > bar_open, sim, step=10)
            assert nxt["k"]["t"] == bar_open + 60_000 and nxt["k"]["x"] is False
            (rest,) = sim.core.klines("BTCUSDT", "1m", start_ms=bar_open, limit=1)
            k = closed["k"]
            assert (k["o"], k["h"], k["l"], k["c"], k["v"], k["n"]) == (
                f"{rest.open:.8f}",
                f"{rest.high:.8f}",
                f"{rest.low:.8f}",
                f"{rest.close:.8f}",
                f"{rest.volume:.8f}",
                rest.trades,
            )

    run(body, timeout=30)


def test_client_ping_gets_pong_with_its_payload(sim: SimExchange) -> None:
    async def body() -> None:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(sim.ws_url + "/ws", autoping=False) as ws,
        ):
            await ws.ping(b"are-you-there")
            msg = await ws.receive(timeout=5)
            assert msg.type is WSMsgType.PONG
            assert msg.data == b"are-you-there"

    run(body)


@pytest.mark.parametrize("code", [4000, 1006])
def test_drop_connections_closes_every_stream(sim: SimExchange, code: int) -> None:
    async def body() -> None:
        async with aiohttp.ClientSession() as http:
            a = await http.ws_connect(sim.ws_url + "/ws/btcusdt@trade")
            b = await http.ws_connect(sim.ws_url + "/stream?streams=btcusdt@depth")
            assert sim.faults.drop_connections(code) >= 1
            for ws in (a, b):
                msg = await ws.receive(timeout=5)
                while msg.type is WSMsgType.TEXT:
                    msg = await ws.receive(timeout=5)
                assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR)
                await ws.close()
                assert ws.close_code == code
            # a new connection is served as usual
            async with http.ws_connect(sim.ws_url + "/ws") as ws:
                reply, _ = await request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 1})
                assert reply == {"result": [], "id": 1}

    run(body)


# -- connection policy, on a server of our own with short intervals --------------------------
@contextlib.asynccontextmanager
async def local_server(**settings: float) -> AsyncIterator[str]:
    """Serve a fresh stepped exchange on loopback with websocket ``settings``; yield ws URL."""
    market = SyntheticMarket(["BTCUSDT"], seed=3)
    clock = SimClock(start_ms=market.start_ms(), stepped=True)
    core = ExchangeCore(clock, market, EventBus(synchronous=True), seed=3)
    ctx = FaceContext(core, clock, FaultPlan(3), asyncio.get_running_loop())
    app = create_app(ctx)
    for name, value in settings.items():
        setattr(settings_of(app), name, value)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def test_server_pings_and_disconnects_a_client_that_never_pongs() -> None:
    async def body() -> None:
        server = local_server(ping_interval_s=0.1, pong_timeout_s=0.5)
        async with server as url, aiohttp.ClientSession() as http:
            silent = await http.ws_connect(url + "/ws", autoping=False)
            polite = await http.ws_connect(url + "/ws", autoping=False)
            ping = await silent.receive(timeout=5)
            assert ping.type is WSMsgType.PING
            # the silent client sends only unsolicited pongs, which do not count
            closed = None
            pings_answered = 0
            while closed is None:
                await silent.pong(b"unsolicited")
                msg = await silent.receive(timeout=5)
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED):
                    closed = msg
                while True:  # the polite client answers every ping it got so far
                    try:
                        pmsg = await polite.receive(timeout=0.01)
                    except asyncio.TimeoutError:
                        break
                    assert pmsg.type is WSMsgType.PING
                    await polite.pong(pmsg.data)
                    pings_answered += 1
            assert closed.type is WSMsgType.CLOSE and closed.data == 1008
            # the polite client outlived the pong timeout and still gets answers
            while pings_answered < 8:  # 8 pings * 0.1 s > 0.5 s timeout
                pmsg = await polite.receive(timeout=5)
                assert pmsg.type is WSMsgType.PING
                await polite.pong(pmsg.data)
                pings_answered += 1
            await polite.send_str(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}))
            msg = await polite.receive(timeout=5)
            while msg.type is WSMsgType.PING:
                await polite.pong(msg.data)
                msg = await polite.receive(timeout=5)
            assert json.loads(msg.data) == {"result": [], "id": 1}
            await silent.close()
            await polite.close()

    run(body)


def test_connection_is_closed_at_its_lifetime_limit() -> None:
    async def body() -> None:
        async with local_server(max_lifetime_s=0.3) as url, aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url + "/ws/btcusdt@trade")
            msg = await ws.receive(timeout=5)
            assert msg.type is WSMsgType.CLOSE
            assert msg.data == 1001
            await ws.close()

    run(body)


def test_kline_close_of_the_bar_open_at_subscription_is_sent_before_any_pacer_tick() -> None:
    """Regression: a bar that closed before the stream's first pacer tick lost its x=true frame.

    The pacer is made slow so the bar surely closes first; Binance sends the final update of the
    bar that was open when the client subscribed, and so must the simulator.
    """
    from real_trade.sim.plumbing.ws_conn import WsSettings

    with SimExchange(stepped=True, seed=3, ws_settings=WsSettings(pacer_interval_s=1.0)) as slow:
        subscribed_open = slow.core.klines("BTCUSDT", "1m", limit=1)[-1].open_ms

        async def body() -> list[dict[str, Any]]:
            async with aiohttp.ClientSession() as http:
                url = slow.url.replace("http", "ws", 1) + "/ws/btcusdt@kline_1m"
                async with http.ws_connect(url) as ws:
                    reply, _ = await request(
                        ws, {"method": "LIST_SUBSCRIPTIONS", "id": 1}
                    )  # the subscription is registered once the server answers
                    assert reply["result"] == ["btcusdt@kline_1m"]
                    await advance(slow, 60)  # the bar closes before the pacer's first tick
                    frames: list[dict[str, Any]] = []

                    async def closing_frame() -> bool:
                        frames.append(await recv_json(ws, timeout=5.0))
                        return bool(frames[-1]["k"]["x"])

                    await eventually_async(closing_frame, 10, interval=0, message="an x=true frame")
                    return frames

        frames = run(body)
    closed = [f["k"] for f in frames if f["k"]["x"]]
    assert [k["t"] for k in closed] == [subscribed_open]
