"""Chaos: ``kill -9`` a trading runner again and again; nothing may be lost or duplicated.

A ``real-trade run`` subprocess trades a simulator testnet account with ``ChaosTrader`` (market
and resting limit orders on every live bar) and a journal. It is killed with SIGKILL more than
20 times: at exact crash points (``RT_CRASH_AT``: right after an intent is journaled but before
it is sent, right after the exchange took an order but before its answer is processed, right
after a fill is booked but before it is journaled) and at random moments, and restarted each
time with the same journal and run name. A last run stops gracefully and cancels what is open.
Then: no client order id twice at the simulator and every simulator order journaled; the
journal's fills are exactly the simulator's; the broker's last snapshot equals the simulator
account (cash, and the position of every symbol: size and side); every intent has an outcome
that matches the simulator's. The seed is printed (``RT_CHAOS_SEED`` replays a run); the kill
schedule comes from it.

It runs on every venue's spot market and linear perpetual (ids like ``bybit-spot-sqlite``,
``okx-perp-sqlite``; the venues: :mod:`tests.integration.live.venues`). The 22 kills and both
journal backends run on Binance spot; the other five cases get 8 kills (each crash point twice,
and random ones) on SQLite: the journal does not depend on the venue or the market, and every
crash point is still hit on each (see :data:`CASES`).

``perp``: BTC/USDT:USDT (Binance's USDⓈ-M face, Bybit's linear, OKX's SWAP in contracts of
0.01 BTC), ``ChaosTrader`` with ``max_position = 0`` so that it trades a short book (selling
from flat, buying back towards it). The runner's
exchange-side dead-man switch, on by default for perpetuals, is turned off (``[run]
dead_man_switch = false``, and the test checks that no countdown was ever armed): a countdown
passing while the runner is down would cancel its resting orders at the venue, so what this test
checks, that the runner's own recovery finds and accounts for every order it left, would be
partly done by the venue. The switch has its own end-to-end test
(``tests/e2e/test_dead_man_switch.py``).
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from real_trade.persistence import Journal
from real_trade.sim import SimExchange
from real_trade.sim.core import ExchangeCore
from real_trade.sim.derivatives import next_funding_ms
from tests.conftest import journal_database
from tests.integration.live.venues import BINANCE_SPOT, SPOT_VENUES, Venue
from tests.support import eventually

ROOT = Path(__file__).resolve().parents[2]
KILLS = 22
SHORT_KILLS = 8


@dataclass(frozen=True)
class Market:
    """What a chaos run trades (module docstring): spot or the perpetual, the symbol, the
    minimum of orders that makes the run mean something, and what the config adds."""

    name: str
    symbol: str
    min_orders: int
    config: str = ""

    @property
    def perp(self) -> bool:
        """A linear perpetual on the USDⓈ-M face."""
        return self.name == "perp"


SPOT = Market("spot", "", 25)  # the venue's own spot symbol
PERP = Market(
    "perp",
    "BTC/USDT:USDT",
    10,  # 8 short runs and the last one's 6 orders: 15 to 20 here
    "dead_man_switch = false\n\n[run.params]\nmax_position = 0.0\n",
)
CASES = (
    [(BINANCE_SPOT, SPOT, "sqlite", KILLS), (BINANCE_SPOT, SPOT, "postgres", KILLS)]
    + [(v, SPOT, "sqlite", SHORT_KILLS) for v in SPOT_VENUES if v is not BINANCE_SPOT]
    + [(v, PERP, "sqlite", SHORT_KILLS) for v in SPOT_VENUES]
)
"""(venue, market, journal backend, kills): the whole schedule on Binance spot, a shorter one
elsewhere."""
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.parametrize(
        ("venue", "market", "journal_backend", "kills"),
        [pytest.param(v, m, j, k, id=f"{v.venue}-{m.name}-{j}") for v, m, j, k in CASES],
        scope="module",
    ),
]
# a planned crash ends the run when its point is reached (a few live bars in); the bound only
# covers a point never reached, which is then a kill at a random moment
CRASH_BOUND_S = 60.0
FINAL_ORDERS = 6  # what the last, uncrashed run must place before it is stopped
# perpetuals: the last run is not stopped this close (market time) before a funding time, nor
# during it: the simulator keeps settling funding after the runner has read the account at its
# stop, and a payment in between would part the last snapshot's cash from the wallet read here
FUNDING_GUARD_MS = 20 * 60_000
STRATEGY = "chaos"
_STATE_BY_SIM = {
    "FILLED": "COMPLETED",
    "CANCELED": "CANCELED",
    "EXPIRED": "EXPIRED",
    "REJECTED": "REJECTED",
}


@pytest.fixture(scope="module")
def sim(venue: Venue, market: Market) -> Iterator[SimExchange]:
    """A synthetic market at 60x (a one-minute bar every second) behind the venue's face (and
    Binance's USDⓈ-M face for its perpetual; Bybit's and OKX's faces serve both markets)."""
    if market.perp and venue is BINANCE_SPOT:
        faces = ["binance", "binance_futures"]
        with SimExchange(market="synthetic", speed=60.0, seed=5, faces=faces) as exchange:
            yield exchange
        return
    with venue.simulator(market="synthetic", speed=60.0, seed=5) as exchange:
        yield exchange


@pytest.fixture
def journal_url(
    request: pytest.FixtureRequest, tmp_path: object, journal_backend: str
) -> Iterator[str]:
    """The journal on this case's backend (the suite's ``journal_url``, paired with a venue)."""
    yield from journal_database(journal_backend, request, tmp_path)


def _config(
    tmp: Path,
    sim: SimExchange,
    venue: Venue,
    market: Market,
    key: str,
    secret: str,
    journal_url: str,
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
{credentials}symbol = "{market.symbol or venue.symbol}"
timeframe = "1m"
sim_url = "{sim.url}"

[journal]
url = "{journal_url}"

[run]
strategy = "tests.e2e.chaos_support:ChaosTrader"
name = "{STRATEGY}"
history_bars = 3
{market.config}""")
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


def _core(sim: SimExchange, market: Market) -> ExchangeCore:
    """The core holding the account: spot, or USDⓈ-M's futures core."""
    core = sim.futures_core if market.perp else sim.core
    assert core is not None
    return core


def _exchange_positions(
    core: ExchangeCore, acct: Any, venue: Venue, market: Market
) -> dict[str, float]:
    """The account's position per symbol at the simulator, signed (spot: the BTC held)."""
    if not market.perp:
        free, locked = core.balances(acct).get("BTC", (0, 0))
        return {venue.symbol: float(free + locked)}
    return {market.symbol: sum(float(v.qty) for v in core.positions(acct, venue.core_symbol))}


def _clear_of_funding(sim: SimExchange) -> None:
    """Return once no funding time is due within :data:`FUNDING_GUARD_MS` of market time
    (waiting past one that is, and a market minute more for the simulator to settle it)."""
    now = sim.clock.now_ms()
    due = next_funding_ms(now)
    if due - now >= FUNDING_GUARD_MS:
        return
    eventually(
        lambda: sim.clock.now_ms() > due + 60_000,
        timeout=60,
        interval=0.1,
        message="the market clock passing the funding time",
    )


def test_kills_lose_nothing_and_duplicate_nothing(
    sim: SimExchange, venue: Venue, market: Market, journal_url: str, tmp_path: Path, kills: int
) -> None:
    seed = int(os.environ.get("RT_CHAOS_SEED") or random.SystemRandom().randrange(10**6))
    print(f"chaos seed {seed} (replay with RT_CHAOS_SEED={seed}); {venue.venue} {market.name}")
    rng = random.Random(seed)
    if market.perp:
        key, secret = sim.create_account({}, futures_balances={"USDT": 50_000})
    else:
        key, secret = venue.create_account(sim, {"USDT": 50_000, "BTC": 0.05})
    core = _core(sim, market)
    acct = core.account_by_key(key)
    assert acct is not None
    sid = venue.core_symbol
    config = _config(tmp_path, sim, venue, market, key, secret, journal_url)
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

    before = len(core.all_orders(acct, sid, limit=10_000))
    final = _spawn(config, log, {"RT_RUN__CANCEL_ON_STOP": "true"})
    try:  # a few live bars of trading after the last crash: two new orders a bar
        eventually(
            lambda: (
                len(core.all_orders(acct, sid, limit=10_000)) >= before + FINAL_ORDERS
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
    if market.perp:
        _clear_of_funding(sim)
    final.send_signal(signal.SIGTERM)
    assert final.wait(timeout=60) == 0, log.read_text()[-4000:]

    orders = core.all_orders(acct, sid, limit=10_000)
    sim_trades = core.my_trades(acct, sid, limit=10_000)
    cids = [o.client_order_id for o in orders]
    assert len(cids) == len(set(cids)), f"duplicate client order ids at the exchange; seed {seed}"
    assert not core.open_orders(acct), f"orders left open after a cancel-on-stop; seed {seed}"
    if market.perp:  # the dead-man switch was off: every cancel was the runner's own
        assert not core.countdowns.armed() and not core.countdowns.fired, seed
    with Journal(journal_url) as journal:
        rows = {
            r.client_order_id: r for r in journal.orders(strategy=STRATEGY) if r.client_order_id
        }
        fills = journal.fills(strategy=STRATEGY)
        snapshot = journal.latest_snapshot(strategy=STRATEGY)
        pending = journal.intents_without_outcome(strategy=STRATEGY)
    assert len(orders) > min(kills + 3, market.min_orders), (
        f"too little trading to mean anything ({len(orders)}); seed {seed}"
    )
    assert set(cids) <= set(rows), f"orders at the exchange the journal lacks; seed {seed}"
    assert not pending, f"intents without an outcome: {[p.client_order_id for p in pending]}"
    for order in orders:
        want = _STATE_BY_SIM[order.status.name]
        if want == "EXPIRED" and not venue.says_expired:
            want = "CANCELED"  # the venue's wire says cancelled for both (Venue.says_expired)
        assert rows[order.client_order_id].state == want, (
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
    # an order the venue refused at placement keeps no order there: REJECTED, or MARGIN for
    # insufficient balance (-2010: a buy placed while the last one's fill was not yet in the
    # balance the broker checked), with the venue's reason (a perpetual's reduce-only order
    # whose position an earlier one already closed, -2022; an OKX order below the venue's
    # minimum, which OKX's instruments do not state)
    venue_refused = {
        c
        for c in never_sent - refused
        if rows[c].state in ("REJECTED", "MARGIN") and rows[c].reason
    }
    lost = never_sent - refused - venue_refused
    odd = {c: (rows[c].state, rows[c].reason) for c in lost if rows[c].state != "CANCELED"}
    assert not odd, (  # lost, never resent
        f"seed {seed}: intents never at the exchange, not lost: "
        + "; ".join(f"{c}: {state} ({reason})" for c, (state, reason) in sorted(odd.items()))
    )
    journal_fills = sorted((f.trade_id, round(f.amount, 8), round(f.price, 2)) for f in fills)
    exchange_fills = sorted(
        (str(t.trade_id), round(float(t.qty), 8), round(float(t.price), 2)) for t in sim_trades
    )
    assert journal_fills == exchange_fills, f"journal fills != exchange fills; seed {seed}"
    assert snapshot is not None
    if market.perp:
        cash = float(core.margin_summary(acct, "USDT").wallet_balance)
    else:
        free, locked = core.balances(acct)["USDT"]
        cash = float(free + locked)
    assert snapshot.cash == pytest.approx(cash, abs=1e-6), seed
    # positions per symbol, size and side (a symbol the journal lacks is flat there)
    held = _exchange_positions(core, acct, venue, market)
    journaled = {s: float(v) for s, v in snapshot.positions.items() if abs(float(v)) > 1e-12}
    for symbol in set(held) | set(journaled):
        assert journaled.get(symbol, 0.0) == pytest.approx(held.get(symbol, 0.0), abs=1e-9), (
            symbol,
            journaled,
            held,
            seed,
        )
    if market.perp:  # the book went short, not only long
        signed = [float(t.qty) * (1 if t.is_buyer else -1) for t in sim_trades]
        assert min(itertools.accumulate(signed)) < 0, f"never short; seed {seed}"
    print(
        f"{venue.venue} {market.name}: {len(orders)} orders, {len(sim_trades)} fills, "
        f"{len(lost)} intents lost before the wire (never resent), {len(venue_refused)} refused "
        f"by the venue; positions {held}; journal == exchange"
    )
