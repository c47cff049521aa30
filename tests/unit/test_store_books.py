"""A store's live order books (``StoreBooks``) and the paper broker's ``paper_fill_from_book``
wiring: which synchronizer a store gets, that nothing connects before the first read, and
where the broker's depth source comes from."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from real_trade.brokers import translate as tr
from real_trade.brokers.venuebrokers import BinanceBroker
from real_trade.config import RealTradeConfig
from real_trade.errors import ConfigError
from real_trade.orderbook import BinanceOrderBookSynchronizer, BybitOrderBookSynchronizer
from real_trade.stores import BinanceStore, BybitStore
from real_trade.stores.books import StoreBooks, book_venue


@pytest.mark.parametrize(
    ("venue", "market_type", "symbol", "expected"),
    [
        ("binance", "spot", "BTC/USDT", ("binance", {})),
        ("binance", "future", "BTC/USDT:USDT", ("binance_futures", {})),
        ("binance", "spot", "BTC/USDT:USDT", ("binance_futures", {})),
        ("bybit", "spot", "BTC/USDT", ("bybit", {"category": "spot"})),
        ("bybit", "future", "BTCUSDT", ("bybit", {"category": "linear"})),
        ("okx", "spot", "BTC/USDT", ("okx", {})),
    ],
)
def test_book_venue_follows_the_store_and_the_symbol(
    venue: str, market_type: str, symbol: str, expected: tuple[str, dict[str, str]]
) -> None:
    assert book_venue(venue, market_type, symbol) == expected


def test_a_venue_without_a_synchronizer_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="kraken"):
        book_venue("kraken", "spot", "BTC/USD")


def test_a_stores_books_are_built_with_its_settings_and_started_on_first_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[object] = []
    monkeypatch.setattr(BinanceOrderBookSynchronizer, "start_sync", lambda s: started.append(s))
    monkeypatch.setattr(BybitOrderBookSynchronizer, "start_sync", lambda s: started.append(s))
    store = BinanceStore(sim_url="http://127.0.0.1:9", market_type="future")
    assert repr(store.books) == "StoreBooks([])" and not started  # nothing before a read
    assert store.get_order_book("BTC/USDT:USDT", depth=5) is None  # not synced yet
    sync = store.books.synchronizer("BTC/USDT:USDT")
    assert isinstance(sync, BinanceOrderBookSynchronizer) and sync.futures
    assert sync.snapshot_url == "http://127.0.0.1:9/fapi/v1/depth"
    assert store.order_book("BTC/USDT:USDT") is sync.get_order_book("BTCUSDT")
    assert started and all(s is sync for s in started)  # one synchronizer per symbol
    bybit = BybitStore(sim_url="http://127.0.0.1:9", testnet=True)
    linear = StoreBooks(bybit).synchronizer("BTC/USDT:USDT")
    assert isinstance(linear, BybitOrderBookSynchronizer) and linear.category == "linear"


def test_paper_fill_from_book_reads_the_stores_books() -> None:
    store = BinanceStore(sim_url="http://127.0.0.1:9")
    p = SimpleNamespace(**dict(tr.BROKER_PARAMS))
    assert tr.session_config(p, store, 0.001).book is None  # off by default
    p.paper_fill_from_book = True
    assert tr.session_config(p, store, 0.001).book == store.get_order_book
    p.paper_trading = False
    assert tr.session_config(p, store, 0.001).book is None  # live orders meet the venue
    p.paper_trading = True
    with pytest.raises(ConfigError, match="paper_fill_from_book"):
        tr.session_config(p, None, 0.001)
    assert BinanceBroker(store, paper_fill_from_book=True).p.paper_fill_from_book


def test_the_config_key_reaches_the_broker() -> None:
    from real_trade.engine.factory import build_components

    config = RealTradeConfig(paper_fill_from_book=True, sim_url="http://127.0.0.1:9")
    parts = build_components(config)
    assert parts.broker.p.paper_fill_from_book
    assert not build_components(RealTradeConfig()).broker.p.paper_fill_from_book
