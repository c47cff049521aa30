"""Benchmark: each venue face's order rate and market-stream rate, beside Binance's.

Starts ``real-trade sim`` in a subprocess (stepped clock, rate limits off) serving the Binance
spot, Binance USD-M, Bybit and OKX faces over one market, and measures, in the same run:

* orders/s: ccxt's async client of each venue and market placing a limit buy below the market
  and cancelling it (two signed requests per order), ``CONCURRENCY`` cycles in flight;
* trades/s on the public trade stream of each face (Binance ``<sym>@trade``, Bybit
  ``publicTrade.<SYM>``, OKX ``trades``), one raw websocket client, closed loop as in
  ``bench_sim_ws.py``: ``/admin/advance`` plays 60 market seconds, the next step starts once
  the client has seen the step's last trade (ids are the core's, the same on every face).

Each figure is the median of ``--repeats`` rounds (3; each round measures every face in turn,
so they share the machine's load), printed with its ratio to Binance spot's figure from the
same rounds and the rounds' spread. Run::

    .venv/bin/python bench/bench_sim_venues.py [--seconds 3] [--concurrency 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sim_rest import run_for
from bench_sim_ws import start

from real_trade.sim.okx.auth import DEFAULT_PASSPHRASE
from real_trade.sim.server import ccxt_urls_for

FACES = "binance,binance_futures,bybit,okx"
ORDER_CASES: tuple[tuple[str, str, str], ...] = (
    ("binance spot", "binance", "BTC/USDT"),
    ("binance usdm", "binanceusdm", "BTC/USDT:USDT"),
    ("bybit spot", "bybit", "BTC/USDT"),
    ("bybit linear", "bybit", "BTC/USDT:USDT"),
    ("okx spot", "okx", "BTC/USDT"),
    ("okx swap", "okx", "BTC/USDT:USDT"),
)
"""(label, ccxt class, symbol): perpetuals are served by the futures core, spot by the main one."""


def ccxt_config(url: str, ccxt_id: str, key: str, secret: str) -> dict[str, Any]:
    """A ccxt config of ``ccxt_id`` pointing every API at the simulator."""
    venue = "binance" if ccxt_id.startswith("binance") else ccxt_id
    config: dict[str, Any] = {
        "apiKey": key,
        "secret": secret,
        "urls": ccxt_urls_for(url, venue),
        "enableRateLimit": False,
        "options": {"recvWindow": 60000, "fetchCurrencies": False},
    }
    if ccxt_id == "binance":
        config["options"].update(defaultType="spot", fetchMarkets={"types": ["spot"]})
        config["options"]["fetchMargins"] = False
    elif ccxt_id == "binanceusdm":
        config["options"].update(defaultType="future", fetchMarkets={"types": ["linear"]})
    elif ccxt_id == "bybit":
        config["options"].update(defaultType="spot", fetchMarkets={"types": ["spot", "linear"]})
    else:
        config["password"] = DEFAULT_PASSPHRASE
        config["options"].update(defaultType="spot", fetchMarkets={"types": ["spot", "swap"]})
    return config


async def order_rate(
    url: str, case: tuple[str, str, str], creds: tuple[str, str], seconds: float, n: int, pid: int
) -> float:
    """Orders (placed and cancelled) per wall second with ccxt's client of ``case``."""
    import ccxt.async_support as ccxt_async

    _, ccxt_id, symbol = case
    ex = getattr(ccxt_async, ccxt_id)(ccxt_config(url, ccxt_id, *creds))
    try:
        await ex.load_markets()
        last = float((await ex.fetch_ticker(symbol))["last"])
        price = float(ex.price_to_precision(symbol, last * 0.9))
        market = ex.market(symbol)
        amount = max(
            150 / price / float(market.get("contractSize") or 1),
            market["limits"]["amount"]["min"] or 0,
        )
        amount = float(ex.amount_to_precision(symbol, amount * 1.1))
        params = {"acknowledged": True} if ccxt_id == "bybit" else {}

        async def cycle() -> int:
            order = await ex.create_order(symbol, "limit", "buy", amount, price)
            await ex.cancel_order(order["id"], symbol, params)
            return 1

        await run_for(0.3, n, cycle, psutil.Process(pid))  # warm up
        return (await run_for(seconds, n, cycle, psutil.Process(pid))).wall_rate
    finally:
        await ex.close()


StreamSpec = tuple[str, str | None, Callable[[Any], list[int]]]


def _binance_ids(msg: Any) -> list[int]:
    return [int(msg["t"])] if msg.get("e") == "trade" else []


def _bybit_ids(msg: Any) -> list[int]:
    return (
        [int(t["i"]) for t in msg.get("data", [])] if "publicTrade" in msg.get("topic", "") else []
    )


def _okx_ids(msg: Any) -> list[int]:
    return [int(t["tradeId"]) for t in msg.get("data", [])] if "data" in msg else []


STREAMS: dict[str, StreamSpec] = {
    "binance": ("/ws/btcusdt@trade", None, _binance_ids),
    "bybit": (
        "/v5/public/spot",
        json.dumps({"op": "subscribe", "args": ["publicTrade.BTCUSDT"]}),
        _bybit_ids,
    ),
    "okx": (
        "/ws/v5/public",
        json.dumps({"op": "subscribe", "args": [{"channel": "trades", "instId": "BTC-USDT"}]}),
        _okx_ids,
    ),
}


async def stream_rate(url: str, venue: str, seconds: float) -> float:
    """Trades per wall second one client of ``venue``'s public trade stream receives."""
    path, subscribe, ids_of = STREAMS[venue]
    seen = {"count": 0, "last": 0}
    target = {"id": 0, "event": asyncio.Event()}
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(url.replace("http://", "ws://") + path, max_msg_size=0)
        if subscribe is not None:
            await ws.send_str(subscribe)

        async def read() -> None:
            async for frame in ws:
                if frame.type is not aiohttp.WSMsgType.TEXT or not frame.data.startswith("{"):
                    continue
                ids = ids_of(json.loads(frame.data))
                if ids:
                    seen["count"] += len(ids)
                    seen["last"] = max(seen["last"], *ids)
                    if seen["last"] >= target["id"]:
                        target["event"].set()

        reader = asyncio.create_task(read())

        async def step() -> None:
            async with http.post(url + "/admin/advance", json={"seconds": 60}) as resp:
                resp.raise_for_status()
            async with http.get(
                url + "/api/v3/trades", params={"symbol": "BTCUSDT", "limit": 1}
            ) as resp:
                last = int((await resp.json())[-1]["id"])
            target["id"], target["event"] = last, asyncio.Event()
            if seen["last"] >= last:
                target["event"].set()
            await asyncio.wait_for(target["event"].wait(), 30)

        deadline = time.monotonic() + 30
        while not seen["last"]:  # the subscription is live once a trade arrives
            if time.monotonic() > deadline:
                raise RuntimeError(f"{venue}: no trade on the stream in 30 s")
            async with http.post(url + "/admin/advance", json={"seconds": 60}) as resp:
                resp.raise_for_status()
            await asyncio.sleep(0.05)
        await step()
        start_count, t0 = seen["count"], time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            await step()
        rate = (seen["count"] - start_count) / (time.perf_counter() - t0)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await ws.close()
    return rate


async def bench(url: str, pid: int, seconds: float, n: int, repeats: int) -> None:
    """Measure and print both tables."""
    async with aiohttp.ClientSession() as http:
        body = {"balances": {"USDT": "1e12", "BTC": "1e6"}}
        async with http.post(url + "/admin/accounts", json=body) as resp:
            acct = await resp.json()
    creds = (acct["api_key"], acct["secret"])
    orders: dict[str, list[float]] = {case[0]: [] for case in ORDER_CASES}
    streams: dict[str, list[float]] = {venue: [] for venue in STREAMS}
    # Round robin, so every face meets the same machine load. Orders first: the streams
    # advance the market by hours, which a core not pumped by ``/admin/advance`` (the USD-M
    # one) would replay on its next request.
    for _ in range(repeats):
        for case in ORDER_CASES:
            orders[case[0]].append(await order_rate(url, case, creds, seconds, n, pid))
    for _ in range(repeats):
        for venue in STREAMS:
            streams[venue].append(await stream_rate(url, venue, seconds))
    _table(f"orders/s (ccxt place+cancel, {n} in flight)", orders, "binance spot")
    _table("trades/s on the public trade stream (one client)", streams, "binance")


def _table(title: str, runs: dict[str, list[float]], baseline: str) -> None:
    """Print each row's median, its ratio to ``baseline``'s, and the runs' spread."""
    base = statistics.median(runs[baseline])
    print(f"\n{title}, median of {len(runs[baseline])}")
    for label, rates in runs.items():
        mid = statistics.median(rates)
        spread = f"{min(rates):.0f}-{max(rates):.0f}"
        print(f"  {label:<14}{mid:>10.0f}{mid / base:>8.2f}x   ({spread})")


def main() -> int:
    """Start the simulator, measure, stop it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    exe = Path(sys.executable).parent / "real-trade"
    cmd = [str(exe), "sim", "--port", "0", "--stepped", "--no-rate-limits", "--faces", FACES]
    proc, url = start(cmd, r"REST\s+(http://\S+)/api/v3")
    try:
        asyncio.run(bench(url, proc.pid, args.seconds, args.concurrency, args.repeats))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except Exception:
            proc.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
