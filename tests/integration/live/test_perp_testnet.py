"""Perpetuals on the live path against the simulator's USDⓈ-M, Bybit linear and OKX SWAP faces.

``BinanceStore(market_type='future')`` (and ``BybitStore``/``OKXStore`` with
``market_type='swap'`` where the behaviour is the same: the ``venue`` parameter) with the real
ccxt/ccxt.pro clients on loopback, the venue's broker with ``paper_trading=False`` and an
unchanged backtrader strategy on ``BTC/USDT:USDT``: selling when flat goes short, a double buy
reverses, ``close()`` goes out reduce-only; what the strategy sees (position size and entry
price, cash, value) is checked against the simulator's futures account; leverage and margin mode
come from the broker's ``contracts`` setting; funding and liquidation arrive through each
venue's own messages; COIN-M is refused with a clear error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import backtrader as bt
import pytest

from real_trade import brokers, stores
from real_trade.brokers import BaseBroker, BinanceBroker
from real_trade.bus import EventBus
from real_trade.errors import ConfigError
from real_trade.execution import FundingPayment, LiveExecution
from real_trade.persistence import Journal
from real_trade.risk import TradingState
from real_trade.sim import SimExchange
from real_trade.sim.okx.auth import DEFAULT_PASSPHRASE
from real_trade.stores import BinanceStore
from tests.integration.live.test_broker_live import PacedFeed
from tests.support import eventually

pytestmark = pytest.mark.integration
SYMBOL, SID = "BTC/USDT:USDT", "BTCUSDT"
Check = Callable[["Steps"], bool]
Act = Callable[["Steps"], Any]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator serving spot and USDⓈ-M: the book stays where it is."""
    with SimExchange(stepped=True, seed=33, faces=["binance", "binance_futures"]) as exchange:
        yield exchange


FACES = {"binance": ["binance", "binance_futures"], "bybit": ["bybit"], "okx": ["okx"]}
PREFIX = {"binance": "Binance", "bybit": "Bybit", "okx": "OKX"}
MARKET_TYPE = {"binance": "future", "bybit": "swap", "okx": "swap"}


@pytest.fixture(scope="module", params=list(FACES))
def venue_sim(request: pytest.FixtureRequest) -> Iterator[tuple[str, SimExchange]]:
    """``(venue, simulator)``: a stepped simulator serving the venue's perpetuals."""
    venue = str(request.param)
    with SimExchange(stepped=True, seed=33, faces=FACES[venue]) as exchange:
        yield venue, exchange


class Steps(bt.Strategy):
    """Walks ``steps``: each is (wait until, then do); records what it saw at each step."""

    params = (("steps", None), ("registry", None))

    def __init__(self) -> None:
        self.p.registry.append(self)
        self.at = 0
        self.seen: list[tuple[float, float, float, float]] = []
        self.orders: list[Any] = []
        self.done = False

    def next(self) -> None:
        steps = self.p.steps
        while self.at < len(steps) and steps[self.at][0](self):
            self.seen.append(
                (self.position.size, self.position.price, self.broker.getcash(), self.value())
            )
            order = steps[self.at][1](self)
            if order is not None:
                self.orders.append(order)
            self.at += 1
        self.done = self.at >= len(steps)

    def value(self) -> float:
        return float(self.broker.getvalue())

    def idle(self) -> bool:
        return not any(o.alive() for o in self.orders)


def wallet(sim: SimExchange, key: str) -> float:
    core = sim.futures_core
    account = core.account_by_key(key)
    assert account is not None
    return float(core.margin_summary(account, "USDT").wallet_balance)


def exchange_position(sim: SimExchange, key: str) -> tuple[float, float]:
    core = sim.futures_core
    account = core.account_by_key(key)
    assert account is not None
    views = core.positions(account, SID)
    return (float(views[0].qty), float(views[0].entry_price)) if views else (0.0, 0.0)


def agrees(sim: SimExchange, key: str, size: float) -> Check:
    """Wait until nothing is working, the position is ``size`` and equals the exchange's
    (size and entry) and the cash is the exchange's wallet."""

    def check(s: Steps) -> bool:
        exch = exchange_position(sim, key)
        return (
            s.idle()
            and abs(s.position.size - size) < 1e-12
            and abs(exch[0] - size) < 1e-12
            and abs(s.position.price - exch[1]) < 1e-6
            and abs(s.broker.getcash() - wallet(sim, key)) < 1e-9
        )

    return check


def wallet_compared(times: int = 25) -> Check:
    """Wait until the continuous reconciliation (every 0.1 s: :data:`RECONCILE_FAST`) compared
    the wallet ``times`` more times, which spans more than its grace (2 s): a wallet left behind
    the exchange's would have been reported by then."""
    box: dict[str, int] = {}

    def check(s: Steps) -> bool:
        reconciler = s.broker.session._reconcile.reconciler
        start = box.setdefault("from", reconciler.wallet_checks)
        return bool(reconciler.wallet_checks >= start + times)

    return check


RECONCILE_FAST = 0.1
"""The reconciliation interval of the tests proving that fills, fees, funding and
liquidations never look like money moved behind the broker's back."""


def make_store(sim: SimExchange, key: str, secret: str, venue: str) -> Any:
    """The venue's store on ``sim``'s perpetuals with the account's keys."""
    return getattr(stores, f"{PREFIX[venue]}Store")(
        key,
        secret,
        testnet=True,
        passphrase=DEFAULT_PASSPHRASE if venue == "okx" else None,
        sim_url=sim.url,
        bus=EventBus(),
        market_type=MARKET_TYPE[venue],
    )


def run_steps(
    sim: SimExchange,
    steps: list[tuple[Check, Act]],
    *,
    futures: float = 10_000.0,
    contracts: Any = None,
    key_secret: tuple[str, str] | None = None,
    venue: str = "binance",
    **broker_args: Any,
) -> tuple[Steps, BaseBroker, str]:
    key, secret = key_secret or sim.create_account({}, futures_balances={"USDT": futures})
    store = make_store(sim, key, secret, venue)
    broker_args.setdefault("bus", EventBus())
    broker = getattr(brokers, f"{PREFIX[venue]}Broker")(
        store, paper_trading=False, run_id=f"perp{key[:6]}", contracts=contracts, **broker_args
    )
    registry: list[Steps] = []
    cerebro = bt.Cerebro(quicknotify=True, stdstats=False)
    cerebro.setbroker(broker)
    feed = PacedFeed(
        price=lambda: sim.futures_core.last_price(SID),
        done=lambda: bool(registry) and registry[0].done,
    )
    cerebro.adddata(feed, name=SYMBOL)
    cerebro.addstrategy(Steps, steps=steps, registry=registry)
    try:
        strategy = cerebro.run()[0]
    finally:
        store.stop()
    return strategy, broker, key


def always(_s: Steps) -> bool:
    return True


def test_short_when_flat_reverse_and_close_reduce_only(
    venue_sim: tuple[str, SimExchange], tmp_path: Path
) -> None:
    venue, sim = venue_sim
    box: dict[str, str] = {}
    key, secret = sim.create_account({}, futures_balances={"USDT": 10_000.0})
    box["key"] = key
    steps: list[tuple[Check, Act]] = [
        (always, lambda s: s.sell(size=0.01)),
        (agrees(sim, key, -0.01), lambda s: s.buy(size=0.02)),
        (agrees(sim, key, 0.01), lambda s: s.close()),
        (agrees(sim, key, 0.0), lambda s: None),
        (wallet_compared(), lambda s: None),
    ]
    bus, moved = EventBus(synchronous=True), []
    bus.subscribe("reconcile.balance_mismatch", lambda _t, e: moved.append(e))
    strat, _broker, _ = run_steps(
        sim,
        steps,
        key_secret=(key, secret),
        venue=venue,
        bus=bus,
        journal=Journal(f"sqlite:///{tmp_path / 'reverse.db'}"),  # reconciliation needs one
        reconcile_interval=RECONCILE_FAST,
    )
    assert strat.done, "the scenario did not finish"
    assert moved == [], "fees or realized PnL were taken for money moved behind our back"
    short, long_ = strat.seen[1], strat.seen[2]
    assert short[0] == pytest.approx(-0.01) and long_[0] == pytest.approx(0.01)
    core = sim.futures_core
    account = core.account_by_key(key)
    assert account is not None
    orders = core.all_orders(account, SID)
    assert [(o.side.value, float(o.executed_qty), o.reduce_only) for o in orders] == [
        ("sell", 0.01, False),
        ("buy", 0.02, False),
        ("sell", 0.01, True),
    ]
    assert short[1] == pytest.approx(float(orders[0].cummulative_quote_qty) / 0.01)
    final = wallet(sim, key)
    assert strat.seen[-1][2] == pytest.approx(final) and strat.seen[-1][3] == pytest.approx(final)
    fills = core.my_trades(account, SID)
    assert final == pytest.approx(
        10_000.0
        + sum(float(f.realized_pnl) for f in fills)
        - sum(float(f.commission) for f in fills),
        abs=1e-6,
    )


def test_a_spot_holding_of_the_base_asset_leaves_a_perp_order_as_asked(
    venue_sim: tuple[str, SimExchange],
) -> None:
    """A unified account (Bybit, OKX) that also holds 0.00999 BTC on spot: the perpetual's
    short of 0.01 goes out as 0.01 (the spot fee trim, "sell 0.01 trimmed to the 0.00999
    held", is for spot holdings only), and so does the reduce-only close."""
    venue, sim = venue_sim
    key, secret = sim.create_account({"BTC": 0.00999}, futures_balances={"USDT": 10_000.0})
    steps: list[tuple[Check, Act]] = [
        (always, lambda s: s.sell(size=0.01)),
        (agrees(sim, key, -0.01), lambda s: s.close()),
        (agrees(sim, key, 0.0), lambda s: None),
    ]
    strat, _broker, _ = run_steps(sim, steps, key_secret=(key, secret), venue=venue)
    assert strat.done, ("the scenario did not finish", strat.seen)
    assert [o.info.get("trimmed") for o in strat.orders] == [None, None]
    account = sim.futures_core.account_by_key(key)
    assert account is not None
    orders = sim.futures_core.all_orders(account, SID)
    assert [(o.side.value, float(o.executed_qty)) for o in orders] == [
        ("sell", 0.01),
        ("buy", 0.01),
    ]


def test_value_is_the_wallet_plus_unrealized_pnl(venue_sim: tuple[str, SimExchange]) -> None:
    venue, sim = venue_sim
    key, secret = sim.create_account({}, futures_balances={"USDT": 10_000.0})
    looks: list[tuple[float, float, float, float]] = []

    def look(s: Steps) -> None:
        close = s.data.close[0]
        looks.append((s.broker.getvalue(), s.broker.getcash(), s.position.size, close))

    steps: list[tuple[Check, Act]] = [
        (always, lambda s: s.buy(size=0.05)),
        (agrees(sim, key, 0.05), look),
    ]
    run_steps(sim, steps, key_secret=(key, secret), venue=venue)
    ((value, cash, size, close),) = looks
    entry = exchange_position(sim, key)[1]
    assert cash == pytest.approx(wallet(sim, key))
    assert value == pytest.approx(cash + size * (close - entry), abs=1e-9)


def test_leverage_and_margin_mode_are_set_on_start(venue_sim: tuple[str, SimExchange]) -> None:
    venue, sim = venue_sim
    key, secret = sim.create_account({}, futures_balances={"USDT": 10_000.0})
    contracts = {SYMBOL: {"leverage": 4, "margin_mode": "isolated"}}
    steps: list[tuple[Check, Act]] = [
        (always, lambda s: s.buy(size=0.01)),
        (agrees(sim, key, 0.01), lambda s: None),
    ]
    run_steps(sim, steps, contracts=contracts, key_secret=(key, secret), venue=venue)
    account = sim.futures_core.account_by_key(key)
    assert account is not None
    settings = sim.futures_core.contract_settings(account, SID)
    assert (settings.leverage, settings.margin_mode.value) == (4, "isolated")
    (view,) = sim.futures_core.positions(account, SID)
    assert view.leverage == 4 and view.isolated_margin > 0


def test_a_margin_mode_change_the_venue_refuses_is_a_clear_error(
    venue_sim: tuple[str, SimExchange],
) -> None:
    venue, sim = venue_sim
    key, secret = sim.create_account({}, futures_balances={"USDT": 10_000.0})
    account = sim.futures_core.account_by_key(key)
    assert account is not None
    sim.futures_core.place_order(account, SID, "buy", "market", quantity=Decimal("0.01"))
    with pytest.raises(ConfigError) as info:
        run_steps(
            sim,
            [(always, lambda s: None)],
            contracts={SYMBOL: {"margin_mode": "isolated"}},
            key_secret=(key, secret),
            venue=venue,
        )
    text = str(info.value)
    assert SYMBOL in text and "margin mode isolated" in text
    assert "close them first" in (info.value.fix or "")


def test_a_position_held_at_start_is_the_strategys_position(
    venue_sim: tuple[str, SimExchange],
) -> None:
    venue, sim = venue_sim
    key, secret = sim.create_account({}, futures_balances={"USDT": 10_000.0})
    account = sim.futures_core.account_by_key(key)
    assert account is not None
    sim.futures_core.place_order(account, SID, "sell", "market", quantity=Decimal("0.02"))
    size, entry = exchange_position(sim, key)
    assert size == pytest.approx(-0.02)
    strat, _broker, _ = run_steps(
        sim, [(always, lambda s: None)], key_secret=(key, secret), venue=venue
    )
    assert strat.seen[0][0] == pytest.approx(-0.02)
    assert strat.seen[0][1] == pytest.approx(entry)


@pytest.mark.parametrize("venue", ["bybit", "okx"])
def test_what_the_venue_pushes_right_after_start_reaches_the_streams(venue: str) -> None:
    """OKX and Bybit take the user-data subscriptions after the socket opens (login, then
    throttled ``subscribe`` requests): the venue drops what happens before it confirmed them, and
    an order the exchange places itself (a liquidation) is only ever pushed. ``start`` returns
    once they are up, so an order made on the account at once is on the orders stream."""
    with SimExchange(stepped=True, seed=33, faces=FACES[venue]) as fsim:
        key, secret = fsim.create_account({}, futures_balances={"USDT": 10_000.0})
        account = fsim.futures_core.account_by_key(key)
        assert account is not None
        store = make_store(fsim, key, secret, venue)
        port = LiveExecution(store.client, [SYMBOL])
        try:
            port.start()
            states = {h.kind: (h.state, h.confirmed_by_venue) for h in store.client.streams}
            assert states == dict.fromkeys(("orders", "my_trades", "balance"), ("connected", True))
            fsim.futures_core.place_order(account, SID, "buy", "market", quantity=Decimal("0.01"))
            (orders,) = [h for h in store.client.streams if h.kind == "orders"]
            eventually(lambda: orders.events > 0, message="the order on the orders stream")
        finally:
            port.stop()
            store.stop()


def test_coin_m_is_refused_with_a_clear_error(sim: SimExchange) -> None:
    with pytest.raises(ConfigError) as info:
        BinanceStore("k", "s", testnet=True, sim_url=sim.url, market_type="delivery")
    assert "COIN-M" in str(info.value) and "not supported yet" in str(info.value)
    assert "future" in (info.value.fix or "")
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.setbroker(BinanceBroker(None, paper_trading=True, bus=EventBus()))
    cerebro.adddata(PacedFeed(price=lambda: 1.0, done=lambda: True), name="BTC/USD:BTC")
    cerebro.addstrategy(bt.Strategy)
    with pytest.raises(ConfigError, match="COIN-M"):
        cerebro.run()


def test_continuous_reconciliation_follows_a_position_changed_behind_its_back(
    sim: SimExchange, tmp_path: Path
) -> None:
    key, secret = sim.create_account({}, futures_balances={"USDT": 10_000.0})
    account = sim.futures_core.account_by_key(key)
    assert account is not None
    bus, findings = EventBus(synchronous=True), []
    bus.subscribe("reconcile.position_mismatch", lambda _t, e: findings.append(e))

    def go_deaf_and_trade_elsewhere(s: Steps) -> None:
        live = s.broker.session.live  # type: ignore[attr-defined]
        for handle in live._streams:  # the user-data streams die silently
            handle.stop()
        eventually(lambda: not live.contracts_view.reading, message="the last read to end")
        sim.futures_core.place_order(account, SID, "sell", "market", quantity=Decimal("0.03"))

    steps: list[tuple[Check, Act]] = [
        (always, lambda s: s.buy(size=0.01)),
        (agrees(sim, key, 0.01), go_deaf_and_trade_elsewhere),
        (lambda s: abs(s.position.size + 0.02) < 1e-12, lambda s: None),
    ]
    url = f"sqlite:///{tmp_path / 'rec.db'}"
    strat, _broker, _ = run_steps(
        sim,
        steps,
        key_secret=(key, secret),
        bus=bus,
        journal=Journal(url),
        reconcile_interval=0.1,
    )
    assert strat.done, "the position never followed the exchange's"
    assert exchange_position(sim, key)[0] == pytest.approx(-0.02)
    assert [(f["symbol"], f["broker"], f["exchange"]) for f in findings] == [
        (SYMBOL, pytest.approx(0.01), pytest.approx(-0.02))
    ]
    rows = Journal(url).events("reconcile.position_mismatch")
    assert len(rows) == 1


@pytest.mark.parametrize("venue", list(FACES))
def test_funding_reaches_cash_the_strategy_and_the_journal(venue: str, tmp_path: Path) -> None:
    """Binance: the balance stream's ``ACCOUNT_UPDATE`` of reason ``FUNDING_FEE``; Bybit: an
    execution of ``execType: Funding``; OKX: a funding bill (``type`` 8), read after a balance
    update or by the timed poll."""
    eight = 1_709_280_000_000  # 2024-03-01 08:00 UTC, a funding time
    with SimExchange(stepped=True, seed=5, faces=FACES[venue], start_ms=eight - 300_000) as fsim:
        key, secret = fsim.create_account({}, futures_balances={"USDT": 10_000.0})
        bus, payments = EventBus(synchronous=True), []
        bus.subscribe("funding", lambda _t, e: payments.append(e))

        def past_eight(s: Steps) -> None:
            fsim.advance((eight - fsim.clock.now_ms()) / 1000 + 1)

        steps: list[tuple[Check, Act]] = [
            (always, lambda s: s.sell(size=0.1)),
            (agrees(fsim, key, -0.1), past_eight),
            (lambda s: bool(s.broker.funding_payments), lambda s: None),  # type: ignore[attr-defined]
            (agrees(fsim, key, -0.1), lambda s: None),
            (wallet_compared(), lambda s: None),
        ]
        moved: list[Any] = []
        bus.subscribe("reconcile.balance_mismatch", lambda _t, e: moved.append(e))
        url = f"sqlite:///{tmp_path / 'funding.db'}"
        strat, broker, _ = run_steps(
            fsim,
            steps,
            key_secret=(key, secret),
            bus=bus,
            journal=Journal(url),
            venue=venue,
            funding_poll_interval=1.0,  # OKX: the bills are read after a balance update, or so
            reconcile_interval=RECONCILE_FAST,
        )
        assert strat.done, "no funding payment reached the broker"
        assert moved == [], "the funding payment was taken for money moved behind our back"
        ((when, rate, mark),) = fsim.futures_core.funding_rates(SID)
        assert when == eight
        expected = 0.1 * float(mark) * float(rate)  # a short receives a positive rate
        (paid,) = broker.funding_payments
        assert paid.symbol == SYMBOL and paid.amount == pytest.approx(expected, abs=1e-6)
        assert payments == [paid]
        assert strat.seen[-1][2] == pytest.approx(wallet(fsim, key))  # cash = the wallet
        rows = Journal(url).events("funding")
        assert len(rows) == 1 and rows[0].payload["amount"] == pytest.approx(expected, abs=1e-6)


def test_okx_funding_arrives_without_a_balance_update() -> None:
    """OKX pays funding as a bill: while a position is open the bills are read every
    ``funding_poll_s``, so the payment is found with the user stream holding every update back."""
    eight = 1_709_280_000_000  # 2024-03-01 08:00 UTC, a funding time
    with SimExchange(stepped=True, seed=5, faces=FACES["okx"], start_ms=eight - 300_000) as fsim:
        key, secret = fsim.create_account({}, futures_balances={"USDT": 10_000.0})
        account = fsim.futures_core.account_by_key(key)
        assert account is not None
        fsim.futures_core.place_order(account, SID, "sell", "market", quantity=Decimal("0.1"))
        store = make_store(fsim, key, secret, "okx")
        port = LiveExecution(store.client, [SYMBOL], funding_poll_s=0.1)
        try:
            port.start()
            fsim.faults.pause_user_stream(True)
            fsim.advance((eight - fsim.clock.now_ms()) / 1000 + 1)
            (paid,) = eventually(port.take_contract_events, message="the funding payment")
        finally:
            fsim.faults.pause_user_stream(False)
            port.stop()
            store.stop()
        ((_when, rate, mark),) = fsim.futures_core.funding_rates(SID)
        assert isinstance(paid, FundingPayment) and paid.symbol == SYMBOL
        assert paid.amount == pytest.approx(0.1 * float(mark) * float(rate), abs=1e-6)


def test_startup_reconciliation_reports_a_position_changed_while_down(
    sim: SimExchange, tmp_path: Path
) -> None:
    key, secret = sim.create_account({}, futures_balances={"USDT": 10_000.0})
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    first: list[tuple[Check, Act]] = [
        (always, lambda s: s.sell(size=0.02)),
        (agrees(sim, key, -0.02), lambda s: None),
    ]
    run_steps(sim, first, key_secret=(key, secret), journal=Journal(url))
    account = sim.futures_core.account_by_key(key)
    assert account is not None
    sim.futures_core.place_order(account, SID, "buy", "market", quantity=Decimal("0.01"))
    bus, changed = EventBus(synchronous=True), []
    bus.subscribe("reconcile.position_changed", lambda _t, e: changed.append(e))
    strat, _broker, _ = run_steps(
        sim, [(always, lambda s: None)], key_secret=(key, secret), journal=Journal(url), bus=bus
    )
    assert strat.seen[0][0] == pytest.approx(-0.01)  # the exchange's, not the journal's
    assert [(e["symbol"], e["journal"], e["exchange"]) for e in changed] == [
        (SYMBOL, pytest.approx(-0.02), pytest.approx(-0.01))
    ]
    assert len(Journal(url).events("reconcile.position_changed")) == 1


@pytest.mark.parametrize("venue", list(FACES))
def test_a_liquidation_is_an_order_event_a_journal_row_and_a_bus_event(
    venue: str, tmp_path: Path
) -> None:
    """Binance: the ``autoclose-`` order; Bybit: the ``CreateByLiq`` order (its ``BustTrade``
    execution is no fill of ours); OKX: the order of ``category`` ``full_liquidation``."""
    path = tmp_path / "binanceus_BTCUSDT_1m.csv"
    start, rows = 1_709_251_200_000, ["open_time,open,high,low,close,volume"]
    prices = [40_000.0] * 10 + [40_000.0 - 400 * i for i in range(1, 11)] + [36_000.0] * 20
    for i, price in enumerate(prices):
        rows.append(f"{start + i * 60_000},{price},{price + 5},{price - 5},{price},50.0")
    path.write_text("\n".join(rows) + "\n")
    with SimExchange(
        market=str(path),
        stepped=True,
        start_ms=start + 5 * 60_000,
        faces=FACES[venue],
    ) as fsim:
        key, secret = fsim.create_account({}, futures_balances={"USDT": 10_000.0})
        bus, events = EventBus(synchronous=True), []
        bus.subscribe("liquidation", lambda t, e: events.append((t, e)))
        bus.subscribe("order.completed", lambda t, e: events.append((t, e)))

        def crash(s: Steps) -> None:
            fsim.advance(20 * 60)

        def liquidated(s: Steps) -> bool:
            return any(t == "liquidation" for t, _ in events) and s.position.size == 0

        steps: list[tuple[Check, Act]] = [
            (always, lambda s: s.buy(size=0.2)),
            (agrees(fsim, key, 0.2), crash),
            (liquidated, lambda s: None),
            (wallet_compared(), lambda s: None),
        ]
        moved: list[Any] = []
        bus.subscribe("reconcile.balance_mismatch", lambda _t, e: moved.append(e))
        url = f"sqlite:///{tmp_path / 'liq.db'}"
        contracts = {SYMBOL: {"leverage": 20, "margin_mode": "isolated"}}
        strat, broker, _ = run_steps(
            fsim,
            steps,
            key_secret=(key, secret),
            bus=bus,
            journal=Journal(url),
            contracts=contracts,
            venue=venue,
            reconcile_interval=RECONCILE_FAST,
        )
        assert strat.done, "the liquidation never reached the strategy"
        assert moved == [], "the liquidation was taken for money moved behind our back"
        assert exchange_position(fsim, key) == (0.0, 0.0)
        (liq,) = [e for t, e in events if t == "liquidation"]
        assert liq.symbol == SYMBOL and liq.size == pytest.approx(0.2) and liq.price < 40_000
        orders = [o for o in broker._orders.values() if o.info.get("liquidation")]
        assert len(orders) == 1 and orders[0].executed.size == pytest.approx(-0.2)
        assert orders[0].info["reason"].startswith("liquidation")
        closing = [
            e
            for t, e in events
            if t == "order.completed" and (e.reason or "").startswith("liquidation")
        ]
        assert len(closing) == 1
        reads = Journal(url)
        assert len(reads.events("liquidation")) == 1
        assert any((o.reason or "").startswith("liquidation") for o in reads.orders())
        assert strat.broker.getcash() == pytest.approx(wallet(fsim, key))


def test_configuring_the_margin_mode_already_in_force_is_no_error(sim: SimExchange) -> None:
    # a fresh USD-M account is cross: Binance answers -4046 "No need to change margin type.",
    # which ccxt 4.5 raises as OperationRejected (not the MarginModeAlreadySet it forgives)
    key, secret = sim.create_account({}, futures_balances={"USDT": 10_000.0})
    contracts = {SYMBOL: {"leverage": 2, "margin_mode": "cross"}}
    strat, _broker, _ = run_steps(
        sim, [(always, lambda s: None)], contracts=contracts, key_secret=(key, secret)
    )
    assert strat.done
    account = sim.futures_core.account_by_key(key)
    assert account is not None
    settings = sim.futures_core.contract_settings(account, SID)
    assert (settings.leverage, settings.margin_mode.value) == (2, "cross")


# Binance goes short, Bybit long, OKX short: both closing sides, one case per venue.
OPEN_SIDE = {"binance": "sell", "bybit": "buy", "okx": "sell"}


def test_the_kill_switch_cancels_and_flattens_with_a_reduce_only_order(
    venue_sim: tuple[str, SimExchange], tmp_path: Path
) -> None:
    """``broker.kill(flatten=True)`` on a live perpetual holding a position and a resting
    order: the exchange ends flat with nothing open, the close went out reduce-only."""
    venue, sim = venue_sim
    side = OPEN_SIDE[venue]
    sign = 1.0 if side == "buy" else -1.0
    key, secret = sim.create_account({}, futures_balances={"USDT": 10_000.0})
    account = sim.futures_core.account_by_key(key)
    assert account is not None
    bus, topics, reports = EventBus(synchronous=True), [], []
    bus.subscribe("killswitch.*", lambda topic, _e: topics.append(topic))

    def rest(s: Steps) -> Any:  # adds to the position far from the market: never fills
        last = float(sim.futures_core.last_price(SID) or 0)
        place = s.buy if side == "buy" else s.sell
        return place(size=0.01, exectype=bt.Order.Limit, price=round(last * (1 - sign * 0.2), 1))

    def resting(s: Steps) -> bool:
        return (
            len(s.orders) == 2
            and s.orders[1].status == bt.Order.Accepted
            and bool(sim.futures_core.open_orders(account, SID))
        )

    def kill(s: Steps) -> None:
        reports.append(s.broker.kill(flatten=True, reason="perp test"))

    def killed(s: Steps) -> bool:
        return reports[0].done() and s.position.size == 0 and s.idle()

    open_order = (lambda s: s.buy(size=0.02)) if side == "buy" else (lambda s: s.sell(size=0.02))
    steps: list[tuple[Check, Act]] = [
        (always, open_order),
        (agrees(sim, key, sign * 0.02), rest),
        (resting, kill),
        (killed, lambda s: None),
    ]
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    strat, broker, _ = run_steps(
        sim, steps, key_secret=(key, secret), bus=bus, journal=Journal(url), venue=venue
    )
    assert strat.done, "the kill never finished"
    report = reports[0].result(0)
    assert report.ok, report.summary()
    assert [c.status for c in report.cancels] == ["canceled"]
    (close,) = report.closes("closed")
    assert (close.position.symbol, close.position.amount) == (SYMBOL, pytest.approx(sign * 0.02))
    # the exchange's truth: flat, nothing open, the close reduce-only on the other side
    assert sim.futures_core.positions(account, SID) == []
    assert sim.futures_core.open_orders(account, SID) == []
    orders = sim.futures_core.all_orders(account, SID)
    close_side = "sell" if side == "buy" else "buy"
    assert [(o.side.value, float(o.executed_qty), o.reduce_only) for o in orders] == [
        (side, 0.02, False),
        (side, 0.0, False),
        (close_side, 0.02, True),
    ]
    assert orders[1].status.value == "canceled"
    assert strat.position.size == 0 and broker.getposition(strat.data).size == 0
    assert [o.status for o in strat.orders] == [bt.Order.Completed, bt.Order.Canceled]
    assert broker.trading_state.state is TradingState.HALTED
    assert topics[0] == "killswitch.engaged" and topics[-1] == "killswitch.halted"
    assert topics.count("killswitch.order_canceled") == 1
    assert topics.count("killswitch.flattened") == 1
    journal = Journal(url)
    kinds = [e.kind for e in journal.events("killswitch.*")]
    assert kinds.count("killswitch.flattened") == 1 and "killswitch.halted" in kinds
    assert journal.get_state("trading_state")["state"] == "halted"


def test_an_order_whose_update_the_stream_never_sends_is_confirmed_over_rest(
    venue_sim: tuple[str, SimExchange],
) -> None:
    """Bybit and OKX answer an order with its ids only; when the private stream holds its
    update back (as one pushed before the subscription was live is lost), REST confirms it
    after the fill grace, not at the safety poll (an hour here)."""
    from real_trade.execution import (
        ExchangeStatus,
        LiveExecution,
        OrderKind,
        OrderReport,
        OrderRequest,
        OrderSide,
    )

    venue, sim = venue_sim
    key, secret = sim.create_account({}, futures_balances={"USDT": 10_000.0})
    store = make_store(sim, key, secret, venue)
    port = LiveExecution(store.client, [SYMBOL], fill_grace_s=0.05, safety_poll_s=3600.0)
    seen: list[Any] = []
    try:
        port.start()
        eventually(lambda: port.orders_stream_up, message="the orders stream never came up")
        sim.faults.pause_user_stream(True)
        port.place(
            OrderRequest(
                1, SYMBOL, OrderSide.BUY, OrderKind.MARKET, 0.01, client_order_id="rt-thin-0001"
            )
        )

        def done() -> bool:
            seen.extend(r for r in port.drain() if isinstance(r, OrderReport))
            return any(r.status is ExchangeStatus.FILLED for r in seen)

        eventually(done, 10, message="the filled order was never reported")
        assert exchange_position(sim, key)[0] == pytest.approx(0.01)
    finally:
        sim.faults.pause_user_stream(False)
        port.stop()
        store.stop()
