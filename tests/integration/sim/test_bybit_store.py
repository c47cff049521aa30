"""Our ``BybitStore`` (ccxt.pro underneath) against the simulator's Bybit face via ``sim_url``."""

from __future__ import annotations

import pytest

from real_trade.sim.server import SimExchange
from real_trade.stores.bybitstore import BybitStore

pytestmark = pytest.mark.integration


def test_bybit_store_reads_account_and_market_from_the_face() -> None:
    with SimExchange(seed=28, faces=["bybit"], stepped=True) as sim:
        key, secret = sim.create_account({"USDT": 1234, "BTC": 0.5})
        store = BybitStore(key, secret, sim_url=sim.url)
        assert store.mode == "sim"
        store.start()
        try:
            assert store.test_connection()
            assert store.get_balance("USDT") == 1234.0
            last = store.get_ticker("BTC/USDT")["last"]
            assert last > 0
            assert store.get_total_value("USDT") == pytest.approx(1234 + 0.5 * last, rel=0.01)
            bars = store.fetch_ohlcv("BTC/USDT", "1m", limit=10)
            assert len(bars) == 10 and [b[0] for b in bars] == sorted(b[0] for b in bars)
            assert store.get_open_orders("BTC/USDT") == []
        finally:
            store.stop()
