"""``ExchangeCore``: the simulated exchange behind every protocol face and the paper broker.

A thread-safe facade (one ``RLock``) over the accounts (:mod:`~real_trade.sim.accounts`),
the users' order history (:mod:`~real_trade.sim.history`) and one
:class:`~real_trade.sim.symbol_market.SymbolMarket` per symbol (engine, klines, tape). ``pump()``
plays the market source up to the clock's now: for each tick a liquidity provider re-quotes so
the tape prints at the tick's price and a flow account takes the tick's volume
(:mod:`~real_trade.sim.liquidity`), so the tape, the klines and the depth all come from real
matches, and user orders rest and fill among them with price-time priority.

Everything that changes is published on the bus, synchronously and in order, under the lock:
``sim.trade.<SYMBOL>``, ``sim.depth.<SYMBOL>`` (update ids matching :meth:`ExchangeCore.depth`),
``sim.kline.<SYMBOL>`` (1m updates and closes), ``sim.order.<account_id>`` and
``sim.balance.<account_id>``. The simulator's own accounts (fees, liquidity, flow) are hidden
from user views and publish nothing.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Protocol

from real_trade.sim.accounts import Account, AccountBook
from real_trade.sim.history import OrderHistory
from real_trade.sim.klines import Kline
from real_trade.sim.liquidity import MarketMakers
from real_trade.sim.market import MarketSource
from real_trade.sim.rules import (
    SymbolRules,
    parse_client_order_id,
    parse_order_type,
    parse_side,
    parse_tif,
    rules_for_market,
    to_decimal,
)
from real_trade.sim.symbol_market import SymbolMarket
from real_trade.sim.types import (
    AggTrade,
    AvgPrice,
    BadParameter,
    BadSymbol,
    BalanceEvent,
    BookTicker,
    DepthSnapshot,
    Fill,
    Order,
    OrderType,
    Side,
    Ticker24h,
    TimeInForce,
    Trade,
)
from real_trade.vocabulary.clock import Clock

__all__ = ["Clock", "EventSink", "ExchangeCore"]

FEE_ACCOUNT_ID, LIQUIDITY_ACCOUNT_ID, FLOW_ACCOUNT_ID = 1, 2, 3
_FIRST_USER_ID = 1001


class EventSink(Protocol):
    """What the core needs from an event bus (``EventBus`` satisfies it)."""

    def publish(self, topic: str, event: object) -> None:
        """Deliver ``event`` on ``topic``."""
        ...


class ExchangeCore:
    """The multi-symbol simulated exchange every face calls (see the module docstring).

    ``rules`` overrides or adds symbol rules; without a market the symbols are those rules (or
    Binance-like defaults for BTCUSDT, ETHUSDT, BNBUSDT, BTCUSDC); with one, the market's
    symbols are added (default rules when known, else derived from the reference price with
    the source's own tick as PRICE_FILTER: :func:`~real_trade.sim.rules.rules_for_market`).
    ``seed`` makes keys and client order ids reproducible (``None``: unpredictable).
    ``auto_pump`` pumps the market before every call, so REST answers reflect market time.
    ``pump_budget_s`` bounds the wall time one pump (or one call's catch-up) may spend playing
    the market: past it, the rest of the market time is skipped (the price jumps; see
    :meth:`SymbolMarket.pump`), so a clock running faster than the machine can play never
    stalls the exchange (None: play everything, as a stepped clock needs). Memory stays
    bounded whatever the market time: ``max_tape_trades`` public trades and
    ``max_kline_bars`` one-minute bars per symbol are kept.
    """

    def __init__(
        self,
        clock: Clock,
        market: MarketSource | None = None,
        bus: EventSink | None = None,
        rules: Mapping[str, SymbolRules] | None = None,
        seed: int | None = 0,
        *,
        auto_pump: bool = True,
        max_kline_bars: int = 100_000,
        max_tape_trades: int = 50_000,
        pump_budget_s: float | None = None,
    ) -> None:
        """Create the exchange at the market's start (or the clock's now without a market)."""
        self._lock = threading.RLock()
        self._clock = clock
        self._bus = bus
        self._auto_pump = auto_pump
        self._pump_budget_s = pump_budget_s
        self._rng: random.Random = (
            random.Random(seed) if seed is not None else random.SystemRandom()
        )
        self.start_ms = market.start_ms() if market is not None else clock.now_ms()
        self._accounts = AccountBook(self._rng, _FIRST_USER_ID)
        self._history = OrderHistory()
        self.fee_account = self._accounts.internal(FEE_ACCOUNT_ID)
        internal_ids = itertools.count(1)
        makers = MarketMakers(
            self._accounts.internal(LIQUIDITY_ACCOUNT_ID),
            self._accounts.internal(FLOW_ACCOUNT_ID),
            lambda: next(internal_ids),
        )
        all_rules = rules_for_market(market, rules)
        market_symbols = tuple(market.symbols) if market is not None else ()
        self._states: dict[str, SymbolMarket] = {}
        for sym in sorted(all_rules):
            self._states[sym] = SymbolMarket(
                all_rules[sym],
                accounts=self._accounts.by_id,
                fee_account=self.fee_account,
                rng=random.Random(self._rng.getrandbits(64)),
                history=self._history,
                publish=self._emit,
                start_ms=self.start_ms,
                max_kline_bars=max_kline_bars,
                max_tape_trades=max_tape_trades,
                source=market if sym in market_symbols else None,
                makers=makers,
            )

    @property
    def bus(self) -> EventSink | None:
        """The sink the core publishes its events on (None: events are dropped)."""
        return self._bus

    # ================================================================ accounts
    def create_account(
        self,
        balances: Mapping[str, Decimal | str | float | int],
        maker_fee: Decimal = Decimal("0.001"),
        taker_fee: Decimal = Decimal("0.001"),
        api_key: str | None = None,
        secret: str | None = None,
    ) -> Account:
        """Open a user account with starting ``balances`` and fee rates; keys generated if absent.

        Keys are 64 letters and digits like Binance's, drawn from the core's seeded RNG.
        ``ValueError`` if ``api_key`` is already in use.
        """
        with self._lock:
            return self._accounts.open(balances, maker_fee, taker_fee, api_key, secret)

    def account_by_key(self, api_key: str) -> Account | None:
        """Return the user account with this API key, or None."""
        with self._lock:
            return self._accounts.by_key(api_key)

    def accounts(self) -> list[Account]:
        """Return the user accounts (not the simulator's own), by id."""
        with self._lock:
            return self._accounts.users()

    def balances(self, account: Account) -> dict[str, tuple[Decimal, Decimal]]:
        """Return a consistent ``{asset: (free, locked)}`` snapshot of an account."""
        with self._lock:
            return account.snapshot()

    def deposit(self, account: Account, asset: str, amount: Decimal | str | float | int) -> None:
        """Credit ``amount`` of ``asset`` (publishes a BalanceEvent with the delta)."""
        with self._lock:
            dec = to_decimal(amount, "amount")
            account.credit(asset, dec)
            now = self._clock.now_ms()
            bal = account.balance(asset)
            self._emit(
                f"sim.balance.{account.account_id}",
                BalanceEvent(account.account_id, {asset: (bal.free, bal.locked)}, now, asset, dec),
            )

    # ================================================================ orders
    def _state(self, symbol: str) -> SymbolMarket:
        st = self._states.get(symbol)
        if st is None:
            raise BadSymbol()
        return st

    def _synced(self, symbol: str) -> tuple[SymbolMarket, int]:
        """The symbol's market brought up to the clock (call under the lock), and now."""
        st = self._state(symbol)
        return st, self._sync(st)

    def place_order(
        self,
        account: Account,
        symbol: str,
        side: Side | str,
        type: OrderType | str,
        *,
        quantity: Decimal | str | float | None = None,
        quote_order_qty: Decimal | str | float | None = None,
        price: Decimal | str | float | None = None,
        stop_price: Decimal | str | float | None = None,
        time_in_force: TimeInForce | str | None = None,
        client_order_id: str | None = None,
        test: bool = False,
    ) -> Order:
        """Place an order and return a snapshot of it after matching; raise the typed errors.

        ``client_order_id`` must be unique among the account's open orders on the symbol
        (``DUPLICATE_ORDER``); a 22-character id is generated when absent.
        ``test=True`` validates without placing (like ``order/test``).
        """
        s, t, tif = parse_side(side), parse_order_type(type), parse_tif(time_in_force)
        q = None if quantity is None else to_decimal(quantity, "quantity")
        qq = None if quote_order_qty is None else to_decimal(quote_order_qty, "quote_quantity")
        p = None if price is None else to_decimal(price, "price")
        sp = None if stop_price is None else to_decimal(stop_price, "stop_price")
        parse_client_order_id(client_order_id)
        with self._lock:
            st, now = self._synced(symbol)
            avg = st.average(now) if t is OrderType.MARKET and q is not None else None
            order = st.engine.place(
                account,
                s,
                t,
                now_ms=now,
                quantity=q,
                quote_order_qty=qq,
                price=p,
                stop_price=sp,
                time_in_force=tif,
                client_order_id=client_order_id,
                avg_price=avg,
                test=test,
            )
            if not test:
                self._history.add_order(order)
            st.flush(now)
            return order.snapshot()

    def cancel_order(
        self,
        account: Account,
        symbol: str,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> Order:
        """Cancel an open order; ``UnknownOrder`` when it is not open."""
        if order_id is None and client_order_id is None:
            raise BadParameter.one_of("order_id", "client_order_id")
        with self._lock:
            st, now = self._synced(symbol)
            order = st.engine.cancel(
                account, now_ms=now, order_id=order_id, client_order_id=client_order_id
            )
            st.flush(now)
            return order.snapshot()

    def cancel_all(self, account: Account, symbol: str) -> list[Order]:
        """Cancel all open orders of the account on ``symbol`` (an empty list when none;
        a face may refuse then, as Binance's does)."""
        with self._lock:
            st, now = self._synced(symbol)
            orders = st.engine.cancel_all(account, now_ms=now)
            st.flush(now)
            return [o.snapshot() for o in orders]

    def get_order(
        self,
        account: Account,
        symbol: str,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> Order:
        """Return an order of the account (open or not); ``UnknownOrder`` when there is none."""
        if order_id is None and client_order_id is None:
            raise BadParameter.one_of("order_id", "client_order_id")
        with self._lock:
            self._state(symbol)
            return self._history.get(account.account_id, symbol, order_id, client_order_id)

    def open_orders(self, account: Account, symbol: str | None = None) -> list[Order]:
        """Return snapshots of the account's open orders (one symbol or all), oldest first."""
        with self._lock:
            states = [self._state(symbol)] if symbol is not None else list(self._states.values())
            aid = account.account_id
            out = [o.snapshot() for st in states for o in st.engine.open_orders_of(aid)]
            out.sort(key=lambda o: (o.time_ms, o.symbol, o.order_id))
            return out

    def all_orders(
        self,
        account: Account,
        symbol: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
    ) -> list[Order]:
        """The account's orders on ``symbol`` with Binance's ``allOrders`` paging, ascending.

        ``from_id``: the first ``limit`` with id >= it; else ``start_ms``: the first ``limit``
        from then; else the most recent ``limit``. Times filter on creation time.
        """
        with self._lock:
            self._state(symbol)
            return self._history.orders(
                account.account_id, symbol, start_ms, end_ms, from_id, limit
            )

    def my_trades(
        self,
        account: Account,
        symbol: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
        order_id: int | None = None,
    ) -> list[Fill]:
        """The account's fills on ``symbol`` (``myTrades``), paged like :meth:`all_orders`."""
        with self._lock:
            self._state(symbol)
            return self._history.fills(
                account.account_id, symbol, start_ms, end_ms, from_id, limit, order_id
            )

    # ================================================================ market data
    def symbols(self) -> list[str]:
        """The traded symbols, sorted."""
        return sorted(self._states)

    def rules_for(self, symbol: str) -> SymbolRules:
        """The rules of ``symbol``; ``BadSymbol`` when unknown."""
        return self._state(symbol).engine.rules

    def depth(self, symbol: str, limit: int = 100) -> DepthSnapshot:
        """Aggregated book snapshot with the last depth update id it reflects."""
        with self._lock:
            st, _ = self._synced(symbol)
            return st.depth(limit)

    def book_ticker(self, symbol: str) -> BookTicker:
        """Best bid and ask of ``symbol``."""
        with self._lock:
            st, _ = self._synced(symbol)
            return st.book_ticker()

    def recent_trades(self, symbol: str, limit: int = 500) -> list[Trade]:
        """The last ``limit`` public trades, oldest first."""
        with self._lock:
            st, _ = self._synced(symbol)
            return st.tape.recent(limit)

    def historical_trades(
        self, symbol: str, from_id: int | None = None, limit: int = 500
    ) -> list[Trade]:
        """Public trades from ``from_id`` (the most recent ``limit`` when None)."""
        with self._lock:
            st, _ = self._synced(symbol)
            return st.tape.recent(limit) if from_id is None else st.tape.from_id(from_id, limit)

    def agg_trades(
        self,
        symbol: str,
        from_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[AggTrade]:
        """Aggregate trades with Binance's paging (see :meth:`Tape.agg_trades`)."""
        with self._lock:
            st, _ = self._synced(symbol)
            return st.tape.agg_trades(
                from_id=from_id, start_ms=start_ms, end_ms=end_ms, limit=limit
            )

    def klines(
        self,
        symbol: str,
        interval: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[Kline]:
        """Klines of any Binance interval: pre-start history plus bars from the core's trades."""
        with self._lock:
            st, now = self._synced(symbol)
            return st.klines.klines(
                interval, now_ms=now, start_ms=start_ms, end_ms=end_ms, limit=limit
            )

    def last_price(self, symbol: str) -> Decimal | None:
        """The last trade price (else the last known close or reference price)."""
        with self._lock:
            st, _ = self._synced(symbol)
            return st.last_price()

    def avg_price(self, symbol: str) -> AvgPrice:
        """Volume-weighted average price over the symbol's ``avg_price_mins``."""
        with self._lock:
            st, now = self._synced(symbol)
            return st.avg_price(now)

    def ticker_24h(self, symbol: str) -> Ticker24h:
        """Rolling 24-hour statistics of ``symbol`` (from its 1m bars)."""
        with self._lock:
            st, now = self._synced(symbol)
            return st.ticker_24h(now)

    # ================================================================ market pump
    def pump(self, until_ms: int | None = None) -> int:
        """Play the market up to the clock's now (or ``until_ms`` if earlier); return the ticks."""
        with self._lock:
            now = self._clock.now_ms()
            target = now if until_ms is None else min(until_ms, now)
            deadline = self._deadline()
            return sum(st.pump(target, deadline) for st in self._states.values())

    def _deadline(self) -> float | None:
        budget = self._pump_budget_s
        return None if budget is None else time.monotonic() + budget

    def _sync(self, st: SymbolMarket) -> int:
        """Bring ``st`` up to the clock (pump when auto-pumping, else roll klines); return now."""
        now = self._clock.now_ms()
        if self._auto_pump and st.liquidity is not None and now > st.pumped_ms:
            st.pump(now, self._deadline())
        else:
            st.roll(now)
        return now

    def _emit(self, topic: str, event: object) -> None:
        if self._bus is not None:
            self._bus.publish(topic, event)
