"""``DataCache``: the project's one in-memory cache of data, LRU with TTL, thread-safe.

Every cache of computed or fetched data in real_trade is a :class:`DataCache` (the simulator's
generated blocks, days and candle paths, the data-flow indicators). An entry lives until it is
the least recently used one of a full cache (evicted) or its time to live runs out (expired,
seen on the next read or by :meth:`DataCache.clear_expired`). Hits, misses, evictions and
expirations are counted (:meth:`DataCache.get_stats`).

Two ways to address an entry:

* by data type and parameters, as in seed 000: ``put("ticker", data, symbol="BTC/USDT")`` and
  ``get("ticker", symbol="BTC/USDT")`` (the key is :meth:`DataCache.make_key`'s string);
* by any hashable key, for hot paths: ``store(key, data)`` and ``lookup(key)``.

Time comes from an injected clock (``time.monotonic`` by default), so tests never sleep.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["DataCache"]

_NEVER = math.inf


class DataCache:
    """An LRU cache with a time to live per entry, safe to share between threads.

    ``max_size`` entries at most (the least recently used one is evicted to make room);
    ``default_ttl`` seconds of life for an entry stored without its own ``ttl`` (None: entries
    never expire; a ``ttl`` of ``math.inf`` never expires either). ``clock`` returns seconds.
    """

    def __init__(
        self,
        max_size: int = 1000,
        default_ttl: float | None = 300.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """An empty cache; see the class docstring for the parameters."""
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, not {max_size}")
        if default_ttl is not None and not default_ttl > 0:
            raise ValueError(f"default_ttl must be positive or None, not {default_ttl}")
        self.max_size = max_size
        self.default_ttl = default_ttl
        # key -> (data, expiry on the clock; inf: never)
        self.cache: OrderedDict[Hashable, tuple[Any, float]] = OrderedDict()
        self.lock = threading.Lock()
        self._clock = clock
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.expirations = 0
        self.puts = 0

    # -- keys --------------------------------------------------------------------------------
    @staticmethod
    def make_key(data_type: str, **kwargs: Any) -> str:
        """The key of ``data_type`` with parameters ``kwargs``: ``"sma(period=10, symbol=...)"``
        (parameters sorted by name, so their order does not matter)."""
        if not kwargs:
            return data_type
        params = ", ".join(f"{name}={kwargs[name]!r}" for name in sorted(kwargs))
        return f"{data_type}({params})"

    # -- by data type and parameters (seed 000) ----------------------------------------------
    def put(self, data_type: str, data: Any, ttl: float | None = None, **kwargs: Any) -> str:
        """Store ``data`` as ``data_type`` with parameters ``kwargs``; returns its key.

        ``ttl`` seconds of life (None: the cache's ``default_ttl``)."""
        key = self.make_key(data_type, **kwargs)
        self.store(key, data, ttl)
        return key

    def get(self, data_type: str, **kwargs: Any) -> Any | None:
        """The data stored as ``data_type`` with parameters ``kwargs``, or None (miss)."""
        return self.lookup(self.make_key(data_type, **kwargs))

    def invalidate(self, data_type: str, **kwargs: Any) -> bool:
        """Forget the entry of ``data_type`` with ``kwargs``; True if there was one."""
        return self.discard(self.make_key(data_type, **kwargs))

    # -- by key ------------------------------------------------------------------------------
    def store(self, key: Hashable, data: Any, ttl: float | None = None) -> None:
        """Store ``data`` under ``key`` (most recently used), evicting the LRU entry if full."""
        life = self.default_ttl if ttl is None else ttl
        if life is not None and not life > 0:
            raise ValueError(f"ttl must be positive, not {life}")
        with self.lock:
            expires = _NEVER if life is None else self._clock() + life
            cache = self.cache
            if key in cache:
                cache.move_to_end(key)
            cache[key] = (data, expires)
            self.puts += 1
            if len(cache) > self.max_size:
                while len(cache) > self.max_size:
                    cache.popitem(last=False)
                    self.evictions += 1

    def lookup(self, key: Hashable, default: Any = None) -> Any:
        """The data under ``key`` (now the most recently used), or ``default`` if absent or
        expired (an expired entry is removed)."""
        with self.lock:
            entry = self.cache.get(key)
            if entry is None:
                self.misses += 1
                return default
            if entry[1] != _NEVER and self._clock() >= entry[1]:
                del self.cache[key]
                self.expirations += 1
                self.misses += 1
                return default
            self.cache.move_to_end(key)
            self.hits += 1
            return entry[0]

    def discard(self, key: Hashable) -> bool:
        """Forget the entry under ``key``; True if there was one."""
        with self.lock:
            return self.cache.pop(key, None) is not None

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` holds an unexpired entry (neither counted nor reordered)."""
        with self.lock:
            entry = self.cache.get(key)
            return entry is not None and self._clock() < entry[1]

    def __len__(self) -> int:
        """Entries held (expired ones not yet removed included)."""
        return len(self.cache)

    # -- housekeeping ------------------------------------------------------------------------
    def clear_expired(self) -> int:
        """Remove every expired entry; returns how many."""
        with self.lock:
            now = self._clock()
            dead = [k for k, (_, expires) in self.cache.items() if now >= expires]
            for k in dead:
                del self.cache[k]
            self.expirations += len(dead)
            return len(dead)

    def clear(self) -> None:
        """Remove every entry (the statistics stay)."""
        with self.lock:
            self.cache.clear()

    def get_stats(self) -> dict[str, Any]:
        """Size, capacity, hits, misses, hit rate, puts, evictions and expirations."""
        with self.lock:
            reads = self.hits + self.misses
            return {
                "size": len(self.cache),
                "max_size": self.max_size,
                "default_ttl": self.default_ttl,
                "hits": self.hits,
                "misses": self.misses,
                "hit_rate": self.hits / reads if reads else 0.0,
                "puts": self.puts,
                "evictions": self.evictions,
                "expirations": self.expirations,
            }

    def __repr__(self) -> str:
        return (
            f"DataCache(size={len(self.cache)}, max_size={self.max_size}, "
            f"default_ttl={self.default_ttl}, hits={self.hits}, misses={self.misses})"
        )
