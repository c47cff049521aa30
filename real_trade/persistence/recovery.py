"""Recovery on start: read the journal, ask the exchange, reconcile, and only then trade.

:func:`recover` runs before a live broker lets its strategy trade. It resumes the client order
id sequence past every id the journal ever recorded (so no id is reused), then settles every
intent whose outcome the journal does not know (a crash between send and acknowledgement, or
an order that lived on while the bot was down) by asking the exchange for it **by client order
id**: an order the exchange has is never sent again; an order it does not have is recorded as
lost (Canceled, with the reason) and never left dangling. Orders still open are handed back as
:class:`RecoveredOrder` for the broker to adopt (and rebuild as backtrader orders); the fills
of every order of this run that the journal lacks (executions while the bot was down) are
journaled exactly once (the journal's fills are unique by symbol, trade id and order). Every
finding is published on the bus as ``reconcile.<kind>`` and logged. The broker's cash and
positions then come from the exchange's balances.

:class:`ContinuousReconciler` is the running half: now and then (bounded request rate) it asks
the exchange for the open orders of the traded symbols and reports orders the exchange no
longer knows (lost orders) and orders of this run the broker does not follow; for contracts it
also compares the positions (and the wallet) with the exchange's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from real_trade.execution import (
    ClientOrderIds,
    ExchangeStatus,
    OrderKind,
    OrderRequest,
    OrderSide,
    OrderState,
    TrackedOrder,
)
from real_trade.execution.contracts import contract_account_of
from real_trade.execution.events import fill_event, order_update
from real_trade.execution.live import fill_report

__all__ = ["ContinuousReconciler", "RecoveredOrder", "RecoveryReport", "recover", "request_of"]

_log = logging.getLogger("real_trade.recovery")
_TERMINAL = {
    ExchangeStatus.FILLED: OrderState.COMPLETED,
    ExchangeStatus.CANCELED: OrderState.CANCELED,
    ExchangeStatus.EXPIRED: OrderState.EXPIRED,
    ExchangeStatus.REJECTED: OrderState.REJECTED,
}
Publish = Callable[[str, object], None]


@dataclass(frozen=True)
class RecoveredOrder:
    """An order of this run still open at the exchange, to be adopted by the broker.

    ``request`` carries the journaled intent (client order id included); ``filled`` is what
    executed so far and ``trades`` those executions (ccxt trades: already journaled, never to be
    applied again).
    """

    request: OrderRequest
    exchange_order_id: str | None
    filled: float
    trades: tuple[Mapping[str, Any], ...] = ()

    @property
    def trade_ids(self) -> list[str]:
        """The exchange trade ids of :attr:`trades`."""
        return [fill_report(t).fill.trade_id for t in self.trades]


@dataclass
class RecoveryReport:
    """What recovery found and did: orders adopted, intents resolved or lost, fills added."""

    adopted: list[RecoveredOrder] = field(default_factory=list)
    resolved: dict[str, str] = field(default_factory=dict)  # client order id -> final state
    lost: list[str] = field(default_factory=list)
    fills_recovered: int = 0
    findings: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the log."""
        return (
            f"recovery: {len(self.adopted)} open order(s) adopted, {len(self.resolved)} "
            f"intent(s) resolved, {len(self.lost)} lost (never reached the exchange), "
            f"{self.fills_recovered} fill(s) journaled from the exchange"
        )


def request_of(intent: Any, local_id: int) -> OrderRequest:
    """The :class:`OrderRequest` of a journaled intent (an :class:`OrderRow`), as it was sent."""
    kind = (
        OrderKind(intent.kind)
        if intent.kind in OrderKind._value2member_map_
        else (OrderKind.MARKET)
    )
    if kind.has_trigger and kind not in (OrderKind.STOP, OrderKind.STOP_LIMIT):
        kind = OrderKind.LIMIT if intent.price else OrderKind.MARKET  # a fired emulated leg
    if kind.has_limit and not intent.price:
        kind = OrderKind.MARKET
    if kind in (OrderKind.STOP, OrderKind.STOP_LIMIT) and not intent.stop_price:
        kind = OrderKind.LIMIT if intent.price else OrderKind.MARKET
    return OrderRequest(
        local_id,
        intent.symbol,
        OrderSide(intent.side),
        kind,
        float(intent.amount),
        price=intent.price or None,
        stop_price=intent.stop_price or None,
        client_order_id=intent.client_order_id,
    )


class _Recovery:
    """One recovery run (see :func:`recover`)."""

    def __init__(
        self,
        journal: Any,
        client: Any,
        symbols: list[str],
        strategy: str,
        ids: ClientOrderIds,
        publish: Publish | None,
    ) -> None:
        self.journal, self.client, self.symbols = journal, client, symbols
        self.strategy, self.ids, self._publish = strategy, ids, publish
        self.report = RecoveryReport()
        self._trades: dict[str, list[dict[str, Any]]] = {}

    def finding(self, kind: str, message: str, **details: Any) -> None:
        event = {
            "kind": kind,
            "strategy": self.strategy,
            "message": message,
            "time_ms": time.time_ns() // 1_000_000,
            **details,
        }
        self.report.findings.append(event)
        _log.warning("reconcile %s: %s", kind, message)
        if self._publish is not None:
            self._publish(f"reconcile.{kind}", event)

    def trades_of(self, symbol: str) -> list[dict[str, Any]]:
        if symbol not in self._trades:
            since = self.journal.last_fill_ms(symbol=symbol, strategy=self.strategy)
            since = None if since is None else max(0, since - 60_000)  # a margin for clock skew
            self._trades[symbol] = list(self.client.fetch_my_trades(symbol, since))
        return self._trades[symbol]

    def journal_fills(
        self, request: OrderRequest, xid: str | None, trades: Iterable[Mapping[str, Any]]
    ) -> None:
        tracked = TrackedOrder(request, exchange_order_id=xid)
        for trade in trades:
            fill = fill_report(trade).fill
            event = fill_event(
                tracked, fill, client_order_id=request.client_order_id, strategy=self.strategy
            )
            if self.journal.record_fill(event):
                self.report.fills_recovered += 1
                self.finding(
                    "fill_recovered",
                    f"fill {fill.trade_id} of order "
                    f"{request.client_order_id} ({request.side.value} {fill.amount:g} "
                    f"{request.symbol} at {fill.price:g}) happened while down",
                    client_order_id=request.client_order_id,
                    trade_id=fill.trade_id,
                )

    def settle(self, intent: Any, order: Mapping[str, Any] | None, local_id: int) -> None:
        cid = intent.client_order_id
        request = request_of(intent, local_id)
        now = time.time_ns() // 1_000_000
        if order is None:
            why = (
                "lost: the intent was journaled but the exchange does not know the order "
                "(a crash before or during the send); not resent"
            )
            tracked = TrackedOrder(request, state=OrderState.CANCELED, reason=why)
            self.journal.record_update(
                order_update(
                    tracked,
                    OrderState.CANCELED,
                    client_order_id=cid,
                    time_ms=now,
                    strategy=self.strategy,
                )
            )
            self.report.lost.append(cid)
            self.finding("intent_lost", f"order {cid}: {why}", client_order_id=cid)
            return
        xid = None if order.get("id") is None else str(order["id"])
        filled = float(order.get("filled") or 0.0)
        status = ExchangeStatus.parse(
            order.get("status") or (order.get("info") or {}).get("status"), filled
        )
        trades = [t for t in self.trades_of(request.symbol) if str(t.get("order")) == xid]
        if filled > 0 and sum(float(t.get("amount") or 0) for t in trades) < filled * (1 - 1e-9):
            every = self.client.fetch_my_trades(request.symbol, None)  # older than the window
            trades = [t for t in every if str(t.get("order")) == xid]
        self.journal_fills(request, xid, trades)
        tracked = TrackedOrder(
            request, exchange_order_id=xid, filled=filled, exchange_filled=filled
        )
        state = _TERMINAL.get(status)
        if state is None:
            live = OrderState.PARTIAL if filled > 0 else OrderState.ACCEPTED
            update = order_update(
                tracked, live, client_order_id=cid, time_ms=now, strategy=self.strategy
            )
            self.journal.record_update(update)
            self.report.adopted.append(RecoveredOrder(request, xid, filled, tuple(trades)))
            self.finding(
                "order_adopted",
                f"order {cid} is still open at the exchange "
                f"({filled:g} of {request.amount:g} filled); following it again",
                client_order_id=cid,
                exchange_order_id=xid,
            )
            return
        self.journal.record_update(
            order_update(tracked, state, client_order_id=cid, time_ms=now, strategy=self.strategy)
        )
        self.report.resolved[cid] = state.bt_name
        self.finding(
            "intent_resolved",
            f"order {cid} ended while down: {state.bt_name} "
            f"({filled:g} of {request.amount:g} filled)",
            client_order_id=cid,
            state=state.bt_name,
        )

    def run(self) -> RecoveryReport:
        for cid in self.journal.client_order_ids(strategy=self.strategy):
            self.ids.observe(cid)
        open_ours: dict[str, dict[str, Any]] = {}
        for symbol in self.symbols:
            for order in self.client.fetch_open_orders(symbol):
                cid = order.get("clientOrderId") or ""
                if self.ids.sequence_of(cid) is not None:
                    self.ids.observe(cid)
                    open_ours[cid] = order
        pending = list(self.journal.intents_without_outcome(strategy=self.strategy))
        for n, intent in enumerate(pending, start=1):
            cid = intent.client_order_id
            order = open_ours.pop(cid, None)
            if order is None:
                order = self.client.find_order_by_client_id(cid, intent.symbol)
            self.settle(intent, order, -n)
        for cid, order in open_ours.items():  # open at the exchange, settled in the journal
            self.finding(
                "order_unexpected",
                f"order {cid} of this run is open at the exchange "
                "although the journal has it finished; it is left as it is",
                client_order_id=cid,
                exchange_order_id=order.get("id"),
            )
        self._check_balances()
        _log.info(self.report.summary())
        return self.report

    def _check_balances(self) -> None:
        snapshot = self.journal.latest_snapshot(strategy=self.strategy)
        if snapshot is None:
            return
        balance = self.client.fetch_balance()
        total = balance.get("total") or {}
        for asset, (free, locked) in snapshot.balances.items():
            now = float(total.get(asset) or 0.0)
            then = free + locked
            if abs(now - then) > 1e-9 * max(1.0, abs(then)):
                self.finding(
                    "balance_changed",
                    f"{asset}: {then:g} at the last snapshot, "
                    f"{now:g} at the exchange now; the exchange's figure is used",
                    asset=asset,
                    journal=then,
                    exchange=now,
                )


def recover(
    journal: Any,
    client: Any,
    symbols: Iterable[str],
    *,
    strategy: str,
    ids: ClientOrderIds,
    publish: Publish | None = None,
) -> RecoveryReport:
    """Reconcile ``journal`` (a :class:`~real_trade.persistence.Journal`) with the exchange
    behind ``client`` (a :class:`~real_trade.venues.client.VenueClient`) for ``strategy`` on
    ``symbols``; ``ids`` is moved past every id seen; findings go to ``publish(topic, event)``.
    Adopted orders get provisional negative local ids (the broker assigns real ones)."""
    return _Recovery(journal, client, list(symbols), strategy, ids, publish).run()


class ContinuousReconciler:
    """Periodic open-order check against the exchange while running (module docstring).

    ``interval_s`` bounds the request rate (one ``fetch_open_orders`` per symbol per interval).
    :meth:`due` tells when to run; :meth:`check` compares the broker's working orders
    (``{client order id: symbol}``) with the exchange's open orders and returns the findings:
    ``order_missing`` (the broker works it, the exchange no longer lists it as open: the broker's
    order poller then asks for its fate), ``order_untracked`` (an open order of this run that
    the broker does not follow) and ``balance_mismatch`` (the broker's balance of a traded
    asset differs from the exchange's: the broker adopts the exchange's) and, for contracts,
    ``position_mismatch`` (the broker's position of a contract differs from the exchange's:
    the broker reads the exchange's positions again and follows them) and ``balance_mismatch``
    of the wallet (the settlement currency's wallet balance as last read differs from the
    exchange's now: money moved that no order, fill, funding payment or liquidation told of,
    such as a deposit or a withdrawal; the broker reads the account again and follows it).

    The wallet is the venue's own figure, without unrealized PnL (Binance's ``walletBalance``,
    Bybit's ``walletBalance``, OKX's ``cashBal``: :func:`contract_account_of`). Fees, realized
    PnL, funding and liquidations move it too, but each comes with a stream message after
    which the broker reads the account again, so a wallet mismatch must also last
    ``wallet_grace_s`` (a stream's delay) before it is reported.
    """

    def __init__(
        self,
        client: Any,
        symbols: Iterable[str],
        ids: ClientOrderIds,
        *,
        interval_s: float = 60.0,
        publish: Publish | None = None,
        clock: Callable[[], float] = time.monotonic,
        wallet_grace_s: float = 2.0,
    ) -> None:
        """Check ``symbols`` on ``client`` every ``interval_s`` seconds of ``clock``; a wallet
        mismatch is reported once it lasted ``wallet_grace_s`` (and two checks)."""
        self.client, self.symbols, self.ids = client, list(symbols), ids
        self.interval_s, self._publish, self._clock = interval_s, publish, clock
        self.wallet_grace_s = wallet_grace_s
        self._last = clock()
        self._suspects: dict[str, int] = {}
        self._wallet_seen = 0  # checks in a row the wallets disagreed
        self._wallet_since: float | None = None  # ... since when
        self._wallet_told = False
        self.wallet_checks = 0  # how many times a contract wallet was compared
        self.fresh_balance: dict[str, Any] = {}
        self.fresh_positions: list[dict[str, Any]] = []

    def due(self) -> bool:
        """Whether a check is due."""
        return self._clock() - self._last >= self.interval_s

    def check(
        self,
        working: Mapping[str, str],
        balances: Mapping[str, Any] | None = None,
        assets: Iterable[str] = (),
    ) -> list[dict[str, Any]]:
        """One check (see the class docstring); a finding must repeat twice to be reported, as
        an order can finish between the broker's view and the exchange's answer. With
        ``balances`` (the broker's view: asset -> an object with ``total``) the exchange's
        balances of ``assets`` are compared too (``balance_mismatch``; the exchange's answer is
        kept in :attr:`fresh_balance` for the broker to adopt)."""
        self._last = self._clock()
        open_now = [o for s in self.symbols for o in self.client.fetch_open_orders(s)]
        fresh = self.client.fetch_balance() if balances is not None else None
        return self._findings(working, open_now, balances, fresh, assets)

    async def check_async(
        self,
        working: Mapping[str, str],
        balances: Mapping[str, Any] | None = None,
        assets: Iterable[str] = (),
        positions: Mapping[str, float] | None = None,
        wallet: tuple[str, float] | None = None,
    ) -> list[dict[str, Any]]:
        """:meth:`check` as a coroutine on the client's I/O loop (its ``..._async`` calls);
        ``positions`` (contract -> the broker's signed size, given when quiet) are compared
        with the exchange's positions too, and ``wallet`` (the settlement currency and the
        broker's wallet balance in it, given with ``positions``) with the exchange's wallet."""
        self._last = self._clock()
        open_now: list[dict[str, Any]] = []
        for symbol in self.symbols:
            open_now += await self.client.fetch_open_orders_async(symbol)
        fresh = await self.client.fetch_balance_async() if balances is not None else None
        findings = self._findings(working, open_now, balances, fresh, assets)
        if positions:
            rows = await self.client.fetch_positions_async(list(positions))
            findings += self._report(self._check_positions(positions, rows))
            if wallet is not None:
                fresh = await self.client.fetch_balance_async()
                findings += self._report(self._check_wallet(wallet, fresh, rows))
        return findings

    def _findings(
        self,
        working: Mapping[str, str],
        open_orders: list[dict[str, Any]],
        balances: Mapping[str, Any] | None,
        fresh: dict[str, Any] | None,
        assets: Iterable[str],
    ) -> list[dict[str, Any]]:
        open_now = {o.get("clientOrderId") or "" for o in open_orders}
        findings = self._check_orders(working, open_now)
        if balances is not None and fresh is not None:
            findings += self._check_balances(balances, fresh, assets)
        return self._report(findings)

    def _report(self, findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for event in findings:
            _log.warning("reconcile %s: %s", event["kind"], event["message"])
            if self._publish is not None:
                self._publish(f"reconcile.{event['kind']}", event)
        return findings

    def _check_positions(
        self, mine: Mapping[str, float], rows: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        self.fresh_positions = rows
        theirs = {s: p.size for s, p in contract_account_of({}, rows, "").positions.items()}
        findings: list[dict[str, Any]] = []
        for symbol, size in mine.items():
            exchange = theirs.get(symbol, 0.0)
            key = f"position:{symbol}"
            if abs(size - exchange) <= 1e-9 * max(1.0, abs(exchange)):
                self._suspects.pop(key, None)
                continue
            self._suspects[key] = self._suspects.get(key, 0) + 1
            if self._suspects[key] == 2:
                why = (
                    f"{symbol}: {size:g} here, {exchange:g} at the exchange; the exchange's is used"
                )
                findings.append(
                    {
                        "kind": "position_mismatch",
                        "symbol": symbol,
                        "broker": size,
                        "exchange": exchange,
                        "message": why,
                    }
                )
        return findings

    def _check_wallet(
        self, wallet: tuple[str, float], fresh: dict[str, Any], rows: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """A contract account's wallet against the exchange's (class docstring)."""
        self.fresh_balance, self.wallet_checks = fresh, self.wallet_checks + 1
        currency, mine = wallet
        theirs = contract_account_of(fresh, rows, currency).wallet
        if abs(mine - theirs) <= 1e-9 * max(1.0, abs(theirs)):
            self._wallet_seen, self._wallet_since, self._wallet_told = 0, None, False
            return []
        now = self._clock()
        if self._wallet_since is None:
            self._wallet_since = now
        self._wallet_seen += 1
        if self._wallet_told or self._wallet_seen < 2:
            return []
        if now - self._wallet_since < self.wallet_grace_s:
            return []
        self._wallet_told = True  # once, until the two agree again
        why = (
            f"{currency} wallet: {mine:g} here, {theirs:g} at the exchange (money moved that "
            "no order, fill, funding or liquidation told of); the exchange's is used"
        )
        return [
            {
                "kind": "balance_mismatch",
                "asset": currency,
                "broker": mine,
                "exchange": theirs,
                "wallet": True,
                "message": why,
            }
        ]

    def _check_balances(
        self, balances: Mapping[str, Any], fresh: dict[str, Any], assets: Iterable[str]
    ) -> list[dict[str, Any]]:
        self.fresh_balance = fresh
        total = fresh.get("total") or {}
        findings: list[dict[str, Any]] = []
        for asset in assets:
            mine = getattr(balances.get(asset), "total", 0.0) or 0.0
            theirs = float(total.get(asset) or 0.0)
            key = f"balance:{asset}"
            if abs(mine - theirs) <= 1e-9 * max(1.0, abs(theirs)):
                self._suspects.pop(key, None)
                continue
            self._suspects[key] = self._suspects.get(key, 0) + 1
            if self._suspects[key] == 2:
                why = f"{asset}: {mine:g} here, {theirs:g} at the exchange; the exchange's is used"
                findings.append(
                    {
                        "kind": "balance_mismatch",
                        "asset": asset,
                        "broker": mine,
                        "exchange": theirs,
                        "message": why,
                    }
                )
        return findings

    def _check_orders(self, working: Mapping[str, str], open_now: set[str]) -> list[dict[str, Any]]:
        findings: list[dict[str, Any]] = []
        for cid in set(working) - open_now:
            self._suspects[cid] = self._suspects.get(cid, 0) + 1
            if self._suspects[cid] == 2:
                findings.append(
                    {
                        "kind": "order_missing",
                        "client_order_id": cid,
                        "message": f"order {cid} is working here but not open at the exchange",
                    }
                )
        for cid in [
            c
            for c in self._suspects
            if not c.startswith(("balance:", "position:")) and (c not in working or c in open_now)
        ]:
            del self._suspects[cid]
        for cid in open_now - set(working):
            if self.ids.sequence_of(cid) is not None:
                findings.append(
                    {
                        "kind": "order_untracked",
                        "client_order_id": cid,
                        "message": f"order {cid} of this run is open at the exchange "
                        "but not followed here",
                    }
                )
        return findings
