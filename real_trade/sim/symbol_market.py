"""One symbol of the simulated exchange: its engine, market data, market pump and publishing.

:class:`SymbolMarket` bundles a symbol's :class:`~real_trade.sim.matching.MatchingEngine`, its
:class:`~real_trade.sim.klines.KlineBook` and :class:`~real_trade.sim.tape.Tape`, the depth
update ids and (for symbols the market source plays) the
:class:`~real_trade.sim.liquidity.SymbolLiquidity` that turns the source's ticks into trades.
After every operation :meth:`SymbolMarket.flush` publishes what the engine recorded, in order:
``sim.trade.<SYMBOL>``, ``sim.depth.<SYMBOL>`` (contiguous update ids), ``sim.kline.<SYMBOL>``,
``sim.order.<account_id>`` and ``sim.balance.<account_id>``; user fills go to the
:class:`~real_trade.sim.history.OrderHistory`. It holds no lock: the exchange core calls it under
its own.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal

from real_trade.sim.accounts import Account
from real_trade.sim.history import OrderHistory
from real_trade.sim.klines import KlineBook, LaterMinute, MinuteTrades
from real_trade.sim.liquidity import MarketMakers, SymbolLiquidity, flow_step_of
from real_trade.sim.market import CandleHistorySource, MarketSource, MarketTick
from real_trade.sim.matching import MatchingEngine
from real_trade.sim.rules import SymbolRules
from real_trade.sim.settlement import Settlement
from real_trade.sim.tape import Tape
from real_trade.sim.types import (
    ZERO,
    AvgPrice,
    BalanceEvent,
    BookTicker,
    DepthSnapshot,
    DepthUpdate,
    Side,
    Ticker24h,
)

__all__ = ["PUMP_WINDOW_TICKS", "Publish", "SymbolMarket"]

Publish = Callable[[str, object], None]
"""Where a symbol's events go: ``publish(topic, event)``."""

PUMP_WINDOW_TICKS = 2_000
"""At most this many market ticks are fetched from the source at once."""

_log = logging.getLogger(__name__)
_Q8 = Decimal("0.00000001")
_WIDEN = Decimal("1e-18")  # past the rounding of the average's sums and quotient (28 digits)
_MAX_WINDOW_MS = 86_400_000
_WINDOW_TARGET_TICKS = 256
_SKIP_LOG_EVERY_S = 10.0
_DAY_MS = 86_400_000


def _always(_topic: str) -> bool:
    return True


class SymbolMarket:
    """A symbol's engine, klines, tape, depth ids and liquidity, and the publishing of changes.

    ``accounts`` is where the engine looks up order owners and ``fee_account`` collects fees;
    ``rng`` draws generated client order ids. With a ``source`` that plays the symbol (and the
    ``makers`` that trade it), pre-start klines come from its history and the ladder opens at
    its reference price at ``start_ms``; without one (``liquidity`` None) the book holds user
    orders only. ``pumped_ms`` is how far the source has been played. What grows with market
    time is kept in bounded windows: the last ``max_tape_trades`` trades and
    ``max_kline_bars`` one-minute bars.
    """

    def __init__(
        self,
        rules: SymbolRules,
        *,
        accounts: Mapping[int, Account],
        fee_account: Account,
        rng: random.Random,
        history: OrderHistory,
        publish: Publish,
        start_ms: int,
        max_kline_bars: int = 100_000,
        max_tape_trades: int = 50_000,
        source: MarketSource | None = None,
        makers: MarketMakers | None = None,
        settlement: Settlement | None = None,
        after_flush: Callable[[int], None] | None = None,
        listens: Callable[[str], bool] | None = None,
    ) -> None:
        """Build the symbol's engine, klines and tape, and open the ladder when it is played.

        ``settlement`` overrides the instrument's (a perpetual's comes with the core's ledger);
        ``after_flush(now_ms)`` runs after every :meth:`flush` (the core's contract upkeep:
        mark, funding, liquidations). ``listens(topic)`` tells whether anyone receives
        ``topic``'s events now (None: always): the market-data and balance events nobody
        receives are not built (books, depth ids, klines and balances are kept all the same).
        """
        sym = rules.symbol
        self._trade_topic, self._depth_topic = f"sim.trade.{sym}", f"sim.depth.{sym}"
        self._kline_topic = f"sim.kline.{sym}"
        self._account_topics: dict[int, tuple[str, str]] = {}  # sim.order.N, sim.balance.N
        self.engine = MatchingEngine(rules, accounts, fee_account, rng=rng, settlement=settlement)
        self.after_flush = after_flush
        self.source = source
        self.tape = Tape(sym, max_trades=max_tape_trades)
        self.pumped_ms = start_ms
        self.skipped_ms = 0
        self.quiet_trade_ms: int | None = None  # the last trade recorded by record_quiet
        self._window_ms = 60_000
        self._skip_logged = -_SKIP_LOG_EVERY_S
        self.update_id = 0
        self._accounts = accounts
        self._history = history
        self._publish = publish
        self._listens = listens if listens is not None else _always
        self.liquidity: SymbolLiquidity | None = None
        if source is None:
            self.klines = KlineBook(sym, live_start_ms=start_ms, max_bars=max_kline_bars)
            return
        seed_price = source.reference_price(sym, start_ms)
        deep = source if isinstance(source, CandleHistorySource) else None
        self.klines = KlineBook(
            sym,
            live_start_ms=start_ms,
            seed_price=seed_price,
            history=lambda end, n: source.history(sym, end, n),
            max_bars=max_kline_bars,
            candles=None if deep is None else lambda i, a, b: deep.candles(sym, i, a, b),
            history_start_ms=None if deep is None else deep.first_ms(),
        )
        if makers is not None:
            step = flow_step_of(source, sym, rules.base_asset_precision)
            self.liquidity = SymbolLiquidity(self.engine, source.book_shape(sym), makers, step)
            self.liquidity.quote(seed_price, start_ms)
            self.flush(start_ms)

    @property
    def symbol(self) -> str:
        """The symbol's id (``"BTCUSDT"``)."""
        return self.engine.symbol

    # ---------------------------------------------------------------- market pump
    def pump(self, target_ms: int, deadline: float | None = None) -> int:
        """Play the source's ticks up to ``target_ms`` (each re-quotes, trades, publishes).

        Ticks are fetched in windows of at most :data:`PUMP_WINDOW_TICKS`, so a long stretch
        of market time never sits in memory at once. With a ``deadline`` (a
        ``time.monotonic()`` instant) the pump stops playing when it passes and skips the
        rest of the stretch (the market jumps to ``target_ms``; :attr:`skipped_ms` counts it),
        so a simulator asked for more market time than it can play stays current and answers.
        """
        liquidity, source = self.liquidity, self.source
        if source is None or liquidity is None or target_ms <= self.pumped_ms:
            self.roll(target_ms)
            return 0
        played = 0
        while self.pumped_ms < target_ms:
            if deadline is not None and played and time.monotonic() >= deadline:
                self._skip(target_ms)
                break
            end = min(target_ms, self.pumped_ms + self._window_ms)
            ticks = source.ticks(self.symbol, self.pumped_ms, end)
            if len(ticks) > PUMP_WINDOW_TICKS and end - self.pumped_ms > 1:
                self._window_ms = max(1, (end - self.pumped_ms) // 4)  # too dense: narrower
                continue
            for tick in ticks:
                self.roll(tick.ts_ms)
                liquidity.play(tick)
                self.flush(tick.ts_ms)
            self.pumped_ms = end
            played += len(ticks)
            if len(ticks) < _WINDOW_TARGET_TICKS // 2:  # short windows: the deadline is seen
                self._window_ms = min(self._window_ms * 2, _MAX_WINDOW_MS)
        self.roll(target_ms)
        return played

    def _skip(self, target_ms: int) -> None:
        """Jump the pump to ``target_ms`` without playing the ticks in between (overload)."""
        gap = target_ms - self.pumped_ms
        self.skipped_ms += gap
        self.pumped_ms = target_ms
        now = time.monotonic()
        if now - self._skip_logged >= _SKIP_LOG_EVERY_S:
            self._skip_logged = now
            _log.warning(
                "%s: the simulator cannot play the market as fast as its clock runs; skipped "
                "%.0f market seconds (%.0f in all): lower --speed, or use fewer symbols",
                self.symbol,
                gap / 1000,
                self.skipped_ms / 1000,
            )

    def record_quiet(
        self,
        minutes: Sequence[MinuteTrades | LaterMinute],
        last_price: Decimal | None,
        last_trade_ms: int | None,
        now_ms: int,
    ) -> None:
        """Record trades the market made while no user order could meet them, without playing
        them through the ladder and the engine (the paper fast path, see
        :class:`~real_trade.execution.paper.PaperExecution`).

        The 1m klines (and so every interval and the average price), the trade ids, the last
        price and the last trade's time (``last_trade_ms``) end as if they had been played; the
        market stands at ``now_ms`` (the path's end). Not kept for them: the 1s klines (they
        start again after), the tape, depth ids, and the kline and trade events on the bus.
        The ladder still quotes the price before them: the next played tick re-quotes it.
        """
        engine, klines = self.engine, self.klines
        count = sum(minute.trades for minute in minutes)
        if count:
            klines.add_minutes(minutes, engine.take_trade_ids(count))
        if last_price is not None:
            engine.last_price = last_price
        if last_trade_ms is not None:
            self.quiet_trade_ms = last_trade_ms
        klines.roll_quietly(now_ms)
        self.pumped_ms = max(self.pumped_ms, now_ms)

    def pass_tick(self, tick: MarketTick) -> bool:
        """Play ``tick`` as :meth:`pump` would, its flow's trade recorded instead of matched
        (the paper fast path, when no user order of the symbol rests: the flow would meet only
        the ladder's hit level, so it trades the tick's volume at its price, one trade id).

        The ladder ends as the flow leaves it (:meth:`SymbolLiquidity.pass_tick`); the trade
        goes to the 1m kline, the trade ids, the last price and the last trade's time as
        :meth:`record_quiet` records one (not to the tape, the 1s klines or the bus). False,
        with nothing done, when the symbol has no ladder or ``tick`` is not the source's only
        tick up to its time (then :meth:`pump` plays them).
        """
        liquidity, source, ts = self.liquidity, self.source, tick.ts_ms
        if liquidity is None or source is None or ts <= self.pumped_ms:
            return False
        if source.ticks(self.symbol, self.pumped_ms, ts) != [tick]:
            return False  # other ticks to play first
        qty = liquidity.pass_tick(tick)
        if qty is None:
            return False
        if not qty:  # a quote: the ladder only moved
            self.roll(ts)
            self.flush(ts)
            self.pumped_ms = ts
            return True
        self.flush(ts)
        price = tick.price
        quote = price * qty
        buy = tick.taker_side is Side.BUY  # the taker buys: the buyer is no maker
        minute = MinuteTrades(
            ts - ts % 60_000,
            price,
            price,
            price,
            price,
            qty,
            quote,
            1,
            qty if buy else ZERO,
            quote if buy else ZERO,
        )
        self.record_quiet((minute,), price, ts, ts)
        return True

    # ---------------------------------------------------------------- publishing
    def roll(self, now_ms: int) -> None:
        """Open kline bars up to ``now_ms`` and publish the 1m klines that closed."""
        topic = self._kline_topic
        if not self._listens(topic):
            self.klines.roll(now_ms, build=False)
            return
        for k in self.klines.roll(now_ms):
            self._publish(topic, k)

    def flush(self, now_ms: int) -> None:
        """Publish what the engine recorded: trades, depth diff, kline, orders, balances."""
        out = self.engine.drain()
        sym, publish, listens = self.symbol, self._publish, self._listens
        if out.trades:
            topic = self._trade_topic
            tell = listens(topic)
            for trade in out.trades:
                self.tape.add(trade)
                self.klines.on_trade(trade)
                if tell:
                    publish(topic, trade)
        book = self.engine.book
        if book.has_changes():
            topic = self._depth_topic
            first = self.update_id + 1
            if listens(topic):
                bids, asks = book.drain_changes()
                self.update_id += len(bids) + len(asks)
                publish(topic, DepthUpdate(sym, first, self.update_id, bids, asks, now_ms))
            else:
                self.update_id += book.forget_changes()
        if out.trades and listens(self._kline_topic):
            cur = self.klines.current(now_ms)
            if cur is not None:
                publish(self._kline_topic, cur)
        for account_id, fill in out.fills:
            self._history.add_fill(account_id, fill)
        topics = self._account_topics
        for ev in out.order_events:
            account_id = ev.order.account_id
            pair = topics.get(account_id) or self._topics_of(account_id)
            publish(pair[0], ev)
        for account_id, assets in out.touched.items():
            pair = topics.get(account_id) or self._topics_of(account_id)
            if not listens(pair[1]):
                continue  # the market's own accounts, mostly
            acct = self._accounts[account_id]
            snap = {}
            for asset in sorted(assets):
                bal = acct.balance(asset)
                snap[asset] = (bal.free, bal.locked)
            publish(pair[1], BalanceEvent(account_id, snap, now_ms))
        if self.after_flush is not None:
            self.after_flush(now_ms)

    def _topics_of(self, account_id: int) -> tuple[str, str]:
        """An account's order and balance topics (made once)."""
        pair = self._account_topics[account_id] = (
            f"sim.order.{account_id}",
            f"sim.balance.{account_id}",
        )
        return pair

    # ---------------------------------------------------------------- market data
    def depth(self, limit: int) -> DepthSnapshot:
        """Aggregated book snapshot with the last depth update id it reflects."""
        bids, asks = self.engine.book.depth(limit)
        return DepthSnapshot(self.update_id, bids, asks)

    def book_ticker(self) -> BookTicker:
        """Best bid and ask."""
        bid, ask = self.engine.book.bids.best(), self.engine.book.asks.best()
        return BookTicker(
            self.symbol,
            self.update_id,
            bid.price if bid else None,
            bid.qty if bid else ZERO,
            ask.price if ask else None,
            ask.qty if ask else ZERO,
        )

    def last_price(self) -> Decimal | None:
        """The last trade price (else the last known close or reference price)."""
        last = self.engine.last_price
        return last if last is not None else self.klines.last_close()

    def average(self, now_ms: int) -> Decimal | None:
        """Volume-weighted average price over ``avg_price_mins`` (else the last price)."""
        mins = self.engine.rules.avg_price_mins
        sums = self.klines.volumes(now_ms - mins * 60_000 + 1, now_ms)
        if sums is not None and sums[0]:
            return (sums[1] / sums[0]).quantize(_Q8, ROUND_HALF_EVEN)
        return self.last_price()

    def market_average(self, now_ms: int, quantity: Decimal) -> Decimal | None:
        """The average price a MARKET order for ``quantity`` has its notional checked with:
        None (the check is skipped) when the filter passes at every price the window's trades
        could average (:meth:`~real_trade.sim.klines.KlineBook.average_range`, widened past
        the average's rounding), so the minutes kept aside by the paper fast path need no
        summing; else :meth:`average`. The order's outcome is the same either way."""
        rules = self.engine.rules
        mins = rules.avg_price_mins
        bounds = self.klines.average_range(now_ms - mins * 60_000 + 1, now_ms)
        if bounds is not None:
            low, high = bounds
            low, high = low - low * _WIDEN - _Q8, high + high * _WIDEN + _Q8
            if rules.market_notional_passes(quantity, low, high):
                return None
        return self.average(now_ms)

    def avg_price(self, now_ms: int) -> AvgPrice:
        """Binance's ``avgPrice``: the average, its window and the last trade's time."""
        trades, quiet = self.tape.trades, self.quiet_trade_ms
        last = trades[-1].time_ms if trades else None
        if quiet is not None and (last is None or quiet > last):
            last = quiet
        return AvgPrice(
            self.engine.rules.avg_price_mins,
            self.average(now_ms) or ZERO,
            last if last is not None else now_ms,
        )

    def ticker_24h(self, now_ms: int) -> Ticker24h:
        """Rolling 24-hour statistics (from the 1m bars)."""
        bid, ask = self.engine.book.bids.best(), self.engine.book.asks.best()
        win = self.klines.window(now_ms - _DAY_MS, now_ms)
        trades = self.tape.trades
        last = self.engine.last_price or self.klines.last_close() or ZERO
        k, prev = (None, None) if win is None else win
        open_ = k.open if k is not None else last
        vol, qvol = (k.volume, k.quote_volume) if k is not None else (ZERO, ZERO)
        change = last - open_
        pct = (change / open_ * 100).quantize(Decimal("0.001")) if open_ else ZERO
        wavg = (qvol / vol).quantize(_Q8, ROUND_HALF_EVEN) if vol else ZERO
        return Ticker24h(
            self.symbol,
            change,
            pct,
            wavg,
            prev if prev is not None else open_,
            last,
            trades[-1].qty if trades else ZERO,
            bid.price if bid else None,
            bid.qty if bid else ZERO,
            ask.price if ask else None,
            ask.qty if ask else ZERO,
            open_,
            k.high if k else last,
            k.low if k else last,
            vol,
            qvol,
            now_ms - _DAY_MS,
            now_ms,
            k.first_trade_id if k else -1,
            k.last_trade_id if k else -1,
            k.trades if k else 0,
        )
