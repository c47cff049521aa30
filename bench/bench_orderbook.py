"""Order book level updates per second: our synchronizer against ccxt.pro's own order book.

One seeded diff stream in Binance's ``depthUpdate`` shape (decoded JSON, prices and sizes as
strings, contiguous ``U``/``u``) over a 1000-level-a-side book: each message changes 1-20
levels per side (70% resize an existing level, mostly near the top; the rest add a level while
the side has fewer than 1000, else remove one, so the book stays about 1000 levels a side). The same
messages go, in one process and alternating, through:

* **ours**: ``BinanceOrderBookSynchronizer.on_diff``, what the websocket runs per decoded
  message: the ``U``/``u`` rule, then ``OrderBook.apply_rows`` (prices through the parse cache,
  sizes checked as plain decimals and kept as sent, parsed when read);
* **ours, eager floats**: the feed's own parser ``parse_binance_payload`` (a ``DepthUpdate``,
  whose ``bids``/``asks`` read every price and size as a checked float) then
  ``OrderBook.apply``: the path the synchronizer would take through the typed update's floats,
  for comparison;
* **ccxt.pro**: ``binance.handle_order_book``, ccxt.pro's per-message depth handler: the same
  ``U``/``u`` check, then ``handle_order_book_message`` (``handle_deltas`` -> ``safe_float`` ->
  ``OrderBookSide.store``), on an ``order_book`` made from the same snapshot (the websocket
  client it is given only has the URL and a ``resolve`` that nobody waits on);
* **ccxt.pro deltas**: ``handle_order_book_message`` alone (no sequence check): less work per
  message than our path, shown so the ratio is not read off the heavier handler only.

The four take turns chunk by chunk (``--chunk`` messages, the order rotating), so the load of a
shared machine falls on all of them alike; each run starts from the snapshot with a cold price
cache, and the four books are compared level for level at its end. Reports the median of
``--runs`` runs (default 3) of each, and the ratios.

    PYTHONPATH=. .venv/bin/python bench/bench_orderbook.py [--messages 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import ccxt.pro as ccxtpro

from real_trade.bus import EventBus
from real_trade.feeds.binancews import parse_binance_payload
from real_trade.orderbook import BinanceOrderBookSynchronizer, BookState, OrderBook
from real_trade.orderbook import book as book_module

LEVELS = 1000
TICK = 0.01


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def make_stream(messages: int, seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A REST-style snapshot and ``messages`` diffs that follow it."""
    rng = random.Random(seed)
    span = range(0, 2 * LEVELS, 2)  # every other tick: room for new levels in between
    bids = {round(60_000 - i * TICK, 2): round(rng.uniform(0.01, 5), 5) for i in span}
    asks = {round(60_000.01 + i * TICK, 2): round(rng.uniform(0.01, 5), 5) for i in span}
    snapshot = {
        "lastUpdateId": 1000,
        "bids": [[_fmt(p), str(q)] for p, q in sorted(bids.items(), reverse=True)],
        "asks": [[_fmt(p), str(q)] for p, q in sorted(asks.items())],
    }
    diffs = []
    uid = 1000
    for _ in range(messages):
        msg_levels = {}
        for side, book, sign in (("b", bids, -1), ("a", asks, 1)):
            changes: dict[float, float] = {}
            prices = list(book)
            for _ in range(rng.randint(1, 20)):
                x = rng.random()
                if x < 0.7:  # resize a level, mostly near the top
                    price = prices[min(int(rng.expovariate(1 / 30)), len(prices) - 1)]
                    qty = round(rng.uniform(0.01, 5), 5)
                elif len(book) < LEVELS:  # a new level, anywhere in twice the book's span
                    base = 60_000.0 if sign < 0 else 60_000.01
                    price = round(base + sign * TICK * rng.randint(0, 2 * LEVELS), 2)
                    qty = round(rng.uniform(0.01, 5), 5)
                else:  # remove a level
                    price, qty = rng.choice(prices), 0.0
                changes[price] = qty
                if qty:
                    book[price] = qty
                else:
                    book.pop(price, None)
            msg_levels[side] = [[_fmt(p), "0" if not q else str(q)] for p, q in changes.items()]
        first = uid + 1
        uid += rng.randint(1, 5)
        diffs.append(
            {
                "e": "depthUpdate",
                "E": 1_700_000_000_000 + uid,
                "s": "BTCUSDT",
                "U": first,
                "u": uid,
                "b": msg_levels["b"],
                "a": msg_levels["a"],
            }
        )
    return snapshot, diffs


def count_levels(diffs: list[dict[str, Any]]) -> int:
    """Level updates in the stream."""
    return sum(len(d["b"]) + len(d["a"]) for d in diffs)


Apply = Callable[[list[dict[str, Any]]], None]


def ours(snapshot: dict[str, Any]) -> tuple[Apply, Callable[[], Any]]:
    """Our synchronizer after a REST snapshot: ``on_diff`` per decoded message."""
    book_module._PRICES.clear()  # every run starts with a cold price cache
    sync = BinanceOrderBookSynchronizer(["BTCUSDT"], bus=EventBus(synchronous=True))
    track = sync.tracks["BTCUSDT"]
    sync._load(track, snapshot)  # what a REST snapshot does
    assert track.state is BookState.SYNCED
    on_diff = sync.on_diff

    def apply(chunk: list[dict[str, Any]]) -> None:
        for msg in chunk:
            on_diff(msg)

    def result() -> Any:
        assert sync.resyncs("BTCUSDT") == 0
        depth = track.book.depth(None)
        return list(depth.bids), list(depth.asks)

    return apply, result


def eager(snapshot: dict[str, Any]) -> tuple[Apply, Callable[[], Any]]:
    """The feed's typed parse (floats, a ``DepthUpdate``) then ``OrderBook.apply``."""
    book = OrderBook("binance", "BTCUSDT")
    book.load_rows(snapshot["bids"], snapshot["asks"], snapshot["lastUpdateId"], None)
    apply_levels = book.apply

    def apply(chunk: list[dict[str, Any]]) -> None:
        for msg in chunk:
            parsed = parse_binance_payload(msg)
            assert parsed is not None
            update = parsed[1]
            apply_levels(update.bids, update.asks, update.last_id, update.time_ms)

    def result() -> Any:
        depth = book.depth(None)
        return list(depth.bids), list(depth.asks)

    return apply, result


class _Client:
    """The two things ccxt.pro's handler asks of its websocket client: a spot stream URL and
    ``resolve`` (the ``watch_order_book`` future: nobody waits here)."""

    url = "wss://stream.binance.com:9443/stream"

    def resolve(self, result: Any, message_hash: str) -> None:
        """Nobody is waiting."""


def _ccxt_book(snapshot: dict[str, Any]) -> tuple[Any, Any]:
    exchange = ccxtpro.binance()
    book = exchange.order_book(
        {
            "bids": [[float(p), float(q)] for p, q in snapshot["bids"]],
            "asks": [[float(p), float(q)] for p, q in snapshot["asks"]],
            "nonce": snapshot["lastUpdateId"],
        }
    )
    return exchange, book


def _ccxt_levels(book: Any) -> Any:
    return [tuple(x) for x in book["bids"]], [tuple(x) for x in book["asks"]]


def ccxt_pro(snapshot: dict[str, Any]) -> tuple[Apply, Callable[[], Any]]:
    """ccxt.pro's depth handler ``binance.handle_order_book``: its ``U``/``u`` check, then
    ``handle_order_book_message`` (``handle_deltas`` -> ``OrderBookSide.store``)."""
    exchange, book = _ccxt_book(snapshot)
    exchange.orderbooks[exchange.safe_market("BTCUSDT", None, None, "spot")["symbol"]] = book
    handle, client = exchange.handle_order_book, _Client()

    def apply(chunk: list[dict[str, Any]]) -> None:
        for msg in chunk:
            handle(client, msg)

    def result() -> Any:
        return _ccxt_levels(book)

    return apply, result


def ccxt_pro_deltas(snapshot: dict[str, Any]) -> tuple[Apply, Callable[[], Any]]:
    """ccxt.pro's ``handle_order_book_message`` alone (the deltas, no sequence check)."""
    exchange, book = _ccxt_book(snapshot)
    handle = exchange.handle_order_book_message

    def apply(chunk: list[dict[str, Any]]) -> None:
        for msg in chunk:
            handle(None, msg, book)

    def result() -> Any:
        return _ccxt_levels(book)

    return apply, result


PATHS = {"ours": ours, "eager": eager, "ccxt.pro": ccxt_pro, "ccxt.pro deltas": ccxt_pro_deltas}


def one_run(snapshot: dict[str, Any], diffs: list[dict[str, Any]], chunk: int) -> dict[str, float]:
    """Seconds per path for the whole stream, the paths taking turns chunk by chunk (so the
    load of a shared machine falls on all of them alike); the books are compared at the end."""
    players = {name: make(snapshot) for name, make in PATHS.items()}
    spent = dict.fromkeys(players, 0.0)
    for turn, start in enumerate(range(0, len(diffs), chunk)):
        part = diffs[start : start + chunk]
        names = list(players)
        names = names[turn % len(names) :] + names[: turn % len(names)]
        for name in names:
            t0 = time.perf_counter()
            players[name][0](part)
            spent[name] += time.perf_counter() - t0
    books = {name: player[1]() for name, player in players.items()}
    assert len({repr(b) for b in books.values()}) == 1, "the books differ"
    return spent


def main() -> int:
    """Measure and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=500, help="messages per turn")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    snapshot, diffs = make_stream(args.messages, args.seed)
    levels = count_levels(diffs)
    rates: dict[str, list[float]] = {name: [] for name in PATHS}
    for run in range(args.runs):
        spent = one_run(snapshot, diffs, args.chunk)
        for name, seconds in spent.items():
            rates[name].append(levels / seconds)
        shown = ", ".join(f"{name} {levels / t:,.0f}/s" for name, t in spent.items())
        print(f"run {run + 1}: {shown}")
    med = {name: statistics.median(r) for name, r in rates.items()}

    def per_run(name: str) -> float:
        return statistics.median(o / t for o, t in zip(rates["ours"], rates[name], strict=True))

    print(f"\n{len(diffs):,} messages, {levels:,} level updates, median of {args.runs} runs:")
    labels = {
        "ours": "ours: on_diff (U/u rule + apply_rows)",
        "eager": "ours via DepthUpdate (eager floats)",
        "ccxt.pro": "ccxt.pro handle_order_book (U/u + deltas)",
        "ccxt.pro deltas": "ccxt.pro handle_order_book_message only",
    }
    for name, label in labels.items():
        print(f"  {label:<44} {med[name]:>12,.0f} level updates/s")
    for name in ("ccxt.pro", "ccxt.pro deltas"):
        print(
            f"  ours / {name}: {med['ours'] / med[name]:.2f}x of the medians, "
            f"{per_run(name):.2f}x median of the per-run ratios"
        )
    print(f"  eager / ccxt.pro: {med['eager'] / med['ccxt.pro']:.2f}x")
    print("  (goal: ours >= 3x ccxt.pro and >= 500k level updates/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
