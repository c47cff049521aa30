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

import pytest

from real_trade.orderbook import BookDepth
from real_trade.sim import SimExchange
from real_trade.sim.types import DepthSnapshot
from tests.integration.live.parity_support import (
    LiveRun,
    RecordingSmaCross,
    clear_proxy_env,
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

    def next(self) -> None:
        """Read the depth, then decide and record as the parent does."""
        self.seen.append((self.data.order_book(depth=5), self.p.truth()))
        super().next()


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
    assert strategy.seen[0][0] is None  # the first read starts the sync
    for depth, truth in matched:
        assert (depth.bids, depth.asks) == _levels(truth)
        assert len(depth.bids) == len(depth.asks) == 5
        assert depth.best_bid == depth.bids[0] and depth.best_ask == depth.asks[0]
        assert depth.spread is not None and depth.spread > 0
        assert depth.symbol == "BTCUSDT" and depth.venue == "binance"
    sync = run.store.books.synchronizer("BTC/USDT")
    run.finish(stop=True)
    assert not sync.is_syncing() and sync.depth("BTC/USDT") is None  # stopped with the store
