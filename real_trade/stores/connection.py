"""``StoreConnection``: the connected state of a store's venue client (start, stop, check).

Thread-safe and idempotent: feeds and brokers sharing one store all call ``start``; the first
starts the client and loads the markets, the others find it connected.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from real_trade.errors import RealTradeError

__all__ = ["StoreConnection"]

_log = logging.getLogger("real_trade.stores")


class StoreConnection:
    """Whether ``client`` is started and was last reached; starts, stops and checks it."""

    def __init__(self, client: Any) -> None:
        """Not connected yet (no network here)."""
        self.client = client
        self._connected = False
        self._lock = threading.Lock()

    @property
    def is_connected(self) -> bool:
        """Whether it started and its last connection check succeeded."""
        return self._connected and bool(self.client.is_started)

    def start(self) -> None:
        """Start the client and load the markets (idempotent)."""
        with self._lock:
            if not self.is_connected:
                self.client.start()
                self.client.load_markets()
                self._connected = True

    def stop(self) -> None:
        """Stop every stream and close the client (idempotent); ``start`` may follow."""
        with self._lock:
            self._connected = False
            self.client.stop()

    def test(self, owner: object) -> bool:
        """Reach the venue (and, with keys, the account); False with the reason logged as
        ``owner``'s."""
        try:
            self.client.fetch_time()
            if self.client.has_credentials:
                self.client.fetch_balance()
        except RealTradeError as exc:
            _log.warning("%r: connection test failed: %s: %s", owner, type(exc).__name__, exc)
            self._connected = False
            return False
        self._connected = True
        return True
