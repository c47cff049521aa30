"""``OrderBookSynchronizer`` against the simulator's faces, over loopback.

Per venue (Binance spot, Binance USDⓈ-M, Bybit v5 spot and linear, OKX v5 spot): the book
syncs from a snapshot and follows the diffs; with the fault plan dropping, duplicating and
reordering depth diffs, every gap is caught, the book resyncs, and after each resync it equals
the simulator's book level for level; a single dropped diff triggers exactly one resync; a
dropped connection resyncs too; the state changes (SYNCING -> SYNCED -> RESYNCING -> SYNCED
...) are seen on the bus.

Each faulty step is followed by one clean market tick, which reveals a gap the faulty step left
at its end (a diff dropped last is only visible when the next one comes).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from real_trade.bus import EventBus
from real_trade.orderbook import (
    BookState,
    BookStateChange,
    OrderBookSynchronizer,
    order_book_synchronizer,
)
from real_trade.sim.core import ExchangeCore
from real_trade.sim.server import SimExchange
from tests.support import eventually

pytestmark = pytest.mark.integration

VENUES = ["binance", "binance_futures", "bybit", "bybit_linear", "okx"]
SYMBOL = "BTC/USDT"


class Harness:
    """A stepped simulator serving one face, a synchronizer on it and the bus events seen."""

    def __init__(self, venue: str, sim: SimExchange) -> None:
        self.venue, self.sim = venue, sim
        self.bus = EventBus(synchronous=True, name="test-orderbook")
        self.events: list[BookStateChange] = []
        self.bus.subscribe("orderbook.state.**", lambda _t, e: self.events.append(e))
        options: dict[str, Any] = {"category": "linear"} if venue == "bybit_linear" else {}
        self.sync: OrderBookSynchronizer = order_book_synchronizer(
            venue.removesuffix("_linear"),
            [SYMBOL],
            sim_url=sim.url,
            bus=self.bus,
            reconnect_delay=0.05,
            **options,
        )

    @property
    def core(self) -> ExchangeCore:
        core = self.sim.futures_core if self.venue == "binance_futures" else self.sim.core
        assert core is not None
        return core

    def sim_levels(self) -> tuple[tuple[tuple[float, float], ...], ...]:
        snap = self.core.depth("BTCUSDT", 5000)
        return (
            tuple((float(p), float(q)) for p, q in snap.bids),
            tuple((float(p), float(q)) for p, q in snap.asks),
        )

    def client_levels(self) -> tuple[tuple[tuple[float, float], ...], ...] | None:
        depth = self.sync.depth(SYMBOL, None)
        return None if depth is None else (depth.bids, depth.asks)

    def in_step(self) -> bool:
        """SYNCED, and level for level the simulator's book."""
        return self.client_levels() == self.sim_levels()

    def clean_tick(self) -> None:
        """One market tick without faults; the book must then settle on the simulator's."""
        self.sim.faults.reset()
        before = self.core.depth("BTCUSDT", 1).last_update_id
        self.sim.advance(0.25)
        assert self.core.depth("BTCUSDT", 1).last_update_id > before, "the tick moved no level"
        eventually(self.in_step, 10, message=f"{self.venue} book equals the simulator's")

    def states(self) -> list[BookState]:
        return [e.state for e in self.events]


@pytest.fixture(params=VENUES)
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    venue = str(request.param)
    face, perpetuals = venue.removesuffix("_linear"), [SYMBOL] if venue == "bybit_linear" else []
    with SimExchange(stepped=True, seed=11, faces=[face], perpetuals=perpetuals) as sim:
        h = Harness(venue, sim)
        assert h.sync.start_sync()
        assert not h.sync.start_sync()  # already syncing
        try:
            eventually(h.in_step, 10, message=f"{venue} first sync")
            yield h
        finally:
            assert h.sync.stop_sync()
        assert not h.sync.is_syncing() and not h.sync.stop_sync()
        assert h.sync.depth(SYMBOL) is None and h.sync.state(SYMBOL) is None  # stopped


def test_follows_the_diffs_without_resync(harness: Harness) -> None:
    for _ in range(5):
        harness.sim.advance(1)
        harness.clean_tick()
    assert harness.sync.is_syncing()
    assert harness.states() == [BookState.SYNCING, BookState.SYNCED]
    assert harness.sync.resyncs(SYMBOL) == 0
    book = harness.sync.get_order_book(SYMBOL)
    assert book is not None and book.updates > 0
    bids, asks = harness.sim_levels()
    assert book.top() == (bids[0], asks[0])


def test_resyncs_through_dropped_duplicated_reordered_diffs(harness: Harness) -> None:
    sim, sync = harness.sim, harness.sync
    compared_after_resync = 0
    for _ in range(12):
        resyncs = sync.resyncs(SYMBOL)
        sim.faults.set_depth_faults(drop=0.2, duplicate=0.2, reorder=0.2)
        sim.advance(1)
        harness.clean_tick()  # waits until the book equals the simulator's
        if sync.resyncs(SYMBOL) > resyncs:
            compared_after_resync += 1
    injected = sim.faults.injected
    assert injected.get("depth:drop") and injected.get("depth:duplicate")
    assert injected.get("depth:reorder")
    assert compared_after_resync >= 2, "the faults never forced a resync"
    states = harness.states()
    assert states[:2] == [BookState.SYNCING, BookState.SYNCED]
    # every resync announced, and each followed by SYNCED
    assert states[2:] == [BookState.RESYNCING, BookState.SYNCED] * sync.resyncs(SYMBOL)
    gaps = [e for e in harness.events if e.state is BookState.RESYNCING]
    assert all("gap" in e.reason or "checksum" in e.reason for e in gaps)


def test_one_dropped_diff_triggers_one_resync(harness: Harness) -> None:
    harness.sim.faults.set_depth_faults(drop=1.0)
    harness.sim.advance(0.25)  # one diff, dropped: nothing on the wire says so yet
    assert harness.sync.state(SYMBOL) is BookState.SYNCED
    harness.clean_tick()  # the next diff does not follow the book: resync
    assert harness.sync.resyncs(SYMBOL) == 1
    assert harness.states() == [
        BookState.SYNCING,
        BookState.SYNCED,
        BookState.RESYNCING,
        BookState.SYNCED,
    ]
    resync = harness.events[2]
    assert "gap" in resync.reason and resync.previous is BookState.SYNCED
    assert resync.venue == harness.sync.venue and resync.resyncs == 1


def test_a_dropped_connection_resyncs(harness: Harness) -> None:
    connects = harness.sync.socket.stats["connects"] if harness.sync.socket else 0
    assert harness.sim.faults.drop_connections() >= 1
    eventually(
        lambda: (
            harness.sync.socket is not None and harness.sync.socket.stats["connects"] > connects
        ),
        10,
        message="reconnected",
    )
    harness.clean_tick()
    reasons = [e.reason for e in harness.events if e.state is BookState.RESYNCING]
    assert reasons == ["reconnected"]
