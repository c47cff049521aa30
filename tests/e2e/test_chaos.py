"""Chaos: ``kill -9`` a trading runner again and again; nothing may be lost or duplicated.

A ``real-trade run`` subprocess trades a simulator testnet account with ``ChaosTrader`` (market
and resting limit orders on every live bar) and a journal. It is killed with SIGKILL more than
20 times: at exact crash points (``RT_CRASH_AT``: right after an intent is journaled but before
it is sent, right after the exchange took an order but before its answer is processed, right
after a fill is booked but before it is journaled) and at random moments, and restarted each
time with the same journal and run name. A last run stops gracefully and cancels what is open.
Then: no client order id twice at the simulator and every simulator order journaled; the
journal's fills are exactly the simulator's; the broker's last snapshot equals the simulator
account; every intent has an outcome that matches the simulator's. The seed is printed
(``RT_CHAOS_SEED`` replays a run); the kill schedule comes from it.

It runs on every venue (``venue``, ids like ``bybit-spot-sqlite``: see
:mod:`tests.integration.live.venues`). The 22 kills and both journal backends run on Binance;
Bybit and OKX get 8 kills (each crash point twice, and random ones) on SQLite: the journal does
not depend on the venue, and every crash point is still hit on each (see :data:`CASES`).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from real_trade.persistence import Journal
from real_trade.sim import SimExchange
from tests.conftest import journal_database
from tests.integration.live.venues import BINANCE_SPOT, SPOT_VENUES, Venue
from tests.support import eventually

ROOT = Path(__file__).resolve().parents[2]
KILLS = 22
OTHER_VENUE_KILLS = 8
CASES = [(BINANCE_SPOT, "sqlite", KILLS), (BINANCE_SPOT, "postgres", KILLS)] + [
    (v, "sqlite", OTHER_VENUE_KILLS) for v in SPOT_VENUES if v is not BINANCE_SPOT
]
"""(venue, journal backend, kills): the whole schedule on Binance, a shorter one elsewhere."""
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.parametrize(
        ("venue", "journal_backend", "kills"),
        [pytest.param(v, j, k, id=f"{v.id}-{j}") for v, j, k in CASES],
        scope="module",
    ),
]
# a planned crash ends the run when its point is reached (a few live bars in); the bound only
# covers a point never reached, which is then a kill at a random moment
CRASH_BOUND_S = 60.0
FINAL_ORDERS = 6  # what the last, uncrashed run must place before it is stopped
STRATEGY = "chaos"
_STATE_BY_SIM = {
    "FILLED": "COMPLETED",
    "CANCELED": "CANCELED",
    "EXPIRED": "EXPIRED",
    "REJECTED": "REJECTED",
}


@pytest.fixture(scope="module")
def sim(venue: Venue) -> Iterator[SimExchange]:
    """A synthetic market at 60x (a one-minute bar every second) behind the venue's face."""
    with venue.simulator(market="synthetic", speed=60.0, seed=5) as exchange:
        yield exchange


@pytest.fixture
def journal_url(
    request: pytest.FixtureRequest, tmp_path: object, journal_backend: str
) -> Iterator[str]:
    """The journal on this case's backend (the suite's ``journal_url``, paired with a venue)."""
    yield from journal_database(journal_backend, request, tmp_path)


def _config(
    tmp: Path, sim: SimExchange, venue: Venue, key: str, secret: str, journal_url: str
) -> Path:
    path = tmp / "chaos.toml"
    passphrase = venue.store_kwargs.get("passphrase")
    credentials = f'apikey = "{key}"\nsecret = "{secret}"\n' + (
        f'passphrase = "{passphrase}"\n' if passphrase else ""
    )
    path.write_text(f"""
exchange = "{venue.venue}"
testnet = true
paper_trading = false
{credentials}symbol = "{venue.symbol}"
timeframe = "1m"
sim_url = "{sim.url}"

[journal]
url = "{journal_url}"

[run]
strategy = "tests.e2e.chaos_support:ChaosTrader"
name = "{STRATEGY}"
history_bars = 3
""")
    return path


def _spawn(config: Path, log: Path, env_extra: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_extra}
    env.pop("RT_SIM_URL", None)
    exe = Path(sys.executable).with_name("real-trade")
    out = log.open("ab")
    return subprocess.Popen(
        [str(exe), "run", str(config)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
    )


def _schedule(rng: random.Random, kills: int) -> list[tuple[str, float]]:
    """(crash plan or "", seconds to wait before SIGKILL) for each kill.

    A random kill waits 1 to 5 s on purpose: the moment of the kill is what is under test.
    """
    plans = []
    for i in range(kills):
        kind = ("after_intent", "after_send", "after_fill", "random")[i % 4]
        if kind == "random":
            plans.append(("", rng.uniform(1.0, 5.0)))
        else:
            plans.append((f"{kind}:{rng.randint(1, 3)}", CRASH_BOUND_S))
    rng.shuffle(plans)
    return plans


def _account(sim: SimExchange, key: str) -> Any:
    acct = sim.core.account_by_key(key)
    assert acct is not None
    return acct


def test_twenty_kills_lose_nothing_and_duplicate_nothing(
    sim: SimExchange, venue: Venue, journal_url: str, tmp_path: Path, kills: int
) -> None:
    seed = int(os.environ.get("RT_CHAOS_SEED") or random.SystemRandom().randrange(10**6))
    print(f"chaos seed {seed} (replay with RT_CHAOS_SEED={seed})")
    rng = random.Random(seed)
    key, secret = venue.create_account(sim, {"USDT": 50_000, "BTC": 0.05})
    config = _config(tmp_path, sim, venue, key, secret, journal_url)
    log = tmp_path / "runner.log"
    crashed_at: list[str] = []
    for n, (plan, wait) in enumerate(_schedule(rng, kills), start=1):
        proc = _spawn(config, log, {"RT_CRASH_AT": plan} if plan else {})
        try:
            code = proc.wait(timeout=wait)
            how = plan.split(":")[0]  # it died at its crash point
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            code = proc.wait(timeout=30)
            how = "random" if not plan else f"{plan.split(':')[0]} not reached, killed"
        assert code == -signal.SIGKILL, (
            f"kill {n} ({plan or 'random'}): the runner exited with {code} instead of dying; "
            f"seed {seed}; log:\n{log.read_text()[-4000:]}"
        )
        crashed_at.append(how)
    print(f"{len(crashed_at)} kills: " + ", ".join(crashed_at))
    for point in ("after_intent", "after_send", "after_fill"):
        assert point in crashed_at, f"no kill landed at {point}; seed {seed}"

    acct = _account(sim, key)
    before = len(sim.core.all_orders(acct, venue.core_symbol, limit=10_000))
    final = _spawn(config, log, {"RT_RUN__CANCEL_ON_STOP": "true"})
    try:  # a few live bars of trading after the last crash: two new orders a bar
        eventually(
            lambda: (
                len(sim.core.all_orders(acct, venue.core_symbol, limit=10_000))
                >= before + FINAL_ORDERS
                or final.poll() is not None
            ),
            timeout=120,
            interval=0.1,
            message=f"the last run placing {FINAL_ORDERS} orders; seed {seed}",
        )
    except AssertionError:
        final.kill()
        raise
    assert final.poll() is None, f"the last run exited early; log:\n{log.read_text()[-4000:]}"
    final.send_signal(signal.SIGTERM)
    assert final.wait(timeout=60) == 0, log.read_text()[-4000:]

    orders = sim.core.all_orders(acct, venue.core_symbol, limit=10_000)
    sim_trades = sim.core.my_trades(acct, venue.core_symbol, limit=10_000)
    cids = [o.client_order_id for o in orders]
    assert len(cids) == len(set(cids)), f"duplicate client order ids at the exchange; seed {seed}"
    assert not sim.core.open_orders(acct), f"orders left open after a cancel-on-stop; seed {seed}"
    with Journal(journal_url) as journal:
        rows = {
            r.client_order_id: r for r in journal.orders(strategy=STRATEGY) if r.client_order_id
        }
        fills = journal.fills(strategy=STRATEGY)
        snapshot = journal.latest_snapshot(strategy=STRATEGY)
        pending = journal.intents_without_outcome(strategy=STRATEGY)
    assert len(orders) > kills + 3, (
        f"too little trading to mean anything ({len(orders)}); seed {seed}"
    )
    assert set(cids) <= set(rows), f"orders at the exchange the journal lacks; seed {seed}"
    assert not pending, f"intents without an outcome: {[p.client_order_id for p in pending]}"
    for order in orders:
        assert rows[order.client_order_id].state == _STATE_BY_SIM[order.status.name], (
            order.client_order_id,
            order.status.name,
            rows[order.client_order_id].state,
            seed,
        )
    never_sent = set(rows) - set(cids)
    # an order the strategy places in the pass where the last run's stop halts trading (to cancel
    # what is open) is refused by the risk gate before it is sent: REJECTED, with the reason
    refused = {
        c
        for c in never_sent
        if rows[c].state == "REJECTED" and "trading_state" in (rows[c].reason or "")
    }
    odd = {c: (rows[c].state, rows[c].reason) for c in never_sent - refused}
    assert all(state == "CANCELED" for state, _ in odd.values()), (  # lost, never resent
        f"seed {seed}: intents never at the exchange, not lost: "
        + "; ".join(
            f"{c}: {state} ({reason})"
            for c, (state, reason) in sorted(odd.items())
            if state != "CANCELED"
        )
    )
    journal_fills = sorted((f.trade_id, round(f.amount, 8), round(f.price, 2)) for f in fills)
    exchange_fills = sorted(
        (str(t.trade_id), round(float(t.qty), 8), round(float(t.price), 2)) for t in sim_trades
    )
    assert journal_fills == exchange_fills, f"journal fills != exchange fills; seed {seed}"
    totals = {a: float(f + lk) for a, (f, lk) in sim.core.balances(acct).items()}
    assert snapshot is not None
    assert snapshot.cash == pytest.approx(totals["USDT"], abs=1e-6), seed
    assert snapshot.positions[venue.symbol] == pytest.approx(totals["BTC"], abs=1e-9), seed
    print(
        f"{len(orders)} orders, {len(sim_trades)} fills, {len(never_sent)} intents lost "
        f"before the wire (never resent); journal == exchange"
    )
