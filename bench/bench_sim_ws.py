"""Benchmark: market-stream messages per second the simulator delivers to N subscribers.

Starts ``real-trade sim`` in a subprocess (stepped clock, rate limits off), connects N raw
aiohttp websocket clients to ``/ws/btcusdt@trade`` and drives the market with
``/admin/advance`` (60 market seconds per step, about 240 trades), closed loop: the next step
starts once every client has received the last trade of the previous one, so no queue grows
without bound. The figure is trade messages received per wall second, summed over clients;
it includes the market pump and matching that produce the trades.

Baseline, measured in the same run on the same machine: a bare aiohttp websocket server (this
script with ``--baseline-server``, also a subprocess) broadcasting a pre-encoded trade payload of
the same size to N clients as fast as it can. Each simulator rate is printed beside the
baseline for the same N, as a ratio. Run::

    .venv/bin/python bench/bench_sim_ws.py [--seconds 5] [--subscribers 1,10,50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = json.dumps(
    {
        "e": "trade",
        "E": 1_700_000_000_000,
        "s": "BTCUSDT",
        "t": 123_456,
        "p": "60000.00000000",
        "q": "0.01000000",
        "T": 1_700_000_000_000,
        "m": True,
        "M": True,
    },
    separators=(",", ":"),
)


# -- the baseline server -------------------------------------------------------------------
def baseline_server(port: int) -> None:
    """A bare aiohttp websocket server broadcasting ``SAMPLE`` to every client, flat out."""
    clients: set[web.WebSocketResponse] = set()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        clients.add(ws)
        try:
            async for _ in ws:
                pass
        finally:
            clients.discard(ws)
        return ws

    async def broadcast(app: web.Application) -> None:
        async def loop() -> None:
            while True:
                if not clients:
                    await asyncio.sleep(0.01)
                    continue
                for ws in list(clients):
                    try:
                        await ws.send_str(SAMPLE)
                    except (ConnectionError, RuntimeError):
                        clients.discard(ws)
                await asyncio.sleep(0)  # let the server accept and read, as the simulator does

        app["task"] = asyncio.get_running_loop().create_task(loop())

    app = web.Application()
    app.router.add_get("/ws", handler)
    app.on_startup.append(broadcast)

    def ready(*_: object) -> None:  # run_app calls it once the socket listens
        print("baseline ready", flush=True)

    web.run_app(app, host="127.0.0.1", port=port, print=ready, handle_signals=True)


# -- processes -----------------------------------------------------------------------------
def start(cmd: list[str], pattern: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``cmd``; return it once a line matches ``pattern`` (group 1 is returned)."""
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
        match = re.search(pattern, line)
        if match:
            return proc, match.group(1) if match.groups() else ""
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"{cmd[0]} did not start")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- measuring -----------------------------------------------------------------------------
class Subscribers:
    """N websocket clients counting the frames they receive and the last trade id seen."""

    def __init__(self) -> None:
        self.count = 0
        self.last_ids: list[int] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.target = 0
        self.reached = 0
        self.done = asyncio.Event()

    def expect(self, trade_id: int) -> asyncio.Event:
        """Return an event set once every client has seen trade ``trade_id``."""
        self.target = trade_id
        self.reached = sum(1 for x in self.last_ids if x >= trade_id)
        self.done = asyncio.Event()
        if self.reached == len(self.last_ids):
            self.done.set()
        return self.done

    async def open(self, http: aiohttp.ClientSession, url: str, n: int) -> None:
        self.last_ids = [0] * n
        for i in range(n):
            ws = await http.ws_connect(url, max_msg_size=0)
            self.tasks.append(asyncio.create_task(self._read(ws, i)))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, i: int) -> None:
        async for msg in ws:
            self.count += 1
            data: str = msg.data
            start = data.index('"t":') + 4  # the trade id, read the same cheap way everywhere
            new = int(data[start : data.index(",", start)])
            old = self.last_ids[i]
            if new > old:
                self.last_ids[i] = new
                if old < self.target <= new:
                    self.reached += 1
                    if self.reached == len(self.last_ids):
                        self.done.set()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def measure_sim(http_base: str, n: int, seconds: float) -> float:
    ws_url = http_base.replace("http://", "ws://") + "/ws/btcusdt@trade"
    subs = Subscribers()
    async with aiohttp.ClientSession() as http:
        await subs.open(http, ws_url, n)

        async def advance() -> int:
            """Play 60 market seconds; return the id of the last trade."""
            async with http.post(http_base + "/admin/advance", json={"seconds": 60}) as resp:
                resp.raise_for_status()
            async with http.get(
                http_base + "/api/v3/trades", params={"symbol": "BTCUSDT", "limit": 1}
            ) as resp:
                return int((await resp.json())[-1]["id"])

        async def step() -> None:
            await subs.expect(await advance()).wait()

        # warm up until every client has seen a trade: one the server registered late would
        # miss a step's trades and stall the closed loop
        deadline = time.monotonic() + 30
        while not all(subs.last_ids):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{subs.last_ids.count(0)} of {n} clients saw no trade in 30 s")
            await advance()
        await step()
        start_count, t0 = subs.count, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            await step()
        rate = (subs.count - start_count) / (time.perf_counter() - t0)
        await subs.close()
    return rate


async def measure_baseline(port: int, n: int, seconds: float) -> float:
    subs = Subscribers()
    async with aiohttp.ClientSession() as http:
        await subs.open(http, f"ws://127.0.0.1:{port}/ws", n)
        deadline = time.monotonic() + 30
        while not all(subs.last_ids):  # warm up until every client receives
            if time.monotonic() > deadline:
                raise RuntimeError(f"{subs.last_ids.count(0)} of {n} clients got nothing in 30 s")
            await asyncio.sleep(0.01)
        start_count, t0 = subs.count, time.perf_counter()
        await asyncio.sleep(seconds)  # the measuring window
        rate = (subs.count - start_count) / (time.perf_counter() - t0)
        await subs.close()
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--subscribers", default="1,10,50")
    parser.add_argument("--baseline-server", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_server is not None:
        baseline_server(args.baseline_server)
        return 0
    counts = [int(x) for x in args.subscribers.split(",")]
    exe = str(Path(sys.executable).parent / "real-trade")
    sim, base_url = start(
        [exe, "sim", "--port", "0", "--stepped", "--no-rate-limits"], r"REST\s+(http://\S+)/api/v3"
    )
    sim_rates = {n: asyncio.run(measure_sim(base_url, n, args.seconds)) for n in counts}
    sim.terminate()
    sim.wait(15)
    port = free_port()
    base, _ = start([sys.executable, __file__, "--baseline-server", str(port)], r"baseline ready")
    base_rates = {n: asyncio.run(measure_baseline(port, n, args.seconds)) for n in counts}
    base.terminate()
    base.wait(15)
    print(
        f"simulator market-stream benchmark ({args.seconds:g} s each, {os.cpu_count()} CPUs, "
        "clients and servers on the same machine; messages received per wall second)"
    )
    print(f"{'subscribers':>12}{'simulator msg/s':>18}{'bare aiohttp msg/s':>20}{'ratio':>8}")
    for n in counts:
        ratio = sim_rates[n] / base_rates[n] if base_rates[n] else float("nan")
        print(f"{n:>12}{sim_rates[n]:>18,.0f}{base_rates[n]:>20,.0f}{ratio:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
