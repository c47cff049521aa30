"""``StoreRegistry``: the one shared store per (class, exchange, key, testnet, demo, market type,
simulator URL) behind ``BaseStore.get_instance``.

backtrader's own store metaclass keeps one instance per class whatever the arguments; an account
needs one per key and environment, so the registry keys on those. Thread-safe: concurrent
callers with the same key get the same object, built once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from real_trade.utils.secrets import plain_secret
from real_trade.venues.urls import effective_sim_url

__all__ = ["InstanceKey", "StoreRegistry", "instance_key"]

InstanceKey = tuple[Any, ...]
"""(class, exchange id, API key, testnet, demo, market type, simulator URL)."""


class _Stoppable(Protocol):
    def stop(self) -> None: ...


def instance_key(cls: type, apikey: Any, testnet: bool, kwargs: dict[str, Any]) -> InstanceKey:
    """The registry key of a ``cls(apikey, ..., testnet, **kwargs)`` store."""
    return (
        cls,
        str(kwargs.get("exchange") or "").strip().lower(),
        plain_secret(apikey),
        bool(testnet),
        bool(kwargs.get("demo", False)),
        kwargs.get("market_type", "spot"),
        effective_sim_url(kwargs.get("sim_url")),
    )


class StoreRegistry:
    """Shared instances by :data:`InstanceKey`, created on first request."""

    def __init__(self) -> None:
        """An empty registry."""
        self._instances: dict[InstanceKey, Any] = {}
        self._lock = threading.Lock()

    def get_or_create(self, key: InstanceKey, create: Callable[[], Any]) -> Any:
        """The instance under ``key``, made by ``create()`` (under the lock) when absent."""
        with self._lock:
            existing = self._instances.get(key)
            if existing is None:
                existing = create()
                self._instances[key] = existing
        return existing

    def clear(self, cls: type) -> None:
        """Stop and forget every instance of ``cls`` and its subclasses."""
        with self._lock:
            doomed = [key for key in self._instances if issubclass(key[0], cls)]
            stores: list[_Stoppable] = [self._instances.pop(key) for key in doomed]
        for store in stores:
            store.stop()

    def __len__(self) -> int:
        """How many instances are held."""
        return len(self._instances)
