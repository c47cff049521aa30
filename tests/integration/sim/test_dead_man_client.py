"""``DeadManSwitch`` on a store's venue client against the simulator, without a runner: Bybit's
disconnect protection survives a dropped private connection when the next beat re-subscribes,
and fires when no beat comes; a disarmed switch lets the connection close without a cancel."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from real_trade.sim.server import SimExchange
from real_trade.stores import BybitStore
from real_trade.venues.dead_man import DEAD_MAN_VENUES, DeadManSwitch
from tests.support import eventually

pytestmark = pytest.mark.integration
PERP = "BTC/USDT:USDT"


@pytest.fixture()
def bybit() -> Iterator[tuple[SimExchange, Any, Any, Any, Any]]:
    """A real-time Bybit simulator (BTCUSDT also a linear perpetual, in its futures core), a
    store, the account its private websocket signs in as, the futures core and the account
    there (where the perpetual's orders and DCP countdowns live)."""
    with SimExchange(seed=8, faces=["bybit"]) as sim:
        key, secret = sim.create_account({"USDT": 100_000}, futures_balances={"USDT": 100_000})
        store = BybitStore(apikey=key, secret=secret, market_type="future", sim_url=sim.url)
        store.start()
        core = sim.futures_core
        assert core is not None
        try:
            yield sim, store, sim.core.account_by_key(key), core, core.account_by_key(key)
        finally:
            store.stop()


def _watching(sim: SimExchange, account: Any) -> bool:
    streams = sim.faces[0].streams  # type: ignore[attr-defined]
    return any(c.account is account and "dcp" in c.topics for c in streams.clients)


def _resting_bid(store: Any) -> None:
    price = store.client.fetch_ticker(PERP)["last"] * 0.8
    store.client.create_order(
        PERP, "limit", "buy", 0.01, store.client.price_to_precision(PERP, price)
    )


def test_a_beat_after_a_drop_resubscribes_and_no_beat_lets_it_fire(bybit: Any) -> None:
    sim, store, account, core, perp = bybit
    switch = DeadManSwitch(store.client, DEAD_MAN_VENUES[("bybit", "future")], [PERP], 10)
    assert switch.arm()
    eventually(lambda: _watching(sim, account), 10, message="the dcp subscription")
    assert core.countdowns.standby(perp.account_id) == {"BTCUSDT": 10_000}
    _resting_bid(store)
    sim.faults.drop_connections()
    eventually(lambda: core.countdowns.armed(perp.account_id), 10, message="DCP started")
    assert switch.arm()  # the next beat: a new connection, subscribed again
    eventually(lambda: not core.countdowns.armed(perp.account_id), 10, message="DCP reset")
    assert _watching(sim, account) and len(store.client.fetch_open_orders(PERP)) == 1
    sim.faults.drop_connections()  # and now no beat comes
    eventually(lambda: not core.open_orders(perp, "BTCUSDT"), 25, message="DCP cancels the bid")
    assert [c.scope for c in core.countdowns.fired] == ["BTCUSDT"]


def test_disarmed_the_connection_closes_without_a_cancel(bybit: Any) -> None:
    sim, store, account, core, perp = bybit
    switch = DeadManSwitch(store.client, DEAD_MAN_VENUES[("bybit", "future")], [PERP], 10)
    assert switch.arm()
    eventually(lambda: _watching(sim, account), 10, message="the dcp subscription")
    _resting_bid(store)
    assert switch.disarm()
    eventually(lambda: not _watching(sim, account), 10, message="dcp unsubscribed")
    sim.faults.drop_connections()
    eventually(lambda: not any(c.account is account for c in sim.faces[0].streams.clients), 10)  # type: ignore[attr-defined]
    sim.call(lambda: None)  # the server's close handling (on its loop) is over
    assert core.countdowns.armed(perp.account_id) == []
    assert len(core.open_orders(perp, "BTCUSDT")) == 1
