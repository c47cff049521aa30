"""OKX v5's websockets: ``/ws/v5/public``, ``/ws/v5/business`` and ``/ws/v5/private``.

Requests are ``{op, args: [{channel, instId | instType}]}`` (a ``?brokerId=`` query, as the
demo URLs carry, is ignored); each subscription is acknowledged with ``{event: "subscribe",
arg, connId}``, a bad one answered with ``{event: "error", code, msg, connId}``. The text
``ping`` is answered with the text ``pong``. Channels:

* public: ``books`` (a ``snapshot`` then ``update`` messages, each with ``seqId``, the previous
  message's ``seqId`` as ``prevSeqId`` (-1 on the snapshot) and OKX's CRC-32 ``checksum`` of the
  top 25 levels after it), ``books5`` and ``bbo-tbt`` (whole top-5 / top-1 books), ``trades``,
  ``tickers``;
* business: ``candle<bar>`` (``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]``, the
  closing push of a bar with ``confirm "1"`` when the next one starts);
* private, after ``op: login`` with ``[{apiKey, passphrase, timestamp (seconds), sign:
  base64 HMAC(timestamp + "GET/users/self/verify")}]``: ``orders`` (REST order rows plus the
  fill's ``tradeId``/``fillPx``/``fillSz``/``fillFee``/``execType`` when it traded),
  ``account`` (the unified balance) and ``positions``.

Market data and private events come from both cores' buses (SPOT and SWAP), hopped to the
server loop. The fault plan's depth actions drop, duplicate or reorder book updates (so a
``prevSeqId`` gap shows on the wire); a paused user stream holds private events, then delivers
them in order.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

from real_trade.sim.accounts import unified_balances, wallet_balances
from real_trade.sim.derivatives.types import LiquidationEvent, PositionView
from real_trade.sim.faults import FaultPlan
from real_trade.sim.okx.auth import sign
from real_trade.sim.okx.format import (
    BARS,
    book_checksum,
    candle_row,
    detail_row,
    liquidation_order_row,
    num,
    order_row,
    position_row,
    trade_row,
)
from real_trade.sim.okx.markets import Instrument, Markets
from real_trade.sim.okx.rest_public import ticker_row
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.market_push import DepthFaultGate, KlineCatchUp, last_bar_open
from real_trade.sim.plumbing.ws_conn import WsConnection, WsSettings, json_frame
from real_trade.sim.plumbing.ws_hub import (
    ACCOUNT_TOPICS,
    MARKET_TOPICS,
    HeldEvents,
    StreamHub,
    event_account_id,
)
from real_trade.sim.types import BalanceEvent, DepthUpdate, ExecutionType, OrderEvent, Trade

__all__ = ["OKXStreams"]

_BUS_PATTERNS = (*MARKET_TOPICS, *ACCOUNT_TOPICS, "sim.liquidation.*")
_PUBLIC = frozenset({"books", "books5", "bbo-tbt", "trades", "tickers"})
_PRIVATE = frozenset({"orders", "account", "positions"})
_BOOK_LEVELS = {"books": 400, "books5": 5, "bbo-tbt": 1}


@dataclass
class _Book:
    """One ``books`` subscription's view of the book (to number and checksum updates)."""

    inst: Instrument
    seq: int
    after: int
    bids: dict[Decimal, Decimal] = field(default_factory=dict)
    asks: dict[Decimal, Decimal] = field(default_factory=dict)


@dataclass(eq=False)
class _Client:
    conn: WsConnection
    conn_id: str
    path: str  # public, business or private
    subs: dict[str, dict[str, str]] = field(default_factory=dict)
    api_key: str | None = None
    books: dict[str, _Book] = field(default_factory=dict)
    candles: dict[str, int | None] = field(default_factory=dict)


def _key(arg: dict[str, str]) -> str:
    return "|".join(f"{k}={arg[k]}" for k in sorted(arg))


class OKXStreams:
    """The websocket face (see the module docstring): handlers, bus fan-out, lifecycle."""

    def __init__(self, markets: Markets, settings: WsSettings, passphrase: str) -> None:
        """Serve ``markets`` with the connection policy ``settings``."""
        self.markets = markets
        self.settings = settings
        self.passphrase = passphrase
        self._held: HeldEvents[tuple[FaceContext, str, Any]] = HeldEvents(
            self.faults, lambda item: self._private(*item)
        )
        self.hub: StreamHub[FaceContext, _Client] = StreamHub(
            settings,
            ((ctx, ctx) for ctx in markets.contexts()),
            _BUS_PATTERNS,
            self._dispatch,
            self._held.release,
        )
        self.registry = self.hub.registry
        self.clients = self.hub.clients
        self._depth_gate = DepthFaultGate(self.faults)

    @property
    def faults(self) -> FaultPlan:
        """The shared fault plan."""
        return self.markets.spot.faults

    # -- lifecycle --------------------------------------------------------------------------
    def register(self, app: web.Application) -> None:
        """Add the websocket routes and lifecycle hooks to ``app``."""
        for path in ("public", "business", "private"):
            app.router.add_get(f"/ws/v5/{path}", self._handler(path))
        self.hub.register(app)

    # -- connections ------------------------------------------------------------------------
    def _handler(self, path: str) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self.hub.serve(
                request, lambda conn: _Client(conn, secrets.token_hex(4), path), self._on_text
            )

        return handle

    def _error(self, client: _Client, code: str, msg: str) -> None:
        client.conn.send(
            json_frame({"event": "error", "code": code, "msg": msg, "connId": client.conn_id})
        )

    def _on_text(self, client: _Client, text: str) -> None:
        if text == "ping":
            client.conn.send("pong")
            return
        try:
            msg = json.loads(text)
        except ValueError:
            self._error(client, "60012", f"Invalid request: {text}")
            return
        if not isinstance(msg, dict):
            self._error(client, "60012", f"Invalid request: {text}")
            return
        op = msg.get("op")
        args = [a for a in (msg.get("args") or []) if isinstance(a, dict)]
        if op == "login":
            self._login(client, args)
        elif op == "subscribe":
            for arg in args:
                self._subscribe(client, {k: str(v) for k, v in arg.items()})
        elif op == "unsubscribe":
            for arg in args:
                key = _key({k: str(v) for k, v in arg.items()})
                client.subs.pop(key, None)
                client.books.pop(key, None)
                client.candles.pop(key, None)
                client.conn.send(
                    json_frame({"event": "unsubscribe", "arg": arg, "connId": client.conn_id})
                )
        else:
            self._error(client, "60012", f"Invalid request: {text}")

    def _login(self, client: _Client, args: list[dict[str, Any]]) -> None:
        if client.path != "private" or len(args) != 1:
            self._error(client, "60012", "Invalid request: login")
            return
        arg = args[0]
        key = str(arg.get("apiKey", ""))
        ts = str(arg.get("timestamp", ""))
        account = self.markets.spot.core.account_by_key(key)
        wall = time.time() + self.faults.clock_skew_ms / 1000
        if account is None:
            self._error(client, "60005", "Invalid apiKey")
        elif str(arg.get("passphrase", "")) != self.passphrase:
            self._error(client, "60024", "Wrong passphrase")
        elif not ts.isdigit() or abs(int(ts) - wall) > 30:
            self._error(client, "60006", "Timestamp request expired")
        elif sign(account.secret, f"{ts}GET/users/self/verify") != arg.get("sign"):
            self._error(client, "60007", "Invalid sign")
        else:
            client.api_key = key
            client.conn.send(
                json_frame({"event": "login", "code": "0", "msg": "", "connId": client.conn_id})
            )

    def _subscribe(self, client: _Client, arg: dict[str, str]) -> None:
        channel = arg.get("channel", "")
        inst: Instrument | None = None
        if channel in _PRIVATE:
            ok = client.path == "private"
            if ok and client.api_key is None:
                self._error(client, "60011", "Please log in")
                return
        elif channel.startswith("candle"):
            ok = client.path == "business" and channel[len("candle") :] in BARS
        else:
            ok = channel in _PUBLIC and client.path == "public"
        if ok and channel not in _PRIVATE:
            try:
                inst = self.markets.get(arg.get("instId", ""))
            except Exception:
                ok = False
        if not ok:
            self._error(
                client,
                "60018",
                f"Wrong URL or channel:{channel},instId:{arg.get('instId', '')} doesn't exist",
            )
            return
        key = _key(arg)
        client.subs[key] = arg
        client.conn.send(json_frame({"event": "subscribe", "arg": arg, "connId": client.conn_id}))
        if inst is None:
            return
        if channel == "books":
            self._book_snapshot(client, key, arg, inst)
        elif channel in ("books5", "bbo-tbt"):
            self._top_book(client, arg, inst, _BOOK_LEVELS[channel])
        elif channel.startswith("candle"):
            interval = BARS[channel[len("candle") :]]
            client.candles[key] = last_bar_open(inst.core, inst.symbol, interval)

    # -- market data ------------------------------------------------------------------------
    def _dispatch(self, ctx: FaceContext, kind: str, event: Any) -> None:
        if kind in ("trade", "depth", "kline"):
            inst = self.markets.find(ctx, event.symbol)
            if inst is None:
                return
            if kind == "trade":
                self._on_trade(inst, event)
            elif kind == "depth":
                self._on_depth(inst, event)
            else:
                self._on_kline(inst)
        else:
            self._held.offer((ctx, kind, event))

    def _subscribed(self, channel: str, inst: Instrument) -> list[tuple[_Client, str, Any]]:
        out = []
        for c in self.clients:
            for key, arg in c.subs.items():
                if arg.get("channel") == channel and arg.get("instId") == inst.inst_id:
                    out.append((c, key, arg))
        return out

    def _on_trade(self, inst: Instrument, t: Trade) -> None:
        row = {**trade_row(t, inst), "count": "1"}
        for c, _, arg in self._subscribed("trades", inst):
            c.conn.send(json_frame({"arg": arg, "data": [row]}))
        tickers = self._subscribed("tickers", inst)
        if tickers:
            data = [ticker_row(inst)]
            for c, _, arg in tickers:
                c.conn.send(json_frame({"arg": arg, "data": data}))

    @staticmethod
    def _levels(side: dict[Decimal, Decimal], inst: Instrument, rev: bool) -> list[list[str]]:
        prices = sorted(side, reverse=rev)
        return [[num(p), num(inst.sz(side[p])), "0", "1"] for p in prices]

    def _book_message(
        self,
        arg: Any,
        book: _Book,
        action: str,
        prev: int,
        bids: list[list[str]],
        asks: list[list[str]],
        ts: int,
    ) -> str:
        top_b = self._levels(book.bids, book.inst, True)[:25]
        top_a = self._levels(book.asks, book.inst, False)[:25]
        checksum = book_checksum([(b[0], b[1]) for b in top_b], [(a[0], a[1]) for a in top_a])
        data = {
            "asks": asks,
            "bids": bids,
            "ts": str(ts),
            "checksum": checksum,
            "seqId": book.seq,
            "prevSeqId": prev,
        }
        return json_frame({"arg": arg, "action": action, "data": [data]})

    def _book_snapshot(self, client: _Client, key: str, arg: Any, inst: Instrument) -> None:
        snap = inst.core.depth(inst.symbol, _BOOK_LEVELS["books"])
        book = _Book(
            inst, snap.last_update_id, snap.last_update_id, dict(snap.bids), dict(snap.asks)
        )
        client.books[key] = book
        text = self._book_message(
            arg,
            book,
            "snapshot",
            -1,
            self._levels(book.bids, inst, True),
            self._levels(book.asks, inst, False),
            inst.ctx.server_time_ms(),
        )
        client.conn.send(text)

    def _top_book(self, client: _Client, arg: Any, inst: Instrument, depth: int) -> None:
        snap = inst.core.depth(inst.symbol, depth)
        data = {
            "asks": [[num(p), num(inst.sz(q)), "0", "1"] for p, q in snap.asks],
            "bids": [[num(p), num(inst.sz(q)), "0", "1"] for p, q in snap.bids],
            "instId": inst.inst_id,
            "ts": str(inst.ctx.server_time_ms()),
            "seqId": snap.last_update_id,
        }
        client.conn.send(json_frame({"arg": arg, "data": [data]}))

    def _on_depth(self, inst: Instrument, d: DepthUpdate) -> None:
        for channel, depth in (("books5", 5), ("bbo-tbt", 1)):
            for c, _, arg in self._subscribed(channel, inst):
                self._top_book(c, arg, inst, depth)
        # seqId is taken when the update happens, so the fault plan's actions look like the
        # wire: a dropped update leaves a prevSeqId gap, a duplicate repeats one, a reordered
        # one comes late
        self._depth_gate.send(inst.inst_id, lambda: self._update_frames(inst, d))

    def _update_frames(self, inst: Instrument, d: DepthUpdate) -> list[tuple[WsConnection, str]]:
        frames = []
        for c, key, arg in self._subscribed("books", inst):
            book = c.books.get(key)
            if book is None or d.final_update_id <= book.after:
                continue
            for side, changes in ((book.bids, d.bids), (book.asks, d.asks)):
                for p, q in changes:
                    if q:
                        side[p] = q
                    else:
                        side.pop(p, None)
            prev, book.seq = book.seq, d.final_update_id
            bids = [[num(p), num(inst.sz(q)), "0", "1" if q else "0"] for p, q in d.bids]
            asks = [[num(p), num(inst.sz(q)), "0", "1" if q else "0"] for p, q in d.asks]
            text = self._book_message(arg, book, "update", prev, bids, asks, d.time_ms)
            frames.append((c.conn, text))
        return frames

    def _on_kline(self, inst: Instrument) -> None:
        catch_up = KlineCatchUp(inst.core, inst.symbol)
        for c in self.clients:
            for key, last_open in list(c.candles.items()):
                arg = c.subs.get(key)
                if arg is None or arg.get("instId") != inst.inst_id:
                    continue
                bars = catch_up.bars(BARS[arg["channel"][len("candle") :]], last_open)
                if bars is None:
                    continue
                ended, cur = bars
                rows = [candle_row(b, inst, confirm=True) for b in ended]
                rows.append(candle_row(cur, inst))
                c.candles[key] = cur.open_ms
                for row in rows:
                    c.conn.send(json_frame({"arg": arg, "data": [row]}))

    # -- private ----------------------------------------------------------------------------
    def _owners(self, ctx: FaceContext, account_id: int) -> list[_Client]:
        out = []
        for c in self.clients:
            if c.api_key is None:
                continue
            acct = ctx.core.account_by_key(c.api_key)
            if acct is not None and acct.account_id == account_id:
                out.append(c)
        return out

    def _private(self, ctx: FaceContext, kind: str, event: Any) -> None:
        aid = event_account_id(event)
        if aid is None:
            return
        clients = self._owners(ctx, aid)
        if not clients:
            return
        messages: list[tuple[str, str | None, list[dict[str, Any]]]] = []
        if isinstance(event, OrderEvent):
            inst = self.markets.find(ctx, event.order.symbol)
            if inst is None:
                return
            row = order_row(event.order, inst)
            traded = event.execution_type is ExecutionType.TRADE
            row.update(
                tradeId=str(event.trade_id) if traded else "",
                fillPx=num(event.last_price) if traded else "",
                fillSz=num(inst.sz(event.last_qty)) if traded else "0",
                fillTime=str(event.time_ms) if traded else "",
                fillFee=num(-event.commission) if traded else "0",
                fillFeeCcy=event.commission_asset or "" if traded else "",
                execType=("M" if event.is_maker else "T") if traded else "",
                uTime=str(event.time_ms),
            )
            messages.append(("orders", inst.inst_type, [row]))
        elif isinstance(event, BalanceEvent):
            key = clients[0].api_key
            assert key is not None
            details = self._details(key)
            now = str(ctx.server_time_ms())
            messages.append(("account", None, [{"uTime": now, "details": details}]))
        elif isinstance(event, PositionView):
            inst = self.markets.find(ctx, event.symbol)
            if inst is None:
                return
            messages.append(("positions", inst.inst_type, [position_row(event, inst)]))
        elif isinstance(event, LiquidationEvent):
            inst = self.markets.find(ctx, event.symbol)
            if inst is None:
                return
            messages.append(("orders", inst.inst_type, [liquidation_order_row(event, inst)]))
        for channel, inst_type, data in messages:
            for c in clients:
                for arg in c.subs.values():
                    if arg.get("channel") != channel:
                        continue
                    if inst_type is not None and arg.get("instType", "ANY") not in (
                        "ANY",
                        inst_type,
                    ):
                        continue
                    wanted = arg.get("instId")
                    if wanted and data[0].get("instId") != wanted:
                        continue
                    c.conn.send(json_frame({"arg": arg, "data": data}))

    def _details(self, api_key: str) -> list[dict[str, Any]]:
        """The ``account`` channel's ``details``: the key's unified account as
        ``/account/balance`` reports it (money funded into both wallets counted once)."""
        wallets = []
        for ctx in self.markets.contexts():
            acct = ctx.core.account_by_key(api_key)
            if acct is not None:
                wallets.append((wallet_balances(ctx.core, acct), acct.opening))
        now = self.markets.spot.server_time_ms()
        totals = unified_balances(wallets)
        return [detail_row(c, f, lk, now) for c, (f, lk) in sorted(totals.items())]
