"""Order books for strategies: ``self.data.order_book(depth)`` in ``next()`` on the full stack.

``BinanceStore`` -> ``BinanceData`` -> Cerebro -> paper ``BinanceBroker`` against a stepped
simulator: the first call starts the store's synchronizer (None until SYNCED); from then on the
depth a strategy reads in ``next()`` equals the simulator's top levels whenever it reflects the
simulator's latest update (the client applies each diff a moment after the simulator makes it);
stopping the store stops the book. A paper market order with ``paper_fill_from_book`` fills at
the VWAP of the synced levels it walks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from real_trade.orderbook import BookDepth
from real_trade.sim import SimExchange
from real_trade.sim.types import DepthSnapshot
from tests.integration.live.parity_support import (
    LiveRun,
    RecordingSmaCross,
    clear_proxy_env,
    ms_of,
    start_live_run,
)

pytestmark = pytest.mark.integration

START_MS = 1_700_000_040_000  # on a minute


class DepthReader(RecordingSmaCross):
    """``SmaCross`` that reads the book in ``next()`` and, at the same moment, the simulator's
    own (``truth``: the stepped simulator stands still while the strategy runs)."""

    params = (("truth", None),)

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[BookDepth | None, DepthSnapshot]] = []
        self.kept_before_first_read: bool | None = None

    def next(self) -> None:
        """Read the depth, then decide and record as the parent does."""
        if self.kept_before_first_read is None:
            self.kept_before_first_read = self.data.symbol in self.data.store.books
        self.seen.append((self.data.order_book(depth=5), self.p.truth()))
        super().next()


class BookBuyer(RecordingSmaCross):
    """Once live with a synced book, buys at market into the second ask level; records the
    bars it processed as ``RecordingSmaCross`` does (``SmaCross`` itself does not trade)."""

    def __init__(self) -> None:
        super().__init__()
        self.done: list[Any] = []
        self.sent = False

    def notify_order(self, order: Any) -> None:
        """Keep the completed orders."""
        if order.status == order.Completed:
            self.done.append(order)

    def next(self) -> None:
        """Buy once, then record the bar."""
        depth = self.data.order_book(depth=5)
        if not self.sent and self.is_live and depth is not None:
            self.buy(size=round(depth.asks[0][1] + depth.asks[1][1] / 2, 5))
            self.sent = True
        self.processed_ms = ms_of(self.data.datetime.datetime(0))


def _levels(snap: DepthSnapshot) -> tuple[tuple[tuple[float, float], ...], ...]:
    return (
        tuple((float(p), float(q)) for p, q in snap.bids),
        tuple((float(p), float(q)) for p, q in snap.asks),
    )


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveRun]:
    clear_proxy_env(monkeypatch)
    with SimExchange(stepped=True, start_ms=START_MS, seed=3) as sim:
        live = start_live_run(
            sim,
            paper=True,
            strategy=DepthReader,
            truth=lambda: sim.core.depth("BTCUSDT", 5),
            fast=2,
            slow=3,
            history_bars=10,
        )
        try:
            live.wait_live()
            yield live
        finally:
            live.finish(stop=True)


def test_next_reads_the_simulators_top_levels(run: LiveRun) -> None:
    strategy = run.strategy

    def in_step() -> list[tuple[BookDepth, DepthSnapshot]]:
        return [
            (d, t) for d, t in strategy.seen if d is not None and d.update_id == t.last_update_id
        ]

    for _ in range(30):
        if len(in_step()) >= 2:
            break
        run.step()
    matched = in_step()
    assert len(matched) >= 2, f"no synced read among {len(strategy.seen)} bars"
    # the first read starts the sync (it answers None unless the venue synced the book before
    # the reading thread ran again: a loaded machine can hold it for the whole loopback sync)
    assert strategy.kept_before_first_read is False
    for depth, truth in matched:
        assert (depth.bids, depth.asks) == _levels(truth)
        assert len(depth.bids) == len(depth.asks) == 5
        assert depth.best_bid == depth.bids[0] and depth.best_ask == depth.asks[0]
        assert depth.spread is not None and depth.spread > 0
        assert depth.symbol == "BTCUSDT" and depth.venue == "binance"
    sync = run.store.books.synchronizer("BTC/USDT")
    run.finish(stop=True)
    assert not sync.is_syncing() and sync.depth("BTC/USDT") is None  # stopped with the store


def test_paper_market_order_fills_at_the_vwap_of_the_synced_book(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clear_proxy_env(monkeypatch)
    with SimExchange(stepped=True, start_ms=START_MS, seed=5) as sim:
        run = start_live_run(
            sim,
            paper=True,
            strategy=BookBuyer,
            broker_kwargs={"paper_fill_from_book": True, "initial_cash": 1_000_000.0},
            fast=2,
            slow=3,
            history_bars=10,
        )
        try:
            run.wait_live()
            strategy = run.strategy
            assert isinstance(strategy, BookBuyer)
            for _ in range(30):
                if strategy.done:
                    break
                run.step()
            assert strategy.done, "the market order never completed"
            paper = run.broker.session.paper
            fills = paper.book_fills
            assert fills is not None and fills.last is not None and fills.fallbacks == 0
            order = strategy.done[0]
            size, left, cost = float(order.executed.size), float(order.executed.size), 0.0
            for price, qty in fills.last.asks:  # the VWAP of the levels the order took
                take = min(qty, left)
                cost, left = cost + take * price, left - take
                if left <= 1e-12:
                    break
            assert left <= 1e-9 and size > fills.last.asks[0][1]  # into the second level
            assert float(order.executed.price) == pytest.approx(cost / size, rel=1e-9)
        finally:
            run.finish(stop=True)
