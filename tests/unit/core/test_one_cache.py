"""The simulator's LRUs of data are DataCaches (issue 17: one cache), bounded and reused."""

from __future__ import annotations

from pathlib import Path

from real_trade.core.data_flow import DataCache
from real_trade.sim import SyntheticMarket
from real_trade.sim.market_replay import CandleReplayMarket

START = 1_700_000_000_000 // 60_000 * 60_000


def test_synthetic_blocks_and_deep_days_go_through_data_caches() -> None:
    market = SyntheticMarket(("BTCUSDT",), seed=5, start_ms=START, history_days=0.5, tick_ms=1000)
    market.candles("BTCUSDT", "1h", START - 3 * 86_400_000, START - 3_600_000)
    walk = market._walks["BTCUSDT"]
    hist = market._history("BTCUSDT")
    assert isinstance(walk._cache, DataCache) and walk._cache.max_size == 64
    assert isinstance(hist._days, DataCache) and hist._days.max_size == 48
    assert walk._cache.default_ttl is None and hist._days.default_ttl is None
    before = hist._days.get_stats()
    again = market.candles("BTCUSDT", "1m", START - 2 * 86_400_000, START - 86_400_000)
    assert len(again) == 1441
    after = hist._days.get_stats()
    assert after["hits"] > before["hits"], "days already generated come from the cache"
    for day in range(200):  # far more days than the cache holds
        hist.day_minutes(START // 86_400_000 - 300 + day)
    assert len(hist._days) == 48 and hist._days.get_stats()["evictions"] > 0


def test_replayed_candle_paths_go_through_a_data_cache(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT.csv"
    rows = ["open_time,open,high,low,close,volume"]
    for i in range(5):
        rows.append(f"2023-03-01 00:0{i}:00+00:00,100.{i},101.5,99.5,100.{i + 1},1.5")
    path.write_text("\n".join(rows) + "\n")
    market = CandleReplayMarket({"BTCUSDT": path}, seed=1, history_bars=0)
    assert isinstance(market._paths, DataCache) and market._paths.max_size == 4096
    first = market.candle_path("BTCUSDT", 2)
    assert market.candle_path("BTCUSDT", 2) is first
    stats = market._paths.get_stats()
    assert (stats["hits"], stats["misses"], stats["size"]) == (1, 1, 1)
