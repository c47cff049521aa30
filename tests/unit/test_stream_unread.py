"""An order update ccxt.pro cached while no watch waited still reaches the stream's owner.

ccxt.pro resolves a watch only for a caller waiting at that moment (``Client.resolve``); an update
landing between two ``watch_orders()`` calls waits in the cache for the next message. The fake
exchange here keeps ccxt.pro's own cache and future rules; the update is pushed from inside the
owner's callback, i.e. exactly in that gap, and no further message follows.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ccxt.async_support.base.ws.cache import ArrayCacheBySymbolById

from real_trade.venues.streams import StreamHandle, unread_updates
from tests.support import eventually_async


class _Exchange:
    """``watch_orders`` as ccxt.pro does it: one future per waiting caller, a shared cache."""

    def __init__(self) -> None:
        self.orders: ArrayCacheBySymbolById | None = None
        self.clients: dict[str, Any] = {}
        self._waiting: asyncio.Future[Any] | None = None

    async def watch_orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        if self._waiting is None or self._waiting.done():
            self._waiting = loop.create_future()
        orders = await self._waiting
        count = orders.getLimit(symbol, None)
        return list(orders)[-count:]

    def push(self, order: dict[str, Any]) -> None:
        if self.orders is None:
            self.orders = ArrayCacheBySymbolById(1000)
        self.orders.append(dict(order))
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(self.orders)  # resolve, as ccxt.pro does, only if waited on


def _handle(exchange: Any, kind: str, watch: Any, on_event: Any) -> StreamHandle:
    """A stream of ``kind`` over the fake ``exchange`` on the running loop."""
    return StreamHandle(
        venue="fake",
        kind=kind,
        symbol=None,
        watch=watch,
        on_event=on_event,
        on_state=None,
        bus=None,
        base_delay=0.01,
        max_delay=0.01,
        loop=asyncio.get_running_loop(),
        exchange=exchange,
    )


def _order(status: str, filled: float) -> dict[str, Any]:
    return {
        "id": "1",
        "symbol": "BTC/USDT",
        "status": status,
        "filled": filled,
        "remaining": 1 - filled,
    }


def test_unread_updates_reads_what_no_watch_took() -> None:
    exchange = _Exchange()
    exchange.push(_order("open", 0.0))
    assert exchange.orders is not None
    exchange.orders.getLimit(None, None)  # a watch read it
    assert unread_updates(exchange, "orders", None) == []
    exchange.push(_order("closed", 1.0))
    (unread,) = unread_updates(exchange, "orders", None)
    assert unread["status"] == "closed"
    assert unread_updates(exchange, "orders", None) == [], "marked read"
    assert unread_updates(exchange, "balance", None) == []


def test_an_update_between_two_watches_is_delivered_once() -> None:
    async def main() -> list[tuple[str, float]]:
        exchange = _Exchange()
        seen: list[tuple[str, float]] = []

        def on_event(order: dict[str, Any]) -> None:
            seen.append((order["status"], order["filled"]))
            if order["status"] == "open":
                exchange.push(_order("closed", 1.0))  # lands before the next watch waits

        handle = _handle(exchange, "orders", exchange.watch_orders, on_event)
        await handle.start_async()
        await asyncio.sleep(0)
        exchange.push(_order("open", 0.0))
        await eventually_async(lambda: ("closed", 1.0) in seen, timeout=5)
        exchange.push(_order("closed", 1.0))  # a repeat of the same state: not delivered again
        exchange.push({**_order("closed", 1.0), "id": "2"})
        await eventually_async(lambda: len(seen) >= 3, timeout=5)
        await handle.stop_async()
        return seen

    assert asyncio.run(main()) == [("open", 0.0), ("closed", 1.0), ("closed", 1.0)]


class _BalanceExchange:
    """``watch_balance`` as ccxt.pro's Binance does it: ``balance["spot"]`` refilled in place
    (a new ``info`` and ``timestamp``), the waiting caller resolved if there is one."""

    def __init__(self) -> None:
        self.balance: dict[str, Any] = {}
        self.clients: dict[str, Any] = {}
        self._waiting: asyncio.Future[Any] | None = None

    async def watch_balance(self) -> dict[str, Any]:
        if self._waiting is None or self._waiting.done():
            self._waiting = asyncio.get_running_loop().create_future()
        result: dict[str, Any] = await self._waiting
        return result

    def push(self, usdt: float, stamp: int) -> None:
        spot = self.balance.setdefault("spot", {})
        spot.update({"info": {"B": usdt}, "timestamp": stamp, "free": {"USDT": usdt}})
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(spot)


def test_a_balance_refilled_between_two_watches_is_delivered() -> None:
    async def main() -> list[float]:
        exchange = _BalanceExchange()
        seen: list[float] = []

        def on_event(balance: dict[str, Any]) -> None:
            seen.append(balance["free"]["USDT"])
            if len(seen) == 1:
                exchange.push(900.0, 2)  # the second fill's balance, before the next watch waits

        handle = _handle(exchange, "balance", exchange.watch_balance, on_event)
        await handle.start_async()
        await eventually_async(lambda: exchange._waiting is not None, timeout=5)  # subscribed
        exchange.push(1000.0, 1)
        await eventually_async(lambda: 900.0 in seen, timeout=5)
        await handle.stop_async()
        return seen

    assert asyncio.run(main()) == [1000.0, 900.0]
