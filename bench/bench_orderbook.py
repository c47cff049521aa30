"""Order book level updates per second: our synchronizer against ccxt.pro's own order book.

One seeded diff stream in Binance's ``depthUpdate`` shape (decoded JSON, prices and sizes as
strings, contiguous ``U``/``u``) over a 1000-level-a-side book: each message changes 1-20
levels per side (70% resize an existing level, mostly near the top; the rest add a level while
the side has fewer than 1000, else remove one, so the book stays about 1000 levels a side). The same
messages go, in one process and alternating, through:

* **ours**: ``BinanceOrderBookSynchronizer.on_diff``, what the websocket runs per decoded
  message: the ``U``/``u`` rule, then ``OrderBook.apply_rows`` (prices through the parse cache,
  sizes checked as plain decimals and kept as sent, parsed when read);
* **ours, eager floats**: the feed's own parser ``parse_binance_payload`` (every price and size
  to a checked float, a ``DepthUpdate``) then ``OrderBook.apply``: the path the synchronizer
  would take through the typed update, for comparison;
* **ccxt.pro**: ``binance.handle_order_book_message`` (``handle_deltas`` -> ``safe_float`` ->
  ``OrderBookSide.store``, plus its nonce and timestamp), on an ``order_book`` made from the
  same snapshot. It does not check the sequence (ccxt does that in ``handle_order_book``), so
  it does less work per message than our end-to-end path.

The books are compared level for level at the end of each run. Reports the median of
``--runs`` runs (default 3) of each, and the ratios.

    PYTHONPATH=. .venv/bin/python bench/bench_orderbook.py [--messages 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from typing import Any

import ccxt.pro as ccxtpro

from real_trade.bus import EventBus
from real_trade.feeds.binancews import parse_binance_payload
from real_trade.orderbook import BinanceOrderBookSynchronizer, BookState, OrderBook

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


def run_ours(snapshot: dict[str, Any], diffs: list[dict[str, Any]]) -> tuple[float, Any]:
    """Seconds for rule + apply of every decoded diff, and the final book."""
    sync = BinanceOrderBookSynchronizer(["BTCUSDT"], bus=EventBus(synchronous=True))
    track = sync.tracks["BTCUSDT"]
    sync._load(track, snapshot)  # what a REST snapshot does
    assert track.state is BookState.SYNCED
    on_diff = sync.on_diff
    t0 = time.perf_counter()
    for msg in diffs:
        on_diff(msg)
    elapsed = time.perf_counter() - t0
    assert sync.resyncs("BTCUSDT") == 0 and track.book.update_id == diffs[-1]["u"]
    return elapsed, track.book


def run_eager(snapshot: dict[str, Any], diffs: list[dict[str, Any]]) -> tuple[float, Any]:
    """Seconds for the feed's typed parse (floats) + ``OrderBook.apply`` of every diff."""
    book = OrderBook("binance", "BTCUSDT")
    book.load_rows(snapshot["bids"], snapshot["asks"], snapshot["lastUpdateId"], None)
    apply = book.apply
    t0 = time.perf_counter()
    for msg in diffs:
        parsed = parse_binance_payload(msg)
        assert parsed is not None
        update = parsed[1]
        apply(update.bids, update.asks, update.last_id, update.time_ms)
    return time.perf_counter() - t0, book


def run_ccxt(snapshot: dict[str, Any], diffs: list[dict[str, Any]]) -> tuple[float, Any]:
    """Seconds for ccxt.pro's ``handle_order_book_message`` on every diff, and its book."""
    exchange = ccxtpro.binance()
    book = exchange.order_book(
        {
            "bids": [[float(p), float(q)] for p, q in snapshot["bids"]],
            "asks": [[float(p), float(q)] for p, q in snapshot["asks"]],
            "nonce": snapshot["lastUpdateId"],
        }
    )
    handle = exchange.handle_order_book_message
    t0 = time.perf_counter()
    for msg in diffs:
        handle(None, msg, book)
    return time.perf_counter() - t0, book


def main() -> int:
    """Measure and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    snapshot, diffs = make_stream(args.messages, args.seed)
    levels = count_levels(diffs)
    ours: list[float] = []
    eager: list[float] = []
    theirs: list[float] = []
    for run in range(args.runs):
        t_ours, our_book = run_ours(snapshot, diffs)
        t_ccxt, ccxt_book = run_ccxt(snapshot, diffs)
        t_eager, eager_book = run_eager(snapshot, diffs)
        for book in (our_book, eager_book):
            depth = book.depth(None)
            assert list(depth.bids) == [tuple(x) for x in ccxt_book["bids"]], "bids differ"
            assert list(depth.asks) == [tuple(x) for x in ccxt_book["asks"]], "asks differ"
        ours.append(levels / t_ours)
        theirs.append(levels / t_ccxt)
        eager.append(levels / t_eager)
        print(
            f"run {run + 1}: ours {levels / t_ours:,.0f}/s, eager floats "
            f"{levels / t_eager:,.0f}/s, ccxt.pro {levels / t_ccxt:,.0f}/s (books equal: "
            f"{len(depth.bids)}+{len(depth.asks)} levels)"
        )
    m_ours, m_eager, m_ccxt = (statistics.median(x) for x in (ours, eager, theirs))
    ratio = statistics.median(o / t for o, t in zip(ours, theirs, strict=True))
    print(f"\n{len(diffs):,} messages, {levels:,} level updates, median of {args.runs} runs:")
    print(f"  ours (on_diff: U/u rule + apply_rows):   {m_ours:>12,.0f} level updates/s")
    print(f"  ours with eager floats (DepthUpdate):    {m_eager:>12,.0f} level updates/s")
    print(f"  ccxt.pro handle_order_book_message:      {m_ccxt:>12,.0f} level updates/s")
    print(f"  ours / ccxt.pro: {m_ours / m_ccxt:.2f}x of the medians, {ratio:.2f}x median per run")
    print("  (goal >= 3x and >= 500k level updates/s)")
    print(f"  eager / ccxt.pro: {m_eager / m_ccxt:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
