"""The simulator's Binance WebSocket API and legacy listenKey flow, with a raw aiohttp client.

Requests are signed here the way Binance documents it (parameters sorted by name,
``key=value&...``, HMAC-SHA256 with the secret); timestamps come from the simulator's server
time, so the stepped clock never makes them stale unless a test wants it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import WSMsgType, web

from real_trade.bus import EventBus
from real_trade.sim.binance.app import create_app
from real_trade.sim.binance.ws_listen_key import LISTEN_KEYS_KEY
from real_trade.sim.clock import SimClock
from real_trade.sim.core import ExchangeCore
from real_trade.sim.faults import FaultPlan
from real_trade.sim.market_synthetic import SyntheticMarket
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.server import SimExchange
from tests.support import eventually_async

pytestmark = pytest.mark.integration
T = TypeVar("T")
_ids = itertools.count(1)

EXECUTION_REPORT_FIELDS = frozenset(
    [
        "e",
        "E",
        "s",
        "c",
        "S",
        "o",
        "f",
        "q",
        "p",
        "P",
        "F",
        "g",
        "C",
        "x",
        "X",
        "r",
        "i",
        "l",
        "z",
        "L",
        "n",
        "N",
        "T",
        "t",
        "I",
        "w",
        "m",
        "M",
        "O",
        "Z",
        "Y",
        "Q",
        "V",
    ]
)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator shared by the tests of this module."""
    with SimExchange(stepped=True, seed=5) as exchange:
        yield exchange


@pytest.fixture
def creds(sim: SimExchange) -> tuple[str, str]:
    """A fresh funded account: ``(api_key, secret)``."""
    return sim.create_account({"USDT": 100_000, "BTC": 2})


@pytest.fixture(autouse=True)
def _reset_faults(sim: SimExchange) -> Iterator[None]:
    yield
    sim.faults.reset()


def run(fn: Callable[[], Awaitable[T]], timeout: float = 20.0) -> T:
    """Run an async test body with a hard timeout."""

    async def bounded() -> T:
        return await asyncio.wait_for(fn(), timeout)

    return asyncio.run(bounded())


def signed(sim: SimExchange, key: str, secret: str, **params: Any) -> dict[str, Any]:
    """``params`` plus apiKey, timestamp (server time) and the HMAC signature."""
    out = {"apiKey": key, "timestamp": sim.context.server_time_ms(), **params}
    payload = "&".join(f"{k}={_text(v)}" for k, v in sorted(out.items()))
    out["signature"] = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return out


def latest_ms(sim: SimExchange) -> int:
    """The later of the simulator's two time frames (market time, wall clock), skew included.

    The server accepts a timestamp valid in either frame, so "ahead" must be ahead of both.
    """
    wall = int(time.time() * 1000) + sim.faults.clock_skew_ms
    return max(sim.context.server_time_ms(), wall)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Api:
    """A WebSocket API connection: ``call`` sends a request and returns its response, keeping
    the user-data events that arrived meanwhile in ``events``."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        rid = f"r{next(_ids)}"
        req: dict[str, Any] = {"id": rid, "method": method}
        if params is not None:
            req["params"] = params
        await self.ws.send_str(json.dumps(req))

        async def response() -> dict[str, Any] | None:
            msg = await self.next()
            if msg.get("id") == rid:
                return msg
            self.events.append(msg)
            return None

        answer = await eventually_async(
            response, 10, interval=0, message=f"the response to {method}"
        )
        assert answer is not None  # eventually_async returns a truthy value
        return answer

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        frame = await self.ws.receive(timeout=timeout)
        assert frame.type is WSMsgType.TEXT, f"got {frame.type}: {frame.data!r}"
        data: dict[str, Any] = json.loads(frame.data)
        return data

    async def event(self, cond: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Return (and remove) the first user-data event matching ``cond``, waiting for it."""

        async def matching() -> dict[str, Any] | None:
            for i, ev in enumerate(self.events):
                if cond(ev):
                    return self.events.pop(i)
            self.events.append(await self.next())
            return None

        found = await eventually_async(
            matching, 10, interval=0, message="a matching user-data event"
        )
        assert found is not None  # eventually_async returns a truthy value
        return found


async def connect(sim: SimExchange, http: aiohttp.ClientSession, query: str = "") -> Api:
    return Api(await http.ws_connect(sim.ws_url + "/ws-api/v3" + query))


def ok(resp: dict[str, Any]) -> Any:
    assert resp["status"] == 200, resp
    return resp["result"]


def error(resp: dict[str, Any]) -> tuple[int, int, str]:
    assert "error" in resp and "result" not in resp, resp
    return resp["status"], resp["error"]["code"], resp["error"]["msg"]


def test_ping_time_and_rate_limits(sim: SimExchange) -> None:
    async def body() -> None:
        async with aiohttp.ClientSession() as http:
            api = await connect(sim, http)
            resp = await api.call("ping")
            assert ok(resp) == {}
            (limit,) = resp["rateLimits"]
            assert limit["rateLimitType"] == "REQUEST_WEIGHT" and limit["count"] >= 1
            assert ok(await api.call("time")) == {"serverTime": sim.context.server_time_ms()}
            quiet = await api.call("time", {"returnRateLimits": False})
            assert "rateLimits" not in quiet
            api2 = await connect(sim, http, "?returnRateLimits=false")
            assert "rateLimits" not in await api2.call("ping")
            assert error(await api.call("no.such.method")) == (
                400,
                -1020,
                "This operation is not supported.",
            )
            await api.ws.send_str("{broken")
            assert error(await api.next())[1] == -1135

    run(body)


def test_logon_then_place_query_and_cancel(sim: SimExchange, creds: tuple[str, str]) -> None:
    key, secret = creds

    async def body() -> None:
        async with aiohttp.ClientSession() as http:
            api = await connect(sim, http)
            status = ok(await api.call("session.status"))
            assert status["apiKey"] is None and status["userDataStream"] is False
            logon = ok(await api.call("session.logon", signed(sim, key, secret)))
            assert logon["apiKey"] == key and logon["authorizedSince"] is not None

            ts = {"timestamp": sim.context.server_time_ms()}
            placed = ok(
                await api.call(
                    "order.place",
                    {
                        "symbol": "BTCUSDT",
                        "side": "BUY",
                        "type": "LIMIT",
                        "timeInForce": "GTC",
                        "quantity": "0.01",
                        "price": "30000",
                        "newClientOrderId": "ws-api-1",
                        **ts,
                    },
                )
            )
            assert placed["status"] == "NEW" and placed["clientOrderId"] == "ws-api-1"
            assert placed["price"] == "30000.00000000" and placed["fills"] == []
            oid = placed["orderId"]
            ref = {"symbol": "BTCUSDT", "orderId": oid, **ts}
            queried = ok(await api.call("order.status", ref))
            assert queried["status"] == "NEW" and queried["origQty"] == "0.01000000"
            canceled = ok(
                await api.call(
                    "order.cancel", {"symbol": "BTCUSDT", "origClientOrderId": "ws-api-1", **ts}
                )
            )
            assert canceled["status"] == "CANCELED" and canceled["orderId"] == oid
            assert canceled["origClientOrderId"] == "ws-api-1"
            after = ok(await api.call("order.status", {"symbol": "BTCUSDT", "orderId": oid, **ts}))
            assert after["status"] == "CANCELED"
            again = await api.call("order.cancel", {"symbol": "BTCUSDT", "orderId": oid, **ts})
            assert error(again) == (400, -2011, "Unknown order sent.")
            missing = await api.call("order.status", {**ref, "orderId": 999_999})
            assert error(missing) == (400, -2013, "Order does not exist.")
            bad = await api.call("order.place", {"symbol": "BTCUSDT", "side": "BUY", **ts})
            assert error(bad)[1] == -1102

            out = ok(await api.call("session.logout"))
            assert out["apiKey"] is None
            denied = await api.call("order.status", {"symbol": "BTCUSDT", "orderId": oid, **ts})
            assert error(denied)[1] == -1102  # apiKey needed again

    run(body)


def test_signature_and_timestamp_checks(sim: SimExchange, creds: tuple[str, str]) -> None:
    key, secret = creds

    async def body() -> None:
        async with aiohttp.ClientSession() as http:
            api = await connect(sim, http)
            params = signed(sim, key, secret, symbol="BTCUSDT")
            params["symbol"] = "ETHUSDT"  # tampered after signing
            assert error(await api.call("openOrders.status", params)) == (
                400,
                -1022,
                "Signature for this request is not valid.",
            )
            stale = signed(sim, key, secret)
            stale["timestamp"] -= 10_000
            stale = signed(sim, key, secret, timestamp=stale["timestamp"])
            assert error(await api.call("session.logon", stale)) == (
                400,
                -1021,
                "Timestamp for this request is outside of the recvWindow.",
            )
            ahead = signed(sim, key, secret, timestamp=latest_ms(sim) + 2_000)
            assert error(await api.call("session.logon", ahead))[1] == -1021
            widened = signed(
                sim, key, secret, recvWindow=20_000, timestamp=sim.context.server_time_ms() - 10_000
            )
            assert ok(await api.call("account.status", widened))["balances"]
            unknown = signed(sim, "A" * 64, secret)
            assert error(await api.call("session.logon", unknown)) == (
                401,
                -2015,
                "Invalid API-key, IP, or permissions for action.",
            )
            sim.faults.set_clock_skew(-3_000)  # the server's clock now runs 3 s behind
            skewed = signed(sim, key, secret, timestamp=latest_ms(sim) + 3_000)
            assert error(await api.call("session.logon", skewed))[1] == -1021

    run(body)


def test_user_data_subscription_delivers_every_field(
    sim: SimExchange, creds: tuple[str, str]
) -> None:
    key, secret = creds

    async def body() -> None:
        async with aiohttp.ClientSession() as http:
            api = await connect(sim, http)
            sub = ok(await api.call("userDataStream.subscribe.signature", signed(sim, key, secret)))
            assert sub == {"subscriptionId": 0}
            assert ok(await api.call("session.status"))["userDataStream"] is True
            ask = sim.core.book_ticker("BTCUSDT").ask_price
            assert ask is not None
            placed = ok(
                await api.call(
                    "order.place",
                    signed(
                        sim,
                        key,
                        secret,
                        symbol="BTCUSDT",
                        side="BUY",
                        type="LIMIT",
                        timeInForce="GTC",
                        quantity="0.01",
                        price=str(ask),
                    ),
                )
            )
            assert placed["status"] == "FILLED"
            oid = placed["orderId"]

            def report(x: str) -> Callable[[dict[str, Any]], bool]:
                return lambda m: m["event"]["e"] == "executionReport" and m["event"]["x"] == x

            new = await api.event(report("NEW"))
            trade = await api.event(report("TRADE"))
            position = await api.event(lambda m: m["event"]["e"] == "outboundAccountPosition")
            for wrapped in (new, trade, position):
                assert wrapped["subscriptionId"] == 0
            ev = trade["event"]
            assert set(ev) >= EXECUTION_REPORT_FIELDS, EXECUTION_REPORT_FIELDS - set(ev)
            assert ev["i"] == oid and ev["X"] == "FILLED" and ev["s"] == "BTCUSDT"
            fill = placed["fills"][0]
            assert (ev["L"], ev["l"], ev["t"], ev["N"]) == (
                fill["price"],
                fill["qty"],
                fill["tradeId"],
                fill["commissionAsset"],
            )
            assert ev["n"] == fill["commission"] and ev["z"] == "0.01000000"
            assert isinstance(ev["E"], int) and isinstance(ev["w"], bool)
            assert new["event"]["N"] is None and new["event"]["t"] == -1
            balances = {b["a"]: b for b in position["event"]["B"]}
            account = sim.core.account_by_key(key)
            assert account is not None
            core = sim.core.balances(account)
            for asset, row in balances.items():
                assert (row["f"], row["l"]) == (f"{core[asset][0]:.8f}", f"{core[asset][1]:.8f}")

            # deposits arrive as balanceUpdate; unsubscribing stops the events
            sim.core.deposit(account, "USDT", "5")
            upd = await api.event(lambda m: m["event"]["e"] == "balanceUpdate")
            assert upd["event"]["a"] == "USDT" and upd["event"]["d"] == "5.00000000"
            assert ok(await api.call("userDataStream.unsubscribe")) == {}
            api.events.clear()
            sim.core.deposit(account, "USDT", "5")
            await api.call("ping")  # anything sent before this reply would be in api.events
            assert api.events == []

    run(body)


def test_paused_user_stream_holds_events_then_delivers_them_in_order(
    sim: SimExchange, creds: tuple[str, str]
) -> None:
    key, secret = creds

    async def body() -> None:
        async with aiohttp.ClientSession() as http:
            api = await connect(sim, http)
            ok(await api.call("userDataStream.subscribe.signature", signed(sim, key, secret)))
            sim.faults.pause_user_stream(True)
            placed = ok(
                await api.call(
                    "order.place",
                    signed(
                        sim,
                        key,
                        secret,
                        symbol="BTCUSDT",
                        side="SELL",
                        type="LIMIT",
                        timeInForce="GTC",
                        quantity="0.02",
                        price="99000",
                    ),
                )
            )
            ok(
                await api.call(
                    "order.cancel",
                    signed(
                        sim,
                        key,
                        secret,
                        symbol="BTCUSDT",
                        orderId=placed["orderId"],
                        newClientOrderId="my-cancel",
                    ),
                )
            )
            await api.call("ping")
            assert api.events == [], "nothing is delivered while the stream is paused"
            sim.faults.pause_user_stream(False)
            reports: list[dict[str, Any]] = []
            while len(reports) < 2:
                reports.append(await api.event(lambda m: m["event"]["e"] == "executionReport"))
            assert [r["event"]["x"] for r in reports] == ["NEW", "CANCELED"]
            cancel = reports[1]["event"]
            assert cancel["c"] == "my-cancel" and cancel["C"] == placed["clientOrderId"]

    run(body)


@pytest.mark.parametrize("kind", ["timeout", "disconnect"])
def test_ambiguous_order_place_still_creates_the_order(
    sim: SimExchange, creds: tuple[str, str], kind: str
) -> None:
    key, secret = creds

    async def body() -> None:
        async with aiohttp.ClientSession() as http:
            api = await connect(sim, http)
            sim.faults.ambiguous_next(1, kind)  # type: ignore[arg-type]
            req = signed(
                sim,
                key,
                secret,
                symbol="BTCUSDT",
                side="BUY",
                type="LIMIT",
                timeInForce="GTC",
                quantity="0.01",
                price="31000",
                newClientOrderId=f"amb{kind.strip('-')}",
            )
            if kind == "disconnect":
                await api.ws.send_str(json.dumps({"id": 1, "method": "order.place", "params": req}))
                frame = await api.ws.receive(timeout=5)
                assert frame.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR)
                api = await connect(sim, http)
            else:
                assert error(await api.call("order.place", req)) == (
                    408,
                    -1007,
                    "Timeout waiting for response from backend server. Send status "
                    "unknown; execution status unknown.",
                )
            found = ok(
                await api.call(
                    "order.status",
                    signed(
                        sim,
                        key,
                        secret,
                        symbol="BTCUSDT",
                        origClientOrderId=req["newClientOrderId"],
                    ),
                )
            )
            assert found["status"] == "NEW"  # the order exists: a retry must look it up first

    run(body)


def test_legacy_listen_key_flow(sim: SimExchange, creds: tuple[str, str]) -> None:
    key, secret = creds

    async def body() -> None:
        url = sim.url + "/api/v3/userDataStream"
        headers = {"X-MBX-APIKEY": key}
        async with aiohttp.ClientSession() as http:
            async with http.post(url) as resp:
                assert resp.status == 401 and (await resp.json())["code"] == -2014
            async with http.post(url, headers=headers) as resp:
                assert resp.status == 200
                listen_key = (await resp.json())["listenKey"]
            async with http.post(url, headers=headers) as resp:
                assert (await resp.json())["listenKey"] == listen_key  # the active key again
            stream = await http.ws_connect(f"{sim.ws_url}/ws/{listen_key}")
            api = await connect(sim, http)
            placed = ok(
                await api.call(
                    "order.place",
                    signed(
                        sim,
                        key,
                        secret,
                        symbol="BTCUSDT",
                        side="BUY",
                        type="LIMIT",
                        timeInForce="GTC",
                        quantity="0.01",
                        price="32000",
                    ),
                )
            )
            frame = await stream.receive(timeout=5)
            event = json.loads(frame.data)
            assert "subscriptionId" not in event  # unwrapped on the legacy stream
            assert event["e"] == "executionReport" and event["i"] == placed["orderId"]

            async with http.put(url, headers=headers, params={"listenKey": listen_key}) as resp:
                assert resp.status == 200 and await resp.json() == {}
            async with http.put(url, headers=headers, params={"listenKey": "nope"}) as resp:
                assert resp.status == 400
                assert await resp.json() == {"code": -1125, "msg": "This listenKey does not exist."}
            async with http.delete(url, headers=headers, data={"listenKey": listen_key}) as resp:
                assert resp.status == 200 and await resp.json() == {}
            frame = await stream.receive(timeout=5)
            while frame.type is WSMsgType.TEXT:
                frame = await stream.receive(timeout=5)
            assert frame.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
            await stream.close()

    run(body)


def test_expired_listen_key_gets_listen_key_expired_then_closes() -> None:
    async def body() -> None:
        market = SyntheticMarket(["BTCUSDT"], seed=3)
        clock = SimClock(start_ms=market.start_ms(), stepped=True)
        core = ExchangeCore(clock, market, EventBus(synchronous=True), seed=3)
        ctx = FaceContext(core, clock, FaultPlan(3), asyncio.get_running_loop())
        app = create_app(ctx)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        key = core.create_account({"USDT": 10}).api_key
        try:
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    f"http://127.0.0.1:{port}/api/v3/userDataStream", headers={"X-MBX-APIKEY": key}
                ) as resp:
                    listen_key = (await resp.json())["listenKey"]
                stream = await http.ws_connect(f"ws://127.0.0.1:{port}/ws/{listen_key}")
                app[LISTEN_KEYS_KEY].expire_all()
                frame = await stream.receive(timeout=5)
                event = json.loads(frame.data)
                assert event["e"] == "listenKeyExpired" and event["listenKey"] == listen_key
                frame = await stream.receive(timeout=5)
                assert frame.type is WSMsgType.CLOSE
                await stream.close()
                async with http.put(
                    f"http://127.0.0.1:{port}/api/v3/userDataStream",
                    headers={"X-MBX-APIKEY": key},
                    params={"listenKey": listen_key},
                ) as resp:
                    assert (await resp.json())["code"] == -1125
        finally:
            await runner.cleanup()

    run(body)
