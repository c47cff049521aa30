"""Parity: one strategy, one market, three venues, the same trades.

The sample ``SmaCross`` (SMA 5/20, 0.01 BTC) runs over the same 200 real one-minute candles
(2023-03-10 14:00 to 17:19 UTC, warmed up by the 20 minutes before) in

* **backtest**: plain backtrader, ``bt.Cerebro()`` with its ``BackBroker`` (0.1% commission) and
  ``bt.feeds.PandasData`` over the file's candles;
* **paper**: ``BinanceBroker(paper_trading=True)`` (the simulator's matching engine in-process,
  driven by the feed's bars) with ``BinanceData`` live from a simulator replaying the file;
* **testnet**: ``BinanceBroker(paper_trading=False)`` trading a simulator account, with
  ``BinanceData`` live from that simulator; and the same on Bybit and OKX (``venue``, ids like
  ``okx-spot``: their store, broker and feed, the live bars from ccxt.pro, on a simulator
  serving their face). Paper and backtest are run once per venue beside it, as the reference.

A second test runs ``SmaCross(long_short=True)`` on the perpetual ``BTC/USDT:USDT`` over the
same minutes (backtrader's futures commission and margin against the simulator's derivatives
core; see the section "perpetuals" below for what must agree there). Its testnet run trades
Binance USDⓈ-M, Bybit's linear or OKX's SWAP perpetual (``perp_venue``, ids like
``okx-perp``; OKX's contract is 0.01 BTC, the broker speaks BTC). Each run costs ~12 s, so by
default it runs on **Binance always and on one of Bybit/OKX chosen by the UTC date** (the
day's ordinal: even Bybit, odd OKX; :func:`perp_venues`), so both are covered every other
day; ``RT_PARITY_VENUES=all`` runs the three, ``RT_PARITY_VENUES=okx,bybit`` (a list) those.

The simulators' clocks are stepped: the test closes one minute at a time and waits until the
strategy has processed the bar (and, in testnet, the exchange has answered its order), so the
live runs are deterministic. Run with ``-s`` to see the comparison table.

What must agree, and the tolerances (all three venues charge 0.1%):

* the bars the strategy processed (open times and closes), hence every decision;
* the trades: count, side, the bar each order was decided on and the bar it filled in
  (the next one), the commission rate;
* sizes: buys are 0.01 everywhere; a paper/testnet sell closes the real position, which is the
  0.01 bought **net of the 0.1% fee Binance takes in BTC** (0.00999), while BackBroker charges
  fees in cash and sells 0.01: equal within the fee;
* prices, where the fill models legitimately differ:
  - backtest: a market order fills at the next bar's open, exactly;
  - paper: the order enters the book right after the next bar's opening trade, so it fills at
    that open or one spread (2 ticks, 0.02 USDT) away from it, as the taker side falls;
  - testnet: the order reaches the exchange the moment the bar closes, so it fills at the book
    as it stands then: the bar's close within the spread (2 ticks). Against the backtest that
    is off by the gap between a bar's close and the next open (a few USDT in this data), which
    the table shows; ``|testnet - backtest| <= |next open - close| + 2 ticks`` is asserted.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import backtrader as bt
import pandas as pd
import pytest

from real_trade.feeds import Bar
from real_trade.sim import SimExchange
from real_trade.strategies import SmaCross
from tests.integration.live.parity_support import (
    MIN,
    PERP,
    Fill,
    LiveRun,
    clear_proxy_env,
    data_file,
    fills_of,
    marked_pnl,
    ms_of,
    needs_data,
    start_live_run,
    step_together,
)
from tests.integration.live.venues import BINANCE_SPOT, BYBIT_SPOT, OKX_SPOT, Venue, venue_params

pytestmark = pytest.mark.integration

CSV = data_file()
START = datetime(2023, 3, 10, 14, 0)  # the simulators' clocks start here (UTC)
START_MS = ms_of(START)
BARS = 200  # live minutes traded
FAST, SLOW, SIZE, FEE = 5, 20, 0.01, 0.001
TICK = 0.01  # the file's price precision: the simulator's tick
SPREAD = 2 * TICK  # the simulated book's spread (one tick either side of its centre)
PARAMS = {"fast": FAST, "slow": SLOW, "size": SIZE, "max_live_bars": BARS}


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxy_env(monkeypatch)


@pytest.fixture(scope="module")
def candles() -> pd.DataFrame:
    """The file's candles from the warm-up (SLOW minutes before START) to the last live bar."""
    assert CSV is not None
    frame = pd.read_csv(CSV, parse_dates=["open_time"])
    frame["open_time"] = frame["open_time"].dt.tz_convert("UTC").dt.tz_localize(None)
    first, last = START - timedelta(minutes=SLOW), START + timedelta(minutes=BARS - 1)
    window = frame.set_index("open_time").loc[first:last]
    assert len(window) == SLOW + BARS, "the window must have no missing minute"
    return window


class BacktestSmaCross(SmaCross):
    """``SmaCross`` recording the bars it processed, as the live runs' strategy does."""

    def __init__(self) -> None:
        super().__init__()
        self.bars: list[Bar] = []

    def next(self) -> None:
        """Decide as ``SmaCross`` does, then record the bar."""
        super().next()
        d = self.data
        opened = ms_of(bt.num2date(d.datetime[0]))
        self.bars.append(
            Bar(opened, *(float(v[0]) for v in (d.open, d.high, d.low, d.close, d.volume)))
        )


def run_backtest(
    candles: pd.DataFrame, comminfo: bt.CommInfoBase | None = None, **params: Any
) -> BacktestSmaCross:
    """Plain backtrader: BackBroker (10,000 cash, 0.1%, or ``comminfo``) and PandasData over
    the candles; ``params`` override the strategy's."""
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.broker.setcash(10_000.0)
    if comminfo is None:
        cerebro.broker.setcommission(commission=FEE)
    else:
        cerebro.broker.addcommissioninfo(comminfo)
    cerebro.adddata(bt.feeds.PandasData(dataname=candles, timeframe=bt.TimeFrame.Minutes))
    cerebro.addstrategy(BacktestSmaCross, **{**PARAMS, "max_live_bars": 0, **params})
    strategy: BacktestSmaCross = cerebro.run()[0]
    return strategy


@pytest.fixture(params=venue_params())
def live_runs(request: pytest.FixtureRequest) -> Iterator[tuple[LiveRun, LiveRun]]:
    """A paper and a testnet run (on the venue under test), each on its own stepped simulator
    replaying the file (a testnet order trades on its simulator and so shows up in that
    simulator's candles)."""
    assert CSV is not None
    venue: Venue = request.param
    with (
        SimExchange(market=CSV, stepped=True, start_ms=START_MS) as paper_sim,
        venue.simulator(market=CSV, stepped=True, start_ms=START_MS) as testnet_sim,
    ):
        paper = start_live_run(paper_sim, paper=True, history_bars=SLOW, **PARAMS)
        testnet = start_live_run(testnet_sim, paper=False, history_bars=SLOW, venue=venue, **PARAMS)
        try:
            yield paper, testnet
        finally:
            for run in (paper, testnet):
                run.thread.join(5)
                run.store.stop()


def _table(
    bt_fills: list[Fill], paper: list[Fill], testnet: list[Fill], candles: pd.DataFrame
) -> str:
    closes = {ms_of(t): float(c) for t, c in candles["close"].items()}
    head = (
        f"{'#':>3} {'side':<4} {'decided':<16} {'filled':<16} {'size bt/live':>17} "
        f"{'backtest':>10} {'paper':>10} {'Δ':>6} {'close[t]':>10} {'testnet':>10} "
        f"{'Δ bt':>6} {'Δ close':>7}"
    )
    lines = [head, "-" * len(head)]
    for i, (b, p, t) in enumerate(zip(bt_fills, paper, testnet, strict=False), 1):
        stamp = pd.Timestamp(b.decided_ms, unit="ms").strftime("%m-%d %H:%M")
        filled = pd.Timestamp(b.filled_ms, unit="ms").strftime("%m-%d %H:%M")
        close = closes[b.decided_ms]
        lines.append(
            f"{i:>3} {b.side:<4} {stamp:<16} {filled:<16} {b.size:>8.5f}/{p.size:<8.5f} "
            f"{b.price:>10.2f} {p.price:>10.2f} {p.price - b.price:>+6.2f} {close:>10.2f} "
            f"{t.price:>10.2f} {t.price - b.price:>+6.2f} {t.price - close:>+7.2f}"
        )
    return "\n".join(lines)


@needs_data
def test_backtest_paper_and_testnet_make_the_same_trades(
    candles: pd.DataFrame, live_runs: tuple[LiveRun, LiveRun]
) -> None:
    backtest = run_backtest(candles)
    paper, testnet = live_runs
    for run in live_runs:
        run.wait_live()
    step_together([paper, testnet], BARS)
    for run in live_runs:
        run.finish()

    bt_fills = fills_of(backtest.orders)
    paper_fills, testnet_fills = fills_of(paper.strategy.orders), fills_of(testnet.strategy.orders)
    last_bar = START_MS + (BARS - 1) * MIN  # an order decided on it fills only on the exchange
    testnet_fills = [f for f in testnet_fills if f.decided_ms < last_bar]
    title = f"SmaCross({FAST}/{SLOW}) {SIZE} BTC, {BARS} live minutes from {START:%Y-%m-%d %H:%M}"
    print(f"\n{title} UTC; prices in USDT\n{_table(bt_fills, paper_fills, testnet_fills, candles)}")

    # the same bars, hence the same decisions: every next() saw the same minute and close
    bt_seen = [(b.open_ms, b.close) for b in backtest.bars]
    for run in (paper, testnet):
        assert [(b.open_ms, b.close) for b in run.strategy.bars] == bt_seen
        assert all(run.strategy.live)  # the warm-up was history: no decision was made on it
    assert bt_seen[0][0] == START_MS and len(bt_seen) == BARS
    assert paper.strategy.bars == backtest.bars  # the paper feed's candles are the file's
    file_opens = [b.open for b in backtest.bars]
    own_first_trades = sum(
        b.open != o for b, o in zip(testnet.strategy.bars, file_opens, strict=True)
    )
    print(
        f"testnet bars whose open is the strategy's own fill (the minute's first trade): "
        f"{own_first_trades} of {len(testnet_fills)} fills"
    )
    assert own_first_trades <= len(testnet_fills)

    # the same trades: count, sides, decision and fill bars
    assert len(bt_fills) >= 10, "SmaCross must trade every crossover, not once"
    keys = [(f.side, f.decided_ms, f.filled_ms) for f in bt_fills]
    assert [(f.side, f.decided_ms, f.filled_ms) for f in paper_fills] == keys
    assert [(f.side, f.decided_ms, f.filled_ms) for f in testnet_fills] == keys
    assert all(f.filled_ms == f.decided_ms + MIN for f in bt_fills)
    assert [f.side for f in bt_fills] == ["BUY", "SELL"] * (len(bt_fills) // 2) + (
        ["BUY"] if len(bt_fills) % 2 else []
    )

    closes = {ms_of(t): float(c) for t, c in candles["close"].items()}
    opens = {ms_of(t): float(o) for t, o in candles["open"].items()}
    for b, p, t in zip(bt_fills, paper_fills, testnet_fills, strict=True):
        assert b.price == opens[b.filled_ms]  # BackBroker: the next bar's open, exactly
        assert abs(p.price - b.price) <= SPREAD + 1e-9, (b, p)
        close = closes[b.decided_ms]
        assert abs(t.price - close) <= SPREAD + 1e-9, (b, t, close)
        assert abs(t.price - b.price) <= abs(opens[b.filled_ms] - close) + SPREAD + 1e-9
        for live in (p, t):  # fees: 0.1% of the notional; a sell sells the position net of fee
            expected = SIZE if live.side == "BUY" else round(SIZE * (1 - FEE), 5)
            assert live.size == pytest.approx(expected, abs=1e-12)
            assert abs(live.size - b.size) <= b.size * FEE + 1e-12
        for fill in (b, p, t):
            assert fill.comm == pytest.approx(FEE * fill.size * fill.price, rel=1e-6)

    # and the accounts: testnet's broker equals the exchange's account after the run
    totals = testnet.sim.core.balances(testnet.sim.core.account_by_key(testnet.key or ""))
    usdt, btc = (float(sum(totals.get(a, (0, 0)))) for a in ("USDT", "BTC"))
    assert testnet.broker.getcash() == pytest.approx(usdt, abs=1e-8)
    assert testnet.broker.getposition(testnet.data).size == pytest.approx(btc, abs=1e-12)


# --- perpetuals: SmaCross(long_short=True) on BTC/USDT:USDT --------------------------------
#
# The same minutes replayed as a linear perpetual (no perpetual candle file exists in the
# shared data: the spot trades stand in for the contract's): the paper run on Binance USDⓈ-M's
# rules, the testnet run on the venue under test (Binance USDⓈ-M, Bybit linear, OKX SWAP). The
# strategy holds 0.01 long above the slow average and 0.01 short below, reversing with one
# order of 0.02.
#
# * backtest: BackBroker with a linear-contract commission scheme (``stocklike=False``,
#   multiplier 1 USDT per BTC, margin 1/LEVERAGE of the first price, 0.05% of the notional: USD-M's
#   taker fee), shorting allowed; no funding;
# * paper and testnet: the simulator's derivatives core (paper in-process, testnet behind the
#   venue's face), 5x cross, 0.05% taker; funding is charged at 16:00 UTC, inside the window.
#
# The trades are the same (side, size, decision bar, fill bar). Each venue's PnL (the wallet
# plus the open position at the last close, less the 10,000 start) is exactly its fills' PnL
# less its fees plus its funding; between a live venue and the backtest the PnL differs by no
# more than the fills' price gaps (bounded by the candles: the spread, and for testnet the gap
# between a bar's close and the next open) plus the difference in fees plus the funding paid.

PERP_FEE = 0.0005  # USD-M's default taker fee, the simulator's futures accounts' too
LEVERAGE = 5
PERP_PARAMS = {**PARAMS, "long_short": True}
CONTRACTS = {PERP: {"leverage": LEVERAGE, "margin_mode": "cross"}}
FUNDING_MS = ms_of(datetime(2023, 3, 10, 16, 0))  # the only funding time in the window


def linear_perpetual_comminfo(price: float) -> bt.CommInfoBase:
    """backtrader's futures scheme for a USDT-margined linear contract of 1 BTC per unit:
    0.05% of the notional, PnL of 1 USDT per USDT the price moves, a fixed initial margin of
    ``price`` / LEVERAGE per BTC (``automargin`` would value an open position's margin at the
    current price but release it at the opening one, which leaks PnL into the value). Its
    ``leverage`` stays 1: BackBroker divides a long's value by it, the margin says it already."""
    return bt.CommInfoBase(
        commission=PERP_FEE,
        commtype=bt.CommInfoBase.COMM_PERC,
        percabs=True,
        stocklike=False,
        mult=1.0,
        margin=price / LEVERAGE,
    )


PERP_FACES = {"binance": ["binance", "binance_futures"], "bybit": ["bybit"], "okx": ["okx"]}
PERP_VENUE = {"binance": BINANCE_SPOT, "bybit": BYBIT_SPOT, "okx": OKX_SPOT}  # their classes


def perp_venues(chosen: str | None = None, today: datetime | None = None) -> list[str]:
    """The venues the perpetual parity test trades on (module docstring): ``chosen`` (default
    ``$RT_PARITY_VENUES``) is ``all`` or a comma list; else Binance and, by ``today``'s (UTC)
    ordinal, Bybit (even) or OKX (odd)."""
    chosen = os.environ.get("RT_PARITY_VENUES", "") if chosen is None else chosen
    if chosen.strip() == "all":
        return list(PERP_FACES)
    if chosen.strip():
        names = [n.strip() for n in chosen.split(",") if n.strip()]
        unknown = sorted(set(names) - set(PERP_FACES))
        if unknown:
            raise ValueError(
                f"RT_PARITY_VENUES: unknown venue(s) {unknown}; use {list(PERP_FACES)}"
            )
        return names
    day = (today or datetime.now(UTC)).date().toordinal()
    return ["binance", ("bybit", "okx")[day % 2]]


def test_the_perpetual_parity_rotation_covers_bybit_and_okx_on_alternate_days() -> None:
    days = [datetime(2026, 12, 6, tzinfo=UTC) + timedelta(days=n) for n in range(2)]
    picked = [perp_venues("", day) for day in days]
    assert sorted(p[1] for p in picked) == ["bybit", "okx"]
    assert all(p[0] == "binance" for p in picked)
    assert perp_venues("all") == ["binance", "bybit", "okx"]
    assert perp_venues(" okx ,bybit") == ["okx", "bybit"]
    with pytest.raises(ValueError, match="kraken"):
        perp_venues("kraken")


@pytest.fixture(params=[pytest.param(v, id=f"{v}-perp") for v in perp_venues()])
def perp_runs(request: pytest.FixtureRequest) -> Iterator[tuple[LiveRun, LiveRun]]:
    """A paper run (Binance USDⓈ-M's rules) and a testnet run on the venue under test, each on
    its own stepped simulator serving the venue's face over the file."""
    assert CSV is not None
    name: str = request.param
    paper_faces = PERP_FACES["binance"]
    with (
        SimExchange(market=CSV, stepped=True, start_ms=START_MS, faces=paper_faces) as paper_sim,
        SimExchange(
            market=CSV, stepped=True, start_ms=START_MS, faces=PERP_FACES[name]
        ) as testnet_sim,
    ):
        common: dict[str, Any] = {
            "history_bars": SLOW,
            "symbol": PERP,
            "commission": PERP_FEE,
            "contracts": CONTRACTS,
            **PERP_PARAMS,
        }
        paper = start_live_run(paper_sim, paper=True, **common)
        testnet = start_live_run(testnet_sim, paper=False, venue=PERP_VENUE[name], **common)
        try:
            yield paper, testnet
        finally:
            for run in (paper, testnet):
                run.thread.join(5)
                run.store.stop()


def _venue_pnl(core: Any, account: Any, mark: float) -> float:
    """A futures account's PnL from 10,000 USDT: its wallet plus its open position at ``mark``."""
    wallet = float(core.margin_summary(account, "USDT").wallet_balance)
    held = sum(float(v.qty) * (mark - float(v.entry_price)) for v in core.positions(account))
    return wallet + held - 10_000.0


def _futures_core(run: LiveRun) -> tuple[Any, Any]:
    """The derivatives core a run traded on and its account there: the paper broker's own
    in-process core, or the testnet simulator's linear core."""
    if run.broker.paper_trading:
        paper = run.broker.session.paper
        assert paper is not None and paper.core is not None
        return paper.core, paper._account
    core = run.sim.futures_core
    assert core is not None
    account = core.account_by_key(run.key or "")
    assert account is not None
    return core, account


def _held_before(fills: list[Fill], moment_ms: int) -> float:
    """The signed position the fills built before ``moment_ms``."""
    return sum((1 if f.side == "BUY" else -1) * f.size for f in fills if f.filled_ms < moment_ms)


@needs_data
def test_long_short_on_the_perpetual_makes_the_same_trades_and_pnl(
    candles: pd.DataFrame, perp_runs: tuple[LiveRun, LiveRun]
) -> None:
    comminfo = linear_perpetual_comminfo(float(candles["open"].iloc[0]))
    backtest = run_backtest(candles, comminfo, long_short=True)
    paper, testnet = perp_runs
    for run in perp_runs:
        run.wait_live()
    step_together([paper, testnet], BARS)
    for run in perp_runs:
        run.finish()

    bt_fills = fills_of(backtest.orders)
    paper_fills, testnet_fills = fills_of(paper.strategy.orders), fills_of(testnet.strategy.orders)
    title = f"SmaCross({FAST}/{SLOW}) long/short {SIZE} BTC on {PERP}, {BARS} live minutes"
    print(f"\n{title}; prices in USDT\n{_table(bt_fills, paper_fills, testnet_fills, candles)}")

    # the same bars and decisions
    bt_seen = [(b.open_ms, b.close) for b in backtest.bars]
    for run in perp_runs:
        assert [(b.open_ms, b.close) for b in run.strategy.bars] == bt_seen
        assert all(run.strategy.live)

    # the same trades: side, size, decision and fill bars; short after long after short...
    assert len(bt_fills) >= 10, "SmaCross must reverse on every crossover"
    keys = [(f.side, f.size, f.decided_ms, f.filled_ms) for f in bt_fills]
    assert [(f.side, f.size, f.decided_ms, f.filled_ms) for f in paper_fills] == keys
    assert [(f.side, f.size, f.decided_ms, f.filled_ms) for f in testnet_fills] == keys
    assert all(f.filled_ms == f.decided_ms + MIN for f in bt_fills)
    assert [f.size for f in bt_fills] == [SIZE] + [2 * SIZE] * (len(bt_fills) - 1)
    assert all(a.side != b.side for a, b in itertools.pairwise(bt_fills))
    assert "SELL" in {f.side for f in bt_fills}, "the strategy never went short"

    # a fill is off the price it follows by at most the book's spread (two ticks) plus the
    # price's rounding to the contract's tick: paper's contract has USD-M's 0.10 (PERP_RULES),
    # the testnet simulator's the file's own precision (0.01, no rounding)
    cores = {name: _futures_core(run) for name, run in (("paper", paper), ("testnet", testnet))}
    ticks = {name: float(core.rules_for("BTCUSDT").tick_size) for name, (core, _) in cores.items()}
    spread = {"paper": 3 * ticks["paper"], "testnet": 2 * ticks["testnet"]}
    assert ticks["testnet"] == TICK
    closes = {ms_of(t): float(c) for t, c in candles["close"].items()}
    opens = {ms_of(t): float(o) for t, o in candles["open"].items()}
    for b, p, t in zip(bt_fills, paper_fills, testnet_fills, strict=True):
        assert b.price == opens[b.filled_ms]
        assert abs(p.price - b.price) <= spread["paper"] + 1e-9, (b, p)
        assert abs(t.price - closes[b.decided_ms]) <= spread["testnet"] + 1e-9, (b, t)
        for fill in (b, p, t):  # 0.05% of the notional, in USDT
            assert fill.comm == pytest.approx(PERP_FEE * fill.size * fill.price, rel=1e-6)

    # each venue's PnL is its fills' PnL less its fees plus its funding, exactly
    mark = closes[START_MS + (BARS - 1) * MIN]  # the last bar's close values what is held
    bt_fees = sum(f.comm for f in bt_fills)
    bt_pnl = backtest.broker.getvalue() - 10_000.0
    assert bt_pnl == pytest.approx(marked_pnl(bt_fills, mark) - bt_fees, abs=1e-6)
    held_at_funding = _held_before(bt_fills, FUNDING_MS)
    assert held_at_funding != 0, "a position must be open at the funding time"
    live: dict[str, tuple[float, float, float, list[Fill]]] = {}
    for name, run, fills in (("paper", paper, paper_fills), ("testnet", testnet, testnet_fills)):
        core, account = cores[name]
        ((_when, rate, funding_mark),) = [
            f for f in core.funding_rates("BTCUSDT") if f[0] == FUNDING_MS
        ]
        (payment,) = run.broker.funding_payments  # one funding time, one payment
        assert payment.amount == pytest.approx(
            -held_at_funding * float(funding_mark) * float(rate), abs=1e-9
        )  # a long pays a positive rate, a short receives it
        funding = payment.amount
        fees = sum(f.comm for f in fills)
        exchange_fees = sum(float(f.commission) for f in core.my_trades(account, "BTCUSDT"))
        assert fees == pytest.approx(exchange_fees, abs=1e-9)
        pnl = _venue_pnl(core, account, mark)
        assert pnl == pytest.approx(marked_pnl(fills, mark) - fees + funding, abs=1e-6), name
        assert run.broker.getcash() == pytest.approx(
            float(core.margin_summary(account, "USDT").wallet_balance), abs=1e-9
        )
        (view,) = core.positions(account)
        assert float(view.qty) == pytest.approx(_held_before(bt_fills, 2**62))
        assert run.broker.getposition(run.data).size == pytest.approx(float(view.qty))
        live[name] = (pnl, fees, funding, fills)

    # against the backtest: the price gaps the candles allow, the fee difference, the funding
    for name, (pnl, fees, funding, fills) in live.items():
        gap = sum(
            b.size
            * (
                spread[name]
                if name == "paper"
                else abs(opens[b.filled_ms] - closes[b.decided_ms]) + spread[name]
            )
            for b in bt_fills
        )
        allowed = gap + abs(fees - bt_fees) + abs(funding)
        print(
            f"{name}: PnL {pnl:+.4f} vs backtest {bt_pnl:+.4f} (Δ {pnl - bt_pnl:+.4f}); "
            f"fees {fees:.4f} vs {bt_fees:.4f}, funding {funding:+.4f}, price gaps <= {gap:.4f}"
        )
        assert abs(pnl - bt_pnl) <= allowed + 1e-9, (name, pnl, bt_pnl, allowed)
        price_term = sum(
            (1 if b.side == "BUY" else -1) * b.size * (b.price - f.price)
            for b, f in zip(bt_fills, fills, strict=True)
        )  # what the fill models' prices make of it, exactly
        assert pnl - bt_pnl == pytest.approx(price_term - (fees - bt_fees) + funding, abs=1e-6)
