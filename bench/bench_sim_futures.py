"""Benchmark: the Binance USDⓈ-M face's order rate as a ratio to the spot face's, medians of 3.

One ``real-trade sim`` subprocess serves both faces (stepped clock, rate limits off). Each of
``--runs`` rounds measures, back to back, signed LIMIT orders placed and cancelled on the spot
face (``/api/v3/order``) and on the USDⓈ-M face (``/fapi/v1/order``), first with a bare aiohttp
client (the server's cost) and then with ccxt's async ``binance`` / ``binanceusdm`` (what a
user's client sees). The ratio futures / spot is taken within each round (same server, same
load), and the medians over the rounds are printed. Run::

    .venv/bin/python bench/bench_sim_futures.py [--seconds 3] [--concurrency 16] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import psutil
from bench_sim_rest import Measure, run_for, signed, start_server

_PATHS = {"spot": "/api/v3/order", "fapi": "/fapi/v1/order"}
_QTY = {"spot": "0.001", "fapi": "0.01"}  # each face's minimum notional at 10,000 USDT


def _raw_cycle(http: aiohttp.ClientSession, key: str, secret: str, face: str) -> Any:
    headers = {"X-MBX-APIKEY": key}
    form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    path = _PATHS[face]

    async def cycle() -> int:
        params = {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": _QTY[face],
            "price": "10000.00",
        }
        async with http.post(path, data=signed(secret, params), headers=form) as resp:
            order = json.loads(await resp.read())
            assert resp.status == 200, order
        query = signed(secret, {"symbol": "BTCUSDT", "orderId": order["orderId"]})
        async with http.delete(f"{path}?{query}", headers=headers) as resp:
            await resp.read()
            assert resp.status == 200
        return 1

    return cycle


def _ccxt_client(url: str, key: str, secret: str, face: str) -> Any:
    import ccxt.async_support as ccxt_async

    from real_trade.sim.server import ccxt_urls_for

    kind = "spot" if face == "spot" else "linear"
    cls = ccxt_async.binance if face == "spot" else ccxt_async.binanceusdm
    return cls(
        {
            "apiKey": key,
            "secret": secret,
            "urls": ccxt_urls_for(url),
            "enableRateLimit": False,
            "options": {
                "defaultType": "spot" if face == "spot" else "future",
                "fetchMarkets": {"types": [kind]},
                "fetchMargins": False,
                "fetchCurrencies": False,
                "recvWindow": 60000,
            },
        }
    )


def _ccxt_cycle(ex: Any, face: str) -> Callable[[], Awaitable[int]]:
    symbol = "BTC/USDT" if face == "spot" else "BTC/USDT:USDT"
    amount = float(_QTY[face])

    async def cycle() -> int:
        order = await ex.create_order(symbol, "limit", "buy", amount, 10000)
        await ex.cancel_order(order["id"], symbol)
        return 1

    return cycle


async def bench(
    url: str, seconds: float, concurrency: int, runs: int, pid: int
) -> dict[str, list[Measure]]:
    """``runs`` rounds of spot and USDⓈ-M place+cancel, raw and ccxt; every measure kept."""
    server = psutil.Process(pid)
    out: dict[str, list[Measure]] = {}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(url, connector=connector) as http:
        async with http.post("/admin/accounts", json={"balances": {"USDT": "1e12"}}) as resp:
            acct = await resp.json()
        key, secret = acct["api_key"], acct["secret"]
        clients = {face: _ccxt_client(url, key, secret, face) for face in _PATHS}
        try:
            for ex in clients.values():
                await ex.load_markets()
            for face in _PATHS:  # warm up both faces and the connections
                await run_for(0.5, concurrency, _raw_cycle(http, key, secret, face), server)
            for _ in range(runs):
                for face in _PATHS:
                    cycle = _raw_cycle(http, key, secret, face)
                    m = await run_for(seconds, concurrency, cycle, server)
                    out.setdefault(f"{face} raw", []).append(m)
                for face, ex in clients.items():
                    m = await run_for(seconds, concurrency, _ccxt_cycle(ex, face), server)
                    out.setdefault(f"{face} ccxt", []).append(m)
        finally:
            for ex in clients.values():
                await ex.close()
    return out


def main() -> int:
    """Run the benchmark and print medians and the futures / spot ratios."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    proc, url = start_server()
    try:
        results = asyncio.run(bench(url, args.seconds, args.concurrency, args.runs, proc.pid))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(
        f"USD-M face vs spot face: {args.runs} rounds of {args.seconds:g} s per measure, "
        f"{args.concurrency} in flight, {os.cpu_count()} CPUs shared by client and server; "
        "orders/s (each placed then cancelled), medians"
    )
    print(
        f"{'client':<8}{'spot/s':>10}{'USD-M/s':>10}{'ratio':>8}{'ratio per srv CPU':>20}  rounds"
    )
    for kind in ("raw", "ccxt"):
        spot, fut = results[f"spot {kind}"], results[f"fapi {kind}"]
        ratios = [f.wall_rate / s.wall_rate for s, f in zip(spot, fut, strict=True)]
        cpu = [f.cpu_rate / s.cpu_rate for s, f in zip(spot, fut, strict=True)]
        print(
            f"{kind:<8}{statistics.median(m.wall_rate for m in spot):>10,.0f}"
            f"{statistics.median(m.wall_rate for m in fut):>10,.0f}"
            f"{statistics.median(ratios):>8.2f}{statistics.median(cpu):>20.2f}  "
            + " ".join(f"{r:.2f}" for r in ratios)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
