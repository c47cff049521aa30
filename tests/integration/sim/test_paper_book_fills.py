"""Paper market orders that walk the real synchronized book (``paper_fill_from_book``).

A Binance synchronizer keeps the simulator's book over loopback (the simulator is stepped: its
book stands still while the test trades); :class:`PaperExecution` gets it as its depth source.
A market order fills level by level on the synced book's levels (the VWAP computed here from
the same :class:`BookDepth`), partially on a book thinner than the order, at the paper taker
fee; without a synced book it meets the simulated ladder as before, and the log says so once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from real_trade.bus import EventBus
from real_trade.execution import PaperBar, PaperExecution
from real_trade.execution.events import ExchangeFill, FillReport, OrderReport
from real_trade.execution.orders import ExchangeStatus, OrderRequest
from real_trade.orderbook import BookDepth, OrderBookSynchronizer, order_book_synchronizer
from real_trade.sim.server import SimExchange
from real_trade.vocabulary import OrderKind, OrderSide
from tests.support import eventually

pytestmark = pytest.mark.integration

SYMBOL = "BTC/USDT"
FEE = 0.001


@pytest.fixture(scope="module")
def synced() -> Iterator[tuple[SimExchange, OrderBookSynchronizer]]:
    with SimExchange(stepped=True, seed=7, faces=["binance"]) as sim:
        sync = order_book_synchronizer(
            "binance", [SYMBOL], sim_url=sim.url, bus=EventBus(synchronous=True)
        )
        sync.start_sync()
        try:
            eventually(lambda: sync.depth(SYMBOL, 5) is not None, 10, message="book synced")
            yield sim, sync
        finally:
            sync.stop_sync()


def _trade(
    exe: PaperExecution, mid: float, side: OrderSide, amount: float, cid: str, open_ms: int
) -> tuple[list[ExchangeFill], list[OrderReport]]:
    """Play a bar at ``mid``, send a market order, play the next bar (it goes in at its open)."""
    bar = PaperBar(open_ms, mid, mid, mid, mid, 1.0)
    exe.play({SYMBOL: bar}, lambda _s, _p: None)
    exe.place(OrderRequest(1, SYMBOL, side, OrderKind.MARKET, amount, client_order_id=cid))
    nxt = PaperBar(open_ms + 60_000, mid, mid, mid, mid, 1.0)
    exe.play({SYMBOL: nxt}, lambda _s, _p: None)
    reports = exe.drain()
    fills = [r.fill for r in reports if isinstance(r, FillReport) and r.client_order_id == cid]
    orders = [r for r in reports if isinstance(r, OrderReport) and r.client_order_id == cid]
    return fills, orders


def _walk(levels: tuple[tuple[float, float], ...], amount: float) -> list[tuple[float, float]]:
    """The (price, quantity) a market order of ``amount`` takes from ``levels``, best first."""
    out, left = [], amount
    for price, qty in levels:
        if left <= 1e-12:
            break
        take = min(qty, left)
        out.append((price, take))
        left -= take
    return out


def _flat(parts: object) -> list[float]:
    """``[(price, qty), ...]`` as one flat list (for ``pytest.approx``)."""
    return [float(x) for part in parts for x in part]  # type: ignore[attr-defined]


def _vwap(parts: list[tuple[float, float]]) -> float:
    return sum(p * q for p, q in parts) / sum(q for _, q in parts)


@pytest.mark.parametrize("side", [OrderSide.BUY, OrderSide.SELL])
def test_market_order_fills_at_the_vwap_of_the_synced_book(
    synced: tuple[SimExchange, OrderBookSynchronizer], side: OrderSide
) -> None:
    sim, sync = synced
    depth = sync.depth(SYMBOL, None)
    assert depth is not None and depth.mid is not None and depth.spread is not None
    levels = depth.asks if side is OrderSide.BUY else depth.bids
    assert len(levels) >= 3
    amount = round(levels[0][1] + levels[1][1] + levels[2][1] / 2, 5)  # into the third level
    exe = PaperExecution(
        [SYMBOL],
        cash=10_000_000.0,
        commission=FEE,
        level_notional=5_000.0,  # a ladder unlike the simulator's book
        book=lambda s, n: sync.depth(s, n),
    )
    exe.set_holdings({"BTC": 1_000.0})
    away = round(depth.mid * 1.02, 2)  # the paper market's own price is off the book
    fills, orders = _trade(exe, away, side, amount, "bk-1", sim.clock.now_ms())
    expected = _walk(levels, amount)
    assert _flat((f.price, f.amount) for f in fills) == pytest.approx(_flat(expected))
    assert len(fills) == 3
    assert _vwap([(f.price, f.amount) for f in fills]) == pytest.approx(_vwap(expected))
    fee_asset = "BTC" if side is OrderSide.BUY else "USDT"
    for f in fills:
        assert not f.is_maker and f.commission_asset == fee_asset
        base_fee = f.amount * FEE if side is OrderSide.BUY else f.amount * f.price * FEE
        assert f.commission == pytest.approx(base_fee)
    assert orders[-1].status is ExchangeStatus.FILLED
    assert exe.book_fills is not None and exe.book_fills.fallbacks == 0


def test_a_book_thinner_than_the_order_fills_partially(
    synced: tuple[SimExchange, OrderBookSynchronizer],
) -> None:
    _sim, sync = synced
    depth = sync.depth(SYMBOL, 3)
    assert depth is not None and depth.mid is not None
    available = sum(q for _, q in depth.asks)
    exe = PaperExecution(
        [SYMBOL], cash=10_000_000.0, commission=FEE, book=lambda s, _n: sync.depth(s, 3)
    )
    away = round(depth.mid * 0.98, 2)
    fills, orders = _trade(exe, away, OrderSide.BUY, available * 2, "bk-2", 1_700_000_000_000)
    assert _flat((f.price, f.amount) for f in fills) == pytest.approx(_flat(depth.asks))
    assert sum(f.amount for f in fills) == pytest.approx(available)
    final = orders[-1]
    assert final.status is not ExchangeStatus.FILLED and final.filled == pytest.approx(available)


def test_without_a_synced_book_the_ladder_fills_and_the_log_says_so_once(
    synced: tuple[SimExchange, OrderBookSynchronizer], caplog: pytest.LogCaptureFixture
) -> None:
    _sim, sync = synced
    depth = sync.depth(SYMBOL, 50)
    assert depth is not None and depth.mid is not None
    asked: list[BookDepth | None] = []

    def not_synced(_symbol: str, _levels: int | None) -> BookDepth | None:
        asked.append(None)
        return None

    exe = PaperExecution([SYMBOL], cash=10_000_000.0, commission=FEE, book=not_synced)
    ladder = PaperExecution([SYMBOL], cash=10_000_000.0, commission=FEE)
    caplog.set_level(logging.WARNING, "real_trade.paper")
    start, away = 1_700_000_000_000, round(depth.mid * 1.05, 2)  # a paper market off the book
    got = [
        _trade(e, away, OrderSide.BUY, 0.5, f"fb-{i}", start + 120_000 * i)
        for i in range(2)
        for e in (exe, ladder)
    ]
    for (fills, _), (ladder_fills, _) in zip(got[::2], got[1::2], strict=True):
        assert fills and [(f.price, f.amount) for f in fills] == [
            (f.price, f.amount) for f in ladder_fills
        ]
    book_prices = {p for p, _ in depth.asks}
    for fills, _ in got:
        assert all(f.price not in book_prices and abs(f.price / away - 1) < 1e-3 for f in fills)
    assert len(asked) == 2 and exe.book_fills is not None and exe.book_fills.fallbacks == 2
    told = [r for r in caplog.records if "paper_fill_from_book" in r.getMessage()]
    assert len(told) == 1 and "not synced" in told[0].getMessage()
