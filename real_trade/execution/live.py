"""Live (and testnet) execution through the venue client: the exchange is the truth.

:class:`LiveExecution` is an :class:`~real_trade.execution.events.ExecutionPort` over a
:class:`~real_trade.venues.client.VenueClient`. It never blocks the caller: placing and
cancelling run as coroutines on the client's I/O loop, and everything the exchange says comes
back as reports through a thread-safe queue that the broker drains on its own thread.

* :meth:`LiveExecution.start` returns once the user-data streams are up where the venue
  confirms their subscriptions (OKX, Bybit), or after a bounded wait.
* Orders carry the broker's deterministic client order id. A placing call whose outcome is
  unknown (timeout, 5xx, Binance -1007) is **never resent**: the order is looked up by client id
  a few times with a growing pause; if the exchange still does not know it, it is reported lost
  (Canceled with the reason), never Rejected.
* Order updates come from the ``orders`` stream and fills from the ``my_trades`` stream (plus
  the fills in the exchange's answer to the order); REST polling (``fetch_order`` and
  ``fetch_my_trades``) runs while the orders stream is down, once after it comes back, every
  ``safety_poll_s`` while orders are open (a silently dead stream), when an order's reported
  executions outrun the fills received for a short grace period, and when an order acknowledged
  with its ids only (Bybit's, OKX's answers) hears nothing from the stream for that grace (its
  update was pushed before the private subscription was live, e.g. right after the start).
* Balances are read at :meth:`start` and kept current from the ``balance`` stream.
* Contracts (``BTC/USDT:USDT``): the exchange keeps the positions, so after every order update,
  fill or balance change the positions and the wallet are read again over REST
  (``fetch_positions``, ``fetch_balance``) into a
  :class:`~real_trade.execution.contracts.ContractAccount` (:meth:`contract_account`, kept by
  :class:`~real_trade.execution.live_contracts.LiveContracts`); a ``reduce_only`` request goes
  out with ccxt's ``reduceOnly``.
* A refused order becomes a report carrying the exchange's own words (Margin for insufficient
  funds, Rejected otherwise); nothing is swallowed: an unexpected failure is logged and
  reported as Rejected with its message.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from real_trade.errors import (
    AmbiguousOutcomeError,
    InsufficientFundsError,
    OrderNotFoundError,
    RealTradeError,
)
from real_trade.execution.contracts import ContractAccount, FundingPayment, Liquidation
from real_trade.execution.events import (
    Balance,
    BalanceReport,
    ExchangeFill,
    FillReport,
    OrderReport,
    Report,
    SubmitFailed,
)
from real_trade.execution.live_contracts import LiveContracts
from real_trade.execution.orders import ExchangeStatus, OrderRequest, OrderState, SymbolLimits
from real_trade.utils.chaos import crash_point
from real_trade.venues.contract_size import to_base
from real_trade.vocabulary import OrderKind, base_asset

__all__ = ["MAX_FILLED_ORDERS", "LiveExecution", "exchange_reason", "fill_report", "order_reports"]

_log = logging.getLogger("real_trade.execution.live")
_MSG_RE = re.compile(r"\"(?:msg|message|retMsg|sMsg)\"\s*:\s*\"([^\"]*)\"")
_ORDER_MSG_RE = re.compile(r"\"sMsg\"\s*:\s*\"([^\"]+)\"")  # OKX's per-order words
_TICK_SIZE_MODE = 4  # ccxt.TICK_SIZE
_DECIMAL_PLACES_MODE = 2  # ccxt.DECIMAL_PLACES
MAX_FILLED_ORDERS = 5_000
"""Orders whose fills (trade ids and amount) :class:`LiveExecution` remembers to drop a fill
reported twice (stream and REST): open orders and those being fetched always, else the last
filled; a weeks-long session would otherwise keep every fill's id."""


def exchange_reason(error: BaseException, venue_id: str | None = None) -> str:
    """The exchange's own words in an error (Binance's ``msg``), else the error's message.

    A per-order ``sMsg`` (OKX) wins over the envelope's ``msg`` ("All operations failed").
    ccxt prefixes messages with the exchange id (``"binance Account has insufficient..."``);
    that prefix is dropped when ``venue_id`` is given.
    """
    text = str(error)
    found = _ORDER_MSG_RE.search(text) or _MSG_RE.search(text)
    if found:
        return found.group(1)
    if venue_id and text.startswith(venue_id + " "):
        return text[len(venue_id) + 1 :]
    return text


def _num(value: Any, default: float = 0.0) -> float:
    try:
        return default if value is None else float(value)
    except (TypeError, ValueError):
        return default


def fill_report(trade: Mapping[str, Any]) -> FillReport:
    """A ccxt trade (from ``my_trades``, ``fetch_my_trades`` or an order's ``trades``)."""
    info = trade.get("info") or {}
    fee = trade.get("fee") or {}
    taker_or_maker = trade.get("takerOrMaker")
    fill = ExchangeFill(
        str(trade.get("id") or info.get("t") or info.get("tradeId")),
        _num(trade.get("price")),
        _num(trade.get("amount")),
        _fee_cost(fee, info),
        fee.get("currency"),
        int(_num(trade.get("timestamp"))),
        None if taker_or_maker is None else taker_or_maker == "maker",
    )
    cid = trade.get("clientOrderId") or info.get("c") or info.get("clientOrderId")
    oid = trade.get("order") or info.get("orderId") or info.get("i")
    return FillReport(cid or None, None if oid is None else str(oid), fill)


def _fee_cost(fee: Mapping[str, Any], info: Mapping[str, Any]) -> float:
    """The commission charged (negative: a rebate paid).

    ccxt gives it so, except for OKX's private pushes (``orders``, and ``watch_my_trades``), whose
    ``fillFee`` ccxt.pro passes on with OKX's own sign (negative: charged); that raw field, also
    in ccxt's REST fills' ``info``, is read and turned round, so every path agrees.
    """
    okx_fill_fee = info.get("fillFee")
    if okx_fill_fee not in (None, ""):
        return -_num(okx_fill_fee)
    return _num(fee.get("cost"))


def order_reports(order: Mapping[str, Any], *, acknowledgement: bool = False) -> list[Report]:
    """A ccxt order as reports: its fills (when it carries them), then its status.

    ``acknowledgement=True`` marks the answer to a create- or cancel-order request: Bybit's and
    OKX's carry only the order's ids (ccxt leaves ``status`` None), which means the venue took
    the request; the order is reported as ``NEW`` (still open) and the private stream (or a
    poll) brings its fills and its end. Anywhere else a missing status is an error. A status
    that is present (Binance's answers) is used as is.
    """
    info = order.get("info") or {}
    out: list[Report] = []
    cid = str(order.get("clientOrderId") or info.get("clientOrderId") or info.get("c") or "")
    xid = None if order.get("id") is None else str(order["id"])
    trade_stamp = order.get("lastTradeTimestamp") or order.get("timestamp")
    for trade in order.get("trades") or []:
        if trade.get("id") is not None:  # an order's own fills may lack the time: the order's
            fr = fill_report(
                {
                    **trade,
                    "order": trade.get("order") or xid,
                    "timestamp": trade.get("timestamp") or trade_stamp,
                }
            )
            out.append(FillReport(fr.client_order_id or cid, fr.exchange_order_id, fr.fill))
    filled = _num(order.get("filled"))
    raw_status = order.get("status") or info.get("status") or info.get("X")
    reason = info.get("r") if info.get("r") not in (None, "NONE") else None
    stamp = order.get("lastUpdateTimestamp") or order.get("timestamp")
    if raw_status is None and acknowledgement and xid is not None:
        raw_status = ExchangeStatus.NEW.value
    status = ExchangeStatus.parse(raw_status, filled)
    amount = _num(order.get("amount")) or None
    out.append(OrderReport(cid, xid, status, filled, amount, reason, int(_num(stamp))))
    return out


class LiveExecution:
    """Orders on a venue through a :class:`~real_trade.venues.client.VenueClient` (module doc).

    ``symbols`` are the traded symbols; ``lookup_attempts``/``lookup_delay_s`` bound the search
    for an order whose submission had an unknown outcome; ``poll_interval_s`` paces REST
    polling while the orders stream is down; ``safety_poll_s`` how often open orders are checked
    over REST even while it is up; ``fill_grace_s`` is how long missing fills are awaited from
    the stream before REST is asked; ``stream_wait_s`` bounds how long :meth:`start` waits for
    the user-data streams to be up; ``funding_poll_s`` is how often the funding bills are read
    while a position is open, on a venue that pays funding as bills (OKX). :attr:`on_report`,
    when set, is called after each report is queued (on the thread that queued it, mostly the
    I/O loop's: keep it short): a broker wakes its cycle to book the report at once.
    """

    def __init__(
        self,
        client: Any,
        symbols: Iterable[str],
        *,
        lookup_attempts: int = 5,
        lookup_delay_s: float = 0.25,
        poll_interval_s: float = 2.0,
        fill_grace_s: float = 1.0,
        safety_poll_s: float = 30.0,
        stream_wait_s: float = 10.0,
        funding_poll_s: float = 60.0,
        on_connection: Callable[[bool, str], None] | None = None,
    ) -> None:
        """Configure; nothing runs until :meth:`start`. ``on_connection(up, reason)`` hears
        the orders stream go down and come back (the circuit breaker listens)."""
        self.client = client
        self._on_connection = on_connection
        self._venue_id: str | None = getattr(getattr(client, "venue", None), "ccxt_id", None)
        self.symbols = list(symbols)
        self.lookup_attempts, self.lookup_delay_s = lookup_attempts, lookup_delay_s
        self.poll_interval_s, self.fill_grace_s = poll_interval_s, fill_grace_s
        self.safety_poll_s, self.stream_wait_s = safety_poll_s, stream_wait_s
        self._last_poll = time.monotonic()
        self._reports: queue.SimpleQueue[Report] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._balances: dict[str, Balance] = {}
        self._prices: dict[str, float] = {}
        self._streams: list[Any] = []
        self._price_streams: dict[str, Any] = {}
        self._open: dict[str, tuple[str | None, str]] = {}  # cid -> (exchange id, symbol)
        # exchange id -> amount of fills seen, and the trade ids seen (late duplicates are
        # dropped), the order last filled last; bounded: see MAX_FILLED_ORDERS
        self._fill_sum: dict[str, float] = {}
        self._fill_ids: dict[str, set[str]] = {}
        self.max_filled_orders = MAX_FILLED_ORDERS
        self._forget_at = self.max_filled_orders + self.max_filled_orders // 4
        self._fetching: set[str] = set()
        self._orders_stream_up = False
        self._poller: concurrent.futures.Future[None] | None = None
        self._tasks: set[concurrent.futures.Future[Any]] = set()
        self._placing: dict[str, concurrent.futures.Future[Any]] = {}  # cid -> its placement
        self._unheard: set[str] = set()  # cids acknowledged with ids only, no update since
        self.open_orders_at_start: list[dict[str, Any]] = []
        self.on_report: Callable[[], None] | None = None
        self.contracts_view = LiveContracts(client, self._spawn, poll_interval_s, funding_poll_s)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Subscribe to orders, fills and balances, read balances, open orders and the last
        price of every symbol the account already holds, then wait (up to ``stream_wait_s``)
        for the streams whose subscription the venue confirms (OKX, Bybit) to be up: what the
        venue pushes before it confirmed a subscription is lost, and some of it (the exchange's
        own liquidation order) only ever comes pushed. A stream still down by then is logged;
        REST polling covers our own orders."""
        client = self.client
        client.start()
        self.symbols = [client.symbol_of(s) for s in self.symbols]
        for kind in ("orders", "my_trades", "balance"):
            on_state = self._on_state if kind == "orders" else None
            handle = client.stream(
                kind, on_event=lambda item, k=kind: self._on_stream(k, item), on_state=on_state
            )
            self._streams.append(handle)
        self._set_balances(client.fetch_balance())
        self.contracts_view.start(self.symbols)
        for symbol in self.symbols:
            self.open_orders_at_start += client.fetch_open_orders(symbol)
            if self._balances.get(base_asset(symbol), Balance()).total:  # holdings: a price
                last = client.fetch_ticker(symbol).get("last")
                if last is not None:
                    self._prices[symbol] = float(last)
        self._poller = client.submit(self._poll_forever())
        deadline = time.monotonic() + self.stream_wait_s
        for handle in [h for h in self._streams if h.confirmed_by_venue]:
            if not handle.wait_up(max(0.0, deadline - time.monotonic())):
                _log.warning(
                    "the %s stream is not up (%s): starting without it", handle.kind, handle.state
                )

    def stop(self) -> None:
        """Stop the streams and the poller (the client itself belongs to the store)."""
        self.contracts_view.stop()
        if self._poller is not None:
            self._poller.cancel()
        for handle in [*self._streams, *self._price_streams.values()]:
            try:
                handle.stop()
            except Exception:  # stopping must go on; logged
                _log.warning("could not stop stream %r", handle, exc_info=True)
        self._streams.clear()
        self._price_streams.clear()

    # ------------------------------------------------------------------ ExecutionPort
    def limits(self, symbol: str) -> SymbolLimits:
        """Steps and minimums from the ccxt market (precision mode aware), in base units."""
        market = self.client.market(symbol)
        mode = getattr(self.client.exchange, "precisionMode", _TICK_SIZE_MODE)
        precision = market.get("precision") or {}
        limits = market.get("limits") or {}

        def step(value: Any) -> float | None:
            if value is None:
                return None
            if mode == _TICK_SIZE_MODE:
                return float(value)
            return 10.0 ** -float(value) if mode == _DECIMAL_PLACES_MODE else None

        return SymbolLimits(
            to_base(market, step(precision.get("amount"))),
            step(precision.get("price")),
            to_base(market, (limits.get("amount") or {}).get("min")),
            (limits.get("cost") or {}).get("min"),
        )

    def place(self, request: OrderRequest) -> None:
        """Place the order on the I/O loop; its outcome arrives as reports."""
        cid = request.client_order_id
        self._open[cid] = (None, request.symbol)
        future = self._spawn(self._place_async(request))
        with self._lock:
            self._placing[cid] = future
        future.add_done_callback(lambda _f: self._placed(cid))

    def _placed(self, cid: str) -> None:
        with self._lock:
            self._placing.pop(cid, None)

    def settle(self, timeout: float) -> list[str]:
        """Wait up to ``timeout`` s for the placements still on the wire to be answered.

        A stop calls it before the streams and the client go away, so that an order sent just
        before the stop gets its acknowledgement (or refusal, or lookup) queued as reports
        instead of being cut off mid-request. Returns the client order ids still unanswered.
        """
        with self._lock:
            pending = dict(self._placing)
        if pending:
            concurrent.futures.wait(list(pending.values()), timeout=max(0.0, timeout))
        return [cid for cid, future in pending.items() if not future.done()]

    def adopt(
        self,
        client_order_id: str,
        symbol: str,
        exchange_order_id: str | None,
        trades: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        """Follow an order placed before a restart (recovery): its reports flow again; the
        executions in ``trades`` (ccxt trades) were accounted for and are not reported again."""
        self._open[client_order_id] = (exchange_order_id, symbol)
        for trade in trades:
            report = fill_report(trade)
            self._seen_fill(exchange_order_id or "", report.fill.trade_id, report.fill.amount)

    def apply_balance(self, balance: Mapping[str, Any]) -> None:
        """Adopt a balance read elsewhere (a ccxt balance, e.g. a reconciliation's)."""
        self._set_balances(balance)

    def poll_now(self) -> None:
        """Ask REST about every open order and the balance now (a reconciliation found that the
        exchange and this process disagree); the answers arrive as reports."""
        self._spawn(self._poll_once())

    @property
    def orders_stream_up(self) -> bool:
        """Whether the user-data (orders) stream is connected."""
        return self._orders_stream_up

    def cancel(self, client_order_id: str, symbol: str, exchange_order_id: str | None) -> None:
        """Cancel by exchange id on the I/O loop (the broker waits for the id when unknown)."""
        if exchange_order_id is not None:
            self._spawn(self._cancel_async(client_order_id, exchange_order_id, symbol))

    def drain(self) -> list[Report]:
        """The reports queued since the last call, in arrival order."""
        out: list[Report] = []
        while True:
            try:
                out.append(self._reports.get_nowait())
            except queue.Empty:
                return out

    def balances(self) -> dict[str, Balance]:
        """The latest balances the exchange reported."""
        with self._lock:
            return dict(self._balances)

    def contract_account(self) -> ContractAccount | None:
        """The contracts' wallet and positions as last read (None: no contract traded)."""
        return self.contracts_view.account()

    def refresh_contracts(self) -> None:
        """Read the contracts' positions and wallet again (after an event that moves them)."""
        self.contracts_view.refresh()

    def read_account_now(self) -> None:
        """Read the balances (and the contracts' positions and wallet) now, waiting for the
        answers: a stopping session's last look, as the streams may not have caught up with
        the last fills yet (a failed read is logged; the streams' figures stay)."""
        try:
            self._set_balances(self.client.fetch_balance())
        except RealTradeError as exc:
            _log.info("could not read the balance at stop: %s", exc)
            return
        self.contracts_view.read_now()

    def take_contract_events(self) -> list[FundingPayment | Liquidation]:
        """The funding payments and liquidations reported since the last call."""
        return self.contracts_view.take_events()

    def last_price(self, symbol: str) -> float | None:
        """The last trade price seen on a watched symbol (see :meth:`watch_prices`), or the one
        read at start for a symbol the account held."""
        with self._lock:
            return self._prices.get(symbol)

    def watch_prices(self, symbol: str) -> None:
        """Start following ``symbol``'s trades (for local triggers); idempotent."""
        if symbol not in self._price_streams:
            self._price_streams[symbol] = self.client.stream(
                "trades", symbol, on_event=lambda t, s=symbol: self._on_price(s, t)
            )

    # ------------------------------------------------------------------ on the I/O loop
    def _spawn(self, coro: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = self.client.submit(coro)
        self._tasks.add(future)
        future.add_done_callback(self._task_done)
        return future

    def _task_done(self, future: concurrent.futures.Future[Any]) -> None:
        self._tasks.discard(future)
        if not future.cancelled() and future.exception() is not None:
            _log.error("execution task failed", exc_info=future.exception())

    async def _place_async(self, req: OrderRequest) -> None:
        cid = req.client_order_id
        order_type = "limit" if req.kind in (OrderKind.LIMIT, OrderKind.STOP_LIMIT) else "market"
        params: dict[str, Any] = {"triggerPrice": req.stop_price} if req.kind.has_trigger else {}
        if req.reduce_only:
            params["reduceOnly"] = True
        try:
            order = await self.client.create_order_async(
                req.symbol,
                order_type,
                req.side.value,
                req.amount,
                req.price,
                client_order_id=cid,
                params=params,
            )
        except AmbiguousOutcomeError as exc:
            _log.warning("order %s: outcome unknown (%s); looking it up, never resending", cid, exc)
            order = await self._look_up(cid, req.symbol)
            if order is None:
                why = exchange_reason(exc, self._venue_id)
                tries = self.lookup_attempts
                self._fail(
                    cid,
                    OrderState.CANCELED,
                    f"lost: the submit outcome was unknown ({why}) and the exchange "
                    f"does not know the order after {tries} lookups; not resent",
                )
                return
        except RealTradeError as exc:  # refused: Margin for lack of funds, else Rejected
            funds = isinstance(exc, InsufficientFundsError)
            state = OrderState.MARGIN if funds else OrderState.REJECTED
            self._fail(cid, state, exchange_reason(exc, self._venue_id), exc.exchange_code)
            return
        except Exception as exc:  # never swallowed: logged and reported with its message
            _log.exception("order %s: unexpected failure while placing", cid)
            self._fail(cid, OrderState.REJECTED, f"{type(exc).__name__}: {exc}")
            return
        crash_point("after_send")
        self.refresh_contracts()
        self._on_order(order, acknowledgement=True)

    async def _look_up(self, cid: str, symbol: str) -> dict[str, Any] | None:
        for attempt in range(self.lookup_attempts):
            await asyncio.sleep(self.lookup_delay_s * attempt)
            try:
                lookup = self.client.find_order_by_client_id_async(cid, symbol)
                found: dict[str, Any] | None = await lookup
            except RealTradeError as exc:
                _log.warning("order %s: lookup %d failed: %s", cid, attempt + 1, exc)
                continue
            if found is not None:
                return found
        return None

    async def _cancel_async(self, cid: str, xid: str, symbol: str) -> None:
        try:
            order = await self.client.cancel_order_async(xid, symbol)
        except OrderNotFoundError:  # it ended first: ask what happened
            order = await self.client.fetch_order_async(xid, symbol)
        except RealTradeError as exc:
            _log.error("order %s: cancel failed: %s", cid, exc)
            order = await self.client.fetch_order_async(xid, symbol)
        else:
            self._on_order(order, acknowledgement=True)
            return
        self._on_order(order)

    def _fail(self, cid: str, state: OrderState, reason: str, code: str | None = None) -> None:
        self._open.pop(cid, None)
        self._put(SubmitFailed(cid, state, reason, code))

    def _on_order(self, order: Mapping[str, Any], *, acknowledgement: bool = False) -> None:
        if self.contracts_view.on_order(order):
            return  # the exchange's own order (a liquidation): not ours to track
        thin = acknowledgement and order.get("status") is None  # Bybit's, OKX's: ids only
        for report in order_reports(order, acknowledgement=acknowledgement):
            if isinstance(report, FillReport):
                self._on_fill(report)
                continue
            assert isinstance(report, OrderReport)
            if report.client_order_id not in self._open:
                continue  # not ours (another bot on the account) or already finished
            symbol = self._open[report.client_order_id][1]
            if not acknowledgement:
                self._unheard.discard(report.client_order_id)
            elif thin and report.exchange_order_id:
                self._unheard.add(report.client_order_id)
                self._spawn(self._confirm_later(report.client_order_id, report.exchange_order_id))
            if report.status.terminal:
                del self._open[report.client_order_id]
            else:
                self._open[report.client_order_id] = (report.exchange_order_id, symbol)
            self._put(report)
            xid = report.exchange_order_id
            missing = report.filled > self._fill_sum.get(xid or "", 0.0) * (1 + 1e-9) + 1e-12
            if xid and missing and xid not in self._fetching:
                self._fetching.add(xid)
                self._spawn(self._fetch_fills_later(xid, symbol, report.filled))

    def _on_fill(self, report: FillReport) -> None:
        fill = report.fill
        if self._seen_fill(report.exchange_order_id or "", fill.trade_id, fill.amount):
            self._put(report)

    def _seen_fill(self, xid: str, trade_id: str, amount: float) -> bool:
        """Count a fill of order ``xid`` once: False when it was seen already."""
        ids = self._fill_ids.get(xid)
        if ids is None:
            ids = self._fill_ids[xid] = set()
        elif trade_id in ids:
            return False
        ids.add(trade_id)
        total = self._fill_sum.pop(xid, 0.0) + amount  # (re-inserted: last filled, last)
        self._fill_sum[xid] = total
        if len(self._fill_sum) > self._forget_at:
            self._forget_fills()
        return True

    def _forget_fills(self) -> None:
        """Forget the fills of the orders filled longest ago past :attr:`max_filled_orders`
        (:data:`MAX_FILLED_ORDERS`), never those of an open order or one being fetched."""
        keep = {xid for xid, _symbol in list(self._open.values()) if xid}
        keep.update(self._fetching)
        excess = len(self._fill_sum) - self.max_filled_orders
        for xid in list(self._fill_sum):
            if excess <= 0:
                break
            if xid in keep:
                continue
            del self._fill_sum[xid]
            self._fill_ids.pop(xid, None)
            excess -= 1
        self._forget_at = len(self._fill_sum) + self.max_filled_orders // 4

    async def _confirm_later(self, cid: str, xid: str) -> None:
        """Ask REST about an order acknowledged with its ids only when the stream has said
        nothing of it after a grace (an update pushed before the private subscription was live
        is never sent again; without this only the safety poll would find it)."""
        await asyncio.sleep(self.fill_grace_s)
        if cid not in self._unheard or cid not in self._open:
            return
        self._unheard.discard(cid)
        try:
            order = await self.client.fetch_order_async(xid, self._open[cid][1])
        except RealTradeError as exc:  # the safety poll asks again later
            _log.warning("order %s: confirming over REST failed: %s", cid, exc)
            return
        self._on_order(order)

    async def _fetch_fills_later(self, xid: str, symbol: str, filled: float) -> None:
        """Ask REST for an order's fills if the stream has not brought them after a grace."""
        try:
            await asyncio.sleep(self.fill_grace_s)
            if self._fill_sum.get(xid, 0.0) * (1 + 1e-9) + 1e-12 >= filled:
                return
            for trade in await self.client.fetch_my_trades_async(symbol):
                if str(trade.get("order")) == xid:
                    self._on_fill(fill_report(trade))
        finally:
            self._fetching.discard(xid)

    def _on_stream(self, kind: str, item: Any) -> None:
        self.refresh_contracts()
        if kind == "balance":
            self.contracts_view.on_balance(item)
        if kind == "orders":
            self._on_order(item)
        elif kind == "my_trades":
            if not self.contracts_view.on_trade(item):
                self._on_fill(fill_report(item))
        else:
            self._set_balances(item)

    def _on_state(self, change: Any) -> None:
        up = change.state == "connected"
        if up and not self._orders_stream_up:
            self._spawn(self._poll_once())  # catch what happened while it was down
        stopping = change.state == "stopped"  # our own stop: not a venue failure
        if up != self._orders_stream_up and self._on_connection is not None and not stopping:
            reason = getattr(change, "reason", "") or change.state
            try:
                self._on_connection(up, f"user-data stream {change.state}: {reason}")
            except Exception:  # a listener must not break the stream
                _log.exception("connection listener failed")
        self._orders_stream_up = up

    def _on_price(self, symbol: str, trade: Mapping[str, Any]) -> None:
        price = trade.get("price")
        if price is not None:
            with self._lock:
                self._prices[symbol] = float(price)

    def _set_balances(self, balance: Mapping[str, Any]) -> None:
        free, used = balance.get("free") or {}, balance.get("used") or {}
        changed = {a: Balance(_num(free.get(a)), _num(used.get(a))) for a in set(free) | set(used)}
        with self._lock:
            self._balances.update(changed)
        stamp = balance.get("timestamp") or time.time_ns() // 1_000_000
        self._put(BalanceReport(changed, int(stamp)))

    def _put(self, report: Report) -> None:
        """Queue ``report`` for :meth:`drain`, then tell :attr:`on_report`."""
        self._reports.put(report)
        listener = self.on_report
        if listener is not None:
            try:
                listener()
            except Exception:  # a listener must not lose the exchange's answers
                _log.exception("report listener failed")

    async def _poll_forever(self) -> None:
        """Poll REST while the orders stream is down, and now and then anyway (a stream can
        look connected and still be dead) while orders are open."""
        while True:
            await asyncio.sleep(self.poll_interval_s)
            overdue = time.monotonic() - self._last_poll >= self.safety_poll_s
            if self._open and (not self._orders_stream_up or overdue):
                await self._poll_once()

    async def _poll_once(self) -> None:
        """Ask REST about every open order (and its fills), then the balance and, when an order
        was open, the contracts' positions and wallet (a fill learned here moved them, and the
        stream that would have told may have lost it: Bybit and OKX do not push it again after
        a reconnect). With nothing open there is no read: one in flight makes the positions
        not current, and a strategy's first bar would not see a position held at start."""
        self._last_poll = time.monotonic()
        polled = list(self._open.items())
        for cid, (xid, symbol) in polled:
            try:
                client = self.client
                order = await (
                    client.fetch_order_async(xid, symbol)
                    if xid
                    else client.find_order_by_client_id_async(cid, symbol)
                )
                if order is not None:
                    if _num(order.get("filled")) > 0:
                        for trade in await self.client.fetch_my_trades_async(symbol):
                            if str(trade.get("order")) == str(order.get("id")):
                                self._on_fill(fill_report(trade))
                    self._on_order(order)
            except RealTradeError as exc:
                _log.warning("polling order %s failed: %s", cid, exc)
        try:
            self._set_balances(await self.client.fetch_balance_async())
        except RealTradeError as exc:
            _log.warning("polling the balance failed: %s", exc)
        if polled:  # nothing open, nothing moved: no read that would leave the positions stale
            self.refresh_contracts()
