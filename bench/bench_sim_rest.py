"""Benchmark: REST orders per second against the simulator over loopback.

Starts ``real-trade sim`` in a subprocess (stepped clock, rate limits off), creates an account
through ``/admin/accounts`` and measures, over keep-alive connections with ``CONCURRENCY``
requests in flight:

* ``ping``: the ``GET /api/v3/ping`` round-trip rate (the baseline: the server's floor cost);
* ``raw``: signed LIMIT orders placed and cancelled with a bare aiohttp client;
* ``ccxt``: the same with ccxt's async ``binance`` client (``create_order`` + ``cancel_order``);
* ``fapi``: the same on the Binance USD-M face (``/fapi/v1/order``, ccxt's ``binanceusdm``),
  served by the same process, printed with its ratio to the spot face's rate.

"orders/s" counts orders (each one placed and then cancelled: two signed requests). Each rate
is printed beside the ping baseline measured in the same run, as a ratio. Run::

    .venv/bin/python bench/bench_sim_rest.py [--seconds 5] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parent.parent


def start_server() -> tuple[subprocess.Popen[str], str]:
    """Start the simulator CLI on a free port; return the process and its HTTP base URL."""
    exe = Path(sys.executable).parent / "real-trade"
    cmd = [str(exe), "sim", "--port", "0", "--stepped", "--no-rate-limits"]
    cmd += ["--faces", "binance,binance_futures"]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        match = re.search(r"REST\s+(http://\S+)/api/v3", line)
        if match:
            return proc, match.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("the simulator did not start")


def signed(secret: str, params: dict[str, Any]) -> str:
    """Return the query string with ``timestamp`` and ``signature``, as Binance wants it."""
    params = {**params, "timestamp": int(time.time() * 1000), "recvWindow": 60000}
    query = urlencode(params)
    sig = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={sig}"


class Measure:
    """Rates of one measured run: units per wall second and per second of server CPU."""

    def __init__(self, wall_rate: float, cpu_rate: float) -> None:
        """Keep the two rates."""
        self.wall_rate = wall_rate
        self.cpu_rate = cpu_rate


async def run_for(
    seconds: float, concurrency: int, one: Callable[[], Awaitable[int]], server: psutil.Process
) -> Measure:
    """Run ``one()`` from ``concurrency`` workers for ``seconds``; return the rates."""
    done = 0
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop_at:
            n = await one()  # (not `done += await one()`: that reads `done` before awaiting)
            done += n

    cpu0 = sum(server.cpu_times()[:2])
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    cpu = sum(server.cpu_times()[:2]) - cpu0
    return Measure(done / wall, done / cpu if cpu > 0 else float("nan"))


class LeanConnection:
    """A minimal keep-alive HTTP/1.1 client connection (asyncio streams, no parsing beyond
    the status line and Content-Length), so the load generator costs far less CPU than the
    server and the measured rate is the server's."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> LeanConnection:
        """Connect to ``http://host:port``."""
        host, port = url.removeprefix("http://").split(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one request's bytes; return the status and the body."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        """Close the connection."""
        self.writer.close()


def raw_request(method: str, path: str, key: str, body: str = "") -> bytes:
    """The bytes of one HTTP/1.1 keep-alive request."""
    head = f"{method} {path} HTTP/1.1\r\nHost: sim\r\nX-MBX-APIKEY: {key}\r\n"
    if body:
        head += (
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        )
    return (head + "\r\n" + body).encode()


async def lean_bench(
    url: str, key: str, secret: str, seconds: float, concurrency: int, server: psutil.Process
) -> Measure:
    """Place+cancel with the lean client; requests are signed before the clock starts."""
    per_worker = int(seconds * 3000 / concurrency) + 50
    conns = [await LeanConnection.open(url) for _ in range(concurrency)]
    plans: list[list[tuple[bytes, bytes]]] = []
    for w in range(concurrency):
        plan = []
        for i in range(per_worker):
            cid = f"lean-{w}-{i}"
            order = {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.001",
                "price": "10000.00",
                "newOrderRespType": "ACK",
                "newClientOrderId": cid,
            }
            place = raw_request("POST", "/api/v3/order", key, signed(secret, order))
            query = signed(secret, {"symbol": "BTCUSDT", "origClientOrderId": cid})
            plan.append((place, raw_request("DELETE", f"/api/v3/order?{query}", key)))
        plans.append(plan)
    it = [iter(p) for p in plans]
    index = {id(c): n for n, c in enumerate(conns)}
    free = list(conns)

    async def cycle() -> int:
        conn = free.pop()
        try:
            place, cancel = next(it[index[id(conn)]])
            status, body = await conn.request(place)
            assert status == 200, body
            status, body = await conn.request(cancel)
            assert status == 200, body
        finally:
            free.append(conn)
        return 1

    try:
        return await run_for(seconds, concurrency, cycle, server)
    finally:
        for conn in conns:
            conn.close()


async def bench(url: str, seconds: float, concurrency: int, pid: int) -> dict[str, Measure]:
    """Measure the ping baseline, raw-client orders/s and ccxt orders/s."""
    results: dict[str, Measure] = {}
    server = psutil.Process(pid)
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(url, connector=conn) as http:
        async with http.post("/admin/accounts", json={"balances": {"USDT": "1e12"}}) as resp:
            acct = await resp.json()
        key, secret = acct["api_key"], acct["secret"]
        headers = {"X-MBX-APIKEY": key}

        async def ping() -> int:
            async with http.get("/api/v3/ping") as resp:
                await resp.read()
                assert resp.status == 200
            return 1

        def order_body(**extra: str) -> str:
            params = {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "quantity": "0.001",
                "price": "10000.00",
                "newOrderRespType": "ACK",
                **extra,
            }
            return signed(secret, params)

        async def place(body: str) -> dict[str, Any]:
            form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
            async with http.post("/api/v3/order", data=body, headers=form) as resp:
                order: dict[str, Any] = json.loads(await resp.read())
                assert resp.status == 200, order
            return order

        async def order_cycle() -> int:
            order = await place(order_body(timeInForce="GTC"))
            query = signed(secret, {"symbol": "BTCUSDT", "orderId": order["orderId"]})
            async with http.delete(f"/api/v3/order?{query}", headers=headers) as resp:
                await resp.read()
                assert resp.status == 200
            return 1

        async def ioc_order() -> int:
            # A limit IOC below the market expires at once: one request per order, nothing rests.
            order = await place(order_body(timeInForce="IOC", newOrderRespType="RESULT"))
            assert order["status"] == "EXPIRED", order
            return 1

        await run_for(0.5, concurrency, ping, server)  # warm up connections
        results["ping requests"] = await run_for(seconds, concurrency, ping, server)
        results["raw place+cancel"] = await run_for(seconds, concurrency, order_cycle, server)
        results["raw IOC orders"] = await run_for(seconds, concurrency, ioc_order, server)
        results["lean place+cancel"] = await lean_bench(
            url, key, secret, seconds, concurrency, server
        )

        async def fapi_cycle() -> int:
            params = {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.01",
                "price": "10000.00",
            }
            form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
            async with http.post("/fapi/v1/order", data=signed(secret, params), headers=form) as r:
                order = json.loads(await r.read())
                assert r.status == 200, order
            query = signed(secret, {"symbol": "BTCUSDT", "orderId": order["orderId"]})
            async with http.delete(f"/fapi/v1/order?{query}", headers=headers) as resp:
                await resp.read()
                assert resp.status == 200
            return 1

        results["fapi raw place+cancel"] = await run_for(seconds, concurrency, fapi_cycle, server)

    import ccxt.async_support as ccxt_async

    from real_trade.sim.server import ccxt_urls_for

    ex = ccxt_async.binance(
        {
            "apiKey": key,
            "secret": secret,
            "urls": ccxt_urls_for(url),
            "enableRateLimit": False,
            "options": {
                "defaultType": "spot",
                "fetchMarkets": {"types": ["spot"]},
                "fetchMargins": False,
                "fetchCurrencies": False,
                "recvWindow": 60000,
            },
        }
    )
    try:
        await ex.load_markets()

        async def ccxt_cycle() -> int:
            order = await ex.create_order(
                "BTC/USDT", "limit", "buy", 0.001, 10000, {"newOrderRespType": "ACK"}
            )
            await ex.cancel_order(order["id"], "BTC/USDT")
            return 1

        results["ccxt place+cancel"] = await run_for(seconds, concurrency, ccxt_cycle, server)
    finally:
        await ex.close()
    fapi = ccxt_async.binanceusdm(
        {
            "apiKey": key,
            "secret": secret,
            "urls": ccxt_urls_for(url),
            "enableRateLimit": False,
            "options": {
                "defaultType": "future",
                "fetchMarkets": {"types": ["linear"]},
                "fetchCurrencies": False,
                "recvWindow": 60000,
            },
        }
    )
    try:
        await fapi.load_markets()

        async def fapi_ccxt_cycle() -> int:
            order = await fapi.create_order("BTC/USDT:USDT", "limit", "buy", 0.01, 10000)
            await fapi.cancel_order(order["id"], "BTC/USDT:USDT")
            return 1

        results["fapi ccxt place+cancel"] = await run_for(
            seconds, concurrency, fapi_ccxt_cycle, server
        )
    finally:
        await fapi.close()
    return results


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    proc, url = start_server()
    try:
        results = asyncio.run(bench(url, args.seconds, args.concurrency, proc.pid))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    base = results["ping requests"]
    print(
        f"simulator REST benchmark: {args.concurrency} requests in flight, {args.seconds:g} s "
        f"each, {os.cpu_count()} CPUs shared by client and server (rates per second)"
    )
    head = ("measure", "per wall s", "vs ping", "order req/s", "per server CPU s", "vs ping")
    print(f"{head[0]:<23}{head[1]:>11}{head[2]:>9}{head[3]:>13}{head[4]:>18}{head[5]:>9}")
    for name, m in results.items():
        reqs = m.wall_rate * (2 if "cancel" in name else 1) if name != "ping requests" else 0
        print(
            f"{name:<23}{m.wall_rate:>11,.0f}{m.wall_rate / base.wall_rate:>9.2f}"
            f"{reqs:>13,.0f}{m.cpu_rate:>18,.0f}{m.cpu_rate / base.cpu_rate:>9.2f}"
        )
    for kind in ("raw", "ccxt"):
        spot, fut = results[f"{kind} place+cancel"], results[f"fapi {kind} place+cancel"]
        print(
            f"USD-M face / spot face, {kind} place+cancel: {fut.wall_rate / spot.wall_rate:.2f} "
            f"(per server CPU s: {fut.cpu_rate / spot.cpu_rate:.2f})"
        )
    print(
        "place+cancel: one signed POST order then one signed DELETE order per order; IOC: one "
        "signed POST order (expires at once); 'per server CPU s' is the server's capacity on "
        "one core, the client's CPU removed. Goal: >= 2,000 REST orders/s."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
