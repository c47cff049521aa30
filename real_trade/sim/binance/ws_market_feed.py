"""The market-data side of the Binance stream face: core events in, stream payloads out.

:class:`MarketFeed` listens to the core's bus (``sim.trade.*``, ``sim.depth.*``), hops every
event onto the server loop, and publishes Binance stream payloads to the :class:`StreamClient`
subscribers of each stream name, encoding each payload once for all of them:

* ``@trade`` per trade; ``@aggTrade`` from the core's own aggregate tape (same ids as REST).
* ``@depth`` / ``@depth@100ms``: the core's contiguous diffs, the ones published together merged
  into one event (``U`` = first id, ``u`` = last id), each passed through the fault plan's
  ``depth_action()`` (send / drop / duplicate / reorder with the next one).
* ``@bookTicker`` whenever the best bid or ask changes.
* periodic streams, checked by a pacer against *market* time: ``@kline_<i>`` (an update at most
  every 2 s while trades come in, the final ``x=true`` update of every bar that closed, then the
  new bar), ``@ticker`` / ``@miniTicker`` / ``!miniTicker@arr`` / ``@avgPrice`` every second
  when they changed, ``@depth<N>`` every 1000 or 100 ms when the book changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from real_trade.bus import EventBus, Subscription
from real_trade.sim.binance.ws_streams import (
    StreamSpec,
    agg_trade_payload,
    all_mini_tickers_payload,
    avg_price_payload,
    book_ticker_payload,
    combined,
    depth_diff_payload,
    kline_payload,
    mark_price_payload,
    mini_ticker_payload,
    partial_depth_payload,
    ticker_payload,
    trade_payload,
)
from real_trade.sim.derivatives.types import MarkPriceEvent
from real_trade.sim.klines import bucket_open
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.ws_conn import WsConnection, WsSettings
from real_trade.sim.types import DepthUpdate, Ticker24h, Trade

__all__ = ["MarketFeed", "StreamClient"]

_log = logging.getLogger("real_trade.sim.binance.ws_market")
_KLINE_UPDATE_MS = 2_000
_STATS_MS = 1_000
_MAX_CATCHUP_BARS = 50


@dataclass(eq=False)
class StreamClient:
    """One market-stream connection: its websocket, whether payloads are wrapped
    (``combined``, as on ``/stream``), the stream names it is subscribed to and the legacy
    listenKeys it streams."""

    conn: WsConnection
    combined: bool
    streams: list[str] = field(default_factory=list)
    listen_keys: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _DepthBatch:
    first: int
    final: int
    bids: dict[Decimal, Decimal]
    asks: dict[Decimal, Decimal]
    time_ms: int


@dataclass(slots=True)
class _KlineState:
    open_ms: int | None = None
    last_sent_ms: int = 0
    dirty: bool = False


@dataclass(slots=True)
class _PeriodicState:
    due_ms: int = 0
    last_key: Any = None


class MarketFeed:
    """Publishes the core's market events to stream subscribers (see the module docstring).

    ``add`` / ``remove`` / ``remove_all`` manage a client's subscriptions (loop thread);
    :meth:`start` subscribes to the bus and starts the pacer, :meth:`stop` undoes both.
    ``sent`` counts the frames handed to connections.
    """

    def __init__(
        self, ctx: FaceContext, bus: EventBus, settings: WsSettings, *, usdm: bool = False
    ) -> None:
        """Serve ``ctx.core``'s market, whose events are published on ``bus`` (``usdm``: in
        USDⓈ-M's dialect, whose depth diffs carry ``pu`` and ``T``)."""
        self.ctx = ctx
        self.usdm = usdm
        self.bus = bus
        self.settings = settings
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sent = 0
        self._subs: dict[str, set[StreamClient]] = {}
        self._specs: dict[str, StreamSpec] = {}
        self._by_symbol: dict[str, dict[str, set[str]]] = {}
        self._active: frozenset[str] = frozenset()
        self._bus_subs: list[Subscription] = []
        self._pacer: asyncio.Task[None] | None = None
        self._depth: dict[str, _DepthBatch] = {}
        self._held_depth: dict[str, str] = {}
        self._book_top: dict[str, tuple[Any, ...]] = {}
        self._next_agg: dict[str, int] = {}
        self._agg_pending: set[str] = set()
        self._klines: dict[str, _KlineState] = {}
        self._periodic: dict[str, _PeriodicState] = {}
        self._mark_due: dict[str, int] = {}

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Subscribe to the core's trade and depth events and start the pacer on ``loop``."""
        self.loop = loop
        self._bus_subs = [
            self.bus.subscribe("sim.trade.*", self._on_bus_trade),
            self.bus.subscribe("sim.depth.*", self._on_bus_depth),
        ]
        if self.usdm:
            self._bus_subs.append(self.bus.subscribe("sim.mark.*", self._on_bus_mark))
        self._pacer = loop.create_task(self._run_pacer())

    async def stop(self) -> None:
        """Unsubscribe from the bus and stop the pacer."""
        for sub in self._bus_subs:
            sub.unsubscribe()
        self._bus_subs = []
        if self._pacer is not None:
            self._pacer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pacer
            self._pacer = None

    def _on_bus_trade(self, topic: str, event: Trade) -> None:
        loop = self.loop
        if event.symbol in self._active and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._on_trade, event)

    def _on_bus_depth(self, topic: str, event: DepthUpdate) -> None:
        loop = self.loop
        if event.symbol in self._active and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._on_depth, event)

    def _on_bus_mark(self, topic: str, event: MarkPriceEvent) -> None:
        loop = self.loop
        if event.symbol in self._active and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._on_mark, event)

    def _on_mark(self, m: MarkPriceEvent) -> None:
        """Publish a mark to each ``@markPrice`` stream whose period has passed (market time)."""
        names = self._by_symbol.get(m.symbol, {}).get("markPrice")
        if not names or not m.mark_price:
            return
        payload: str | None = None
        for name in names:
            if m.time_ms < self._mark_due.get(name, 0):
                continue
            self._mark_due[name] = m.time_ms + self._specs[name].speed_ms
            if payload is None:
                payload = mark_price_payload(
                    m.symbol,
                    m.mark_price,
                    m.index_price,
                    m.funding_rate,
                    m.next_funding_ms,
                    m.time_ms,
                )
            self._publish(name, payload)

    # -- subscriptions --------------------------------------------------------------------
    def subscribers(self, name: str) -> int:
        """How many clients are subscribed to stream ``name``."""
        return len(self._subs.get(name, ()))

    def add(self, client: StreamClient, specs: list[StreamSpec]) -> None:
        """Subscribe ``client`` to ``specs`` (already subscribed ones are kept once)."""
        for spec in specs:
            if spec.name in client.streams:
                continue
            client.streams.append(spec.name)
            clients = self._subs.get(spec.name)
            if clients is None:
                clients = self._subs[spec.name] = set()
                self._specs[spec.name] = spec
                self._first_subscriber(spec)
            clients.add(client)
        self._reindex()

    def remove(self, client: StreamClient, names: list[str]) -> None:
        """Unsubscribe ``client`` from ``names`` (unknown names are ignored)."""
        for name in names:
            if name not in client.streams:
                continue
            client.streams.remove(name)
            clients = self._subs.get(name)
            if clients is not None:
                clients.discard(client)
                if not clients:
                    del self._subs[name]
                    self._specs.pop(name, None)
                    self._klines.pop(name, None)
                    self._periodic.pop(name, None)
                    self._mark_due.pop(name, None)
        self._reindex()

    def remove_all(self, client: StreamClient) -> None:
        """Unsubscribe ``client`` from everything (its connection closed)."""
        self.remove(client, list(client.streams))

    def _reindex(self) -> None:
        index: dict[str, dict[str, set[str]]] = {}
        for name, spec in self._specs.items():
            if spec.symbol:
                index.setdefault(spec.symbol, {}).setdefault(spec.kind, set()).add(name)
        self._by_symbol = index
        symbols = set(index)
        if any(s.kind == "allMiniTickers" for s in self._specs.values()):
            symbols.update(self.ctx.core.symbols())
        self._active = frozenset(symbols)
        for sym in list(self._depth):
            if "depth" not in index.get(sym, {}):
                del self._depth[sym]
                self._held_depth.pop(sym, None)

    def _first_subscriber(self, spec: StreamSpec) -> None:
        core = self.ctx.core
        if spec.kind == "aggTrade" and spec.symbol not in self._next_agg:
            last = core.agg_trades(spec.symbol, limit=1)
            self._next_agg[spec.symbol] = last[-1].agg_id + 1 if last else 1
        elif spec.kind == "kline":
            # Anchor the stream at the bar open when the client subscribes, as Binance does: that
            # bar's final update (x=true) is sent when it closes, even if it closes before the
            # pacer's first tick for this stream; dirty so the current bar goes out at once.
            now = self.ctx.clock.now_ms()
            self._klines[spec.name] = _KlineState(
                open_ms=bucket_open(spec.interval, now), dirty=True
            )
        elif spec.kind in ("ticker", "miniTicker", "avgPrice", "partialDepth", "allMiniTickers"):
            self._periodic[spec.name] = _PeriodicState()
        elif spec.kind == "depth" and spec.symbol in self._held_depth:
            del self._held_depth[spec.symbol]

    # -- publishing -----------------------------------------------------------------------
    def _publish(self, name: str, payload: str) -> None:
        clients = self._subs.get(name)
        if not clients:
            return
        wrapped: str | None = None
        for client in clients:
            if client.combined:
                if wrapped is None:
                    wrapped = combined(name, payload)
                client.conn.send(wrapped)
            else:
                client.conn.send(payload)
        self.sent += len(clients)

    def _on_trade(self, trade: Trade) -> None:
        kinds = self._by_symbol.get(trade.symbol)
        if not kinds:
            return
        names = kinds.get("trade")
        if names:
            payload = trade_payload(trade, trade.time_ms)
            for name in names:
                self._publish(name, payload)
        if "aggTrade" in kinds and trade.symbol not in self._agg_pending:
            self._agg_pending.add(trade.symbol)
            asyncio.get_running_loop().call_soon(self._flush_aggs, trade.symbol)
        for name in kinds.get("kline", ()):
            state = self._klines.get(name)
            if state is not None:
                state.dirty = True

    def _flush_aggs(self, symbol: str) -> None:
        self._agg_pending.discard(symbol)
        names = self._by_symbol.get(symbol, {}).get("aggTrade")
        if not names:
            return
        start = self._next_agg.get(symbol, 1)
        aggs = self.ctx.core.agg_trades(symbol, from_id=start, limit=1000)
        for agg in aggs:
            payload = agg_trade_payload(agg, agg.time_ms)
            for name in names:
                self._publish(name, payload)
        if aggs:
            self._next_agg[symbol] = aggs[-1].agg_id + 1

    def _on_depth(self, d: DepthUpdate) -> None:
        kinds = self._by_symbol.get(d.symbol)
        if not kinds:
            return
        if "depth" in kinds:
            batch = self._depth.get(d.symbol)
            if batch is not None and d.first_update_id != batch.final + 1:
                self._flush_depth(d.symbol)
                batch = None
            if batch is None:
                self._depth[d.symbol] = _DepthBatch(
                    d.first_update_id, d.final_update_id, dict(d.bids), dict(d.asks), d.time_ms
                )
                asyncio.get_running_loop().call_soon(self._flush_depth, d.symbol)
            else:
                batch.final = d.final_update_id
                batch.bids.update(d.bids)
                batch.asks.update(d.asks)
                batch.time_ms = d.time_ms
        if "bookTicker" in kinds:
            self._book_ticker(d.symbol, kinds["bookTicker"])

    def _flush_depth(self, symbol: str) -> None:
        batch = self._depth.pop(symbol, None)
        names = self._by_symbol.get(symbol, {}).get("depth")
        if batch is None or not names:
            return
        bids = sorted(batch.bids.items(), reverse=True)
        asks = sorted(batch.asks.items())
        payload = depth_diff_payload(
            symbol, batch.first, batch.final, bids, asks, batch.time_ms, usdm=self.usdm
        )
        action = self.ctx.faults.depth_action()
        if action == "drop":
            return
        if action == "reorder" and symbol not in self._held_depth:
            self._held_depth[symbol] = payload
            return
        out = [payload, payload] if action == "duplicate" else [payload]
        held = self._held_depth.pop(symbol, None)
        if held is not None:
            out.append(held)
        for text in out:
            for name in names:
                self._publish(name, text)

    def _book_ticker(self, symbol: str, names: set[str]) -> None:
        bt = self.ctx.core.book_ticker(symbol)
        top = (bt.bid_price, bt.bid_qty, bt.ask_price, bt.ask_qty)
        if self._book_top.get(symbol) == top:
            return
        self._book_top[symbol] = top
        payload = book_ticker_payload(bt)
        for name in names:
            self._publish(name, payload)

    # -- periodic streams -----------------------------------------------------------------
    async def _run_pacer(self) -> None:
        while True:
            await asyncio.sleep(self.settings.pacer_interval_s)
            try:
                self.tick()
            except Exception:  # keep streaming; the failure is logged with its traceback
                _log.exception("market stream pacer failed")

    def tick(self) -> None:
        """Publish the periodic streams that are due at the current market time."""
        if not self._klines and not self._periodic:
            return
        now = self.ctx.clock.now_ms()
        for name, state in list(self._klines.items()):
            self._tick_kline(self._specs[name], state, now)
        tickers: dict[str, Ticker24h] = {}
        for name, pstate in list(self._periodic.items()):
            if now >= pstate.due_ms:
                self._tick_periodic(self._specs[name], pstate, now, tickers)

    def _tick_kline(self, spec: StreamSpec, state: _KlineState, now: int) -> None:
        core = self.ctx.core
        current_open = bucket_open(spec.interval, now)
        if state.open_ms is None:
            bars = core.klines(spec.symbol, spec.interval, limit=1)
        elif current_open > state.open_ms:
            bars = core.klines(
                spec.symbol, spec.interval, start_ms=state.open_ms, limit=_MAX_CATCHUP_BARS + 1
            )
            if len(bars) > _MAX_CATCHUP_BARS:
                bars = core.klines(spec.symbol, spec.interval, limit=_MAX_CATCHUP_BARS)
        elif state.dirty and now - state.last_sent_ms >= _KLINE_UPDATE_MS:
            bars = core.klines(spec.symbol, spec.interval, start_ms=state.open_ms, limit=1)
        else:
            return
        for bar in bars:
            self._publish(spec.name, kline_payload(bar, now, is_closed=bar.open_ms < current_open))
        if bars:
            state.open_ms = max(bars[-1].open_ms, current_open)
        state.last_sent_ms = now
        state.dirty = False

    def _tick_periodic(
        self, spec: StreamSpec, state: _PeriodicState, now: int, tickers: dict[str, Ticker24h]
    ) -> None:
        core = self.ctx.core
        period = spec.speed_ms if spec.kind == "partialDepth" else _STATS_MS
        state.due_ms = now - now % period + period
        if spec.kind == "partialDepth":
            snap = core.depth(spec.symbol, spec.levels)
            if state.last_key != snap.last_update_id:
                state.last_key = snap.last_update_id
                self._publish(spec.name, partial_depth_payload(snap))
            return
        if spec.kind == "avgPrice":
            avg = core.avg_price(spec.symbol)
            if state.last_key != avg.price:
                state.last_key = avg.price
                self._publish(
                    spec.name,
                    avg_price_payload(spec.symbol, avg.mins, avg.price, avg.close_time_ms, now),
                )
            return
        if spec.kind == "allMiniTickers":
            seen: dict[str, Any] = state.last_key if isinstance(state.last_key, dict) else {}
            rows = []
            for sym in core.symbols():
                row = self._ticker(sym, tickers)
                row_key = (row.last_trade_id, row.last_price)
                if seen.get(sym) != row_key:
                    seen[sym] = row_key
                    rows.append(row)
            state.last_key = seen
            if rows:
                self._publish(spec.name, all_mini_tickers_payload(rows, now))
            return
        t = self._ticker(spec.symbol, tickers)
        key: tuple[Any, ...] = (t.last_trade_id, t.last_price)
        if spec.kind == "ticker":
            key += (t.bid_price, t.bid_qty, t.ask_price, t.ask_qty)
        if state.last_key == key:
            return
        state.last_key = key
        if spec.kind == "ticker":
            self._publish(spec.name, ticker_payload(t, now))
        else:
            self._publish(spec.name, mini_ticker_payload(t, now))

    def _ticker(self, symbol: str, cache: dict[str, Ticker24h]) -> Ticker24h:
        t = cache.get(symbol)
        if t is None:
            t = cache[symbol] = self.ctx.core.ticker_24h(symbol)
        return t
