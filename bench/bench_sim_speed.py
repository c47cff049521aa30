"""Benchmark: the simulator at high speed -- memory over a month of market time, REST latency.

Starts ``real-trade sim --speed SPEED`` in a subprocess (synthetic BTC/USDT, rate limits off),
then, until ``--days`` of market time have passed, keeps one client asking the public REST
endpoints that make the simulator catch its market up to the clock (``ticker/price``,
``depth``, ``klines``, ``trades``, in turn, ``--rate`` requests per wall second) and samples the
server's RSS every few seconds. Prints the RSS at start, its maximum and at the end, the REST
latency percentiles, failed requests, and how much market time the simulator had to skip
(its warning lines). Run::

    .venv/bin/python bench/bench_sim_speed.py                       # 3600x, 30 days: ~12 min
    .venv/bin/python bench/bench_sim_speed.py --speed 86400 --days 30   # a day per second
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parent.parent
DAY_MS = 86_400_000
PATHS = (
    "/api/v3/ticker/price?symbol=BTCUSDT",
    "/api/v3/depth?symbol=BTCUSDT&limit=20",
    "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=100",
    "/api/v3/trades?symbol=BTCUSDT&limit=100",
)
SKIP_RE = re.compile(r"skipped (\d+) market seconds")


def start_server(speed: float) -> tuple[subprocess.Popen[str], str, list[str]]:
    """Start the simulator CLI at ``speed``; return the process, its URL and its output lines
    (collected by a reader thread)."""
    exe = Path(sys.executable).parent / "real-trade"
    cmd = [str(exe), "sim", "--port", "0", "--speed", f"{speed:g}", "--no-rate-limits"]
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
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        match = re.search(r"REST\s+(http://\S+)/api/v3", line)
        if match:
            threading.Thread(target=_drain, args=(proc.stdout, lines), daemon=True).start()
            return proc, match.group(1), lines
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("the simulator did not start:\n" + "".join(lines))


def _drain(stream: IO[str], lines: list[str]) -> None:
    for line in stream:
        lines.append(line)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def run(url: str, server: psutil.Process, days: float, rate: float) -> dict[str, float]:
    """Drive the REST load until ``days`` of market time passed; return the figures."""
    latencies: list[float] = []
    failures = 0
    rss: list[float] = []
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        async with http.get(url + "/admin/time") as resp:
            start_ms = (await resp.json())["now_ms"]
        rss_start = server.memory_info().rss / 1e6
        rss.append(rss_start)
        wall0 = time.perf_counter()
        next_sample = wall0 + 5.0
        i = 0
        now_ms = start_ms
        while now_ms - start_ms < days * DAY_MS:
            path = PATHS[i % len(PATHS)]
            i += 1
            t0 = time.perf_counter()
            try:
                async with http.get(url + path) as resp:
                    await resp.read()
                    ok = resp.status == 200
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            latencies.append(time.perf_counter() - t0)
            failures += not ok
            if i % len(PATHS) == 0:
                async with http.get(url + "/admin/time") as resp:
                    now_ms = (await resp.json())["now_ms"]
            if time.perf_counter() >= next_sample:
                rss.append(server.memory_info().rss / 1e6)
                next_sample += 5.0
                print(
                    f"  market day {(now_ms - start_ms) / DAY_MS:5.1f}: RSS {rss[-1]:6.1f} MB, "
                    f"REST p99 so far {percentile(latencies, 0.99) * 1000:6.1f} ms",
                    flush=True,
                )
            await asyncio.sleep(max(0.0, 1.0 / rate - (time.perf_counter() - t0)))
        wall = time.perf_counter() - wall0
        rss.append(server.memory_info().rss / 1e6)
    return {
        "wall_s": wall,
        "market_days": (now_ms - start_ms) / DAY_MS,
        "rss_start": rss_start,
        "rss_max": max(rss),
        "rss_end": rss[-1],
        "requests": len(latencies),
        "failures": failures,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
    }


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=3600.0, help="market seconds per second")
    parser.add_argument("--days", type=float, default=30.0, help="market days to run")
    parser.add_argument("--rate", type=float, default=20.0, help="REST requests per second")
    args = parser.parse_args()
    proc, url, lines = start_server(args.speed)
    try:
        server = psutil.Process(proc.pid)
        print(f"simulator at {args.speed:g}x ({url}); {args.days:g} market days", flush=True)
        res = asyncio.run(run(url, server, args.days, args.rate))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    skipped = sum(int(m.group(1)) for line in lines if (m := SKIP_RE.search(line)))
    print(
        f"speed {args.speed:g}x: {res['market_days']:.1f} market days in {res['wall_s']:.0f} s "
        f"wall; RSS start {res['rss_start']:.1f} MB, max {res['rss_max']:.1f} MB, end "
        f"{res['rss_end']:.1f} MB; REST {res['requests']:.0f} requests, {res['failures']:.0f} "
        f"failed, p50 {res['p50_ms']:.1f} ms, p99 {res['p99_ms']:.1f} ms, max "
        f"{res['max_ms']:.0f} ms; market time skipped (overload): {skipped} s"
    )
    return 0 if res["failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
