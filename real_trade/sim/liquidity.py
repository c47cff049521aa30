"""The simulator's own market participants for one symbol: a liquidity provider and the tape flow.

For each :class:`~real_trade.sim.market.MarketTick` the :class:`SymbolLiquidity` re-quotes the
liquidity provider's ladder (shaped by :class:`~real_trade.sim.market.BookShape`) and a flow
account takes ``tick.volume`` on ``tick.taker_side`` with a market order, so the tape, the klines
and the depth come from real matches in the shared matching engine.

The tape prints AT the tick's price: the ladder's best level on the side the taker hits sits
exactly at ``tick.price`` (taker BUY: best ask; taker SELL: best bid) and holds the tick's
volume on top of its usual size, and the other side sits a spread (``2 * half_spread_ticks``
ticks, at least one) away. The flow's order is internal liquidity, not a user order: its
quantity is floored to the source's own ``lot_step(symbol)`` when the source has one (else to
the base asset precision), never to the user LOT_SIZE step, so the traded volume is the
source's volume.

User orders keep price-time priority: the ladder is post-only except its hit level, so a user's
resting order at a better price than the tick (a bid above a SELL tick, an ask below a BUY tick)
is left for the flow, which fills it first and then reaches the provider. The hit level is a
plain limit order: a user order the price jumped through on the other side (an ask below a SELL
tick) is taken by it at the user's price. Quote-only ticks (zero volume) and the opening quote
centre the ladder on the price and trade nothing. Deeper levels sit on a fixed grid of
``level_step_ticks`` ticks, so a small move changes only the top level of each side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from real_trade.sim.accounts import Account
from real_trade.sim.market import BookShape, MarketTick, round_to_step
from real_trade.sim.matching import MatchingEngine
from real_trade.sim.rules import SymbolRules
from real_trade.sim.types import ZERO, Order, OrderType, Side, TimeInForce

__all__ = ["HasLotStep", "MarketMakers", "SymbolLiquidity", "flow_step_of"]

_PLENTY = Decimal(10) ** 15
_HALF_PLENTY = _PLENTY / 2
_Key = tuple[Side, Decimal]
_Sizes = tuple[BookShape, SymbolRules, Decimal, Decimal]


@runtime_checkable
class HasLotStep(Protocol):
    """A market source that knows the quantity step of its volumes (both built-in sources do)."""

    def lot_step(self, symbol: str) -> Decimal:
        """Return the quantity step of ``symbol``'s tick volumes."""
        ...


def flow_step_of(source: object, symbol: str, base_asset_precision: int) -> Decimal:
    """The step the flow's tape orders are floored to: the source's lot step, else the precision."""
    if isinstance(source, HasLotStep):
        step = source.lot_step(symbol)
        if step > 0:
            return step
    return Decimal(1).scaleb(-base_asset_precision)


@dataclass(frozen=True, slots=True)
class MarketMakers:
    """The simulator's own trading accounts, shared by all symbols.

    ``provider`` quotes the ladders and ``flow`` takes the ticks' volume; both are internal
    accounts (no fees, no events). ``next_id`` numbers their client order ids (``sim-lp-N``,
    ``sim-flow-N``).
    """

    provider: Account
    flow: Account
    next_id: Callable[[], int]


def _ensure_funds(account: Account, assets: tuple[str, str]) -> None:
    """Keep an internal account's free balance of each asset far above anything it trades."""
    for asset in assets:
        if account.free(asset) < _HALF_PLENTY:
            account.credit(asset, _PLENTY)


class SymbolLiquidity:
    """The liquidity provider's ladder and the tape flow of one symbol (see the module docstring).

    ``makers`` are the shared internal accounts; ``flow_step`` is what the flow's quantities are
    floored to (:func:`flow_step_of`).
    """

    def __init__(
        self, engine: MatchingEngine, shape: BookShape, makers: MarketMakers, flow_step: Decimal
    ) -> None:
        """Attach to ``engine``; nothing is quoted until :meth:`quote` or :meth:`play`."""
        self.engine = engine
        self.shape = shape
        self.flow_step = flow_step
        self._provider = makers.provider
        self._flow = makers.flow
        self._next_id = makers.next_id
        self._orders: dict[_Key, Order] = {}
        self._anchors: tuple[Decimal | bool, ...] = ()
        self._want: set[_Key] = set()
        self._spent: _Key | None = None  # a level taken as traded (:meth:`pass_tick`)
        self._sizes: _Sizes = self._sizes_of(shape, engine)
        self.tops_only = False
        """Quote only the best level of each side (set by a caller that knows no order can
        walk past it: the paper fast path); the deeper levels follow when it is cleared."""

    @property
    def level_qty(self) -> Decimal:
        """The quantity of one ladder level (the hit level holds the tick's volume on top)."""
        return self._level_sizes()[2]

    def quote(self, price: Decimal, now_ms: int) -> None:
        """Centre the ladder on ``price`` without trading (the opening quote, quote-only ticks)."""
        self._requote(price, now_ms, None, ZERO)

    def play(self, tick: MarketTick) -> None:
        """Re-quote for ``tick`` and, when it has volume, take it on the taker side at its price."""
        qty = (tick.volume // self.flow_step) * self.flow_step if tick.volume > 0 else ZERO
        if qty <= 0:
            self.quote(tick.price, tick.ts_ms)
            return
        taker = Side(tick.taker_side)
        self._requote(tick.price, tick.ts_ms, taker, qty)
        engine = self.engine
        _ensure_funds(self._flow, (engine.rules.base, engine.rules.quote))
        engine.place(
            self._flow,
            taker,
            OrderType.MARKET,
            now_ms=tick.ts_ms,
            quantity=qty,
            validate=False,
            client_order_id=f"sim-flow-{self._next_id()}",
        )

    def pass_tick(self, tick: MarketTick) -> Decimal | None:
        """Leave the ladder as :meth:`play` leaves it after ``tick``, without the flow's trade;
        return the quantity the flow takes (zero: a quote-only tick, quoted as :meth:`play`
        quotes it; None, with nothing done: no ladder, the caller plays the tick).

        For a caller that records the trade itself (at ``tick.price``, one trade id) and knows
        that no user order rests on the symbol, so that the flow would meet only the hit level:
        the paper fast path (:meth:`~real_trade.sim.symbol_market.SymbolMarket.pass_tick`).
        The hit level is placed with what the flow leaves of it (its level quantity) and taken
        as traded: the next re-quote replaces it, as it replaces a level the flow traded.
        """
        if self._level_sizes()[2] <= 0 or self.shape.levels <= 0:
            return None  # no ladder: the flow would find nothing to take
        qty = (tick.volume // self.flow_step) * self.flow_step if tick.volume > 0 else ZERO
        if qty <= 0:
            self.quote(tick.price, tick.ts_ms)
            return ZERO
        taker = tick.taker_side
        side = taker if type(taker) is Side else Side(taker)
        self._requote(tick.price, tick.ts_ms, side, qty, taken=True)
        return qty

    def stand_in(self, side: Side, levels: Iterable[tuple[Decimal, Decimal]], now_ms: int) -> None:
        """Withdraw the ladder and quote ``levels`` ``(price, quantity)`` on ``side`` instead
        (a real book a paper market order walks); a level that would cross an order in the book
        is left out. :meth:`stand_down` removes them; the ladder returns at the next re-quote."""
        engine = self.engine
        engine.cancel_all(self._provider, now_ms=now_ms)
        self._orders.clear()
        _ensure_funds(self._provider, (engine.rules.base, engine.rules.quote))
        other = engine.book.bids.best() if side is Side.SELL else engine.book.asks.best()
        for price, qty in levels:
            amount = engine.rules.floor_qty(qty)
            crosses = other is not None and (
                price <= other.price if side is Side.SELL else price >= other.price
            )
            if amount <= 0 or crosses:
                continue
            engine.place(
                self._provider,
                side,
                OrderType.LIMIT,
                now_ms=now_ms,
                quantity=amount,
                price=price,
                time_in_force=TimeInForce.GTC,
                validate=False,
                client_order_id=f"sim-lp-{self._next_id()}",
            )

    def stand_down(self, now_ms: int) -> None:
        """Cancel what is left of :meth:`stand_in`'s levels (the ladder re-quotes next tick)."""
        self.engine.cancel_all(self._provider, now_ms=now_ms)

    def _ladder(self, top_bid: Decimal, top_ask: Decimal) -> set[_Key]:
        """The ladder's prices: the two tops, then grid levels strictly beyond them."""
        shape = self.shape
        if self.tops_only:  # no deeper level: the grid is not needed
            anchors: tuple[Decimal | bool, ...] = (top_bid, top_ask, True)
            if anchors != self._anchors:
                want = {(Side.SELL, top_ask)}
                if top_bid > 0:
                    want.add((Side.BUY, top_bid))
                self._anchors, self._want = anchors, want
            return self._want
        grid = shape.tick_size * max(1, shape.level_step_ticks)
        bid_grid = (top_bid // grid) * grid  # prices are positive: // floors
        bid_grid = bid_grid - grid if bid_grid >= top_bid else bid_grid
        ask_grid = (top_ask // grid) * grid + grid  # first grid price strictly above
        anchors = (top_bid, bid_grid, top_ask, ask_grid, False)
        if anchors != self._anchors:
            deeper = range(shape.levels - 1)
            want = {(Side.SELL, top_ask)} | {(Side.SELL, ask_grid + i * grid) for i in deeper}
            want |= {
                (Side.BUY, p) for p in [top_bid, *(bid_grid - i * grid for i in deeper)] if p > 0
            }
            self._anchors, self._want = anchors, want
        return self._want

    def _requote(
        self, ref: Decimal, now: int, taker: Side | None, size: Decimal, taken: bool = False
    ) -> None:
        """Replace only the ladder levels that changed (or traded) for reference price ``ref``
        (``taken``: the hit level is placed as the flow leaves it, see :meth:`pass_tick`)."""
        spent, self._spent = self._spent, None
        shape, engine = self.shape, self.engine
        _shape, _rules, qty, spread = self._level_sizes()
        if qty <= 0 or shape.levels <= 0:
            return
        tick = shape.tick_size
        hit: _Key | None = None
        if taker is None:
            center = round_to_step(ref, tick)
            top_bid = center - shape.half_spread_ticks * tick
            top_ask = center + max(1, shape.half_spread_ticks) * tick
        else:
            top_bid, top_ask = (ref - spread, ref) if taker is Side.BUY else (ref, ref + spread)
            hit = (Side.SELL, ref) if taker is Side.BUY else (Side.BUY, ref)
        want = self._ladder(top_bid, top_ask)
        lp, book = self._provider, self._orders
        for key, order in list(book.items()):
            # every level is placed with its wanted size: any execution means it needs a refill
            size_ok = order.orig_qty == (qty + size if key == hit else qty)
            traded = order.executed_qty or key == spent or (taken and key == hit)
            if traded or key not in want or not size_ok:
                if order.is_open:
                    engine.withdraw(order, lp, now_ms=now)
                del book[key]
        missing = want - book.keys()
        if not missing:
            return
        _ensure_funds(lp, (engine.rules.base, engine.rules.quote))
        if hit is not None and hit in missing:
            missing.discard(hit)
            self._place(hit, qty if taken else qty + size, now)
            if taken:
                self._spent = hit
        # post-only from here: a level that would cross a user order is left out, so that the
        # flow reaches the user first (the ladder itself never crosses)
        best_bid, best_ask = engine.book.bids.best(), engine.book.asks.best()
        bid_px = best_bid.price if best_bid is not None else None
        ask_px = best_ask.price if best_ask is not None else None
        for side, price in sorted(missing, key=lambda k: (k[0] is Side.BUY, k[1])):
            if side is Side.BUY and ask_px is not None and ask_px <= price:
                continue
            if side is Side.SELL and bid_px is not None and bid_px >= price:
                continue
            self._place((side, price), qty, now)

    def _level_sizes(self) -> _Sizes:
        """:meth:`_sizes_of` the current shape and rules (remembered)."""
        sizes = self._sizes
        if sizes[0] is not self.shape or sizes[1] is not self.engine.rules:
            sizes = self._sizes = self._sizes_of(self.shape, self.engine)
        return sizes

    @staticmethod
    def _sizes_of(shape: BookShape, engine: MatchingEngine) -> _Sizes:
        """What :meth:`_requote` derives from the shape and the rules: a level's quantity and
        the spread around a traded price (kept while neither changes)."""
        qty = engine.rules.floor_qty(shape.level_qty)
        spread = max(1, 2 * shape.half_spread_ticks) * shape.tick_size
        return shape, engine.rules, qty, spread

    def _place(self, key: _Key, qty: Decimal, now: int) -> None:
        """Place one ladder level as a GTC limit order and remember it while it rests."""
        order = self.engine.place_quote(
            self._provider,
            key[0],
            key[1],
            qty,
            now_ms=now,
            client_order_id=f"sim-lp-{self._next_id()}",
        )
        if order.is_open:
            self._orders[key] = order
