"""The live broker against the simulator: real ccxt/ccxt.pro clients, testnet mode, loopback.

Every scenario runs on every venue (``venue``: Binance, Bybit and OKX, spot and linear
perpetual, see :mod:`tests.integration.live.venues`; ids like ``bybit-spot``, ``okx-perp``),
unless it is spot by nature (then it says why). The venue's store (testnet,
pointed at the simulator serving its face) carries the account; its broker with
``paper_trading=False`` trades it from a real cerebro run. ``PacedFeed`` is a live feed
made for these tests: a bar at the simulator's last price every few milliseconds, until the
scenario says it is done (or its deadline passes, which then fails the assertions).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import backtrader as bt
import pytest

from real_trade.brokers.basebroker import BaseBroker
from real_trade.bus import EventBus
from real_trade.sim import OrderStatus, OrderType, Side, SimExchange
from tests.integration.live.venues import (
    ALL_VENUES,
    BINANCE_SPOT,
    SPOT_VENUES,
    Venue,
    venue_params,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=venue_params(ALL_VENUES))
def venue(request: pytest.FixtureRequest) -> Venue:
    """The venue and market under test (the parameter id names it in every failure)."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def sim(venue: Venue) -> Iterator[SimExchange]:
    """A stepped simulator serving the venue's face: the book stays where it is, so every fill
    is predictable."""
    with venue.simulator(stepped=True, seed=21) as exchange:
        yield exchange


@pytest.fixture(autouse=True)
def _reset_faults(sim: SimExchange) -> Iterator[None]:
    yield
    sim.faults.reset()


class PacedFeed(bt.feed.DataBase):
    """A live feed: one bar at ``price()`` every ``interval`` seconds until ``done()``, or until
    ``timeout`` seconds have passed (a scenario that never gets done fails its assertions).

    The bars are the strategy's chances to look at the scenario, not something it waits on: a
    slow machine gets more of them, never fewer.
    """

    params = (("price", None), ("done", None), ("interval", 0.02), ("timeout", 60.0))

    def islive(self) -> bool:
        return True

    def start(self) -> None:
        super().start()
        self._next_at = 0.0
        self._deadline = time.monotonic() + self.p.timeout

    def _load(self) -> bool | None:
        now = time.monotonic()
        if self.p.done() or now > self._deadline:
            return False
        if now < self._next_at:
            time.sleep(0.002)  # no bar due yet: backtrader asks again at once, so do not spin
            return None
        self._next_at = now + self.p.interval
        price = float(self.p.price())
        stamp = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        self.lines.datetime[0] = bt.date2num(stamp)
        for line in (self.lines.open, self.lines.high, self.lines.low, self.lines.close):
            line[0] = price
        self.lines.volume[0] = 0.0
        return True


class Script(bt.Strategy):
    """Runs ``actions[bar]`` and records notifications; ``finished(strategy)`` ends the run."""

    params = (("actions", None), ("finished", None), ("registry", None))

    def __init__(self) -> None:
        self.p.registry.append(self)
        self.notes: list[tuple[int, str, float, float, float, Any]] = []
        self.refs: list[int] = []
        self.orders: list[Any] = []
        self.first_position: float | None = None
        self.done = False

    def track(self, order: Any) -> Any:
        self.refs.append(order.ref)
        self.orders.append(order)
        return order

    def notify_order(self, order: Any) -> None:
        self.notes.append(
            (
                order.ref,
                order.getstatusname(),
                order.executed.size,
                order.executed.price,
                order.executed.comm,
                order.info.get("reason"),
            )
        )

    def next(self) -> None:
        if self.first_position is None:
            self.first_position = self.position.size
        action = (self.p.actions or {}).get(len(self))
        if action is not None:
            action(self)
        if len(self) > max(self.p.actions or {0: None}) and self.p.finished(self):
            self.done = True

    def statuses(self, nth: int) -> list[str]:
        return [n[1] for n in self.notes if n[0] == self.refs[nth - 1]]

    def last(self, nth: int) -> tuple[int, str, float, float, float, Any]:
        return [n for n in self.notes if n[0] == self.refs[nth - 1]][-1]


def account_totals(sim: SimExchange, key: str) -> dict[str, float]:
    acct = sim.core.account_by_key(key)
    assert acct is not None
    return {a: float(free + locked) for a, (free, locked) in sim.core.balances(acct).items()}


def run_live(
    sim: SimExchange,
    balances: dict[str, float],
    actions: dict[int, Callable[[Script], None]],
    finished: Callable[[Script, BaseBroker, tuple[float, float]], bool],
    venue: Venue = BINANCE_SPOT,
) -> tuple[Script, BaseBroker, str]:
    """Run ``Script`` live on ``venue`` against a fresh simulator account holding ``balances``;
    ``finished`` is asked with the account's ``(cash, position)`` (:meth:`Venue.holdings`);
    return strategy, broker, key."""
    key, secret = venue.create_account(sim, balances)
    store = venue.make_store(sim, key, secret)
    broker = venue.make_broker(store, run_id=f"live{key[:6]}", bus=EventBus())
    registry: list[Script] = []

    def done(strategy: Script) -> bool:
        return bool(finished(strategy, broker, venue.holdings(sim, key)))

    cerebro = bt.Cerebro(quicknotify=True, stdstats=False)
    cerebro.setbroker(broker)
    feed = PacedFeed(
        price=lambda: venue.core(sim).last_price(venue.core_symbol),
        done=lambda: bool(registry) and registry[0].done,
    )
    cerebro.adddata(feed, name=venue.symbol)
    cerebro.addstrategy(Script, actions=actions, finished=done, registry=registry)
    try:
        strategy = cerebro.run()[0]
    finally:
        store.stop()
    return strategy, broker, key


_ENDS = frozenset({"Completed", "Canceled", "Expired", "Margin", "Rejected"})


def settled(orders: int) -> Callable[[Script, BaseBroker, tuple[float, float]], bool]:
    """Done when ``orders`` orders have ended, the strategy has heard each end, and the broker
    shows the simulator's account. (An end booked inside this very ``next()``, as a cancel's
    answer can be when the I/O thread is quick, is notified on the next cycle: stopping on the
    broker's order states alone would stop with that notification still queued.)"""

    def check(s: Script, broker: BaseBroker, holdings: tuple[float, float]) -> bool:
        ended = len(s.orders) >= orders and not any(o.alive() for o in broker.open_orders.values())
        heard = ended and all(
            s.statuses(n)[-1:] and s.statuses(n)[-1] in _ENDS for n in range(1, orders + 1)
        )
        same = (
            abs(broker.getcash() - holdings[0]) < 1e-9
            and abs(broker.getposition(s.data).size - holdings[1]) < 1e-12
        )
        return heard and same

    return check


def last_price(sim: SimExchange, venue: Venue) -> float:
    price = venue.core(sim).last_price(venue.core_symbol)
    assert price is not None
    return float(price)


# spot by nature: BTC held in the spot wallet is the position, the fee is paid in BTC
@pytest.mark.parametrize("venue", venue_params(SPOT_VENUES), indirect=True, scope="module")
def test_holdings_at_start_are_positions_and_fills_carry_the_exchange_commission(
    sim: SimExchange, venue: Venue
) -> None:
    ask = float(sim.core.book_ticker(venue.core_symbol).ask_price or 0)

    def trade(s: Script) -> None:
        s.track(s.buy(size=0.01))
        s.track(s.buy(size=0.0123456, exectype=bt.Order.Limit, price=ask * 1.001))  # marketable

    strat, broker, key = run_live(sim, {"USDT": 10_000, "BTC": 0.5}, {2: trade}, settled(2), venue)
    assert strat.first_position == pytest.approx(0.5)  # held before the run
    assert strat.statuses(1) == ["Submitted", "Accepted", "Completed"]
    assert strat.statuses(2) == ["Submitted", "Accepted", "Completed"]
    acct = sim.core.account_by_key(key)
    assert acct is not None
    fills = sim.core.my_trades(acct, venue.core_symbol)
    by_order = {}
    for f in fills:
        by_order.setdefault(f.order_id, []).append(f)
    for nth, order in ((1, strat.orders[0]), (2, strat.orders[1])):
        _, _, size, price, comm, _ = strat.last(nth)
        sim_fills = by_order[int(order.info["exchange_order_id"])]
        qty = sum(f.qty for f in sim_fills)
        assert size == pytest.approx(float(qty))
        assert price == pytest.approx(float(sum(f.price * f.qty for f in sim_fills) / qty))
        assert comm == pytest.approx(float(sum(f.commission * f.price for f in sim_fills)))
        assert {f.commission_asset for f in sim_fills} == {"BTC"}
        booked = order.info["fills"]
        assert sorted(b.trade_id for b in booked) == sorted(str(f.trade_id) for f in sim_fills)
        assert sum(b.commission for b in booked) == pytest.approx(
            float(sum(f.commission for f in sim_fills))
        )
    assert strat.last(2)[2] == pytest.approx(0.01234)  # rounded down to the lot step
    totals = account_totals(sim, key)
    assert broker.getcash() == pytest.approx(totals["USDT"], abs=1e-9)
    assert broker.getposition(strat.data).size == pytest.approx(totals["BTC"], abs=1e-12)
    assert totals["BTC"] == pytest.approx(0.5 + (0.01 + 0.01234) * 0.999)
    assert strat.orders[0].info["client_order_id"].startswith("rt-live")


def test_cancel_reaches_notify_order_and_frees_the_cash(sim: SimExchange, venue: Venue) -> None:
    price = round(last_price(sim, venue) * 0.9, 2)
    actions = {2: lambda s: s.track(s.buy(size=0.01, exectype=bt.Order.Limit, price=price))}

    def cancel_when_accepted(s: Script, broker: BaseBroker, holdings: tuple[float, float]) -> bool:
        order = s.orders[0]
        if order.status == order.Accepted and not order.info.get("cancel_sent"):
            order.addinfo(cancel_sent=True)
            s.cancel(order)
        return settled(1)(s, broker, holdings)

    strat, broker, key = run_live(sim, {"USDT": 1_000}, actions, cancel_when_accepted, venue)
    assert strat.statuses(1) == ["Submitted", "Accepted", "Canceled"]
    (order,) = venue.core(sim).all_orders(venue.account(sim, key), venue.core_symbol)
    assert order.status is OrderStatus.CANCELED
    assert broker.getcash() == pytest.approx(1_000.0)


def test_refusals_reach_notify_order_with_the_exchange_reason(
    sim: SimExchange, venue: Venue
) -> None:
    def orders(s: Script) -> None:
        s.track(s.buy(size=1.0))  # about 60,000 USDT: more than the account holds
        s.track(s.buy(size=0.001, exectype=bt.Order.Limit, price=2_000_000.0))  # > maxPrice
        s.track(s.buy(size=0.00005))  # about 3 USDT: below the minimum (5 spot, 100 perpetual)

    strat, broker, key = run_live(sim, {"USDT": 1_000}, {2: orders}, settled(3), venue)
    reasons = [strat.last(n)[5] for n in (1, 2, 3)]
    assert strat.statuses(1) == ["Submitted", "Margin"], reasons
    assert strat.last(1)[5] == venue.insufficient_reason
    assert strat.statuses(2) == ["Submitted", "Rejected"], reasons
    assert venue.price_filter_reason in strat.last(2)[5]
    assert strat.statuses(3) == ["Submitted", "Rejected"], reasons
    assert venue.min_notional_reason in strat.last(3)[5]
    sent = "client_order_id" in strat.orders[2].info
    assert sent is not venue.min_notional_checked_here  # refused here, or by the exchange
    # the exchange refused the rest
    assert venue.core(sim).all_orders(venue.account(sim, key), venue.core_symbol) == []
    assert broker.getcash() == pytest.approx(1_000.0)


@pytest.mark.parametrize("fault", ["503", "timeout"])
def test_an_ambiguous_submit_leaves_exactly_one_order_and_the_strategy_sees_it(
    sim: SimExchange,
    venue: Venue,
    fault: str,
) -> None:
    def buy(s: Script) -> None:
        sim.faults.ambiguous_next(1, fault)  # type: ignore[arg-type]
        s.track(s.buy(size=0.01))

    strat, broker, key = run_live(sim, {"USDT": 5_000}, {2: buy}, settled(1), venue)
    assert strat.statuses(1) == ["Submitted", "Accepted", "Completed"]
    placed = venue.core(sim).all_orders(venue.account(sim, key), venue.core_symbol)
    assert [o.client_order_id for o in placed] == [strat.orders[0].info["client_order_id"]]
    assert placed[0].executed_qty == Decimal("0.01000")
    assert broker.getposition(strat.data).size == pytest.approx(venue.bought(0.01))


def test_a_fill_the_user_stream_never_delivers_is_found_over_rest_once(
    sim: SimExchange, venue: Venue
) -> None:
    """The user stream looks connected but holds everything back: the safety poll finds the
    fill over REST; when the stream delivers it later, it is not counted twice."""
    from real_trade.execution import (
        ExchangeStatus,
        FillReport,
        LiveExecution,
        OrderKind,
        OrderReport,
        OrderRequest,
        OrderSide,
    )
    from tests.support import eventually

    key, secret = venue.create_account(sim, {"USDT": 2_000})
    core = venue.core(sim)
    taker = venue.counterparty(sim)
    store = venue.make_store(sim, key, secret)
    port = LiveExecution(store.client, [venue.symbol], poll_interval_s=0.05, safety_poll_s=0.2)
    seen: list[Any] = []

    def collect() -> list[Any]:
        seen.extend(port.drain())
        return seen

    def reports(cid: str, kind: type) -> list[Any]:
        """The reports of one order (REST fills carry the exchange's order id only)."""
        ids = {
            r.exchange_order_id
            for r in seen
            if isinstance(r, OrderReport) and r.client_order_id == cid
        } - {None}
        return [
            r
            for r in seen
            if isinstance(r, kind) and (r.client_order_id == cid or r.exchange_order_id in ids)
        ]

    try:
        port.start()
        book = core.book_ticker(venue.core_symbol)
        assert book.bid_price is not None and book.ask_price is not None
        best_bid = float(book.bid_price) + 0.01  # inside the spread: first in line
        assert best_bid < float(book.ask_price)
        port.place(
            OrderRequest(
                1,
                venue.symbol,
                OrderSide.BUY,
                OrderKind.LIMIT,
                0.01,
                price=best_bid,
                client_order_id="rt-rest-0001",
            )
        )
        eventually(lambda: collect() and reports("rt-rest-0001", OrderReport), 10)
        sim.faults.pause_user_stream(True)
        sim.call(
            lambda: core.place_order(
                taker, venue.core_symbol, Side.SELL, OrderType.MARKET, quantity=Decimal("0.01")
            )
        )
        eventually(lambda: collect() and reports("rt-rest-0001", FillReport), 10)
        done = eventually(
            lambda: (
                collect()
                and [
                    r
                    for r in reports("rt-rest-0001", OrderReport)
                    if r.status is ExchangeStatus.FILLED
                ]
            ),
            10,
        )
        (fill,) = reports("rt-rest-0001", FillReport)
        assert (fill.fill.price, fill.fill.amount) == (pytest.approx(best_bid), 0.01)
        (trade,) = core.my_trades(venue.account(sim, key), venue.core_symbol)
        assert (fill.fill.commission, fill.fill.commission_asset) == (
            pytest.approx(float(trade.commission)),
            trade.commission_asset,
        )  # the maker fee: 0.00001 BTC on spot, in USDT on a perpetual
        assert trade.commission_asset == ("USDT" if venue.perp else "BTC")
        assert done[0].filled == pytest.approx(0.01)
        sim.faults.pause_user_stream(False)  # the held-back events arrive now, then a new order
        port.place(
            OrderRequest(
                2,
                venue.symbol,
                OrderSide.BUY,
                OrderKind.MARKET,
                0.002,  # above a perpetual's minimum value, 100 USDT
                client_order_id="rt-rest-0002",
            )
        )
        eventually(lambda: collect() and reports("rt-rest-0002", FillReport), 10)
        assert len(reports("rt-rest-0001", FillReport)) == 1
    finally:
        sim.faults.pause_user_stream(False)
        port.stop()
        store.stop()
