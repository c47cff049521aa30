"""Benchmark: the raw Binance stream path against a bare aiohttp + ``json.loads`` reader.

A websocket server in a child process (``--serve``) answers a ``SUBSCRIBE`` and then sends the
same pre-encoded frames, as fast as it can, to every client:

* **klines**: Binance ``@kline_1m`` payloads, 30 updates per bar (Binance sends one every 2 s)
  of which the last closes the bar (``"x":true``);
* **depth**: Binance ``@depth@100ms`` diffs with 20 bid and 20 ask levels each.

Readers, in this process, one after the other, ``--repeat`` times:

* **bare** (the baseline): ``aiohttp`` ``ws_connect`` and ``json.loads`` of every frame;
* **ours, klines**: :class:`~real_trade.feeds.binance_klines.BinanceKlineSource` as the feed
  builds it (:func:`~real_trade.feeds.binance_klines.binance_kline_source`), counting the
  closed bars it hands on (every frame that closes a bar becomes a ``Bar``);
* **ours, depth**: :class:`~real_trade.feeds.binancews.BinanceWebSocket` with a ``depth``
  listener, counting the :class:`~real_trade.feeds.ws_updates.DepthUpdate` events.

Each reader is measured by the CPU time of this process (``time.process_time``, all threads)
from the connection request to its last frame: the server runs in its own process, so a
reader's own cost is what is counted even when the server is the slower side. Ratio = the
bare reader's CPU per frame / ours (>= 1 is faster than the baseline). Wall-clock frames per
second are printed too.

Run::

    .venv/bin/python bench/bench_ingestion.py                # 60,000 frames each, 3 runs
    .venv/bin/python bench/bench_ingestion.py --frames 6000 --repeat 1
    .venv/bin/python bench/bench_ingestion.py --only depth      # the depth readers only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from real_trade.feeds.bars import Bar
from real_trade.feeds.binance_klines import BinanceKlineSource
from real_trade.feeds.binancews import BinanceWebSocket

SYMBOL = "BTCUSDT"
UPDATES_PER_BAR = 30
LEVELS = 20
T0 = 1_700_000_040_000


# -- the frames ------------------------------------------------------------------------------
def kline_frames(n: int) -> list[str]:
    """``n`` Binance kline payloads: 30 updates a bar, the 30th closing it."""
    frames = []
    for i in range(n):
        bar, step = divmod(i, UPDATES_PER_BAR)
        open_ms = T0 + bar * 60_000
        price = 40_000 + (i % 997) * 0.01
        frames.append(
            json.dumps(
                {
                    "e": "kline",
                    "E": open_ms + step * 2_000 + 1_999,
                    "s": SYMBOL,
                    "k": {
                        "t": open_ms,
                        "T": open_ms + 59_999,
                        "s": SYMBOL,
                        "i": "1m",
                        "f": 100 + i,
                        "L": 200 + i,
                        "o": "40000.00000000",
                        "c": f"{price:.8f}",
                        "h": f"{price + 5:.8f}",
                        "l": f"{price - 5:.8f}",
                        "v": f"{1.5 + step:.8f}",
                        "n": 100 + step,
                        "x": step == UPDATES_PER_BAR - 1,
                        "q": f"{60000.0 + step:.8f}",
                        "V": "0.70000000",
                        "Q": "28000.00000000",
                        "B": "0",
                    },
                },
                separators=(",", ":"),
            )
        )
    return frames


def depth_frames(n: int) -> list[str]:
    """``n`` Binance diff-depth payloads of ``LEVELS`` bids and asks, contiguous ids."""
    frames = []
    for i in range(n):
        bids = [
            [f"{40_000 - j * 0.01 - (i % 7) * 0.01:.8f}", f"{(j + i) % 9:.8f}"]
            for j in range(LEVELS)
        ]
        asks = [[f"{40_000.01 + j * 0.01:.8f}", f"{(j * i) % 11:.8f}"] for j in range(LEVELS)]
        payload = {
            "e": "depthUpdate",
            "E": T0 + i * 100,
            "s": SYMBOL,
            "U": 1 + i * 10,
            "u": 10 + i * 10,
            "b": bids,
            "a": asks,
        }
        frames.append(json.dumps(payload, separators=(",", ":")))
    return frames


# -- the server (child process) ---------------------------------------------------------------
def serve(frames_n: int) -> None:
    """Serve ``/ws`` on a free loopback port (printed first); ``?kind=`` picks the frames."""
    frames = {"kline": kline_frames(frames_n), "depth": depth_frames(frames_n)}

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        first = await ws.receive()
        request_id = 1
        kind = "kline"
        if first.type is aiohttp.WSMsgType.TEXT:
            sub = json.loads(first.data)
            request_id = sub.get("id", 1)
            kind = "depth" if any("depth" in p for p in sub.get("params", [])) else "kline"
        await ws.send_str(json.dumps({"result": None, "id": request_id}))
        for text in frames[kind]:
            await ws.send_str(text)
        await ws.receive()  # the client closes when it has read everything
        return ws

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/ws", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(port, flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


# -- the readers -----------------------------------------------------------------------------
def bare_reader(url: str, stream: str, frames: int) -> int:
    """aiohttp + json.loads of every frame; returns frames read."""

    async def main() -> int:
        read = 0
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{url}/ws") as ws:
            await ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": [stream], "id": 1}))
            async for msg in ws:
                payload = json.loads(msg.data)
                if "id" in payload:
                    continue
                read += 1
                if read == frames:
                    break
        return read

    return asyncio.run(main())


def kline_reader(url: str, _stream: str, frames: int) -> int:
    """Our kline source as the feed builds it; returns the frames behind the bars handed on."""
    done = threading.Event()
    closed = [0]
    bars = frames // UPDATES_PER_BAR

    def on_bar(bar: Bar) -> None:
        if bar.closed:
            closed[0] += 1
            if closed[0] == bars:
                done.set()

    source = BinanceKlineSource(
        SYMBOL, "1m", sim_url=url.replace("ws://", "http://"), forming_every_s=1.0
    )
    source.start(on_bar, lambda _state: None)
    try:
        if not done.wait(300):
            raise RuntimeError(f"only {closed[0]} of {bars} bars arrived")
    finally:
        source.stop()
    return closed[0] * UPDATES_PER_BAR


def depth_reader(url: str, stream: str, frames: int) -> int:
    """Our websocket with a depth listener; returns the DepthUpdate events received."""
    done = threading.Event()
    got = [0]

    def on_depth(_update: Any) -> None:
        got[0] += 1
        if got[0] == frames:
            done.set()

    ws = BinanceWebSocket(base_url=url)
    ws.on("depth", on_depth)
    ws.start([stream])
    try:
        if not done.wait(300):
            raise RuntimeError(f"only {got[0]} of {frames} depth updates arrived")
    finally:
        ws.stop()
    return got[0]


def measure(
    reader: Callable[[str, str, int], int], url: str, stream: str, n: int
) -> dict[str, float]:
    """CPU microseconds per frame and wall frames/s of one reader run."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    read = reader(url, stream, n)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    if read != n:
        raise RuntimeError(f"{reader.__name__}: {read} of {n} frames")
    return {"cpu_us": cpu / n * 1e6, "per_s": n / wall}


def main(argv: list[str] | None = None) -> int:
    """Start the server, run the readers, print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=60_000, help="frames per reader run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each reader")
    parser.add_argument(
        "--only", choices=("klines", "depth"), help="run only the klines or the depth readers"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    frames = args.frames - args.frames % UPDATES_PER_BAR
    if args.serve:
        serve(frames)
        return 0
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--frames", str(frames)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        url = f"ws://127.0.0.1:{int(child.stdout.readline())}"
        kline_stream = BinanceWebSocket.kline_stream(SYMBOL, "1m")
        depth_stream = BinanceWebSocket.depth_stream(SYMBOL, fast=True)
        runs: dict[str, list[dict[str, float]]] = {}
        plan = [
            ("bare, klines", bare_reader, kline_stream),
            ("ours, klines", kline_reader, kline_stream),
            ("bare, depth", bare_reader, depth_stream),
            ("ours, depth", depth_reader, depth_stream),
        ]
        kinds = ("klines", "depth") if args.only is None else (args.only,)
        plan = [step for step in plan if step[0].split(", ")[1] in kinds]
        print(f"bench_ingestion: {frames} frames per run, {args.repeat} runs", flush=True)
        for _ in range(args.repeat):
            for name, reader, stream in plan:
                runs.setdefault(name, []).append(measure(reader, url, stream, frames))
    finally:
        child.terminate()
        child.wait(30)
    med = {
        k: {m: statistics.median(r[m] for r in v) for m in ("cpu_us", "per_s")}
        for k, v in runs.items()
    }
    print(f"\n{'reader':<16}{'CPU us/frame (runs)':>34}{'frames/s wall':>16}")
    for name, values in runs.items():
        each = "/".join(f"{r['cpu_us']:.1f}" for r in values)
        print(f"{name:<16}{med[name]['cpu_us']:>10.2f} [{each:>20}]{med[name]['per_s']:>16,.0f}")
    for what in kinds:
        ratio = med[f"bare, {what}"]["cpu_us"] / med[f"ours, {what}"]["cpu_us"]
        print(f"{what}: ours = {ratio:.2f}x the bare reader (CPU per frame, medians; goal >= 0.8x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
