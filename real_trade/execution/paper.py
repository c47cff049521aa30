"""Paper execution on the simulator's own matching engine, in-process, driven by the feed's bars.

:class:`PaperExecution` is an :class:`~real_trade.execution.events.ExecutionPort` over one
:class:`~real_trade.sim.core.ExchangeCore` (the engine the simulated exchange serves, so paper
fills and simulated-exchange fills can never disagree), a stepped
:class:`~real_trade.sim.clock.SimClock` that follows the feed's bar times, and a
:class:`BarPathMarket`: every bar the broker sees becomes a tick path open -> (low, high for a
rising bar; high, low for a falling one) -> close with a few points between (:func:`bar_path`),
each trading a share of the bar's volume. The liquidity provider quotes around each tick, so:

* orders sent between bars wait for the next bar and go in right after its open tick: a market
  order fills at about the next open (plus or minus the spread);
* orders decided on backfill bars (a live feed replaying history) meet the venue's market now:
  :meth:`PaperExecution.meet_live_market` moves the paper market to the venue's price and time
  (the broker asks the ticker) and skips the bars that ended before, as an exchange would;
* resting limit orders fill at their price when the path crosses it, partially when less volume
  trades through it than they ask; stops trigger on the path (the sim's own stop book);
* fees are the configured commission (maker and taker); cash and positions are the paper
  account's balances, exactly as the exchange would hold them (fees on buys in the base asset).

Contracts (``BTC/USDT:USDT``) trade as linear perpetuals on the same core's derivatives ledger
(:mod:`real_trade.sim.derivatives`): selling when flat opens a short, positions carry an entry
price, the cash is the wallet, funding is paid at 00/08/16 UTC of the bars' time and a position
whose margin runs out is liquidated at the mark. :meth:`PaperExecution.contract_account` is the
account as the exchange holds it; funding payments and liquidations queue as
:class:`~real_trade.execution.contracts.FundingPayment` / ``Liquidation`` for
:meth:`PaperExecution.take_contract_events`. Leverage and margin mode per contract come from
``contract_settings``.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import os
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from real_trade.bus import EventBus
from real_trade.execution import paper_contracts
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
from real_trade.execution.orders import ExchangeStatus, OrderRequest, OrderState, SymbolLimits
from real_trade.execution.paper_book import BookFills, DepthSource
from real_trade.execution.paper_path import (
    PathPoints,
    QuietTape,
    decimal_places,
    lots_in,
    on_tick_fast,
    path_points,
    ticks_of,
)
from real_trade.sim.clock import SimClock
from real_trade.sim.core import ExchangeCore
from real_trade.sim.market import BookShape, Candle, MarketTick, Side, default_book_shape
from real_trade.sim.rules import DEFAULT_RULES, SymbolRules, derive_rules
from real_trade.sim.types import (
    BalanceEvent,
    ExecutionType,
    InsufficientBalance,
    Order,
    OrderEvent,
    OrderStatus,
    OrderType,
    SimError,
    TimeInForce,
    UnknownOrder,
)
from real_trade.vocabulary import OrderKind, is_contract, joined_symbol_id

__all__ = ["BarPathMarket", "PaperBar", "PaperExecution", "bar_path"]

_SIM_TYPES = {
    OrderKind.MARKET: OrderType.MARKET,
    OrderKind.LIMIT: OrderType.LIMIT,
    OrderKind.STOP: OrderType.STOP_LOSS,
    OrderKind.STOP_LIMIT: OrderType.STOP_LOSS_LIMIT,
}
_TIF_TYPES = frozenset({OrderType.LIMIT, OrderType.STOP_LOSS_LIMIT})
_LIMITS = frozenset({OrderType.LIMIT, OrderType.LIMIT_MAKER})
_STOPS = frozenset({OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT})
_new_bar = tuple.__new__  # a PaperBar without its Python-level __new__
_REACH = 0.002
"""How far (relative) beyond a path's range a resting order is still deemed in its reach."""
MAX_KEPT_TICKS = 4_096
"""Ticks :class:`BarPathMarket` keeps per symbol before it forgets those already played (the
engine never asks for them again); a weeks-long session would otherwise keep every tick of
every bar played (~13 a bar). Trimmed once past twice this, oldest first."""


class PaperBar(NamedTuple):
    """One closed bar of the feed: opened at ``open_ms``, lasting ``duration_ms`` (a named
    tuple: the broker makes one for every bar)."""

    open_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    duration_ms: int = 60_000


def bar_path(
    bar: PaperBar,
    tick: Decimal,
    lot: Decimal,
    prev_price: Decimal | None = None,
    inner_points: int = 3,
) -> list[MarketTick]:
    """The ticks a bar plays: open, the two extremes, close, ``inner_points`` between each.

    A rising bar (close >= open) visits the low first, a falling one the high first. Prices are
    on ``tick``; times are spread over the bar, the open at ``open_ms`` exactly; the volume is
    split in whole ``lot`` units (the close takes the remainder). A zero-volume bar plays
    quote-only ticks. (:func:`~real_trade.execution.paper_path.path_points` computes it.)
    """
    prev = None if prev_price is None else prev_price / tick
    return _ticks(_points(bar, tick, lot, prev, inner_points), tick, lot)


def _points(
    bar: PaperBar, tick: Decimal, lot: Decimal, prev: Decimal | int | None, inner_points: int = 3
) -> PathPoints:
    prices = (bar.open, bar.high, bar.low, bar.close)
    return path_points(
        bar.open_ms, prices, bar.volume, bar.duration_ms, tick, lot, prev, inner_points
    )


def _ticks(
    points: PathPoints, tick: Decimal, lot: Decimal, start: int = 0, stop: int | None = None
) -> list[MarketTick]:
    return [
        MarketTick(ts, Decimal(p) * tick, q * lot, Side.BUY if buy else Side.SELL)
        for ts, p, q, buy in itertools.islice(
            zip(points.times, points.prices, points.lots, points.buys, strict=True), start, stop
        )
    ]


class BarPathMarket:
    """A market source fed bar by bar (see :func:`bar_path`); satisfies ``MarketSource``."""

    def __init__(
        self,
        rules: Mapping[str, SymbolRules],
        first_prices: Mapping[str, float],
        start_ms: int,
        *,
        level_notional: float = 20_000.0,
    ) -> None:
        """Serve ``rules``' symbols from ``start_ms``, quoting around ``first_prices``."""
        self.symbols: tuple[str, ...] = tuple(rules)
        self._rules = dict(rules)
        self._start_ms = start_ms
        self._first = {s: Decimal(repr(first_prices[s])) for s in self.symbols}
        self._ticks: dict[str, list[MarketTick]] = {s: [] for s in self.symbols}
        self._times: dict[str, list[int]] = {s: [] for s in self.symbols}
        # the latest time the engine has asked ticks after (it never asks before it again), and
        # the price of the last tick forgotten (:meth:`reference_price` before the kept ones)
        self._asked: dict[str, int] = {}
        self._forgotten: dict[str, Decimal] = {}
        # the last point: time, price in ticks (a float: a bar's close, not yet on the tick)
        self._tail: dict[str, tuple[int, int | float]] = {}
        self._shapes = {
            s: default_book_shape(
                self._first[s], r.tick_size, r.step_size, level_notional=level_notional
            )
            for s, r in self._rules.items()
        }

    def path(self, symbol: str, bar: PaperBar) -> PathPoints:
        """``bar``'s path after the market's last point (re-timed just after it when the bar
        overlaps it, so every bar plays in full and time never goes back); the market's last
        point moves to the path's end, but its ticks are kept only by :meth:`extend`."""
        tick = self._rules[symbol].tick_size
        tail = self._tail.get(symbol)
        prev = self._first[symbol] / tick if tail is None else ticks_of(tail[1], tick, float(tick))
        points = _points(bar, tick, self._rules[symbol].step_size, prev)
        if tail is not None and points.times[0] <= tail[0]:  # overlaps the last: play it after
            points.times = [tail[0] + 1 + i for i in range(len(points.times))]
        self._tail[symbol] = (points.times[-1], points.prices[-1])
        return points

    def pass_quietly(self, symbol: str, bars: Sequence[PaperBar], tape: QuietTape) -> int:
        """Add ``bars``' trades (in turn) to ``tape`` without keeping their ticks (bars no
        order can meet; counted now, summed when read: :meth:`QuietTape.defer_bars`, in one
        loop while they follow each other); the market's last point moves to the last path's
        end, whose time is returned."""
        i, size, end = 0, len(bars), self._start_ms
        while i < size:
            tail = self._tail.get(symbol)
            if tail is None:
                done, last = tape.defer_bars(bars, i, self._first[symbol] / tape.tick, None)
            else:
                done, last = tape.defer_bars(bars, i, tail[1], tail[0])
            if done > i:
                assert last is not None
                self._tail[symbol] = last, bars[done - 1][4]  # the path ends at the close
                end, i = last, done
                continue
            points = self.path(symbol, bars[i])
            tape.add(points)
            end = points.times[-1]
            i += 1
        return end

    def extend(
        self, symbol: str, points: PathPoints, start: int = 0, stop: int | None = None
    ) -> list[MarketTick]:
        """Keep ``points`` (from :meth:`path`; those from ``start`` to ``stop``) as ``symbol``'s
        next ticks; return them."""
        rules = self._rules[symbol]
        path = _ticks(points, rules.tick_size, rules.step_size, start, stop)
        ticks = self._ticks[symbol]
        ticks.extend(path)
        self._times[symbol].extend(points.times[start:stop])
        if len(ticks) > 2 * MAX_KEPT_TICKS:
            self._forget_played(symbol)
        return path

    def _forget_played(self, symbol: str) -> None:
        """Forget the oldest ticks the engine has played (at or before the latest time it asked
        ticks after), keeping the last :data:`MAX_KEPT_TICKS` at least."""
        ticks, times = self._ticks[symbol], self._times[symbol]
        asked = self._asked.get(symbol)
        if asked is None:
            return
        cut = min(bisect.bisect_right(times, asked), len(ticks) - MAX_KEPT_TICKS)
        if cut > 0:
            self._forgotten[symbol] = ticks[cut - 1].price
            del ticks[:cut], times[:cut]

    def add_bar(self, symbol: str, bar: PaperBar) -> list[MarketTick]:
        """Append ``bar``'s path to ``symbol``'s ticks (see :meth:`path`)."""
        return self.extend(symbol, self.path(symbol, bar))

    def start_ms(self) -> int:
        """The instant the market starts (just before the first bar)."""
        return self._start_ms

    def ticks(self, symbol: str, from_ms: int, to_ms: int) -> list[MarketTick]:
        """The fed ticks with ``from_ms < ts_ms <= to_ms`` (the engine asks with ``from_ms``
        never going back: the ticks at or before it may be forgotten, see
        :data:`MAX_KEPT_TICKS`)."""
        self._asked[symbol] = from_ms
        times = self._times[symbol]
        lo, hi = bisect.bisect_right(times, from_ms), bisect.bisect_right(times, to_ms)
        return self._ticks[symbol][lo:hi]

    def history(self, symbol: str, end_ms: int, count_hint: int) -> list[Candle]:
        """No candles before the start: the paper market begins with the feed."""
        return []

    def reference_price(self, symbol: str, ts_ms: int) -> Decimal:
        """The last kept tick's price at or before ``ts_ms`` (before any: the last forgotten
        tick's, else the first price); paths played without the ladder (:meth:`path` alone)
        are not kept."""
        i = bisect.bisect_right(self._times[symbol], ts_ms)
        if i:
            return self._ticks[symbol][i - 1].price
        return self._forgotten.get(symbol, self._first[symbol])

    def book_shape(self, symbol: str) -> BookShape:
        """The liquidity ladder of ``symbol``."""
        return self._shapes[symbol]

    def tick_size(self, symbol: str) -> Decimal:
        """The price tick of ``symbol`` (its rules' PRICE_FILTER)."""
        return self._rules[symbol].tick_size

    def lot_step(self, symbol: str) -> Decimal:
        """The quantity step of ``symbol`` (its rules' LOT_SIZE)."""
        return self._rules[symbol].step_size


def _side_of(request: OrderRequest) -> Side:
    """The engine's side of ``request`` (``Side(request.side.value)``; the same member when
    the request's side is one already)."""
    side = request.side
    return side if type(side) is Side else Side(side.value)


_STATUSES: dict[tuple[OrderStatus, bool], ExchangeStatus] = {}


def _exchange_status(status: OrderStatus, filled: float) -> ExchangeStatus:
    """``ExchangeStatus.parse(status.value, filled)``, remembered per status and fill."""
    key = (status, filled > 0)
    found = _STATUSES.get(key)
    if found is None:
        found = _STATUSES[key] = ExchangeStatus.parse(status.value, filled)
    return found


class PaperExecution:
    """Paper trading on the shared matching engine (see the module docstring).

    ``symbols`` are the unified symbols traded; ``cash`` is credited in ``currency``;
    ``commission`` is the fee rate; ``rules`` override the symbols' exchange rules (default:
    Binance's for the well-known ones, else derived from the first price); ``level_notional``
    sizes the liquidity ladder's levels (smaller: thinner book, more partial fills). The engine
    starts at the first :meth:`play`.

    The fast path keeps aside the bars no order can meet and records their trades when anything
    needs the market (an order, a cancel, :meth:`now_ms`, a bar an order can meet): read
    :attr:`core` directly only after such a call (``now_ms()`` catches it up).
    """

    def __init__(
        self,
        symbols: Iterable[str],
        *,
        cash: float = 10_000.0,
        currency: str = "USDT",
        commission: float = 0.001,
        rules: Mapping[str, SymbolRules] | None = None,
        level_notional: float = 20_000.0,
        contract_settings: Mapping[str, tuple[int | None, str | None]] | None = None,
        fast_path: bool | None = None,
        book: DepthSource | None = None,
    ) -> None:
        """Configure the paper account; nothing runs until :meth:`play`. ``contract_settings``
        maps a contract's unified symbol to its ``(leverage, margin_mode)`` (None: default).

        ``fast_path`` False plays every tick through the ladder and the engine (the fills are
        the same; tests and benchmarks compare both); None reads ``RT_PAPER_FULL_PATH`` (set
        and not ``0``: the full path). ``book`` (``paper_fill_from_book``): market orders walk
        the real order book it gives (:mod:`~real_trade.execution.paper_book`).
        """
        if fast_path is None:
            fast_path = os.environ.get("RT_PAPER_FULL_PATH", "0") in ("", "0")
        self.fast_path = fast_path
        self.book_fills = None if book is None else BookFills(book)
        self.symbols = {joined_symbol_id(s): s for s in symbols}
        self._sids = {s: sid for sid, s in self.symbols.items()}
        self.contracts = frozenset(sid for sid, s in self.symbols.items() if is_contract(s))
        self.contract_settings = dict(contract_settings or {})
        self._contract_events: list[FundingPayment | Liquidation] = []
        self.currency = currency
        self.cash = float(cash)
        self.commission = float(commission)
        self.level_notional = level_notional
        self._rules_override = dict(rules or {})
        self.core: ExchangeCore | None = None
        self.clock: SimClock | None = None
        self._account: Any = None
        self._reports: list[Report] = []
        self._waiting: dict[str, list[OrderRequest]] = {}
        self._open_now: set[str] = set()
        self._market: BarPathMarket | None = None
        self.holdings: dict[str, float] = {}
        self._balances: dict[str, Balance] = {currency: Balance(self.cash)}
        self._last_open: dict[str, int] = {}
        self._limits: dict[str, SymbolLimits] = {}
        self._resting: dict[str, Order] = {}  # the account's open orders, by client id
        # bars no order can meet, not played yet, by symbol id (in order), and the last one's
        self._quiet: dict[str, list[PaperBar]] = {}
        self._quiet_sid = ""
        self._quiet_last: dict[str, float | None] = {}  # their symbols' last trade prices
        # lot, its float and places; tick, its float and places
        self._steps: dict[str, tuple[Decimal, float, int | None, Decimal, float, int | None]] = {}

    @property
    def idle(self) -> bool:
        """Whether no report waits to be drained and no order waits for its bar."""
        return not self._reports and not self._waiting

    @property
    def started(self) -> bool:
        """Whether the engine runs (after the first :meth:`play`)."""
        return self.core is not None

    def now_ms(self) -> int:
        """The paper market's time (0 before the engine starts)."""
        if self._quiet:
            self._catch_up()
        return self.clock.now_ms() if self.clock is not None else 0

    def set_holdings(self, balances: Mapping[str, float]) -> None:
        """Start the account with these asset balances besides the cash (a paper account
        resumed from the journal); only before the engine starts."""
        if self.core is not None:
            raise ValueError("paper holdings can only be set before trading starts")
        self.holdings = {a: float(v) for a, v in balances.items() if a != self.currency and v > 0}
        for asset, amount in self.holdings.items():
            self._balances[asset] = Balance(amount)

    def set_cash(self, cash: float) -> None:
        """Set the starting cash; once trading, only raising it (a deposit) is possible."""
        if self.core is None:
            self.cash = float(cash)
            self._balances[self.currency] = Balance(self.cash)
            return
        current = self.balances().get(self.currency, Balance()).total
        if cash < current:
            raise ValueError(
                f"paper cash is {current:g} {self.currency} while trading; it can "
                f"only be raised (a deposit), not lowered to {cash:g}"
            )
        if cash > current:
            self._catch_up()
            self.core.deposit(self._account, self.currency, Decimal(repr(cash - current)))

    def _start(self, first_prices: Mapping[str, float], start_ms: int) -> None:
        rules = {sid: self._rules_of(sid, price) for sid, price in first_prices.items()}
        self._market = BarPathMarket(
            rules, first_prices, start_ms, level_notional=self.level_notional
        )
        self.clock = SimClock(start_ms=start_ms, stepped=True)
        bus = EventBus(synchronous=True, name="paper")
        self.core = ExchangeCore(
            self.clock,
            self._market,
            bus,
            rules=rules,
            seed=0,
            auto_pump=False,
            max_kline_bars=2_000,
        )
        fee = Decimal(repr(self.commission))
        start = {asset: Decimal(repr(amount)) for asset, amount in self.holdings.items()}
        start[self.currency] = Decimal(repr(self.cash))
        self._account = self.core.create_account(start, maker_fee=fee, taker_fee=fee)
        aid = self._account.account_id
        bus.subscribe(f"sim.order.{aid}", self._on_order_event)
        bus.subscribe(f"sim.balance.{aid}", self._on_balance_event)
        bus.subscribe(f"sim.funding.{aid}", self._on_contract_event)
        bus.subscribe(f"sim.liquidation.{aid}", self._on_contract_event)
        contracts = {sid: self.symbols[sid] for sid in self.contracts}
        paper_contracts.apply_settings(self.core, self._account, contracts, self.contract_settings)
        self._balances = self._read_balances()

    def _rules_of(self, sid: str, price: float) -> SymbolRules:
        """A symbol's rules: the override, else Binance's; contracts as linear perpetuals."""
        if sid in self.contracts:
            return paper_contracts.contract_rules(sid, price, self._rules_override.get(sid))
        known = self._rules_override.get(sid) or DEFAULT_RULES.get(sid)
        return known or derive_rules(sid, Decimal(repr(price)))

    # ------------------------------------------------------------------ playing bars
    def play(
        self,
        bars: Mapping[str, PaperBar],
        on_tick: Callable[[str, float], None],
        watched: Callable[[], Collection[str]] = tuple,
    ) -> None:
        """Play one new bar per symbol; ``on_tick(symbol, price)`` after every tick.

        The engine starts at the first call (every traded symbol needs a bar then). Orders
        that waited for a symbol's next bar go in right after its open tick. ``watched()``
        names the symbols whose every tick ``on_tick`` must see (local triggers wait on their
        prices).

        The fast path (see the class docstring): a bar no order can meet is kept aside, and
        played later without the ladder; in a played bar, once no order can meet the rest of
        the path, the rest is recorded the same way.
        """
        by_id: dict[str, PaperBar] = {}
        for symbol, bar in bars.items():
            sid = self._sids.get(symbol) or joined_symbol_id(symbol)
            by_id[sid] = self._fit(sid, bar)
        if self.core is None:
            missing = sorted(set(self.symbols) - set(by_id))
            if missing:
                raise ValueError(
                    f"the paper market starts when every symbol has a bar; missing {missing}"
                )
            first_open = min(b.open_ms for b in by_id.values())
            self._start({s: b.open for s, b in by_id.items()}, first_open - 1)
        assert self.core is not None and self.clock is not None and self._market is not None
        now = self.clock.now_ms()
        fresh = [(s, b) for s, b in by_id.items() if b.open_ms + b.duration_ms > now]
        # a bar over before the live market met (meet_live_market) is history: skipped
        if self.fast_path and all(self._quiet_bar(s, b, watched) for s, b in fresh):
            for sid, bar in fresh:
                self._keep(sid, bar)
            return
        self._catch_up()
        self._play_full(fresh, on_tick, watched)

    def keep_aside(self, bars: Mapping[str, PaperBar]) -> bool:
        """Keep ``bars`` (one new bar per symbol) aside as :meth:`play` would, when no order
        of the account waits, rests or can be met (most bars of a backtest: the caller knows
        that no local trigger watches prices); False, with nothing done, when they must go to
        :meth:`play` (the full path, contracts, the engine not started, an order working, a
        report waiting to be drained)."""
        clock = self.clock
        if clock is None or self._reports or self._waiting or self._resting:
            return False
        if not self.fast_path:
            return False
        if self.contracts:
            return False  # a contract's bar is never quiet (its mark and funding move)
        now, sids, last_open = clock.now_ms(), self._sids, self._last_open
        for symbol, bar in bars.items():
            sid = sids.get(symbol) or joined_symbol_id(symbol)
            open_ms, duration_ms = bar[0], bar[6]
            last = last_open.get(sid)
            if last is None or open_ms - last < duration_ms:
                bar = self._fit(sid, bar)  # the first bar, or one longer than its gap: cut
            else:
                last_open[sid] = open_ms  # as _fit would (the bar fits its gap)
            if open_ms + bar.duration_ms > now:  # else history the live market passed
                self._keep(sid, bar)
        return True

    def _keep(self, sid: str, bar: PaperBar) -> None:
        """Keep ``bar`` of ``sid`` aside (played later, see :meth:`_catch_up`); a price cached
        from the symbol's kept bars is forgotten."""
        kept = self._quiet.get(sid)
        if kept is None:
            self._quiet[sid] = [bar]
        else:
            kept.append(bar)
        self._quiet_sid = sid
        if self._quiet_last:
            self._quiet_last.pop(sid, None)

    def _play_full(
        self,
        bars: list[tuple[str, PaperBar]],
        on_tick: Callable[[str, float], None],
        watched: Callable[[], Collection[str]],
    ) -> None:
        assert self.core is not None and self.clock is not None and self._market is not None
        market, clock, core = self._market, self.clock, self.core
        # one symbol on the fast path: its ticks are kept up to the one played (the rest may be
        # recorded unplayed); else all at once (the pump plays every symbol up to the clock)
        lazy = self.fast_path and len(bars) == 1
        paths: dict[str, tuple[PathPoints, list[MarketTick]]] = {}
        for sid, bar in bars:
            points = market.path(sid, bar)
            paths[sid] = points, [] if lazy else market.extend(sid, points)
        steps: Iterable[tuple[int, str, int]]
        if len(paths) == 1:  # one path: its points in order (their times rise)
            ((sid, (points, _kept)),) = paths.items()
            steps = zip(points.times, itertools.repeat(sid), range(len(points.times)))
        else:
            steps = sorted(
                (ts, sid, i) for sid, (p, _) in paths.items() for i, ts in enumerate(p.times)
            )
        for ts, sid, i in steps:
            points, kept = paths[sid]
            # one symbol: nothing else ticks; once no order can meet the rest, it is recorded
            if i > 0 and lazy and self._quiet_rest(sid, points, i, watched):
                self._record(sid, points, i)  # the clock moves to the path's end below
                break
            now = clock.now_ms()
            if ts > now:
                clock.advance((ts - now) / 1000)
            if self.fast_path:
                self._size_ladder(sid)
            if len(kept) <= i:
                kept += market.extend(sid, points, len(kept), i + 1)
            if not (i == 0 and self._open_alone(sid) and core.pass_tick(sid, kept[0])):
                core.pump()
            if i == 0:
                self._open_now.add(sid)
                for request in self._waiting.pop(sid, []):
                    self._place_now(request)
            on_tick(self.symbols[sid], float(kept[i].price))
        now = clock.now_ms()
        end = max((p.times[-1] for p, _ in paths.values()), default=now)
        if end > now:
            clock.advance((end - now) / 1000)
        self._open_now.clear()  # from now on, orders wait for the next bar

    # ------------------------------------------------------------------ the fast path
    def _open_alone(self, sid: str) -> bool:
        """Whether the open tick's flow may be recorded instead of matched
        (:meth:`ExchangeCore.pass_tick`): the fast path, one spot symbol traded, no order of
        the account resting (the flow then meets only the ladder's hit level)."""
        return (
            self.fast_path
            and not self._resting
            and len(self.symbols) == 1
            and sid not in self.contracts
        )

    def _quiet_bar(self, sid: str, bar: PaperBar, watched: Callable[[], Collection[str]]) -> bool:
        """Whether no order can meet ``bar``: none waits for it, none rests in its reach,
        and no local trigger watches its prices. A contract's bar is never quiet: its mark,
        funding and liquidations follow every tick."""
        if sid in self._waiting or sid in self.contracts or self.symbols[sid] in watched():
            return False
        if not self._resting:
            return True
        return self._out_of_reach(sid, bar.low, bar.high)

    def _quiet_rest(
        self, sid: str, points: PathPoints, start: int, watched: Callable[[], Collection[str]]
    ) -> bool:
        """Whether no order can meet ``points`` from ``start`` on (see :meth:`_quiet_bar`)."""
        if sid in self._waiting or sid in self.contracts or self.symbols[sid] in watched():
            return False
        if not self._resting:
            return True
        assert self._market is not None
        tick = float(self._market.tick_size(sid))
        rest = points.prices[start:]
        return self._out_of_reach(sid, min(rest) * tick, max(rest) * tick)

    def _out_of_reach(self, sid: str, low: float, high: float) -> bool:
        """Whether every resting order of ``sid`` is out of reach of prices in [low, high]
        (with a margin far wider than the ladder's spread)."""
        lo, hi = low * (1 - _REACH), high * (1 + _REACH)
        for order in self._resting.values():
            if order.symbol != sid:
                continue
            kind, buy = order.type, order.side is Side.BUY
            limit = float(order.price) if order.price is not None else None
            stop = float(order.stop_price) if order.stop_price is not None else None
            if kind in _LIMITS and limit is not None:
                if (limit >= lo) if buy else (limit <= hi):
                    return False
            elif kind in _STOPS and stop is not None:
                if (stop <= hi) if buy else (stop >= lo):
                    return False
                reached = limit is not None and ((limit >= lo) if buy else (limit <= hi))
                if kind is OrderType.STOP_LOSS_LIMIT and reached:
                    return False
            else:
                return False
        return True

    def _size_ladder(self, sid: str) -> None:
        """Quote only the best level of each side while no order of ``sid`` is larger than a
        level (none can walk past it, so the deeper levels change no fill)."""
        assert self.core is not None
        ladder = self.core.liquidity(sid)
        if ladder is None:
            return
        waiting = self._waiting.get(sid)
        most = max(r.amount for r in waiting) if waiting else 0.0
        for order in self._resting.values():
            if order.symbol == sid:
                most = max(most, float(order.orig_qty - order.executed_qty))
        ladder.tops_only = most <= float(ladder.level_qty) * 0.5

    def _record(self, sid: str, points: PathPoints, start: int) -> None:
        """Record the trades of ``points`` from ``start`` on without playing them."""
        assert self.core is not None and self._market is not None
        tape = QuietTape(self._market.tick_size(sid), self._market.lot_step(sid))
        tape.add(points, start)
        minutes, last = tape.finish()
        self.core.record_quiet(sid, minutes, last, tape.last_ms, points.times[-1])

    def _catch_up(self) -> None:
        """Record the bars kept aside (the clock moves to their end)."""
        quiet = self._quiet
        if not quiet:
            return
        self._quiet = {}
        self._quiet_last.clear()  # prices of the kept bars: from now on the engine's
        assert self.core is not None and self.clock is not None and self._market is not None
        market, core = self._market, self.core
        end = -1
        for sid, bars in quiet.items():
            tape = QuietTape(market.tick_size(sid), market.lot_step(sid))
            last = market.pass_quietly(sid, bars, tape)
            minutes, price = tape.finish()
            core.record_quiet(sid, minutes, price, tape.last_ms, last)
            if last > end:
                end = last
        now = self.clock.now_ms()
        if end > now:
            self.clock.advance((end - now) / 1000)

    def meet_live_market(self, prices: Mapping[str, float], now_ms: int) -> None:
        """The venue's market stands at ``prices`` (by unified symbol) at ``now_ms``: move there.

        For orders decided on backfill bars (history replayed before a live feed goes LIVE): on
        an exchange they meet the market as it is now, so the paper market jumps to now (never
        back), plays one quote at each price, and takes orders at once until the next
        :meth:`play`, like during a bar. Bars that ended before ``now_ms`` are skipped from then
        on; waiting orders of these symbols go in now. Starts the engine if needed (``prices``
        then covers every traded symbol).
        """
        by_id = {joined_symbol_id(s): p for s, p in prices.items()}
        if self.core is None:
            self._start(by_id, now_ms - 1)
        self._catch_up()
        assert self.core is not None and self.clock is not None and self._market is not None
        ahead = now_ms - self.clock.now_ms()
        if ahead > 0:
            self.clock.advance(ahead / 1000)
        for sid, price in by_id.items():
            now = self.clock.now_ms()
            quote = PaperBar(now, price, price, price, price, 0.0, 1)
            tick = self._market.add_bar(sid, quote)[0]
            if tick.ts_ms > now:
                self.clock.advance((tick.ts_ms - now) / 1000)
            self.core.pump()
            self._open_now.add(sid)
            for request in self._waiting.pop(sid, []):
                self._place_now(request)

    def _fit(self, sid: str, bar: PaperBar) -> PaperBar:
        """Keep a bar's path before the next bar: no longer than the gap between bar opens
        (a feed may declare a longer timeframe than it delivers), a minute for the first."""
        last = self._last_open.get(sid)
        self._last_open[sid] = bar.open_ms
        gap = bar.open_ms - last if last is not None and bar.open_ms > last else 60_000
        if bar.duration_ms <= gap:
            return bar
        return _new_bar(PaperBar, (*bar[:6], gap))  # bar._replace(duration_ms=gap), faster

    # ------------------------------------------------------------------ ExecutionPort
    def limits(self, symbol: str) -> SymbolLimits:
        """Steps and minimums from the symbol's rules (defaults before the engine starts)."""
        known = self._limits.get(symbol)
        if known is not None:
            return known
        sid = joined_symbol_id(symbol)
        rules = (
            self.core.rules_for(sid)
            if self.core is not None
            else self._rules_override.get(sid) or DEFAULT_RULES.get(sid)
        )
        if rules is None:
            return SymbolLimits()
        limits = SymbolLimits(
            float(rules.step_size),
            float(rules.tick_size),
            float(rules.min_qty),
            float(rules.min_notional),
        )
        if self.core is not None:  # the engine's rules are fixed from then on
            self._limits[symbol] = limits
        return limits

    def place(self, request: OrderRequest) -> None:
        """Place now during a bar's play, else at the symbol's next bar open."""
        sid = joined_symbol_id(request.symbol)
        if self.core is not None and sid in self._open_now:
            self._place_now(request)
        else:
            self._waiting.setdefault(sid, []).append(request)

    def _place_now(self, request: OrderRequest) -> None:
        fills = self.book_fills
        if fills is None or request.kind is not OrderKind.MARKET:
            self._place_order(request)
            return
        assert self.core is not None and self.clock is not None
        sid = self._sids.get(request.symbol) or joined_symbol_id(request.symbol)
        symbol, side = self.symbols.get(sid, request.symbol), _side_of(request)
        with fills.standing_in(self.core, sid, symbol, side, self.clock.now_ms()):
            self._place_order(request)

    def _place_order(self, request: OrderRequest) -> None:
        assert self.core is not None
        kind = request.kind
        sim_type = _SIM_TYPES.get(kind)
        if sim_type is None:
            raise ValueError(f"paper execution takes Market/Limit/Stop/StopLimit, not {kind}")
        tif = TimeInForce.GTC if sim_type in _TIF_TYPES else None
        price, stop = request.price, request.stop_price
        sid = self._sids.get(request.symbol) or joined_symbol_id(request.symbol)
        reduce_only = request.reduce_only and sid in self.contracts
        try:
            self.core.place_order(
                self._account,
                sid,
                _side_of(request),
                sim_type,
                quantity=Decimal(repr(request.amount)),
                price=None if price is None else Decimal(repr(price)),
                stop_price=None if stop is None else Decimal(repr(stop)),
                time_in_force=tif,
                client_order_id=request.client_order_id,
                reduce_only=reduce_only,
            )
        except SimError as exc:
            margin = isinstance(exc, InsufficientBalance)
            state = OrderState.MARGIN if margin else OrderState.REJECTED
            cid = request.client_order_id
            self._reports.append(SubmitFailed(cid, state, str(exc), exc.reason.value))

    def cancel(self, client_order_id: str, symbol: str, exchange_order_id: str | None) -> None:
        """Cancel at once (an order still waiting for its bar is simply dropped)."""
        sid = joined_symbol_id(symbol)
        waiting = self._waiting.get(sid, [])
        for request in waiting:
            if request.client_order_id == client_order_id:
                waiting.remove(request)
                self._reports.append(
                    OrderReport(client_order_id, None, ExchangeStatus.CANCELED, 0.0, request.amount)
                )
                return
        if self.core is None:
            return
        self._catch_up()
        with contextlib.suppress(UnknownOrder):  # it ended first: its reports already say so
            self.core.cancel_order(self._account, sid, client_order_id=client_order_id)

    def drain(self) -> list[Report]:
        """The reports since the last call."""
        out, self._reports = self._reports, []
        return out

    def balances(self) -> dict[str, Balance]:
        """The paper account's balances."""
        return dict(self._balances)

    def contract_account(self) -> ContractAccount | None:
        """The paper account's wallet and contract positions (None: no contract traded, or
        before the engine starts)."""
        if self.core is None or not self.contracts:
            return None
        symbols = {sid: self.symbols[sid] for sid in self.contracts}
        return paper_contracts.account_of(
            self.core, self._account, symbols, self.currency, self.now_ms()
        )

    def take_contract_events(self) -> list[FundingPayment | Liquidation]:
        """The funding payments and liquidations since the last call."""
        out, self._contract_events = self._contract_events, []
        return out

    def last_price(self, symbol: str) -> float | None:
        """The paper market's last trade price of ``symbol``."""
        if self.core is None:
            return None
        sid = self._sids.get(symbol) or joined_symbol_id(symbol)
        if self._quiet:
            if sid not in self._quiet_last:
                self._quiet_last[sid] = self._quiet_price(sid)
            return self._quiet_last[sid]
        price = self.core.last_price(sid)
        return None if price is None else float(price)

    def above(self, symbol: str, floor: float) -> bool:
        """Whether :meth:`last_price` of ``symbol`` is surely above ``floor``, told by the last
        bar kept aside alone (no price is computed): it is ``symbol``'s and trades (holds a lot
        or more, as :meth:`_quiet_price` decides), so the last trade is at its close on the
        tick, and the close is a tick or more above ``floor`` (on the tick it moves half a
        tick at most). False when that bar cannot tell: read :meth:`last_price`."""
        if not self._quiet:
            return False
        sid = self._quiet_sid
        if self.symbols.get(sid) != symbol:
            return False
        bar = self._quiet[sid][-1]
        steps = self._steps.get(sid) or self._steps_of(sid)
        return bar.volume > steps[1] * 1.000001 and bar.close >= floor + steps[4]

    def _steps_of(self, sid: str) -> tuple[Decimal, float, int | None, Decimal, float, int | None]:
        """``sid``'s lot, its float and places; tick, its float and places (kept)."""
        assert self._market is not None
        lot, tick = self._market.lot_step(sid), self._market.tick_size(sid)
        steps = (lot, float(lot), decimal_places(lot), tick, float(tick), decimal_places(tick))
        self._steps[sid] = steps
        return steps

    def _quiet_price(self, sid: str) -> float | None:
        """``sid``'s last trade price once the bars kept aside are played: the close (on the
        tick) of the last one that trades, else the engine's."""
        assert self.core is not None and self._market is not None
        steps = self._steps.get(sid) or self._steps_of(sid)
        lot, lot_f, places, tick, tick_f, tick_places = steps
        for bar in reversed(self._quiet.get(sid, ())):
            # a volume a millionth above a lot holds one (lots_in's float edge): no need to ask
            # (:meth:`above` reads the same test)
            if bar.volume > lot_f * 1.000001 or lots_in(bar.volume, lot, lot_f, places) > 0:
                ticks = on_tick_fast(bar.close, tick, tick_f)
                if tick_places is not None:  # n / 10**k, correctly rounded: the same float
                    return ticks / 10**tick_places
                return float(ticks * tick)
        price = self.core.last_price(sid)
        return None if price is None else float(price)

    # ------------------------------------------------------------------ engine events
    def _read_balances(self) -> dict[str, Balance]:
        assert self.core is not None
        snap = self.core.balances(self._account)
        return {a: Balance(float(f), float(lk)) for a, (f, lk) in snap.items()}

    def _on_order_event(self, _topic: str, event: object) -> None:
        assert isinstance(event, OrderEvent)
        order = event.order
        cid, xid, status = order.client_order_id, str(order.order_id), order.status
        if status is OrderStatus.NEW or status is OrderStatus.PARTIALLY_FILLED:  # is_open
            self._resting[cid] = order
        else:
            self._resting.pop(cid, None)
        reports = self._reports
        if event.execution_type is ExecutionType.TRADE:
            fill = ExchangeFill(
                str(event.trade_id),
                float(event.last_price),
                float(event.last_qty),
                float(event.commission),
                event.commission_asset,
                event.time_ms,
                event.is_maker,
            )
            reports.append(FillReport(cid, xid, fill))
        reject = event.reject_reason
        filled = float(order.executed_qty)
        reports.append(
            OrderReport(
                cid,
                xid,
                _exchange_status(status, filled),
                filled,
                float(order.orig_qty),
                None if reject is None else str(reject.value),
                event.time_ms,
            )
        )

    def _on_contract_event(self, _topic: str, event: object) -> None:
        found = paper_contracts.event_of(event, self.symbols)
        if found is not None:
            self._contract_events.append(found)

    def _on_balance_event(self, _topic: str, event: object) -> None:
        assert isinstance(event, BalanceEvent)
        changed = {a: Balance(float(f), float(lk)) for a, (f, lk) in event.balances.items()}
        self._balances.update(changed)
        self._reports.append(BalanceReport(changed, event.time_ms))
