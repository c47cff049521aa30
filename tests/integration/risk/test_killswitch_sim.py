"""The kill switch against the simulator: a real account with open orders and positions.

``VenueKillTarget`` over a real ``VenueClient`` (ccxt.pro, testnet mode, loopback) cancels
every open order and flattens every position of a simulator account; the simulator's own books
are the judge. The journal is a real SQLite file in ``tmp_path`` when the journal module exists.
Every scenario runs on every venue, spot and linear perpetual (``venue``, ids like
``bybit-spot``, ``okx-perp``: :mod:`tests.integration.live.venues`), unless it is spot by
nature (then it says why). On a perpetual the account holds a BTC position instead of BTC.
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
from tests.integration.live.venues import ALL_VENUES, SPOT_VENUES, Venue, venue_params

pytestmark = pytest.mark.integration
SYMBOLS = ("BTC/USDT", "ETH/USDT")


@pytest.fixture(scope="module", params=venue_params(ALL_VENUES))
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


def symbols(venue: Venue) -> tuple[str, ...]:
    """The venue's symbols: spot pairs, or their linear perpetuals (``BTC/USDT:USDT``)."""
    return tuple(f"{s}:USDT" for s in SYMBOLS) if venue.perp else SYMBOLS


def sim_orders(sim: SimExchange, venue: Venue, key: str) -> list[Any]:
    """The account's open orders, as the simulator sees them."""
    core, account = venue.core(sim), venue.account(sim, key)
    return list(sim.call(lambda: core.open_orders(account)))


def btc_held(sim: SimExchange, venue: Venue, key: str) -> Decimal:
    """The account's BTC (free plus locked) on spot, its BTC position on a perpetual."""
    if venue.perp:
        views = venue.core(sim).positions(venue.account(sim, key), "BTCUSDT")
        return sum((v.qty for v in views), Decimal(0))
    return sim_balances(sim, key).get("BTC", Decimal(0))


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
    """An account holding BTC (bought at market; a perpetual: a long position) and, on spot,
    ETH dust, with five resting orders."""
    balances = {"USDT": 50_000} if venue.perp else {"USDT": 50_000, "ETH": 0.00003}
    client, key = open_client(sim, venue, balances)
    btc, eth = symbols(venue)
    client.create_order(btc, "market", "buy", 0.3)
    for symbol, amount in ((btc, 0.01), (eth, 0.1)):
        last = float(client.fetch_ticker(symbol)["last"])
        client.create_order(symbol, "limit", "buy", amount, last * 0.8)
        client.create_order(symbol, "limit", "buy", amount, last * 0.7)
    last_btc = float(client.fetch_ticker(btc)["last"])
    client.create_order(btc, "limit", "sell", 0.1, last_btc * 1.3)  # locks BTC on spot
    assert len(sim_orders(sim, venue, key)) == 5
    assert btc_held(sim, venue, key) > Decimal("0.29")
    yield client, key
    client.stop()


# spot by nature: ETH dust in the spot wallet is left alone (a perpetual has no dust)
@pytest.mark.parametrize("venue", venue_params(SPOT_VENUES), indirect=True, scope="module")
def test_engage_with_flatten_leaves_no_order_and_a_dust_only_account(
    sim: SimExchange, venue: Venue, busy_account: tuple[VenueClient, str], tmp_path: Path
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
    assert sim_orders(sim, venue, key) == []
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
    sim: SimExchange, venue: Venue, busy_account: tuple[VenueClient, str]
) -> None:
    client, key = busy_account
    btc_before = btc_held(sim, venue, key)
    switch = KillSwitch(VenueKillTarget(client, symbols(venue)), state=TradingStateHolder())

    report = switch.engage(reason="cancel only")

    assert report.ok and report.flattens == ()
    assert sim_orders(sim, venue, key) == []
    assert btc_held(sim, venue, key) == btc_before


def test_failed_cancels_are_reported_and_a_second_engage_finishes_the_job(
    sim: SimExchange, venue: Venue, busy_account: tuple[VenueClient, str]
) -> None:
    client, key = busy_account
    client.retry_policy = RetryPolicy(max_attempts=1)  # let the venue's refusals through
    sim.faults.fail_next(2, "503", path_prefix=venue.cancel_path)  # the first two cancels
    switch = KillSwitch(VenueKillTarget(client, symbols(venue)), state=TradingStateHolder())
    reports: list[KillReport] = []
    worker = threading.Thread(target=lambda: reports.append(switch.engage(flatten=True)))
    worker.start()  # engaged from another thread than the one that set the account up
    worker.join(60)

    (report,) = reports
    failed = [c.order.id for c in report.cancels if c.status == "failed"]
    assert len(failed) == 2 and len(report.cancels) == 5
    assert sorted(o.id for o in report.still_open) == sorted(failed)
    assert sorted(str(o.order_id) for o in sim_orders(sim, venue, key)) == sorted(failed)
    assert not report.ok and "ExchangeUnavailableError" in report.summary()
    assert switch.state.state is TradingState.HALTED

    second = switch.engage(flatten=True)

    assert second.ok, second.summary()
    assert [c.status for c in second.cancels] == ["canceled", "canceled"]
    assert sim_orders(sim, venue, key) == []
    assert abs(btc_held(sim, venue, key)) < Decimal("0.00001")  # below BTCUSDT's lot step
