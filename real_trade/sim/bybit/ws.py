"""Bybit v5's websockets: public market topics and the private stream, on one hub.

Paths: ``/v5/public/spot`` and ``/v5/public/linear`` (topics ``kline.<interval>.<SYM>``,
``orderbook.<depth>.<SYM>``, ``publicTrade.<SYM>``, ``tickers.<SYM>``) and ``/v5/private``
(``op: auth`` with ``[key, expires, hex HMAC("GET/realtime" + expires)]``, ``expires`` in
wall-clock ms as clients sign it, then the topics
``order``, ``execution``, ``position``, ``wallet`` and ``dcp``: disconnect protection, whose
window ``/v5/order/disconnected-cancel-all`` sets; when an account's last connection subscribed
to ``dcp`` closes, the core's countdowns start and cancel that product's open orders unless a
new connection subscribes ``dcp`` within the window). Requests are
``{op, req_id, args}``; ``subscribe`` is acknowledged with ``{success, ret_msg, conn_id,
req_id, op}``; ``op: ping`` is answered with ``ret_msg: pong`` (public) or ``op: pong``
(private), as ccxt.pro expects.

Market data comes from the core's bus (``sim.trade.*``, ``sim.depth.*``, ``sim.kline.*``),
hopped to the server loop. A kline push carries ``confirm: true`` once its interval is over
(the closing push of a bar is sent when the next bar starts). An orderbook subscription gets a
``snapshot`` and then ``delta`` messages whose ``u`` counts up by one per message on that
subscription (Bybit's rule; ``seq`` is the core's book sequence); the fault plan's depth actions
drop, duplicate or reorder deltas. Private events come from ``sim.order.*``,
``sim.balance.*``, ``sim.position.*``, ``sim.funding.*`` (an ``execution`` with ``execType:
Funding``) and ``sim.liquidation.*`` (an ``order`` with ``createType: CreateByLiq`` and its
``BustTrade`` execution); while the fault plan pauses the user stream they are
held and then delivered in order.

With a linear context (the exchange's futures core) ``/v5/public/linear`` streams that core and
the private stream carries both cores' events of the key's two accounts (``wallet``: one
unified account, :func:`~real_trade.sim.bybit.rest_private.unified_wallets`).
"""

from __future__ import annotations

import hmac
import itertools
import json
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

from real_trade.sim.accounts import Account, unified_balances
from real_trade.sim.bybit.auth import sign
from real_trade.sim.bybit.format import (
    coin_row,
    execution_row,
    funding_row,
    liquidation_rows,
    num,
    order_row,
    position_row,
)
from real_trade.sim.bybit.rest_private import unified_wallets
from real_trade.sim.bybit.rest_public import category_of, ticker_for
from real_trade.sim.bybit.vocab import INTERVALS
from real_trade.sim.derivatives.types import FundingEvent, LiquidationEvent, PositionView
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
from real_trade.sim.types import (
    BalanceEvent,
    DepthUpdate,
    ExecutionType,
    Fill,
    OrderEvent,
    Trade,
)

__all__ = ["BybitStreams"]

_BUS_PATTERNS = (*MARKET_TOPICS, *ACCOUNT_TOPICS, "sim.funding.*", "sim.liquidation.*")
_PRIVATE_TOPICS = frozenset({"order", "execution", "position", "wallet", "dcp"})
_BOOK_DEPTHS = frozenset({1, 50, 200, 1000})


@dataclass(eq=False)
class _Client:
    conn: WsConnection
    conn_id: str
    category: str | None  # None: the private stream
    topics: set[str] = field(default_factory=set)
    account: Account | None = None
    accounts: dict[str, Account] = field(default_factory=dict)  # by source core
    books: dict[str, _BookSub] = field(default_factory=dict)
    klines: dict[str, int | None] = field(default_factory=dict)


def _watches_dcp(client: _Client) -> bool:
    return any(t.split(".")[0] == "dcp" for t in client.topics)


@dataclass
class _BookSub:
    symbol: str
    depth: int
    u: int
    after: int


class BybitStreams:
    """The websocket face (see the module docstring): handlers, bus fan-out, lifecycle."""

    def __init__(
        self, ctx: FaceContext, settings: WsSettings, *, linear: FaceContext | None = None
    ) -> None:
        """Serve ``ctx``'s core (and ``linear``'s for ``category=linear``) with the connection
        policy ``settings``."""
        self.ctx = ctx
        self.sources: dict[str, FaceContext] = {"spot": ctx}
        if linear is not None:
            self.sources["linear"] = linear
        self.settings = settings
        self._held: HeldEvents[tuple[str, str, Any]] = HeldEvents(
            ctx.faults, lambda item: self._private(*item)
        )
        self.hub: StreamHub[str, _Client] = StreamHub(
            settings, self.sources.items(), _BUS_PATTERNS, self._dispatch, self._held.release
        )
        self.registry = self.hub.registry
        self.clients = self.hub.clients
        self._depth_gate = DepthFaultGate(ctx.faults)

    # -- lifecycle --------------------------------------------------------------------------
    def register(self, app: web.Application) -> None:
        """Add the websocket routes and lifecycle hooks to ``app``."""
        app.router.add_get("/v5/public/{category}", self.handle_public)
        app.router.add_get("/v5/private", self.handle_private)
        self.hub.register(app)

    def _source_of(self, category: str | None) -> str:
        """The core serving a public ``category``: the linear one when there is one."""
        return "linear" if category == "linear" and "linear" in self.sources else "spot"

    def _core(self, category: str | None) -> Any:
        return self.sources[self._source_of(category)].core

    # -- connections ------------------------------------------------------------------------
    async def handle_public(self, request: web.Request) -> web.StreamResponse:
        """A public connection of one category (``spot`` or ``linear``)."""
        category = request.match_info["category"]
        if category not in ("spot", "linear", "inverse", "option"):
            raise web.HTTPNotFound()
        return await self._serve(request, category)

    async def handle_private(self, request: web.Request) -> web.StreamResponse:
        """The private stream (auth first)."""
        return await self._serve(request, None)

    async def _serve(self, request: web.Request, category: str | None) -> web.StreamResponse:
        return await self.hub.serve(
            request,
            lambda conn: _Client(conn, secrets.token_hex(8), category),
            self._on_text,
            self._dcp_dropped,
        )

    def _on_text(self, client: _Client, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            return
        if not isinstance(msg, dict):
            return
        op, req_id = msg.get("op"), msg.get("req_id", "")
        args = msg.get("args") or []
        if op == "ping":
            if client.category is None:
                pong = {"req_id": req_id, "op": "pong", "args": [str(self._now())]}
                client.conn.send(json_frame({**pong, "conn_id": client.conn_id}))
            else:
                self._reply(client, "ping", req_id, True, "pong")
        elif op == "auth" and client.category is None:
            ok, why = self._auth(client, args)
            self._reply(client, "auth", req_id, ok, why)
        elif op == "subscribe":
            self._subscribe(client, req_id, [str(a) for a in args])
        elif op == "unsubscribe":
            for topic in args:
                client.topics.discard(str(topic))
                client.books.pop(str(topic), None)
                client.klines.pop(str(topic), None)
            self._reply(client, "unsubscribe", req_id, True, "")
        else:
            self._reply(client, str(op), req_id, False, f"error:handler not found,op:{op}")

    def _reply(self, client: _Client, op: str, req_id: Any, ok: bool, ret_msg: str) -> None:
        out = {"success": ok, "ret_msg": ret_msg, "conn_id": client.conn_id, "op": op}
        if req_id != "":
            out["req_id"] = req_id
        client.conn.send(json_frame(out))

    def _now(self) -> int:
        return self.ctx.server_time_ms()

    def _auth(self, client: _Client, args: list[Any]) -> tuple[bool, str]:
        if len(args) != 3:
            return False, "Params Error"
        key, expires, signature = str(args[0]), str(args[1]), str(args[2])
        account = self.ctx.core.account_by_key(key)
        if account is None:
            return False, "Invalid apikey"
        accounts = {s: c.core.account_by_key(key) for s, c in self.sources.items()}
        # signed with the wall clock by every client (ccxt.pro does not adjust it), so checked
        # against the wall clock (plus the fault plan's skew), not the market clock
        if not expires.isdigit() or int(expires) <= self.ctx.wall_time_ms():
            return False, "Request expired"
        expected = sign(account.secret, f"GET/realtime{expires}")
        if not hmac.compare_digest(expected, signature):
            return False, "Signature mismatch"
        client.account = account
        client.accounts = {s: a for s, a in accounts.items() if a is not None}
        return True, ""

    def _subscribe(self, client: _Client, req_id: Any, topics: list[str]) -> None:
        bad = [t for t in topics if not self._valid(client, t)]
        if bad:
            self._reply(
                client, "subscribe", req_id, False, f"error:handler not found,topic:{bad[0]}"
            )
            return
        if client.category is None and client.account is None:
            self._reply(client, "subscribe", req_id, False, "Request not authorized")
            return
        self._reply(client, "subscribe", req_id, True, "")
        for topic in topics:
            client.topics.add(topic)
            parts = topic.split(".")
            if parts[0] == "orderbook":
                self._book_snapshot(client, topic, parts[2], int(parts[1]))
            elif parts[0] == "kline":
                core = self._core(client.category)
                client.klines[topic] = last_bar_open(core, parts[2], INTERVALS[parts[1]])
            elif parts[0] == "dcp" and client.account is not None:
                self._dcp_back(client.account)

    # -- disconnect protection (DCP) --------------------------------------------------------
    def _dcp_accounts(self, account: Account) -> list[tuple[Any, Account]]:
        """(core, the account there) for every core the face serves (spot, linear)."""
        cores = {id(self._core(c)): self._core(c) for c in ("spot", "linear")}
        pairs = []
        for core in cores.values():
            found = core.account_by_key(account.api_key)
            if found is not None:
                pairs.append((core, found))
        return pairs

    def _dcp_back(self, account: Account) -> None:
        """A ``dcp`` subscription is the heartbeat: it stops the account's DCP countdowns."""
        for core, acct in self._dcp_accounts(account):
            for symbol in core.countdowns.standby(acct.account_id):
                core.arm_cancel_countdown(acct, symbol, 0)

    def _dcp_dropped(self, client: _Client) -> None:
        """The last ``dcp`` connection of an account closed: start its DCP countdowns."""
        account = client.account
        if account is None or not _watches_dcp(client):
            return
        if any(c.account is account and _watches_dcp(c) for c in self.clients):
            return
        for core, acct in self._dcp_accounts(account):
            for symbol, window_ms in core.countdowns.standby(acct.account_id).items():
                core.arm_cancel_countdown(acct, symbol, window_ms)

    def _valid(self, client: _Client, topic: str) -> bool:
        parts = topic.split(".")
        if client.category is None:
            return parts[0] in _PRIVATE_TOPICS and len(parts) <= 2
        core = self._core(client.category)
        symbol = parts[-1]
        if symbol not in core.symbols() or category_of(core, symbol) != client.category:
            return False
        if parts[0] == "kline":
            return len(parts) == 3 and parts[1] in INTERVALS
        if parts[0] == "orderbook":
            return len(parts) == 3 and parts[1].isdigit() and int(parts[1]) in _BOOK_DEPTHS
        return parts[0] in ("publicTrade", "tickers") and len(parts) == 2

    # -- market data ------------------------------------------------------------------------
    def _dispatch(self, source: str, kind: str, event: Any) -> None:
        if kind == "trade":
            self._on_trade(event, source)
        elif kind == "depth":
            self._on_depth(event, source)
        elif kind == "kline":
            self._on_kline(event.symbol, source)
        else:
            self._held.offer((source, kind, event))

    def _public(self, topic: str, source: str) -> list[_Client]:
        return [
            c
            for c in self.clients
            if topic in c.topics
            and c.category is not None
            and self._source_of(c.category) == source
        ]

    def _on_trade(self, t: Trade, source: str) -> None:
        topic = f"publicTrade.{t.symbol}"
        clients = self._public(topic, source)
        if clients:
            row = {
                "T": t.time_ms,
                "s": t.symbol,
                "S": "Sell" if t.is_buyer_maker else "Buy",
                "v": num(t.qty),
                "p": num(t.price),
                "L": "PlusTick",
                "i": str(t.trade_id),
                "BT": False,
            }
            text = json_frame({"topic": topic, "type": "snapshot", "ts": t.time_ms, "data": [row]})
            for c in clients:
                c.conn.send(text)
        topic = f"tickers.{t.symbol}"
        clients = self._public(topic, source)
        if clients:
            core = self.sources[source].core
            data = ticker_for(core, t.symbol, category_of(core, t.symbol))
            for k in ("bid1Price", "bid1Size", "ask1Price", "ask1Size"):
                data.pop(k, None)
            text = json_frame(
                {
                    "topic": topic,
                    "ts": t.time_ms,
                    "type": "snapshot",
                    "cs": t.trade_id,
                    "data": data,
                }
            )
            for c in clients:
                c.conn.send(text)

    def _book_snapshot(self, client: _Client, topic: str, symbol: str, depth: int) -> None:
        snap = self._core(client.category).depth(symbol, depth)
        sub = _BookSub(symbol, depth, snap.last_update_id, snap.last_update_id)
        client.books[topic] = sub
        now = self._now()
        data = {
            "s": symbol,
            "b": [[num(p), num(q)] for p, q in snap.bids],
            "a": [[num(p), num(q)] for p, q in snap.asks],
            "u": sub.u,
            "seq": snap.last_update_id,
        }
        client.conn.send(
            json_frame({"topic": topic, "type": "snapshot", "ts": now, "data": data, "cts": now})
        )

    def _on_depth(self, d: DepthUpdate, source: str) -> None:
        # u is taken when the update happens, so the fault plan's actions look like the wire:
        # a dropped delta leaves a gap in u, a duplicate repeats it, a reordered one comes late
        self._depth_gate.send(f"{source}:{d.symbol}", lambda: self._delta_frames(d, source))

    def _delta_frames(self, d: DepthUpdate, source: str) -> list[tuple[WsConnection, str]]:
        frames = []
        for c in self.clients:
            if c.category is None or self._source_of(c.category) != source:
                continue
            for topic, sub in c.books.items():
                if sub.symbol != d.symbol or d.final_update_id <= sub.after:
                    continue
                sub.u += 1
                data = {
                    "s": d.symbol,
                    "b": [[num(p), num(q)] for p, q in d.bids],
                    "a": [[num(p), num(q)] for p, q in d.asks],
                    "u": sub.u,
                    "seq": d.final_update_id,
                }
                message = {"topic": topic, "type": "delta", "ts": d.time_ms, "data": data}
                frames.append((c.conn, json_frame({**message, "cts": d.time_ms})))
        return frames

    def _on_kline(self, symbol: str, source: str) -> None:
        catch_up = KlineCatchUp(self.sources[source].core, symbol)
        for c in self.clients:
            if c.category is None or self._source_of(c.category) != source:
                continue
            for topic, last_open in list(c.klines.items()):
                code, sym = topic.split(".")[1:]
                if sym != symbol:
                    continue
                bars = catch_up.bars(INTERVALS[code], last_open)
                if bars is None:
                    continue
                ended, cur = bars
                # every bar that ended since the last push, closed (confirm: true)
                rows = [self._kline(b, code, True) for b in ended]
                rows.append(self._kline(cur, code, cur.is_closed))
                c.klines[topic] = cur.open_ms
                now = self._now()
                for row in rows:
                    c.conn.send(
                        json_frame({"topic": topic, "data": [row], "ts": now, "type": "snapshot"})
                    )

    @staticmethod
    def _kline(k: Any, code: str, confirm: bool) -> dict[str, Any]:
        return {
            "start": k.open_ms,
            "end": k.close_ms,
            "interval": code,
            "open": num(k.open),
            "close": num(k.close),
            "high": num(k.high),
            "low": num(k.low),
            "volume": num(k.volume),
            "turnover": num(k.quote_volume),
            "confirm": confirm,
            "timestamp": k.close_ms if confirm else k.open_ms,
        }

    # -- private ----------------------------------------------------------------------------
    def _private(self, source: str, kind: str, event: Any) -> None:
        aid = event_account_id(event)
        clients = [
            c
            for c in self.clients
            if c.category is None and source in c.accounts and c.accounts[source].account_id == aid
        ]
        if not clients:
            return
        now = self._now()
        messages: list[tuple[str, list[dict[str, Any]]]] = []
        if isinstance(event, OrderEvent):
            o = event.order
            category = category_of(self.sources[source].core, o.symbol)
            messages.append(("order", [order_row(o, category)]))
            if event.execution_type is ExecutionType.TRADE:
                fill = Fill(
                    symbol=o.symbol,
                    trade_id=event.trade_id,
                    order_id=o.order_id,
                    price=event.last_price,
                    qty=event.last_qty,
                    quote_qty=event.last_quote_qty,
                    commission=event.commission,
                    commission_asset=event.commission_asset or "",
                    is_maker=event.is_maker,
                    is_buyer=o.side.name == "BUY",
                    time_ms=event.time_ms,
                )
                acct = clients[0].accounts[source]
                rate = acct.maker_fee if event.is_maker else acct.taker_fee
                messages.append(("execution", [execution_row(fill, o, category, rate)]))
        elif isinstance(event, BalanceEvent):
            acct = clients[0].accounts[source]
            balances = unified_balances(unified_wallets(self.sources, acct))
            coins = [coin_row(a, f, lk) for a, (f, lk) in sorted(balances.items())]
            total = sum((f + lk for f, lk in balances.values()), Decimal(0))
            wallet = {
                "accountType": "UNIFIED",
                "totalEquity": num(total),
                "totalWalletBalance": num(total),
                "totalAvailableBalance": num(total),
                "coin": coins,
            }
            messages.append(("wallet", [wallet]))
        elif isinstance(event, PositionView):
            messages.append(("position", [position_row(event)]))
        elif isinstance(event, FundingEvent):
            messages.append(("execution", [funding_row(event)]))
        elif isinstance(event, LiquidationEvent):
            order, execution = liquidation_rows(event)
            messages += [("order", [order]), ("execution", [execution])]
        for topic, data in messages:
            text = json_frame(
                {"id": f"{next(_IDS)}", "topic": topic, "creationTime": now, "data": data}
            )
            for c in clients:
                if topic in c.topics or any(t.startswith(topic + ".") for t in c.topics):
                    c.conn.send(text)


_IDS = itertools.count(1)
