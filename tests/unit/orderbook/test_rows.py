"""``OrderBook.apply_rows`` on venue strings, and the synchronizers' raw message handlers
(fed directly, no connection): malformed messages and OKX checksum failures force a resync."""

from __future__ import annotations

import asyncio
import random

import pytest

from real_trade.bus import EventBus
from real_trade.orderbook import (
    BinanceOrderBookSynchronizer,
    BookState,
    BookStateChange,
    BybitOrderBookSynchronizer,
    OKXOrderBookSynchronizer,
    OrderBook,
)
from real_trade.sim.okx.format import book_checksum
from real_trade.venues.reconnect import ReconnectBackoff


def test_rows_match_float_levels_under_random_diffs() -> None:
    rng = random.Random(5)
    rows_book, float_book = OrderBook("t", "X"), OrderBook("t", "X")
    snap = [[f"{100 - i * 0.01:.2f}", "1.00000000"] for i in range(50)]
    rows_book.load_rows(snap, [], 1, None)
    float_book.load([(float(p), float(q)) for p, q in snap], [], 1)
    zeros = ["0", "0.0", "0.00000000"]
    for n in range(2, 3000):
        rows = [
            [
                f"{99 + rng.randrange(200) * 0.01:.2f}",
                rng.choice(zeros) if rng.random() < 0.3 else f"{rng.uniform(0, 9):.8f}",
            ]
            for _ in range(rng.randint(1, 8))
        ]
        rows_book.apply_rows(rows, [], n, None)
        float_book.apply([(float(p), float(q)) for p, q in rows], [], n)
        assert rows_book.depth(None) == float_book.depth(None)
        assert rows_book.best_bid() == float_book.best_bid()


def test_sizes_as_sent_are_read_as_floats_and_other_forms_are_parsed() -> None:
    book = OrderBook("t", "X")
    book.load_rows([["10.5", "2.50"], ["10.4", 3]], [["11", "1e-3"], [11.5, "7"]], 9, 1)
    assert book.depth(None).bids == ((10.5, 2.5), (10.4, 3.0))
    assert book.depth(None).asks == ((11.0, 0.001), (11.5, 7.0))
    assert book.stored_top(1) == ([(10.5, "2.50")], [(11.0, 0.001)])
    book.apply_rows([["10.5", "0.00"], ["10.4", 0]], [["11", "0E-8"]], 10, None)
    assert book.depth(None).bids == () and book.best_ask() == (11.5, 7.0)


@pytest.mark.parametrize(
    "row",
    [["nan", "1"], ["-1", "1"], ["0", "1"], ["10", "-1"], ["10", "abc"], ["10", "inf"], ["10"]],
)
def test_malformed_rows_raise(row: list[str]) -> None:
    with pytest.raises((ValueError, IndexError)):
        OrderBook("t", "X").apply_rows([row], [], 1, None)


def _recording_bus() -> tuple[EventBus, list[BookStateChange]]:
    bus = EventBus(synchronous=True)
    seen: list[BookStateChange] = []
    bus.subscribe("orderbook.state.**", lambda _t, e: seen.append(e))
    return bus, seen


def test_binance_malformed_diff_resyncs_then_raises() -> None:
    bus, seen = _recording_bus()
    sync = BinanceOrderBookSynchronizer(["BTC/USDT"], bus=bus)
    track = sync.tracks["BTCUSDT"]
    sync._load(track, {"lastUpdateId": 5, "bids": [["1.0", "1"]], "asks": [["2.0", "1"]]})
    sync.on_diff({"e": "depthUpdate", "s": "BTCUSDT", "U": 6, "u": 6, "b": [["1.0", "2"]], "a": []})
    assert sync.depth("BTC/USDT", 1) is not None  # SYNCED: a depth copy is served
    assert sync.get_order_book("BTC/USDT").best_bid() == (1.0, 2.0)  # type: ignore[union-attr]
    bad = {"e": "depthUpdate", "s": "BTCUSDT", "U": 7, "u": 7, "b": [["x", "1"]], "a": []}
    with pytest.raises(ValueError):
        sync.on_diff(bad)
    assert sync.state("BTCUSDT") is BookState.RESYNCING and sync.resyncs("BTCUSDT") == 1
    assert sync.depth("BTCUSDT") is None  # never a book that may be wrong
    assert [e.state for e in seen] == [BookState.SYNCED, BookState.RESYNCING]
    assert seen[-1].reason == "malformed diff"


def test_bybit_snapshot_replaces_the_book_and_gap_resyncs() -> None:
    bus, seen = _recording_bus()
    sync = BybitOrderBookSynchronizer(["BTCUSDT"], bus=bus)

    def push(kind: str, u: int, seq: int, bids: list[list[str]]) -> None:
        data = {"s": "BTCUSDT", "b": bids, "a": [], "u": u, "seq": seq}
        sync.on_push({"topic": "orderbook.200.BTCUSDT", "type": kind, "ts": 1, "data": data})

    push("snapshot", 10, 100, [["5", "1"]])
    push("delta", 11, 101, [["4", "1"]])
    push("delta", 11, 101, [["4", "9"]])  # duplicate: skipped
    assert sync.depth("BTCUSDT", None).bids == ((5.0, 1.0), (4.0, 1.0))  # type: ignore[union-attr]
    push("delta", 13, 103, [["3", "1"]])
    assert sync.state("BTCUSDT") is BookState.RESYNCING
    push("delta", 14, 104, [["2", "1"]])  # ignored until the snapshot
    push("snapshot", 1, 200, [["6", "1"]])
    assert sync.depth("BTCUSDT", None).bids == ((6.0, 1.0),)  # type: ignore[union-attr]
    assert [e.state for e in seen] == [BookState.SYNCED, BookState.RESYNCING, BookState.SYNCED]


def test_okx_checksum_mismatch_resyncs() -> None:
    bus, seen = _recording_bus()
    sync = OKXOrderBookSynchronizer(["BTC/USDT"], bus=bus)
    arg = {"channel": "books", "instId": "BTC-USDT"}
    bids, asks = [["100.5", "2", "0", "1"]], [["101", "1.50", "0", "1"]]
    good = book_checksum([("100.5", "2")], [("101", "1.50")])
    row = {"bids": bids, "asks": asks, "ts": "1", "seqId": 7, "prevSeqId": -1, "checksum": good}
    sync.on_push({"arg": arg, "action": "snapshot", "data": [row]})
    assert sync.state("BTC-USDT") is BookState.SYNCED
    update = {"bids": [["100.4", "3", "0", "1"]], "asks": [], "ts": "2", "seqId": 8}
    checksum = book_checksum([("100.5", "2"), ("100.4", "3")], [("101", "1.50")])
    sync.on_push(
        {"arg": arg, "action": "update", "data": [{**update, "prevSeqId": 7, "checksum": checksum}]}
    )
    assert sync.state("BTC-USDT") is BookState.SYNCED and sync.checksum_failures == 0
    wrong = {**update, "seqId": 9, "prevSeqId": 8, "checksum": checksum}  # book moved, sum not
    wrong["bids"] = [["100.3", "1", "0", "1"]]
    sync.on_push({"arg": arg, "action": "update", "data": [wrong]})
    assert sync.state("BTC-USDT") is BookState.RESYNCING and sync.checksum_failures == 1
    assert "checksum" in seen[-1].reason


def test_the_same_size_object_twice_keeps_one_level() -> None:
    book = OrderBook("t", "X")
    one = "1"  # CPython shares one-character strings: the decoder hands out the same object
    for n in range(3):
        book.apply_rows([["10", one], ["10.0", one]], [], n, None)
    assert book.depth(None).bids == ((10.0, 1.0),)
    book.apply_rows([["10", "0"]], [], 4, None)
    assert book.depth(None).bids == () and book.best_bid() is None


def test_binance_snapshot_older_than_the_buffered_diffs_is_fetched_again() -> None:
    bus, seen = _recording_bus()
    sync = BinanceOrderBookSynchronizer(["BTCUSDT"], bus=bus)
    delays: list[float] = []

    async def no_wait(seconds: float) -> None:
        delays.append(seconds)

    sync._backoff = ReconnectBackoff(base_delay=0.05, max_delay=1.0, sleep=no_wait)
    track = sync.tracks["BTCUSDT"]
    diff = {"e": "depthUpdate", "s": "BTCUSDT", "U": 12, "u": 13, "b": [["1.5", "3"]], "a": []}
    sync.on_diff(diff)  # awaiting the first snapshot: buffered
    assert track.buffer == [diff]

    async def scenario() -> None:
        old = {"lastUpdateId": 10, "bids": [["1.0", "1"]], "asks": [["2.0", "1"]]}
        sync._load(track, old)  # 11 is missing between the snapshot and the diff: again
        await asyncio.gather(*sync._tasks)
        assert delays and track.state is not BookState.SYNCED and track.buffer == [diff]
        sync._load(track, {**old, "lastUpdateId": 11})
        await sync._aclose()

    asyncio.run(scenario())
    assert track.state is BookState.SYNCED and track.book.update_id == 13
    assert sync.depth("BTCUSDT", None).bids == ((1.5, 3.0), (1.0, 1.0))  # type: ignore[union-attr]
    assert [e.state for e in seen] == [BookState.SYNCED]
