"""Restart recovery against the simulator: the journal, the exchange and the broker agree.

Each test trades a simulator account through ``BaseBroker(paper_trading=False)`` with a
journal, stops (or pretends to crash), changes the world while the bot is "down" (a counter-party
fills the resting order, an intent is left without an answer), then starts a second broker with
the same journal and run id, as a restarted bot would, and checks what recovery did: orders the
exchange has are never sent again, fills that happened while down are journaled once, open orders
are adopted and reach the strategy's ``notify_order``, the broker equals the exchange account.
The journal runs on SQLite and on PostgreSQL (``journal_url``).

Every scenario runs on every venue, spot and linear perpetual (``venue``:
:mod:`tests.integration.live.venues`, ids like ``okx-spot-sqlite``, ``bybit-perp-sqlite``).
The journal's backend does not depend on the venue, so PostgreSQL runs on Binance spot only and
the other venues on SQLite (:data:`JOURNALS`): the same journal code is proven on both
backends, and the same recovery on every venue, at a fraction of the cost of the full cross.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import backtrader as bt
import pytest

from real_trade.brokers.basebroker import BaseBroker
from real_trade.bus import EventBus
from real_trade.persistence import Journal, OrderIntent
from real_trade.sim import OrderType, Side, SimExchange, TimeInForce
from tests.conftest import journal_database
from tests.integration.live.test_broker_live import PacedFeed, Script
from tests.integration.live.venues import ALL_VENUES, BINANCE_SPOT, Venue
from tests.support import eventually

JOURNALS = [(BINANCE_SPOT, "sqlite"), (BINANCE_SPOT, "postgres")] + [
    (v, "sqlite") for v in ALL_VENUES if v is not BINANCE_SPOT
]
"""(venue, journal backend): both backends on one venue, every other venue on SQLite."""
pytestmark = pytest.mark.integration


def on(pairs: list[tuple[Venue, str]]) -> pytest.MarkDecorator:
    """Run a scenario on each ``(venue, journal backend)`` of ``pairs``."""
    params = [pytest.param(v, j, id=f"{v.id}-{j}") for v, j in pairs]
    return pytest.mark.parametrize(("venue", "journal_backend"), params, scope="module")


EVERY_VENUE = on(JOURNALS)


@pytest.fixture
def journal_url(
    request: pytest.FixtureRequest, tmp_path: object, journal_backend: str
) -> Iterator[str]:
    """The journal on this case's backend (the suite's ``journal_url``, paired with a venue)."""
    yield from journal_database(journal_backend, request, tmp_path)


@pytest.fixture(scope="module")
def sim(venue: Venue) -> Iterator[SimExchange]:
    """A stepped simulator serving the venue's face: the book stays where it is, so every fill
    is predictable."""
    with venue.simulator(stepped=True, seed=33) as exchange:
        yield exchange


@pytest.fixture(autouse=True)
def _reset_faults(sim: SimExchange) -> Iterator[None]:
    yield
    sim.faults.reset()


class Bot(Script):
    """``Script`` whose ``finished`` is asked on every bar (actions keep their bar numbers)."""

    def next(self) -> None:
        if self.first_position is None:
            self.first_position = self.position.size
        action = (self.p.actions or {}).get(len(self))
        if action is not None:
            action(self)
        self.done = bool(self.p.finished(self))


def every_bar(action: Callable[[Script], None]) -> dict[int, Callable[[Script], None]]:
    """Run ``action`` on each of the feed's bars."""
    return dict.fromkeys(range(1, 401), action)


class Run:
    """One start of the bot: a store, a broker with the journal, a cerebro run of ``Script``."""

    def __init__(
        self, sim: SimExchange, venue: Venue, key: str, secret: str, journal_url: str, run_id: str
    ):
        self.sim, self.venue, self.key, self.secret = sim, venue, key, secret
        self.journal_url, self.run_id = journal_url, run_id
        self.bus = EventBus(synchronous=True)
        self.topics: list[tuple[str, Any]] = []
        self.bus.subscribe("reconcile.**", lambda t, e: self.topics.append((t, e)))

    def go(
        self,
        actions: dict[int, Callable[[Script], None]],
        finished: Callable[[Script, BaseBroker], bool],
        **broker_kwargs: Any,
    ) -> tuple[Script, BaseBroker]:
        journal = Journal(self.journal_url)
        journal.attach(self.bus)
        store = self.venue.make_store(self.sim, self.key, self.secret)
        broker = self.venue.make_broker(
            store,
            run_id=self.run_id,
            bus=self.bus,
            journal=journal,
            **broker_kwargs,
        )
        registry: list[Script] = []
        cerebro = bt.Cerebro(quicknotify=True, stdstats=False)
        cerebro.setbroker(broker)
        feed = PacedFeed(
            price=lambda: self.venue.core(self.sim).last_price(self.venue.core_symbol),
            done=lambda: bool(registry) and registry[0].done,
        )
        cerebro.adddata(feed, name=self.venue.symbol)
        cerebro.addstrategy(
            Bot, actions=actions, registry=registry, finished=lambda s: finished(s, broker)
        )
        try:
            strategy = cerebro.run()[0]
        finally:
            store.stop()
            journal.close()
        return strategy, broker


def _limit_price(sim: SimExchange, venue: Venue, below: float = 0.97) -> float:
    price = venue.core(sim).last_price(venue.core_symbol)
    assert price is not None
    return round(float(price) * below, 2)


def _fill_from_counterparty(sim: SimExchange, venue: Venue, price: float, qty: float) -> None:
    """Another account sells through every bid down to ``price`` plus ``qty``: a resting buy
    of ours for ``qty`` at ``price`` fills completely."""
    limit = Decimal(str(price))
    core = venue.core(sim)
    bids = core.depth(venue.core_symbol, 5000).bids
    ahead = sum((q for p, q in bids if p >= limit), Decimal(0))
    place = functools.partial(
        core.place_order,
        venue.counterparty(sim),
        venue.core_symbol,
        Side.SELL,
        OrderType.LIMIT,
        quantity=ahead,
        price=limit,
        time_in_force=TimeInForce.IOC,
    )
    sim.call(place)


def _ours(sim: SimExchange, venue: Venue, key: str) -> Any:
    return venue.account(sim, key)


def _accepted(s: Script, broker: BaseBroker) -> bool:
    return bool(s.orders) and s.orders[0].status == bt.Order.Accepted


def _agrees(sim: SimExchange, venue: Venue, key: str) -> Callable[[Script, BaseBroker], bool]:
    def check(s: Script, broker: BaseBroker) -> bool:
        cash, position = venue.holdings(sim, key)
        return (
            abs(broker.getcash() - cash) < 1e-6
            and abs(broker.getposition(s.data).size - position) < 1e-9
        )

    return check


@EVERY_VENUE
def test_an_order_filled_while_down_is_journaled_once_and_the_broker_follows_the_exchange(
    sim: SimExchange, venue: Venue, journal_url: str
) -> None:
    key, secret = venue.create_account(sim, {"USDT": 5_000})
    price = _limit_price(sim, venue)
    first = Run(sim, venue, key, secret, journal_url, "down1")
    buy = {2: lambda s: s.track(s.buy(size=0.01, exectype=bt.Order.Limit, price=price))}
    strat, _ = first.go(buy, _accepted)
    cid = strat.orders[0].info["client_order_id"]
    assert [o.client_order_id for o in venue.core(sim).open_orders(_ours(sim, venue, key))] == [cid]

    _fill_from_counterparty(sim, venue, price, 0.01)  # the bot is down while this happens
    trades = venue.core(sim).my_trades(_ours(sim, venue, key), venue.core_symbol)
    assert len(trades) == 1

    second = Run(sim, venue, key, secret, journal_url, "down1")
    strat2, broker2 = second.go({}, _agrees(sim, venue, key))
    assert broker2.recovery is not None
    assert broker2.recovery.resolved == {cid: "Completed"}
    assert broker2.recovery.fills_recovered == 1
    kinds = [t for t, _ in second.topics]
    assert "reconcile.fill_recovered" in kinds and "reconcile.intent_resolved" in kinds
    cash, position = venue.holdings(sim, key)
    assert broker2.getposition(strat2.data).size == pytest.approx(position)
    assert broker2.getcash() == pytest.approx(cash)

    third = Run(sim, venue, key, secret, journal_url, "down1")  # and once more: nothing new
    _, broker3 = third.go({}, _agrees(sim, venue, key))
    assert broker3.recovery.fills_recovered == 0 and not broker3.recovery.resolved
    with Journal(journal_url) as journal:
        fills = journal.fills(strategy="down1")
        assert [f.trade_id for f in fills] == [str(trades[0].trade_id)]
        assert fills[0].amount == pytest.approx(float(trades[0].qty))
        (row,) = journal.orders(strategy="down1")
        assert row.client_order_id == cid and row.state == "COMPLETED"
    assert (
        len(venue.core(sim).all_orders(_ours(sim, venue, key), venue.core_symbol)) == 1
    )  # never sent twice


@EVERY_VENUE
def test_an_order_open_at_restart_is_adopted_and_the_strategy_hears_it_complete(
    sim: SimExchange, venue: Venue, journal_url: str
) -> None:
    key, secret = venue.create_account(sim, {"USDT": 5_000})
    price = _limit_price(sim, venue)
    buy = {2: lambda s: s.track(s.buy(size=0.02, exectype=bt.Order.Limit, price=price))}
    strat, _ = Run(sim, venue, key, secret, journal_url, "adopt1").go(buy, _accepted)
    cid = strat.orders[0].info["client_order_id"]

    heard: list[Any] = []

    def note_recovered(s: Script) -> None:
        recovered = [n for n in s.notes if n[1] == "Accepted"]
        if recovered and not heard:
            heard.append(recovered[0])
            _fill_from_counterparty(sim, venue, price, 0.02)

    actions = every_bar(note_recovered)

    def completed(s: Script, broker: BaseBroker) -> bool:
        return any(n[1] == "Completed" for n in s.notes) and _agrees(sim, venue, key)(s, broker)

    strat2, broker2 = Run(sim, venue, key, secret, journal_url, "adopt1").go(actions, completed)
    assert broker2.recovery.adopted and broker2.recovery.adopted[0].request.client_order_id == cid
    statuses = [n[1] for n in strat2.notes]
    assert statuses[:2] == ["Submitted", "Accepted"] and statuses[-1] == "Completed"
    (order,) = broker2._orders.values()
    assert order.info["recovered"] is True and order.info["client_order_id"] == cid
    assert order.executed.size == pytest.approx(0.02)
    assert len(venue.core(sim).all_orders(_ours(sim, venue, key), venue.core_symbol)) == 1
    with Journal(journal_url) as journal:
        assert [r.state for r in journal.orders(strategy="adopt1")] == ["COMPLETED"]
        assert len(journal.fills(strategy="adopt1")) == 1


@EVERY_VENUE
def test_an_intent_without_an_answer_is_settled_by_client_id_and_never_resent(
    sim: SimExchange, venue: Venue, journal_url: str
) -> None:
    key, secret = venue.create_account(sim, {"USDT": 5_000})
    price = _limit_price(sim, venue)
    with Journal(journal_url) as journal:  # a crash right after journaling, before the send
        journal.record_intent(
            OrderIntent(
                client_order_id="rt-lost1-0001",
                strategy="lost1",
                local_id=1,
                symbol=venue.symbol,
                side="buy",
                kind="Limit",
                amount=0.01,
                price=price,
                time_ms=1,
            )
        )
        # ... and a crash after the send, before the answer: the exchange has this one
        journal.record_intent(
            OrderIntent(
                client_order_id="rt-lost1-0002",
                strategy="lost1",
                local_id=2,
                symbol=venue.symbol,
                side="buy",
                kind="Limit",
                amount=0.01,
                price=price,
                time_ms=2,
            )
        )
    sim.call(
        functools.partial(
            venue.core(sim).place_order,
            _ours(sim, venue, key),
            venue.core_symbol,
            Side.BUY,
            OrderType.LIMIT,
            quantity=Decimal("0.01"),
            price=Decimal(str(price)),
            time_in_force=TimeInForce.GTC,
            client_order_id="rt-lost1-0002",
        )
    )

    buy = {3: lambda s: s.track(s.buy(size=0.01, exectype=bt.Order.Limit, price=price))}

    def new_order_accepted(s: Script, broker: BaseBroker) -> bool:
        return len(s.orders) == 1 and s.orders[0].status == bt.Order.Accepted

    run = Run(sim, venue, key, secret, journal_url, "lost1")
    strat, broker = run.go(buy, new_order_accepted)
    assert broker.recovery.lost == ["rt-lost1-0001"]
    assert [a.request.client_order_id for a in broker.recovery.adopted] == ["rt-lost1-0002"]
    assert strat.orders[0].info["client_order_id"] == "rt-lost1-0003"  # the sequence resumed
    cids = sorted(
        o.client_order_id
        for o in venue.core(sim).all_orders(_ours(sim, venue, key), venue.core_symbol)
    )
    assert cids == ["rt-lost1-0002", "rt-lost1-0003"]  # 0001 never sent, 0002 not resent
    with Journal(journal_url) as journal:
        states = {r.client_order_id: r.state for r in journal.orders(strategy="lost1")}
        assert states["rt-lost1-0001"] == "CANCELED"
        assert states["rt-lost1-0002"] == "ACCEPTED"
        lost = journal.orders(strategy="lost1")
        assert "not resent" in (next(r for r in lost if r.state == "CANCELED").reason or "")
        assert [e.kind for e in journal.events(kind="reconcile.intent_lost")]


@EVERY_VENUE
@pytest.mark.parametrize("fault", ["503", "timeout"])
def test_an_ambiguous_submit_is_journaled_once_with_its_fill(
    sim: SimExchange, venue: Venue, journal_url: str, fault: str
) -> None:
    key, secret = venue.create_account(sim, {"USDT": 5_000})
    before = sim.faults.injected.get(f"ambiguous:{fault}", 0)
    sim.faults.ambiguous_next(1, fault)  # type: ignore[arg-type]
    buy = {2: lambda s: s.track(s.buy(size=0.01))}

    def done(s: Script, broker: BaseBroker) -> bool:
        return (
            bool(s.orders)
            and s.orders[0].status == bt.Order.Completed
            and _agrees(sim, venue, key)(s, broker)
        )

    strat, _ = Run(sim, venue, key, secret, journal_url, f"amb{fault[-3:]}").go(buy, done)
    assert sim.faults.injected.get(f"ambiguous:{fault}") == before + 1
    orders = venue.core(sim).all_orders(_ours(sim, venue, key), venue.core_symbol)
    assert len(orders) == 1
    with Journal(journal_url) as journal:
        eventually(lambda: journal.fills(strategy=f"amb{fault[-3:]}"), timeout=10)
        (row,) = journal.orders(strategy=f"amb{fault[-3:]}")
        assert (
            row.client_order_id
            == orders[0].client_order_id
            == strat.orders[0].info["client_order_id"]
        )
        assert row.state == "COMPLETED"
        fills = journal.fills(strategy=f"amb{fault[-3:]}")
        sim_trades = venue.core(sim).my_trades(_ours(sim, venue, key), venue.core_symbol)
        assert sorted(f.trade_id for f in fills) == sorted(str(t.trade_id) for t in sim_trades)


@EVERY_VENUE
def test_a_fill_during_a_dropped_user_data_stream_reaches_the_journal(
    sim: SimExchange, venue: Venue, journal_url: str
) -> None:
    key, secret = venue.create_account(sim, {"USDT": 5_000})
    price = _limit_price(sim, venue)
    state: dict[str, Any] = {}

    def step(s: Script) -> None:
        if not s.orders:
            s.track(s.buy(size=0.01, exectype=bt.Order.Limit, price=price))
        elif s.orders[0].status == bt.Order.Accepted and "dropped" not in state:
            state["dropped"] = True
            sim.faults.pause_user_stream(True)  # the stream goes silent: the fill is held back
            _fill_from_counterparty(sim, venue, price, 0.01)
            sim.faults.drop_connections()  # ... and then the connection drops

    def done(s: Script, broker: BaseBroker) -> bool:
        if state.get("dropped") and not state.get("released"):
            state["released"] = True
            sim.faults.pause_user_stream(False)
        return (
            bool(s.orders)
            and s.orders[0].status == bt.Order.Completed
            and _agrees(sim, venue, key)(s, broker)
        )

    strat, _ = Run(sim, venue, key, secret, journal_url, "drop1").go(every_bar(step), done)
    # within the run, not from the last look at the account when it stops: the fill learned
    # over REST moved a perpetual's position and wallet too
    assert strat.done, "the broker never showed the exchange's account while running"
    assert sim.faults.injected.get("drop_connections", 0) >= 1
    assert strat.orders[0].executed.size == pytest.approx(0.01)
    sim_trades = venue.core(sim).my_trades(_ours(sim, venue, key), venue.core_symbol)
    with Journal(journal_url) as journal:
        fills = eventually(lambda: journal.fills(strategy="drop1"), timeout=10)
        assert [f.trade_id for f in fills] == [str(t.trade_id) for t in sim_trades]


@EVERY_VENUE
def test_an_order_the_exchange_dropped_silently_is_found_by_reconciliation(
    sim: SimExchange, venue: Venue, journal_url: str
) -> None:
    key, secret = venue.create_account(sim, {"USDT": 5_000})
    price = _limit_price(sim, venue)
    state: dict[str, Any] = {}

    def step(s: Script) -> None:
        if not s.orders:
            s.track(s.buy(size=0.01, exectype=bt.Order.Limit, price=price))
        elif s.orders[0].status == bt.Order.Accepted and "gone" not in state:
            state["gone"] = True
            sim.faults.pause_user_stream(True)  # the exchange says nothing of what follows
            cid = s.orders[0].info["client_order_id"]
            sim.call(
                functools.partial(
                    venue.core(sim).cancel_order,
                    _ours(sim, venue, key),
                    venue.core_symbol,
                    client_order_id=cid,
                )
            )

    def canceled(s: Script, broker: BaseBroker) -> bool:
        return bool(s.orders) and s.orders[0].status == bt.Order.Canceled

    run = Run(sim, venue, key, secret, journal_url, "recon1")
    try:
        strat, _ = run.go(every_bar(step), canceled, reconcile_interval=0.2)
    finally:
        sim.faults.pause_user_stream(False)
    missing = [e for t, e in run.topics if t == "reconcile.order_missing"]
    assert [e["client_order_id"] for e in missing] == [strat.orders[0].info["client_order_id"]]
    with Journal(journal_url) as journal:
        rows = {r.client_order_id: r.state for r in journal.orders(strategy="recon1")}
        assert rows[strat.orders[0].info["client_order_id"]] == "CANCELED"
        assert journal.events(kind="reconcile.order_missing")


@EVERY_VENUE
def test_an_open_order_of_this_run_the_broker_does_not_follow_is_reported(
    sim: SimExchange, venue: Venue, journal_url: str
) -> None:
    key, secret = venue.create_account(sim, {"USDT": 5_000})
    price = _limit_price(sim, venue)

    def place_behind_its_back(s: Script) -> None:
        place = functools.partial(
            venue.core(sim).place_order,
            _ours(sim, venue, key),
            venue.core_symbol,
            Side.BUY,
            OrderType.LIMIT,
            quantity=Decimal("0.01"),
            price=Decimal(str(price)),
            time_in_force=TimeInForce.GTC,
            client_order_id="rt-recon2-0099",
        )
        sim.call(place)

    run = Run(sim, venue, key, secret, journal_url, "recon2")
    run.go(
        {2: place_behind_its_back},
        lambda s, b: any(t == "reconcile.order_untracked" for t, _ in run.topics),
        reconcile_interval=0.2,
    )
    (event,) = {
        e["client_order_id"]: e for t, e in run.topics if t == "reconcile.order_untracked"
    }.values()
    assert event["client_order_id"] == "rt-recon2-0099"


# on a perpetual the deposit lands in the futures wallet: the reconciliation compares the
# venue's wallet balance (not the margin balance) with the one last read
@EVERY_VENUE
def test_a_balance_change_the_stream_did_not_tell_is_found_and_adopted(
    sim: SimExchange, venue: Venue, journal_url: str
) -> None:
    key, secret = venue.create_account(sim, {"USDT": 5_000})
    state: dict[str, Any] = {}

    def deposit_silently(s: Script) -> None:
        if "done" not in state:
            state["done"] = True
            sim.faults.pause_user_stream(True)
            sim.call(
                functools.partial(venue.core(sim).deposit, _ours(sim, venue, key), "USDT", "250")
            )

    def adopted(s: Script, broker: BaseBroker) -> bool:
        return abs(broker.getcash() - 5_250) < 1e-9

    run = Run(sim, venue, key, secret, journal_url, "bal1")
    try:
        run.go({2: deposit_silently}, adopted, reconcile_interval=0.2)
    finally:
        sim.faults.pause_user_stream(False)
    (event,) = [e for t, e in run.topics if t == "reconcile.balance_mismatch"]
    assert (event["asset"], event["broker"], event["exchange"]) == ("USDT", 5_000, 5_250)


@EVERY_VENUE
def test_an_adopted_order_that_ends_before_the_first_cycle_is_followed_to_its_end(
    sim: SimExchange, venue: Venue, journal_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order open at the restart fills after recovery found it open but before the broker's
    first cycle: its end (queued by the live execution, which forgets the order then) must
    reach the adopted order, not be dropped as a report of an order the broker does not know."""
    key, secret = venue.create_account(sim, {"USDT": 5_000})
    price = _limit_price(sim, venue)
    buy = {2: lambda s: s.track(s.buy(size=0.02, exectype=bt.Order.Limit, price=price))}
    strat, _ = Run(sim, venue, key, secret, journal_url, "adopt2").go(buy, _accepted)
    cid = strat.orders[0].info["client_order_id"]

    first_cycle = BaseBroker.next

    def fill_then_cycle(broker: BaseBroker) -> None:
        live = broker.session.live
        if live is not None and cid in live._open:  # found open: it fills now, while "starting"
            _fill_from_counterparty(sim, venue, price, 0.02)
            eventually(lambda: cid not in live._open, timeout=20, message="the fill reported")
        monkeypatch.setattr(BaseBroker, "next", first_cycle)
        first_cycle(broker)

    monkeypatch.setattr(BaseBroker, "next", fill_then_cycle)

    def ended(s: Script, broker: BaseBroker) -> bool:
        done = any(n[1] == "Completed" for n in s.notes) and _agrees(sim, venue, key)(s, broker)
        return done or len(s) > 100

    strat2, broker2 = Run(sim, venue, key, secret, journal_url, "adopt2").go({}, ended)
    assert broker2.recovery.adopted and broker2.recovery.adopted[0].request.client_order_id == cid
    statuses = [n[1] for n in strat2.notes]
    assert statuses[-1] == "Completed", statuses
    (order,) = broker2._orders.values()
    assert order.executed.size == pytest.approx(0.02)
    with Journal(journal_url) as journal:
        assert [r.state for r in journal.orders(strategy="adopt2")] == ["COMPLETED"]
        assert len(journal.fills(strategy="adopt2")) == 1
