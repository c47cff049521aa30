"""The kill switch against the simulator: a real account with open orders and positions.

``VenueKillTarget`` over a real ``VenueClient`` (ccxt.pro, testnet mode, loopback) cancels
every open order and flattens every position of a simulator account; the simulator's own books
are the judge. The journal is a real SQLite file in ``tmp_path`` when the journal module exists.
Every scenario runs on every venue (``venue``, ids like ``bybit-spot``:
:mod:`tests.integration.live.venues`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from real_trade.bus import EventBus
from real_trade.risk import KillReport, KillSwitch, TradingState, TradingStateHolder
from real_trade.risk.killswitch_venue import VenueKillTarget
from real_trade.sim import SimExchange
from real_trade.venues import VenueClient
from real_trade.venues.retry import RetryPolicy
from tests.integration.live.venues import Venue, venue_params

pytestmark = pytest.mark.integration
SYMBOLS = ("BTC/USDT", "ETH/USDT")


@pytest.fixture(scope="module", params=venue_params())
def venue(request: pytest.FixtureRequest) -> Venue:
    """The venue and market under test (the parameter id names it in every failure)."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def sim(venue: Venue) -> Iterator[SimExchange]:
    """A stepped simulator serving the venue's face with two symbols (the books stay where
    they are between steps)."""
    with venue.simulator(stepped=True, seed=5, symbols=SYMBOLS) as exchange:
        exchange.advance(60)
        yield exchange


@pytest.fixture(autouse=True)
def _reset_faults(sim: SimExchange) -> Iterator[None]:
    yield
    sim.faults.reset()


def open_client(
    sim: SimExchange, venue: Venue, balances: dict[str, float]
) -> tuple[VenueClient, str]:
    """A started testnet client on a new simulator account with ``balances``, and its key."""
    key, secret = venue.create_account(sim, balances)
    return venue.make_client(sim, key, secret), key


def sim_orders(sim: SimExchange, key: str) -> list[Any]:
    """The account's open orders, as the simulator sees them."""
    account = sim.core.account_by_key(key)
    assert account is not None
    return list(sim.call(lambda: sim.core.open_orders(account)))


def sim_balances(sim: SimExchange, key: str) -> dict[str, Decimal]:
    """The account's balances (free plus locked), as the simulator sees them."""
    account = sim.core.account_by_key(key)
    assert account is not None
    return {a: free + locked for a, (free, locked) in sim.core.balances(account).items()}


def journal_at(tmp_path: Path) -> Any:
    """A real SQLite journal in ``tmp_path`` (skips until the journal module has landed)."""
    persistence = pytest.importorskip("real_trade.persistence")
    if not hasattr(persistence, "Journal"):
        pytest.skip("real_trade.persistence.Journal has not landed yet")
    return persistence.Journal(f"sqlite:///{tmp_path / 'journal.db'}")


@pytest.fixture
def busy_account(sim: SimExchange, venue: Venue) -> Iterator[tuple[VenueClient, str]]:
    """An account holding BTC (bought at market) and ETH dust, with four resting orders."""
    client, key = open_client(sim, venue, {"USDT": 50_000, "ETH": 0.00003})
    client.create_order("BTC/USDT", "market", "buy", 0.3)
    for symbol, amount in (("BTC/USDT", 0.01), ("ETH/USDT", 0.1)):
        last = float(client.fetch_ticker(symbol)["last"])
        client.create_order(symbol, "limit", "buy", amount, last * 0.8)
        client.create_order(symbol, "limit", "buy", amount, last * 0.7)
    last_btc = float(client.fetch_ticker("BTC/USDT")["last"])
    client.create_order("BTC/USDT", "limit", "sell", 0.1, last_btc * 1.3)  # locks BTC
    assert len(sim_orders(sim, key)) == 5
    assert sim_balances(sim, key)["BTC"] > Decimal("0.29")
    yield client, key
    client.stop()


def test_engage_with_flatten_leaves_no_order_and_a_dust_only_account(
    sim: SimExchange, busy_account: tuple[VenueClient, str], tmp_path: Path
) -> None:
    client, key = busy_account
    journal = journal_at(tmp_path)
    state = TradingStateHolder()
    bus = EventBus(synchronous=True)
    topics: list[str] = []
    bus.subscribe("killswitch.*", lambda topic, _event: topics.append(topic))
    switch = KillSwitch(
        VenueKillTarget(client, SYMBOLS), state=state, bus=bus, journal=journal, strategy="kt"
    )

    report = switch.engage(flatten=True, reason="integration test")

    assert report.ok, report.summary()
    assert sim_orders(sim, key) == []
    balances = sim_balances(sim, key)
    assert balances.get("BTC", Decimal(0)) < Decimal("0.00001")  # below BTCUSDT's lot step
    assert balances["ETH"] == Decimal("0.00003")  # dust: never attempted
    assert [c.status for c in report.cancels] == ["canceled"] * 5
    closes = {f.position.symbol: f.status for f in report.flattens}
    assert closes == {"BTC/USDT": "closed", "ETH/USDT": "dust"}
    assert state.state is TradingState.HALTED
    assert topics.count("killswitch.order_canceled") == 5
    assert topics[0] == "killswitch.engaged" and topics[-1] == "killswitch.halted"
    assert journal.get_state("trading_state")["state"] == "halted"
    kinds = [event.kind for event in journal.events()]
    assert kinds.count("killswitch.order_canceled") == 5
    assert "killswitch.flattened" in kinds and "killswitch.dust" in kinds

    again = switch.engage(flatten=True, reason="integration test, again")

    assert again.ok and again.nothing_to_do and again.already_halted
    assert (
        again.summary() == "already halted, nothing open (1 dust position(s) left); trading HALTED"
    )
    assert state.state is TradingState.HALTED


def test_engage_without_flatten_keeps_the_position(
    sim: SimExchange, busy_account: tuple[VenueClient, str]
) -> None:
    client, key = busy_account
    btc_before = sim_balances(sim, key)["BTC"]
    switch = KillSwitch(VenueKillTarget(client, SYMBOLS), state=TradingStateHolder())

    report = switch.engage(reason="cancel only")

    assert report.ok and report.flattens == ()
    assert sim_orders(sim, key) == []
    assert sim_balances(sim, key)["BTC"] == btc_before


def test_failed_cancels_are_reported_and_a_second_engage_finishes_the_job(
    sim: SimExchange, venue: Venue, busy_account: tuple[VenueClient, str]
) -> None:
    client, key = busy_account
    client.retry_policy = RetryPolicy(max_attempts=1)  # let the venue's refusals through
    sim.faults.fail_next(2, "503", path_prefix=venue.cancel_path)  # the first two cancels
    switch = KillSwitch(VenueKillTarget(client, SYMBOLS), state=TradingStateHolder())
    reports: list[KillReport] = []
    worker = threading.Thread(target=lambda: reports.append(switch.engage(flatten=True)))
    worker.start()  # engaged from another thread than the one that set the account up
    worker.join(60)

    (report,) = reports
    failed = [c.order.id for c in report.cancels if c.status == "failed"]
    assert len(failed) == 2 and len(report.cancels) == 5
    assert sorted(o.id for o in report.still_open) == sorted(failed)
    assert sorted(str(o.order_id) for o in sim_orders(sim, key)) == sorted(failed)
    assert not report.ok and "ExchangeUnavailableError" in report.summary()
    assert switch.state.state is TradingState.HALTED

    second = switch.engage(flatten=True)

    assert second.ok, second.summary()
    assert [c.status for c in second.cancels] == ["canceled", "canceled"]
    assert sim_orders(sim, key) == []
    assert sim_balances(sim, key).get("BTC", Decimal(0)) < Decimal("0.00001")
