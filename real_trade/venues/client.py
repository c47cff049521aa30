"""``VenueClient``: everything a store, a feed or a broker asks of a venue, in one object.

A :class:`VenueClient` is a :class:`~real_trade.venues.connection.VenueConnection` (one ccxt.pro
exchange on its own asyncio I/O thread, endpoints live / testnet / demo / simulator, masked
credentials) plus the operations. Every operation is written once, as an ``..._async`` coroutine
for the I/O loop (ccxt errors translated into :mod:`real_trade.errors`, reads retried per the
client's :class:`~real_trade.venues.retry.RetryPolicy`); the plain method of the same name runs it
there
from any other thread and waits for the result.

Orders carry a client order id (generated when not given). A placing call whose outcome is
unknown raises ``AmbiguousOutcomeError`` and is never resent: look the order up with
:meth:`VenueClient.find_order_by_client_id`. Amounts and prices go through ccxt's precision
helpers. Amounts are base units both ways, also on venues whose ccxt amounts count contracts
(OKX SWAP: :mod:`real_trade.venues.contract_size`). :meth:`VenueClient.fetch_ohlcv` paginates
forward (see :mod:`real_trade.venues.history`).

Streams (:mod:`real_trade.venues.streams`): :meth:`VenueClient.stream` starts one asyncio task per
stream that calls the ccxt.pro watcher in a loop, hands every item to ``on_event`` (on the I/O
thread: keep it short, e.g. put into a queue), reconnects with capped exponential backoff and
jitter, and reports its state through ``on_state`` and the bus (``venue.stream.<kind>``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import partial
from typing import Any

from real_trade.errors import AmbiguousOutcomeError, OrderNotFoundError, RealTradeError
from real_trade.venues.ccxt_errors import ccxt_errors
from real_trade.venues.connection import VenueConnection, mask_key
from real_trade.venues.contract_size import order_in_base, to_contracts, trade_in_base
from real_trade.venues.history import paginate_ohlcv
from real_trade.venues.streams import (
    EventCallback,
    StateCallback,
    StreamHandle,
    StreamKind,
    StreamStateChanged,
    watcher_for,
)
from real_trade.venues.urls import protocol_family

__all__ = ["StreamHandle", "StreamStateChanged", "VenueClient", "mask_key"]

_OHLCV_PER_CALL = 1000
_MARGIN_MODE_UNCHANGED = '"code":-4046'
"""Binance USDⓈ-M's answer to setting the margin mode in force ("No need to change margin
type."): ccxt 4.5 raises it as ``OperationRejected`` (its common table, on the real hosts too),
not as the ``MarginModeAlreadySet`` its ``set_margin_mode`` forgives."""


class VenueClient(VenueConnection):
    """The one connection of a store to one venue, with every operation (module docstring).

    Construct it as a :class:`~real_trade.venues.connection.VenueConnection` (venue, market
    type, credentials, testnet / demo / sim_url, proxy, bus, retry policy, stream backoff);
    it starts its I/O thread on first use or on :meth:`start`, and :meth:`stop` ends it.
    """

    # -- public data ---------------------------------------------------------------------
    async def fetch_time_async(self) -> int:
        """The exchange's clock in ms (the simulator's may be stepped or accelerated)."""
        if self._exchange.has.get("fetchTime"):
            return int(await self._retrying(self._exchange.fetch_time))
        return int(self._exchange.milliseconds())

    def fetch_time(self) -> int:
        """Sync face of :meth:`fetch_time_async`."""
        return self.run(self.fetch_time_async())

    async def fetch_ticker_async(self, symbol: str) -> dict[str, Any]:
        """ccxt's ticker of ``symbol``."""
        result: dict[str, Any] = await self._retrying(self._exchange.fetch_ticker, symbol)
        return result

    def fetch_ticker(self, symbol: str) -> dict[str, Any]:
        """Sync face of :meth:`fetch_ticker_async`."""
        return self.run(self.fetch_ticker_async(self.symbol_of(symbol)))

    async def fetch_order_book_async(self, symbol: str, limit: int | None = None) -> dict[str, Any]:
        """ccxt's order book of ``symbol`` (``limit`` levels per side)."""
        book: dict[str, Any] = await self._retrying(self._exchange.fetch_order_book, symbol, limit)
        return book

    def fetch_order_book(self, symbol: str, limit: int | None = None) -> dict[str, Any]:
        """Sync face of :meth:`fetch_order_book_async`."""
        return self.run(self.fetch_order_book_async(self.symbol_of(symbol), limit))

    async def fetch_ohlcv_async(
        self,
        symbol: str,
        timeframe: str = "1m",
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int | None = None,
        closed_only: bool = True,
    ) -> list[list[float]]:
        """Candles ``[open_ms, o, h, l, c, v]`` of ``symbol``, paginated forward, deduplicated.

        Bars open at or after ``since_ms`` and at or before ``until_ms``, in time order. With
        ``since_ms`` and ``limit`` the first ``limit`` bars; with ``limit`` only, the latest
        ``limit`` bars. ``closed_only`` drops the still-open bar, judged by the exchange's
        clock (:meth:`fetch_time_async`), not the wall clock.
        """
        now_ms = await self.fetch_time_async()
        return await paginate_ohlcv(
            lambda since, count: self._retrying(
                self._exchange.fetch_ohlcv, symbol, timeframe, since, count
            ),
            timeframe_ms=int(self._exchange.parse_timeframe(timeframe) * 1000),
            now_ms=now_ms,
            since_ms=since_ms,
            until_ms=until_ms,
            limit=limit,
            closed_only=closed_only,
            per_call=self._ohlcv_per_call(),
        )

    def _ohlcv_per_call(self) -> int:
        """The most candles one request returns: ccxt's ``features`` table, else 1000."""
        features = getattr(self._exchange, "features", None) or {}
        section = features.get(self.default_type) or {}
        if isinstance(section, dict) and "fetchOHLCV" not in section:
            section = next((v for v in section.values() if isinstance(v, dict)), {})
        value = (section.get("fetchOHLCV") or {}).get("limit") if section else None
        return int(value) if isinstance(value, int | float) and value > 0 else _OHLCV_PER_CALL

    def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int | None = None,
        closed_only: bool = True,
    ) -> list[list[float]]:
        """Sync face of :meth:`fetch_ohlcv_async`."""
        coro = self.fetch_ohlcv_async(
            self.symbol_of(symbol), timeframe, since_ms, until_ms, limit, closed_only
        )
        return self.run(coro)

    # -- account -------------------------------------------------------------------------
    async def fetch_balance_async(self) -> dict[str, Any]:
        """ccxt's balance structure of the account (needs credentials)."""
        self._require_credentials("reading the balance")
        balance: dict[str, Any] = await self._retrying(self._exchange.fetch_balance)
        return balance

    def fetch_balance(self) -> dict[str, Any]:
        """Sync face of :meth:`fetch_balance_async`."""
        return self.run(self.fetch_balance_async())

    async def fetch_positions_async(self, symbols: list[str] | None = None) -> list[dict[str, Any]]:
        """ccxt's open derivative positions (needs credentials and venue support); one request
        per symbol where the venue reads no more (Bybit: ``positions_one_symbol_per_request``)."""
        self._require_credentials("reading positions")
        if (
            symbols
            and len(symbols) > 1
            and self.venue.quirks.get("positions_one_symbol_per_request")
        ):
            rows: list[dict[str, Any]] = []
            for symbol in symbols:
                rows += await self.fetch_positions_async([symbol])
            return rows
        positions: list[dict[str, Any]] = await self._retrying(
            self._exchange.fetch_positions, symbols
        )
        return positions

    def fetch_positions(self, symbols: list[str] | None = None) -> list[dict[str, Any]]:
        """Sync face of :meth:`fetch_positions_async`."""
        return self.run(self.fetch_positions_async(symbols))

    async def fetch_funding_history_async(
        self, symbol: str, since_ms: int | None = None
    ) -> list[dict[str, Any]]:
        """The account's funding payments on contract ``symbol`` (ccxt's funding history)."""
        self._require_credentials("reading funding payments")
        rows: list[dict[str, Any]] = await self._retrying(
            self._exchange.fetch_funding_history, symbol, since_ms
        )
        return rows

    def fetch_funding_history(
        self, symbol: str, since_ms: int | None = None
    ) -> list[dict[str, Any]]:
        """Sync face of :meth:`fetch_funding_history_async`."""
        return self.run(self.fetch_funding_history_async(self.symbol_of(symbol), since_ms))

    async def set_contract_settings_async(
        self, symbol: str, leverage: int | None, margin_mode: str | None
    ) -> None:
        """Set a contract's margin mode (``cross``/``isolated``), then its leverage (ccxt's
        ``set_margin_mode``, ``set_leverage``; an unchanged margin mode or leverage is no
        error). Where the margin mode travels with each order (the venue's
        ``margin_mode_per_order`` quirk: OKX) it is set with the leverage and remembered in
        :attr:`order_margin_modes` for the orders of ``symbol``."""
        self._require_credentials("setting leverage and margin mode")
        exchange, quirks = self._exchange, self.venue.quirks
        if quirks.get("margin_mode_per_order"):  # OKX: mgnMode with the leverage, tdMode per order
            mode = margin_mode or "cross"
            if leverage is None:
                found = await self._retrying(exchange.fetch_leverage, symbol, {"marginMode": mode})
                leverage = int(found.get("longLeverage") or found.get("shortLeverage") or 1)
            await self._retrying(exchange.set_leverage, int(leverage), symbol, {"mgnMode": mode})
            self.order_margin_modes[symbol] = mode
            return
        if margin_mode is not None:
            try:
                await self._retrying(exchange.set_margin_mode, margin_mode, symbol)
            except RealTradeError as exc:
                if _MARGIN_MODE_UNCHANGED not in str(exc).replace(" ", ""):
                    raise
        if leverage is not None:
            try:
                await self._retrying(exchange.set_leverage, int(leverage), symbol)
            except RealTradeError as exc:
                unchanged = quirks.get("leverage_unchanged_error")
                if not unchanged or unchanged not in str(exc):
                    raise

    def set_contract_settings(
        self, symbol: str, leverage: int | None, margin_mode: str | None
    ) -> None:
        """Sync face of :meth:`set_contract_settings_async`."""
        self.run(self.set_contract_settings_async(symbol, leverage, margin_mode))

    async def fetch_open_orders_async(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """The account's open orders (of ``symbol``, or all)."""
        self._require_credentials("reading open orders")
        orders: list[dict[str, Any]] = await self._retrying(
            self._exchange.fetch_open_orders, symbol
        )
        return [self._order_in_base(o) for o in orders]

    def fetch_open_orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """Sync face of :meth:`fetch_open_orders_async`."""
        resolved = self.symbol_of(symbol) if symbol else None
        return self.run(self.fetch_open_orders_async(resolved))

    async def fetch_closed_orders_async(
        self, symbol: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The account's recently closed (filled, cancelled, expired) orders of ``symbol``."""
        self._require_credentials("reading closed orders")
        orders: list[dict[str, Any]] = await self._retrying(
            self._exchange.fetch_closed_orders, symbol, since_ms, limit
        )
        return [self._order_in_base(o) for o in orders]

    def fetch_closed_orders(
        self, symbol: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Sync face of :meth:`fetch_closed_orders_async`."""
        return self.run(self.fetch_closed_orders_async(self.symbol_of(symbol), since_ms, limit))

    async def fetch_order_async(self, order_id: str, symbol: str) -> dict[str, Any]:
        """One order by exchange id; OrderNotFoundError when the venue does not know it."""
        self._require_credentials("reading an order")
        order: dict[str, Any] = await self._retrying(self._exchange.fetch_order, order_id, symbol)
        return self._order_in_base(order)

    def fetch_order(self, order_id: str, symbol: str) -> dict[str, Any]:
        """Sync face of :meth:`fetch_order_async`."""
        return self.run(self.fetch_order_async(order_id, self.symbol_of(symbol)))

    async def fetch_my_trades_async(
        self, symbol: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The account's fills of ``symbol`` (with fees), oldest first."""
        self._require_credentials("reading fills")
        trades: list[dict[str, Any]] = await self._retrying(
            self._exchange.fetch_my_trades, symbol, since_ms, limit
        )
        return [self._trade_in_base(t) for t in trades]

    def fetch_my_trades(
        self, symbol: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Sync face of :meth:`fetch_my_trades_async`."""
        return self.run(self.fetch_my_trades_async(self.symbol_of(symbol), since_ms, limit))

    # -- orders --------------------------------------------------------------------------
    def new_client_order_id(self) -> str:
        """A fresh client order id, alphanumeric, within the venue's length limit."""
        max_len = int(self.venue.quirks.get("client_order_id_max_len", 32))
        return ("rt" + uuid.uuid4().hex)[: max(8, min(max_len, 34))]

    async def create_order_async(
        self,
        symbol: str,
        order_type: str,
        side: str,
        amount: float,
        price: float | None = None,
        *,
        client_order_id: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Place an order (amount and price rounded by ccxt's precision helpers); return it.

        Carries ``client_order_id`` (generated when None). Only failures proving the venue did
        not act (rate limit, clock skew) are retried; an unknown outcome raises
        AmbiguousOutcomeError carrying the client order id: never resend, look it up.
        """
        self._require_credentials("placing an order")
        cid = client_order_id or self.new_client_order_id()
        exchange = self._exchange
        if not exchange.markets:
            await self.load_markets_async()
        with ccxt_errors():
            amount = to_contracts(exchange.markets.get(symbol), amount)
            amount_p = float(exchange.amount_to_precision(symbol, amount))
            price_p = None if price is None else float(exchange.price_to_precision(symbol, price))
        extra = {**dict(params or {}), "clientOrderId": cid}
        if symbol in self.order_margin_modes:
            extra.setdefault("marginMode", self.order_margin_modes[symbol])
        try:
            order: dict[str, Any] = await self._retrying(
                exchange.create_order,
                symbol,
                order_type,
                side,
                amount_p,
                price_p,
                extra,
                places_order=True,
            )
        except AmbiguousOutcomeError as exc:
            if exc.client_order_id is None:
                exc.client_order_id = cid
            raise
        if not order.get("clientOrderId"):
            order["clientOrderId"] = cid
        return self._order_in_base(order)

    def create_order(
        self,
        symbol: str,
        order_type: str,
        side: str,
        amount: float,
        price: float | None = None,
        *,
        client_order_id: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Sync face of :meth:`create_order_async`."""
        coro = self.create_order_async(
            self.symbol_of(symbol),
            order_type,
            side,
            amount,
            price,
            client_order_id=client_order_id,
            params=params,
        )
        return self.run(coro)

    async def cancel_order_async(self, order_id: str, symbol: str) -> dict[str, Any]:
        """Cancel an order by exchange id; OrderNotFoundError when it is unknown or done."""
        self._require_credentials("cancelling an order")
        result: dict[str, Any] = await self._retrying(self._exchange.cancel_order, order_id, symbol)
        return result

    def cancel_order(self, order_id: str, symbol: str) -> dict[str, Any]:
        """Sync face of :meth:`cancel_order_async`."""
        return self.run(self.cancel_order_async(order_id, self.symbol_of(symbol)))

    async def find_order_by_client_id_async(
        self, client_order_id: str, symbol: str
    ) -> dict[str, Any] | None:
        """The order placed with ``client_order_id``, or None when the venue has none.

        Venues whose order query takes a client id (Binance: ``origClientOrderId``; a venue's
        ``client_id_query_param`` quirk overrides it, ``None`` forcing the scan) are asked
        directly; elsewhere the open and recent finished orders are scanned.
        """
        self._require_credentials("looking an order up")
        binance = protocol_family(self.venue.ccxt_id) == "binance"
        default = "origClientOrderId" if binance else None
        param = self.venue.quirks.get("client_id_query_param", default)
        if param:
            fetch = self._exchange.fetch_order
            try:
                found: dict[str, Any] = await self._retrying(
                    fetch, "", symbol, {param: client_order_id}
                )
                return self._order_in_base(found)
            except OrderNotFoundError:
                return None
        for order in await self._recent_orders_async(symbol):
            if order.get("clientOrderId") == client_order_id:
                return self._order_in_base(order)
        return None

    async def _recent_orders_async(self, symbol: str) -> list[dict[str, Any]]:
        """Open and recent finished orders of ``symbol``: one call where the venue allows."""
        exchange = self._exchange
        if exchange.has.get("fetchOrders"):
            every: list[dict[str, Any]] = await self._retrying(exchange.fetch_orders, symbol)
            return every
        orders: list[dict[str, Any]] = []
        for method in ("fetch_open_orders", "fetch_closed_orders", "fetch_canceled_orders"):
            camel = "fetch" + "".join(w.title() for w in method.split("_")[1:])
            if method == "fetch_open_orders" or exchange.has.get(camel):
                orders += await self._retrying(getattr(exchange, method), symbol)
        return orders

    def find_order_by_client_id(self, client_order_id: str, symbol: str) -> dict[str, Any] | None:
        """Sync face of :meth:`find_order_by_client_id_async`."""
        coro = self.find_order_by_client_id_async(client_order_id, self.symbol_of(symbol))
        return self.run(coro)

    # -- streams -------------------------------------------------------------------------
    def stream(
        self,
        kind: StreamKind,
        symbol: str | None = None,
        *,
        on_event: EventCallback,
        on_state: StateCallback | None = None,
        timeframe: str = "1m",
        limit: int | None = None,
    ) -> StreamHandle:
        """Start a stream of ``kind`` and return its handle (see :mod:`.streams` for kinds).

        ``on_event(item)`` gets every trade / candle / order / fill, or the whole balance /
        ticker / book, on the I/O thread. ``on_state(StreamStateChanged)`` gets every state
        change, which also goes to the bus as ``venue.stream.<kind>``. On a venue whose
        ``private_channels`` quirk names the kind's channel, the stream is ``connected`` once the
        venue confirmed that subscription (:class:`~real_trade.venues.streams.SubscriptionAcks`).
        """
        unified = self.symbol_of(symbol) if symbol else None
        if kind in ("orders", "my_trades", "balance"):
            self._require_credentials(f"the {kind} stream")
        watch = watcher_for(self.exchange, kind, unified, timeframe, limit)
        if kind in ("orders", "my_trades"):
            on_event = self._in_base_units(kind, on_event)
        channel = self.private_channels.get(kind)
        acks = self._acks
        subscribed = None if channel is None or acks is None else partial(acks.confirmed, channel)
        handle = StreamHandle(
            venue=self.venue.name,
            kind=kind,
            symbol=unified,
            watch=watch,
            on_event=on_event,
            on_state=on_state,
            bus=self.bus,
            base_delay=self.reconnect_base_delay,
            max_delay=self.reconnect_max_delay,
            loop=self.loop,
            on_done=self._forget_stream,
            exchange=self.exchange,
            subscribed=subscribed,
            resync_clock=self.resync_clock_async,
        )
        with self._streams_lock:
            self._streams.add(handle)
        self.run(handle.start_async())
        return handle

    # -- contract sizes ------------------------------------------------------------------
    def _order_in_base(self, order: dict[str, Any]) -> dict[str, Any]:
        """A ccxt order with base-unit amounts (contracts counted by the venue converted)."""
        markets = self._exchange.markets or {}
        return order_in_base(markets.get(str(order.get("symbol"))), order)

    def _trade_in_base(self, trade: dict[str, Any]) -> dict[str, Any]:
        """A ccxt trade with a base-unit amount."""
        markets = self._exchange.markets or {}
        return trade_in_base(markets.get(str(trade.get("symbol"))), trade)

    def _in_base_units(self, kind: StreamKind, on_event: EventCallback) -> EventCallback:
        """``on_event`` fed orders (``kind='orders'``) or trades in base units."""
        convert = self._order_in_base if kind == "orders" else self._trade_in_base

        def deliver(item: Any) -> None:
            on_event(convert(item) if isinstance(item, dict) else item)

        return deliver

    @property
    def streams(self) -> list[StreamHandle]:
        """The streams running now."""
        with self._streams_lock:
            return list(self._streams)
