"""``LiveContracts``: a live port's view of its derivatives account, kept current over REST.

The exchange keeps a perpetual's position, so after every event that may move it (an order
update, a fill, a balance change, a placement) the positions and the wallet are read again
(``fetch_balance`` + ``fetch_positions``) on the client's I/O loop, one read at a time, until a
read has started after the latest request: :meth:`LiveContracts.account` is marked not
``current`` while such a read is outstanding, so the session does not impose a position that
lags the fills. The balance stream's Binance ``ACCOUNT_UPDATE`` with reason ``FUNDING_FEE``
becomes a :class:`~real_trade.execution.contracts.FundingPayment` (its balance change, else the
streamed wallet's move since the previous update); an order the exchange placed to close a
liquidated position (Binance's client id ``autoclose-...``, type ``liquidation``; Bybit's
``createType: CreateByLiq``; OKX's ``category: full_liquidation``) a
:class:`~real_trade.execution.contracts.Liquidation`. On Bybit a funding settlement is an
execution (``execType: Funding``) on the ``my_trades`` stream, not a fill:
:meth:`LiveContracts.on_trade` takes it. OKX pays funding as a bill (``type`` 8): after each
balance update, and every ``bills_poll_s`` while a position is open (a payment needs no balance
update to be found), the bills are read (``fetch_funding_history``) and the new ones reported
(:mod:`real_trade.execution.funding_bills`); a read asked for while one runs is made after it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from real_trade.errors import RealTradeError
from real_trade.execution.contracts import (
    FUNDING_REASON,
    ContractAccount,
    FundingPayment,
    Liquidation,
    contract_account_of,
    wallet_update,
)
from real_trade.execution.funding_bills import bill_ids, new_payments
from real_trade.vocabulary import is_contract, joined_symbol_id, quote_asset

__all__ = ["FUNDING_EXEC_TYPE", "LIQUIDATION_PREFIX", "LiveContracts"]

_log = logging.getLogger("real_trade.execution.live")

LIQUIDATION_PREFIX = "autoclose-"
"""Binance's client order id prefix of a liquidation order."""
LIQUIDATION_CREATE_TYPES = frozenset({"CreateByLiq"})
"""Bybit's ``createType`` of an order the exchange placed to liquidate."""
LIQUIDATION_CATEGORIES = frozenset({"full_liquidation", "partial_liquidation"})
"""OKX's order ``category`` of an order the exchange placed to liquidate."""
LIQUIDATION_EXEC_TYPES = frozenset({"BustTrade", "AdlTrade"})
"""Bybit's ``execType`` of the executions of a liquidation (or auto-deleveraging)."""
FUNDING_EXEC_TYPE = "Funding"
"""Bybit's ``execType`` of a funding settlement on the execution stream."""


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


Spawn = Callable[[Coroutine[Any, Any, None]], concurrent.futures.Future[Any]]


class LiveContracts:
    """The contracts among ``symbols`` on ``client`` (module docstring); ``spawn`` runs a
    coroutine on the client's I/O loop; a failed read is retried after ``retry_s``; the funding
    bills (OKX) are read every ``bills_poll_s`` while a position is open."""

    def __init__(
        self, client: Any, spawn: Spawn, retry_s: float = 2.0, bills_poll_s: float = 60.0
    ) -> None:
        """Nothing is read until :meth:`start`."""
        self.client, self._spawn, self.retry_s = client, spawn, retry_s
        self.bills_poll_s = bills_poll_s
        self.symbols: list[str] = []
        self._lock = threading.Lock()
        self._account: ContractAccount | None = None
        self._wanted = self._read = 0  # reads asked for / answered
        self._reading = False
        self._stopped = False
        self._wallets: dict[str, float] = {}  # asset -> wallet balance last streamed
        self._fundings: queue.SimpleQueue[FundingPayment | Liquidation] = queue.SimpleQueue()
        self._liquidations: set[str] = set()  # the exchange's ids of those reported
        self._bills = False  # funding read from the venue's bills (OKX)
        self._bills_seen: set[str] = set()
        self._reading_bills = False
        self._bills_again = False  # asked for while a read ran: read once more after it
        self._bills_poll: concurrent.futures.Future[Any] | None = None

    def start(self, symbols: list[str]) -> None:
        """Follow the contracts among ``symbols`` (unified): a first read, blocking."""
        self.symbols = [s for s in symbols if is_contract(s)]
        venue = getattr(self.client, "venue", None)
        if self.symbols and venue is not None and venue.quirks.get("funding_on_executions"):
            _deliver_funding_executions(self.client.exchange)
        if self.symbols:
            balance = self.client.fetch_balance()
            self._account = self._account_of(balance, self.client.fetch_positions(self.symbols))
        self._bills = bool(self.symbols and venue is not None and venue.quirks.get("funding_bills"))
        if self._bills:  # the bills already there were paid before this run
            for symbol in self.symbols:
                self._bills_seen |= bill_ids(self.client.fetch_funding_history(symbol))
            self._bills_poll = self._spawn(self._poll_bills())

    def stop(self) -> None:
        """No more reads (the client goes away with its store): a read in flight ends quietly."""
        self._stopped = True
        if self._bills_poll is not None:
            self._bills_poll.cancel()

    @property
    def reading(self) -> bool:
        """Whether a read is running on the I/O loop."""
        return self._reading

    def account(self) -> ContractAccount | None:
        """The wallet and positions as last read (None: no contract traded); not ``current``
        while a read asked for after the latest event is running."""
        with self._lock:
            account = self._account
            if account is None or self._read >= self._wanted:
                return account
        return ContractAccount(
            account.currency,
            account.wallet,
            account.available,
            account.maintenance_margin,
            account.positions,
            account.time_ms,
            current=False,
        )

    def refresh(self) -> None:
        """Read the positions and wallet again (after an event that may move them)."""
        if not self.symbols or self._stopped:
            return
        with self._lock:
            self._wanted += 1
            if self._reading:
                return
            self._reading = True
        self._spawn(self._read_until_current())

    def read_now(self) -> None:
        """Read now, waiting for the answer (a stopping session's last look)."""
        if not self.symbols:
            return
        with self._lock:
            target = self._wanted
        try:
            balance = self.client.fetch_balance()
            positions = self.client.fetch_positions(self.symbols)
        except RealTradeError as exc:
            _log.warning("reading the contract positions failed: %s", exc)
            return
        account = self._account_of(balance, positions)
        with self._lock:
            self._account, self._read = account, max(self._read, target)

    async def _read_until_current(self) -> None:
        """Read until the last read started after the last request (one read at a time)."""
        try:
            while True:
                with self._lock:
                    target = self._wanted
                try:
                    balance = await self.client.fetch_balance_async()
                    positions = await self.client.fetch_positions_async(self.symbols)
                except RealTradeError as exc:
                    if self._stopped:
                        return
                    _log.warning("reading the contract positions failed: %s", exc)
                    await asyncio.sleep(self.retry_s)
                    continue
                account = self._account_of(balance, positions)
                with self._lock:
                    self._account, self._read = account, target
                    if self._read >= self._wanted:
                        self._reading = False
                        return
        except BaseException:
            with self._lock:
                self._reading = False
            raise
        finally:
            if self._stopped:
                with self._lock:
                    self._reading = False

    def _account_of(
        self, balance: Mapping[str, Any], positions: list[dict[str, Any]]
    ) -> ContractAccount:
        currency = quote_asset(self.symbols[0]) if self.symbols else "USDT"
        return contract_account_of(
            balance, positions, currency, time_ms=time.time_ns() // 1_000_000
        )

    # ------------------------------------------------------------------ funding
    def take_events(self) -> list[FundingPayment | Liquidation]:
        """The funding payments and liquidations reported since the last call."""
        out: list[FundingPayment | Liquidation] = []
        while True:
            try:
                out.append(self._fundings.get_nowait())
            except queue.Empty:
                return out

    def on_balance(self, item: Any) -> None:
        """A balance stream item: follow the streamed wallet; a funding update becomes a
        :class:`FundingPayment` (I/O thread)."""
        self._want_bills()
        info = item.get("info") if isinstance(item, Mapping) else None
        found = wallet_update(info)
        if found is None or not self.symbols:
            return
        reason, wallets, ids = found
        for asset, (wallet, change) in wallets.items():
            before = self._wallets.get(asset)
            if before is None and self._account is not None:
                before = self._account.wallet
            self._wallets[asset] = wallet
            if reason != FUNDING_REASON:
                continue
            amount = change or (wallet - before if before is not None else 0.0)
            symbol = self._contract_of(ids)
            if amount and symbol is not None:
                held = self._account.position(symbol) if self._account is not None else None
                stamp = int((info or {}).get("E") or 0) or time.time_ns() // 1_000_000
                size = held.size if held is not None else None
                self._fundings.put(FundingPayment(symbol, amount, asset, None, size, None, stamp))

    def _want_bills(self) -> None:
        """Have the funding bills read (I/O thread): now, or after the read running now."""
        if not self._bills or self._stopped:
            return
        if self._reading_bills:
            self._bills_again = True
            return
        self._reading_bills = True
        self._spawn(self._read_bills())

    def _holding(self) -> bool:
        """Whether a traded contract's position was open at the last read."""
        account = self._account
        return account is not None and any(
            (held := account.position(s)) is not None and held.size for s in self.symbols
        )

    async def _poll_bills(self) -> None:
        """Every ``bills_poll_s``, while a position is open, have the bills read (I/O loop)."""
        while not self._stopped:
            await asyncio.sleep(self.bills_poll_s)
            if self._holding():
                self._want_bills()

    async def _read_bills(self) -> None:
        """Read the funding bills (a balance moved, or the timed poll: funding may have been
        paid) and queue the new ones as :class:`FundingPayment`; again while asked (I/O loop)."""

        def size_of(sym: str) -> float | None:
            held = self._account.position(sym) if self._account is not None else None
            return held.size if held is not None else None

        try:
            again = True
            while again and not self._stopped:
                self._bills_again = False
                for symbol in self.symbols:
                    rows = await self.client.fetch_funding_history_async(symbol)
                    for payment in new_payments(rows, self.symbols, self._bills_seen, size_of):
                        self._fundings.put(payment)
                again = self._bills_again
        except RealTradeError as exc:
            if not self._stopped:
                _log.warning("reading the funding bills failed: %s", exc)
        finally:
            self._reading_bills = False

    def on_trade(self, trade: Mapping[str, Any]) -> bool:
        """Whether a ccxt trade of the ``my_trades`` stream is not a fill of an order but a
        Bybit execution of another type: ``execType: Funding`` (queued as a
        :class:`FundingPayment`; ``execFee`` > 0 is paid) or ``BustTrade`` (the liquidation's
        own execution: its order reports it). I/O thread."""
        info = trade.get("info") or {}
        exec_type = str(info.get("execType") or "") if isinstance(info, Mapping) else ""
        if exec_type in LIQUIDATION_EXEC_TYPES:
            return True
        if exec_type != FUNDING_EXEC_TYPE:
            return False
        symbol = str(trade.get("symbol") or "")
        fee, qty = _float(info.get("execFee")), _float(info.get("execQty"))
        if symbol not in self.symbols or fee is None or not fee:
            return True
        size = None if qty is None else (qty if info.get("side") == "Buy" else -qty)
        stamp = int(info.get("execTime") or 0) or time.time_ns() // 1_000_000
        self._fundings.put(
            FundingPayment(
                symbol,
                -fee,
                str(info.get("feeCurrency") or quote_asset(symbol)),
                _float(info.get("feeRate")),
                size,
                _float(info.get("execPrice")),
                stamp,
            )
        )
        return True

    def on_order(self, order: Mapping[str, Any]) -> bool:
        """Whether a ccxt order is the exchange's liquidation of a traded contract (queued
        once as a :class:`Liquidation`; I/O thread): Binance's ``autoclose-`` client id or
        type ``liquidation``, Bybit's ``createType: CreateByLiq``, OKX's ``category``
        ``full_liquidation``/``partial_liquidation``."""
        cid = str(order.get("clientOrderId") or "")
        info = order.get("info") or {}
        kind = str(order.get("type") or info.get("o") or "").lower()
        raw = info if isinstance(info, Mapping) else {}
        created = str(raw.get("createType") or "")
        category = str(raw.get("category") or "")
        if not (
            cid.startswith(LIQUIDATION_PREFIX)
            or kind == "liquidation"
            or created in LIQUIDATION_CREATE_TYPES
            or category in LIQUIDATION_CATEGORIES
        ):
            return False
        symbol, xid = str(order.get("symbol") or ""), str(order.get("id") or cid)
        filled = float(order.get("filled") or 0.0)
        if symbol not in self.symbols or not filled or xid in self._liquidations:
            return True
        if order.get("status") not in ("closed", "filled"):
            return True  # reported once, when done
        self._liquidations.add(xid)
        price = float(order.get("average") or order.get("price") or 0.0)
        size = filled if order.get("side") == "sell" else -filled  # the position closed
        stamp = int(order.get("timestamp") or 0) or time.time_ns() // 1_000_000
        self._fundings.put(Liquidation(symbol, size, price, price, "liquidation", stamp))
        return True

    def _contract_of(self, venue_ids: list[str]) -> str | None:
        """The traded contract an update names (the only one when it names none)."""
        for symbol in self.symbols:
            if joined_symbol_id(symbol) in venue_ids:
                return symbol
        return self.symbols[0] if len(self.symbols) == 1 and not venue_ids else None


def _deliver_funding_executions(exchange: Any) -> None:
    """Have ccxt.pro's Bybit ``watch_my_trades`` pass ``execType: Funding`` executions on (it
    keeps trades, ADL, bust trades and settlements only by default)."""
    options = exchange.options.setdefault("watchMyTrades", {})
    kept = list(options.get("execType") or ["Trade", "AdlTrade", "BustTrade", "Settle"])
    if FUNDING_EXEC_TYPE not in kept:
        options["execType"] = [*kept, FUNDING_EXEC_TYPE]
