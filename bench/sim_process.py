"""The simulator of the reaction benchmark, in a process of its own, stamping on its bus.

``real-trade sim`` builds a :class:`~real_trade.sim.SimExchange` and serves until SIGTERM; this
launcher does the same (same class, same server, same faces, the Binance face's rate limits
on) with two differences the benchmark needs: the synthetic market ticks every ``--tick-ms`` of
market time (the CLI's 250 ms ticks at speed 300 spend most of a core on this shared machine),
and two subscriptions to the simulator core's bus stamp, with ``time.monotonic_ns()``:

* ``K <open_ms> <ns>``: the core publishes the final (closed) 1m kline of a bar;
* ``S <open_ms> <ns>``: the Binance face hands the bar's final ``@kline_1m`` frame
  (``"x":true``) to its subscribers' connections (``MarketFeed._publish``, wrapped here): the
  moment the bar's final kline is sent, the benchmark's t0. The face's stream pacer runs every
  50 ms, so S can trail K by up to that much: the simulator's own delay, not the client's;
* ``R - <ns>``: an order's HTTP request (``POST /api/v3/order``) reached the simulator's
  handler (an aiohttp middleware added to the app before it starts: the moment the simulator
  has the order, before its own authentication and matching). The body is left unread for
  the handler, so the n-th ``R`` is paired with the n-th ``O`` by the benchmark (orders go
  out one at a time, a bar apart; unequal counts leave the run's orders unmatched);
* ``O <client order id> <ns>``: the core publishes the ``NEW`` event of that order (after the
  simulator's own processing; shown beside, not the headline figure).

``CLOCK_MONOTONIC`` is one clock for every process on Linux, so these stamps compare with the
trading process's own. The first line on stdout is JSON (``url``, ``key``, ``secret``); the
stamps are written to ``--stamps`` when the process is told to stop (SIGTERM/SIGINT).

Run by ``bench_reaction.py``; by hand::

    .venv/bin/python bench/sim_process.py --speed 300 --stamps /tmp/stamps.txt
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web

import real_trade.sim.server as sim_server
from real_trade.sim import ExecutionType, Kline, OrderEvent, SimExchange, SyntheticMarket
from real_trade.sim.binance.ws_market_feed import MarketFeed

SYMBOL_ID = "BTCUSDT"


def main(argv: list[str] | None = None) -> int:
    """Start the simulator, announce it, stamp until told to stop, write the stamps."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--speed", type=float, default=300.0)
    parser.add_argument("--tick-ms", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stamps", required=True, help="file the stamps are written to")
    args = parser.parse_args(argv)

    market = SyntheticMarket([SYMBOL_ID], seed=args.seed, tick_ms=args.tick_ms)
    stamps: list[str] = []
    stop = threading.Event()

    def on_kline(_topic: str, kline: Kline) -> None:
        now = time.monotonic_ns()
        if kline.is_closed and kline.interval == "1m":
            stamps.append(f"K {kline.open_ms} {now}")

    def on_order(_topic: str, event: OrderEvent) -> None:
        now = time.monotonic_ns()
        if event.execution_type is ExecutionType.NEW:
            stamps.append(f"O {event.order.client_order_id} {now}")

    @web.middleware
    async def stamp_orders(request: web.Request, handler: Any) -> web.StreamResponse:
        now = time.monotonic_ns()
        if request.method == "POST" and request.path == "/api/v3/order":
            stamps.append(f"R - {now}")  # the body stays unread for the handler
        response: web.StreamResponse = await handler(request)
        return response

    publish = MarketFeed._publish

    def stamped_publish(feed: MarketFeed, name: str, payload: str) -> None:
        if '"x":true' in payload and name.endswith("@kline_1m"):
            stamps.append(f"S {json.loads(payload)['k']['t']} {time.monotonic_ns()}")
        publish(feed, name, payload)

    MarketFeed._publish = stamped_publish  # type: ignore[method-assign]
    build_app = sim_server.create_exchange_app

    def create_exchange_app(*a: Any, **k: Any) -> web.Application:
        app = build_app(*a, **k)
        app.middlewares.append(stamp_orders)
        return app

    sim_server.create_exchange_app = create_exchange_app  # type: ignore[assignment]
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _s, _f: stop.set())
    with SimExchange(market=market, speed=args.speed, seed=args.seed) as sim:
        key, secret = sim.create_account({"USDT": 1_000_000, "BTC": 10})
        account = sim.core.account_by_key(key)
        assert account is not None
        subs: list[Any] = [
            sim.bus.subscribe(f"sim.kline.{SYMBOL_ID}", on_kline),
            sim.bus.subscribe(f"sim.order.{account.account_id}", on_order),
        ]
        print(json.dumps({"url": sim.url, "key": key, "secret": secret}), flush=True)
        stop.wait()
        for sub in subs:
            sub.unsubscribe()
    Path(args.stamps).write_text("\n".join(stamps) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
