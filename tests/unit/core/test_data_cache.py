"""DataCache: LRU order, TTL on an injected clock, statistics, thread safety."""

from __future__ import annotations

import math
import threading

import pytest

from real_trade.core.data_flow import DataCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_put_get_by_type_and_parameters() -> None:
    cache = DataCache(max_size=4, default_ttl=None)
    key = cache.put("ticker", {"last": 1.0}, symbol="BTC/USDT", venue="binance")
    assert key == DataCache.make_key("ticker", venue="binance", symbol="BTC/USDT")
    assert cache.get("ticker", venue="binance", symbol="BTC/USDT") == {"last": 1.0}
    assert cache.get("ticker", symbol="ETH/USDT", venue="binance") is None
    assert cache.invalidate("ticker", symbol="BTC/USDT", venue="binance") is True
    assert cache.invalidate("ticker", symbol="BTC/USDT", venue="binance") is False
    assert cache.get("ticker", symbol="BTC/USDT", venue="binance") is None


def test_least_recently_used_is_evicted() -> None:
    cache = DataCache(max_size=3, default_ttl=None)
    for k in "abc":
        cache.store(k, k.upper())
    assert cache.lookup("a") == "A"  # a is now the most recent: b is the oldest
    cache.store("d", "D")
    assert "b" not in cache and all(k in cache for k in "acd")
    cache.store("c", "C2")  # re-storing refreshes c
    cache.store("e", "E")
    assert "a" not in cache and cache.lookup("c") == "C2"
    stats = cache.get_stats()
    assert stats["evictions"] == 2 and stats["size"] == 3 and len(cache) == 3


def test_entries_expire_after_their_ttl() -> None:
    clock = Clock()
    cache = DataCache(max_size=10, default_ttl=5.0, clock=clock)
    cache.store("short", 1)
    cache.store("long", 2, ttl=60.0)
    cache.store("forever", 3, ttl=math.inf)
    clock.now += 4.999
    assert cache.lookup("short") == 1
    clock.now += 0.001
    assert cache.lookup("short") is None  # expired at exactly its TTL
    assert cache.lookup("long") == 2
    clock.now += 100.0
    assert cache.clear_expired() == 1  # long
    assert cache.lookup("forever") == 3
    stats = cache.get_stats()
    assert stats["expirations"] == 2 and stats["size"] == 1


def test_stats_count_hits_and_misses_and_a_none_value_is_a_hit() -> None:
    cache = DataCache(max_size=2, default_ttl=None)
    missing = object()
    cache.store("k", None)
    assert cache.lookup("k", missing) is None
    assert cache.lookup("x", missing) is missing
    stats = cache.get_stats()
    assert (stats["hits"], stats["misses"], stats["puts"]) == (1, 1, 1)
    assert stats["hit_rate"] == 0.5


def test_bad_sizes_and_ttls_are_refused() -> None:
    with pytest.raises(ValueError, match="max_size"):
        DataCache(max_size=0)
    with pytest.raises(ValueError, match="default_ttl"):
        DataCache(default_ttl=0)
    with pytest.raises(ValueError, match="ttl"):
        DataCache().store("k", 1, ttl=-1)


def test_threads_share_one_cache_without_losing_bounds_or_counts() -> None:
    cache = DataCache(max_size=50, default_ttl=None)
    per_thread = 2000
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            start.wait(timeout=30)
            for i in range(per_thread):
                # each thread its own 30 keys (120 in all, over a cache of 50): a key missed by
                # two threads at once would be stored twice, a replacement and no eviction
                key = t * 30 + (i * 7) % 30
                if cache.lookup(key) is None:
                    cache.store(key, key)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not errors and not any(th.is_alive() for th in threads)
    stats = cache.get_stats()
    assert stats["hits"] + stats["misses"] == 4 * per_thread
    assert stats["puts"] == stats["misses"]
    assert stats["size"] == 50 and stats["evictions"] == stats["puts"] - 50
    assert all(cache.lookup(k) in (None, k) for k in range(120))
