"""``OrderBook``: random diffs against a plain reference book, top of book, depth copies."""

from __future__ import annotations

import random

import pytest

from real_trade.orderbook import OrderBook


def reference_apply(ref: dict[float, float], levels: list[tuple[float, float]]) -> None:
    for price, qty in levels:
        if qty:
            ref[price] = qty
        else:
            ref.pop(price, None)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_diffs_match_a_reference(seed: int) -> None:
    rng = random.Random(seed)
    book = OrderBook("test", "BTCUSDT")
    bids = {round(100 - i * 0.5, 2): 1.0 for i in range(20)}
    asks = {round(101 + i * 0.5, 2): 1.0 for i in range(20)}
    book.load(bids.items(), asks.items(), 1)
    for n in range(2, 2000):
        diff_b = [
            (round(90 + rng.randrange(40) * 0.25, 2), rng.choice([0.0, 0.5, 2.0])) for _ in range(4)
        ]
        diff_a = [
            (round(101 + rng.randrange(40) * 0.25, 2), rng.choice([0.0, 0.5, 2.0]))
            for _ in range(4)
        ]
        book.apply(diff_b, diff_a, n, n * 100)
        reference_apply(bids, diff_b)
        reference_apply(asks, diff_a)
        depth = book.depth(None)
        assert depth.bids == tuple(sorted(bids.items(), reverse=True))
        assert depth.asks == tuple(sorted(asks.items()))
        assert book.best_bid() == (max(bids.items()) if bids else None)
        assert book.best_ask() == (min(asks.items()) if asks else None)
    assert book.update_id == 1999 and book.time_ms == 199_900
    assert len(book) == len(bids) + len(asks)


def test_depth_copies_the_best_levels_and_top_is_o1_reads() -> None:
    book = OrderBook("test", "X")
    book.load([(99.0, 1.0), (98.0, 2.0), (97.0, 3.0)], [(101.0, 1.5), (102.0, 2.5)], 7, 5)
    depth = book.depth(2)
    assert depth.bids == ((99.0, 1.0), (98.0, 2.0)) and depth.asks == ((101.0, 1.5), (102.0, 2.5))
    assert depth.best_bid == (99.0, 1.0) and depth.best_ask == (101.0, 1.5)
    assert depth.update_id == 7 and depth.time_ms == 5
    assert book.depth(0).bids == () and book.depth(10).bids[-1] == (97.0, 3.0)
    assert book.top() == ((99.0, 1.0), (101.0, 1.5)) and book.mid() == 100.0
    book.apply([(99.0, 0.0), (100.0, 4.0)], [(101.0, 0.0)], 8)
    assert book.top() == ((100.0, 4.0), (102.0, 2.5))
    book.apply([(55.0, 0.0)], [], 9)  # removing an absent level is a no-op
    assert len(book) == 4
    book.truncate(1)
    assert book.depth(None).bids == ((100.0, 4.0),) and book.depth(None).asks == ((102.0, 2.5),)
    book.clear()
    assert book.top() == (None, None) and book.mid() is None and book.update_id is None
    assert "levels" not in repr(book) and "X" in repr(book)


def test_snapshot_skips_zero_quantities() -> None:
    book = OrderBook("test", "X")
    book.load([(1.0, 0.0), (2.0, 1.0)], [(3.0, 0.0)], 1)
    assert book.depth(None).bids == ((2.0, 1.0),) and book.depth(None).asks == ()
