"""A partial fill in live (testnet) mode reaches the strategy as the exchange booked it.

On every venue, spot and linear perpetual (``venue``, ids like ``okx-spot``, ``bybit-perp``:
:mod:`tests.integration.live.venues`), the full stack on a stepped simulator serving its
face: the venue's store (``testnet=True, sim_url=...``) -> its data feed (1m, backfill then
live klines from the venue's live source) -> Cerebro (on its own thread) -> its broker
(``paper_trading=False``). The clock only moves when the test says so, so the book stands
still between steps: the strategy's limit buy rests alone at the best bid, and a second
simulator account sells exactly part of it, which is the only execution it can get.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import backtrader as bt
import pytest

from real_trade.brokers.basebroker import BaseBroker
from real_trade.bus import EventBus
from real_trade.feeds import BaseData
from real_trade.feeds.bars import LiveBarSource
from real_trade.feeds.sources import make_live_source
from real_trade.sim import OrderStatus, OrderType, Side, SimExchange, TimeInForce
from real_trade.stores import BaseStore
from tests.integration.live.parity_support import CountingSource, clear_proxy_env, ms_of
from tests.integration.live.venues import ALL_VENUES, Venue, venue_params
from tests.support import eventually

pytestmark = pytest.mark.integration
Note = tuple[int, str, float, float, float, Any]  # ref, status, executed size/price/comm, reason


@pytest.fixture(scope="module", params=venue_params(ALL_VENUES))
def venue(request: pytest.FixtureRequest) -> Venue:
    """The venue and market under test (the parameter id names it in every failure)."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def sim(venue: Venue) -> Iterator[SimExchange]:
    """A stepped simulator serving the venue's face: the book moves only on ``advance``, so
    every fill is predictable."""
    monkeypatch = pytest.MonkeyPatch()
    clear_proxy_env(monkeypatch)
    try:
        with venue.simulator(stepped=True, seed=47) as exchange:
            yield exchange
    finally:
        monkeypatch.undo()


class Trader(bt.Strategy):
    """Runs ``act(self)`` on the bar that opens at ``act_at_ms``; records data states and every
    order notification; with ``cancel_on_partial`` cancels an order at its first Partial."""

    params = (("act", None), ("act_at_ms", None), ("cancel_on_partial", False), ("registry", None))

    def __init__(self) -> None:
        self.p.registry.append(self)
        self.data_states: list[str] = []
        self.notes: list[Note] = []
        self.orders: list[Any] = []

    def notify_data(self, data: Any, status: int, *args: Any, **kwargs: Any) -> None:
        self.data_states.append(data._getstatusname(status))

    def notify_order(self, order: Any) -> None:
        name = order.getstatusname()
        self.notes.append(
            (
                order.ref,
                name,
                order.executed.size,
                order.executed.price,
                order.executed.comm,
                order.info.get("reason"),
            )
        )
        first_partial = name == "Partial" and self.statuses(order.ref).count("Partial") == 1
        if self.p.cancel_on_partial and first_partial:
            self.cancel(order)

    def next(self) -> None:
        if ms_of(bt.num2date(self.data.datetime[0])) == self.p.act_at_ms:
            self.p.act(self)

    def track(self, order: Any) -> Any:
        self.orders.append(order)
        return order

    def statuses(self, ref: int) -> list[str]:
        return [n[1] for n in list(self.notes) if n[0] == ref]

    def notes_of(self, ref: int) -> list[Note]:
        return [n for n in list(self.notes) if n[0] == ref]


@dataclass
class Run:
    """A Cerebro run on its own thread, on a fresh simulator account."""

    sim: SimExchange
    venue: Venue
    key: str
    store: BaseStore
    broker: BaseBroker
    data: BaseData
    cerebro: bt.Cerebro
    thread: threading.Thread
    registry: list[Trader]
    sources: list[CountingSource]
    errors: list[BaseException] = field(default_factory=list)

    @property
    def strategy(self) -> Trader:
        return self.registry[0]

    def wait(self, condition: Callable[[], object], what: str, timeout: float = 20.0) -> Any:
        """Poll ``condition`` (failing at once when Cerebro died); return its value."""

        def check() -> object:
            if self.errors:
                raise AssertionError(f"cerebro failed: {self.errors[0]!r}") from self.errors[0]
            return condition()

        return eventually(check, timeout, message=what)

    def wait_live(self) -> None:
        """Until the feed is LIVE and its bar source says its stream is up (``connected``: for
        Binance's native source, once the venue acknowledged the subscription). The ccxt
        source (Bybit, OKX) gets no candle before the stepped market moves, so the source's
        state is what every venue is waited on, not its first update."""
        self.wait(lambda: self.registry and self.sources, "cerebro started")
        self.wait(
            lambda: "LIVE" in self.strategy.data_states and "connected" in self.sources[0].states,
            "the feed went LIVE with its kline stream up",
        )

    def agrees_with_exchange(self) -> bool:
        """The broker's cash and position equal the simulator's account."""
        cash, position = self.venue.holdings(self.sim, self.key)
        return (
            abs(self.broker.getcash() - cash) < 1e-9
            and abs(self.broker.getposition(self.data).size - position) < 1e-12
        )

    def finish(self) -> None:
        self.cerebro.runstop()
        self.thread.join(20)
        alive = self.thread.is_alive()
        self.store.stop()
        assert not alive, "cerebro did not stop"
        if self.errors:
            raise AssertionError(f"cerebro failed: {self.errors[0]!r}") from self.errors[0]


def start_run(sim: SimExchange, venue: Venue, balances: dict[str, float], **strategy: Any) -> Run:
    """Start ``Trader`` live (testnet mode) on ``venue``, on a fresh account holding
    ``balances``; the feed reads the venue's own live source (``"auto"``), counted."""
    key, secret = venue.create_account(sim, balances)
    store = venue.make_store(sim, key, secret)
    broker = venue.make_broker(store, run_id=f"part{key[:5]}", bus=EventBus())
    sources: list[CountingSource] = []

    def source_factory(client: Any, symbol: str, timeframe: str) -> LiveBarSource:
        sources.append(CountingSource(make_live_source("auto", client, symbol, timeframe)))
        return sources[-1]

    data = venue.data.from_timeframe_string(
        "1m", store, symbol=venue.symbol, history_bars=5, live_source=source_factory, qcheck=0.05
    )
    cerebro = bt.Cerebro(quicknotify=True, stdstats=False)
    cerebro.setbroker(broker)
    cerebro.adddata(data)
    registry: list[Trader] = []
    cerebro.addstrategy(Trader, registry=registry, **strategy)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            cerebro.run()
        except BaseException as exc:  # reported by the test thread, not lost here
            errors.append(exc)

    thread = threading.Thread(target=run, name="cerebro-partial", daemon=True)
    live = Run(sim, venue, key, store, broker, data, cerebro, thread, registry, sources, errors)
    thread.start()
    return live


def best_bid_plus_tick(sim: SimExchange, venue: Venue) -> float:
    """One tick above the best bid, still below the best ask: the first in line to buy."""
    book = venue.core(sim).book_ticker(venue.core_symbol)
    assert book.bid_price is not None and book.ask_price is not None
    price = book.bid_price + Decimal("0.01")
    assert price < book.ask_price
    return float(price)


def test_a_partial_fill_reaches_the_strategy_and_the_rest_is_canceled(
    sim: SimExchange, venue: Venue
) -> None:
    core = venue.core(sim)
    taker = venue.counterparty(sim)
    act_at = sim.clock.now_ms()  # the bar opening now closes at the next advance
    prices: list[float] = []

    def buy_at_the_best_bid(s: Trader) -> None:
        prices.append(best_bid_plus_tick(sim, venue))
        s.track(s.buy(size=0.01, exectype=bt.Order.Limit, price=prices[0]))

    run = start_run(
        sim,
        venue,
        {"USDT": 1_000},
        act=buy_at_the_best_bid,
        act_at_ms=act_at,
        cancel_on_partial=True,
    )
    try:
        run.wait_live()
        sim.advance(60)
        run.wait(
            lambda: (
                run.strategy.orders
                and "Accepted" in run.strategy.statuses(run.strategy.orders[0].ref)
            ),
            "the buy rests at the exchange",
        )
        price = prices[0]
        sold = sim.call(
            lambda: core.place_order(
                taker,
                venue.core_symbol,
                Side.SELL,
                OrderType.LIMIT,
                quantity=Decimal("0.004"),
                price=Decimal(str(price)),
                time_in_force=TimeInForce.IOC,
            )
        )
        assert sold.executed_qty == Decimal("0.004")  # all of it, against our buy alone
        ref = run.strategy.orders[0].ref
        run.wait(lambda: "Canceled" in run.strategy.statuses(ref), "the rest is canceled")
        run.wait(run.agrees_with_exchange, "the broker shows the exchange's account")
    finally:
        run.finish()

    strat = run.strategy
    assert strat.statuses(ref) == ["Submitted", "Accepted", "Partial", "Canceled"]
    acct = venue.account(sim, run.key)
    (fill,) = core.my_trades(acct, venue.core_symbol)
    assert (fill.qty, fill.price, fill.commission_asset) == (
        Decimal("0.004"),
        Decimal(str(price)),
        "USDT" if venue.perp else "BTC",  # a perpetual's fee comes off the wallet
    )
    _, _, size, avg, comm, _ = strat.notes_of(ref)[2]
    assert size == pytest.approx(float(fill.qty))
    assert avg == pytest.approx(float(fill.price))
    fee = fill.commission if venue.perp else fill.commission * fill.price
    assert comm == pytest.approx(float(fee))
    _, _, size_at_cancel, avg_at_cancel, _, _ = strat.notes_of(ref)[3]
    assert (size_at_cancel, avg_at_cancel) == (size, avg)
    cid = strat.orders[0].info["client_order_id"]
    (placed,) = [o for o in core.all_orders(acct, venue.core_symbol) if o.client_order_id == cid]
    assert (placed.status, placed.executed_qty) == (OrderStatus.CANCELED, Decimal("0.004"))
    assert len(core.all_orders(acct, venue.core_symbol)) == 1
    cash, position = venue.holdings(sim, run.key)
    assert run.broker.getcash() == pytest.approx(cash, abs=1e-9)
    assert run.broker.getposition(run.data).size == pytest.approx(position, abs=1e-12)
    assert position == pytest.approx(venue.bought(0.004))
    # spot pays the price; a perpetual's wallet pays only the fee (the position holds the rest)
    assert cash == pytest.approx(1_000 - (float(fill.commission) if venue.perp else 0.004 * price))


def test_a_below_minimum_order_is_rejected_where_the_venue_says_and_never_rests(
    sim: SimExchange, venue: Venue
) -> None:
    act_at = sim.clock.now_ms()
    prices: list[float] = []

    def tiny_then_sentinel(s: Trader) -> None:
        price = best_bid_plus_tick(sim, venue)
        prices.append(price)
        s.track(s.buy(size=0.00005, exectype=bt.Order.Limit, price=price))  # about 3 USDT
        # a valid order far below the market (above a perpetual's minimum value, 100 USDT):
        # once the exchange has it, a wrongly sent tiny order (sent first) would be there too
        s.track(s.buy(size=0.003, exectype=bt.Order.Limit, price=round(price * 0.9, 2)))

    run = start_run(sim, venue, {"USDT": 1_000}, act=tiny_then_sentinel, act_at_ms=act_at)
    acct = venue.account(sim, run.key)
    limiter = venue.limiter(sim)
    assert limiter.order_counts(acct.account_id).count_1d == 0
    try:
        run.wait_live()
        sim.advance(60)
        run.wait(
            lambda: (
                len(run.strategy.orders) == 2
                and "Accepted" in run.strategy.statuses(run.strategy.orders[1].ref)
            ),
            "the sentinel order rests",
        )
    finally:
        run.finish()

    strat = run.strategy
    tiny, sentinel = strat.orders
    assert strat.statuses(tiny.ref) == ["Submitted", "Rejected"]
    assert venue.min_notional_reason in strat.notes_of(tiny.ref)[-1][5]
    sent = "client_order_id" in tiny.info
    assert sent is not venue.min_notional_checked_here  # refused here, or by the exchange
    placed = venue.core(sim).all_orders(acct, venue.core_symbol)
    assert [o.client_order_id for o in placed] == [sentinel.info["client_order_id"]]
    # the order endpoint counts every new-order request, refused ones too: the sentinel only,
    # unless the venue itself had to refuse the tiny one
    assert limiter.order_counts(acct.account_id).count_1d == (2 if sent else 1)
