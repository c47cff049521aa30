"""Shared pieces of the live-path tests: the real candle file, a stepped driver, fill records.

The live tests run the whole stack (``BinanceStore`` -> ``BinanceData`` -> Cerebro ->
``BinanceBroker``, or another venue's classes: ``start_live_run(..., venue=...)``) against a
:class:`~real_trade.sim.SimExchange` whose clock is stepped: the test moves the market one
minute at a time (:meth:`LiveRun.step`) and waits until the strategy has processed the bar that
closed (and, in testnet mode, until the exchange has answered every order it sent), so a run is
deterministic however slow the machine is.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import backtrader as bt
import pytest

from real_trade.brokers.basebroker import BaseBroker
from real_trade.bus import EventBus
from real_trade.feeds import BaseData
from real_trade.feeds.bars import Bar, LiveBarSource
from real_trade.feeds.binance_klines import binance_kline_source
from real_trade.feeds.sources import make_live_source
from real_trade.feeds.timeframes import timeframe_ms
from real_trade.sim import SimExchange
from real_trade.stores import BaseStore
from real_trade.strategies import SmaCross
from tests.integration.live.venues import BINANCE_SPOT, Venue
from tests.support import eventually

__all__ = [
    "FILE",
    "MIN",
    "PERP",
    "SYMBOL",
    "CountingSource",
    "Fill",
    "LiveRun",
    "RecordingSmaCross",
    "clear_proxy_env",
    "data_file",
    "fills_of",
    "marked_pnl",
    "ms_of",
    "needs_data",
    "start_live_run",
    "step_together",
]

FILE = "binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv"
MIN = 60_000
SYMBOL = "BTC/USDT"
PERP = "BTC/USDT:USDT"  # the same minutes replayed as a linear perpetual (USDⓈ-M, Bybit, OKX)


def data_file(name: str = FILE) -> Path | None:
    """The real one-minute candle file ``name`` ($RT_DATA_DIR or ../shared/data), or None when
    absent."""
    env = os.environ.get("RT_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[3].parent / "shared" / "data")
    return next((c / name for c in candidates if (c / name).is_file()), None)


def ms_of(moment: datetime) -> int:
    """Epoch milliseconds of a naive-UTC (or aware) datetime."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return int(aware.timestamp() * 1000)


def _bar_ms(num: float) -> int:
    """backtrader's float datetime (UTC) as epoch ms, rounded to the millisecond."""
    return ms_of(bt.num2date(num))


needs_data = pytest.mark.skipif(
    data_file() is None,
    reason=f"{FILE} not found: set RT_DATA_DIR or put the real candle files in ../shared/data",
)
"""Skip a test that replays the real candle file when it is absent."""


def clear_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy and no ``RT_SIM_URL`` from the environment: every store talks to its own sim."""
    for name in ("RT_SIM_URL", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)


@dataclass(frozen=True, slots=True)
class Fill:
    """One completed order as the strategy saw it: the bar it was decided on (open time, ms),
    its side, the bar it filled in, the average price, the size (positive) and the commission
    in the quote currency."""

    decided_ms: int
    side: str
    filled_ms: int
    price: float
    size: float
    comm: float


def marked_pnl(fills: list[Fill], mark: float) -> float:
    """The trading PnL of ``fills`` (before fees and funding) with what is still held valued at
    ``mark``: each fill's signed size times (mark - its price), which is the cash flow of the
    round trips plus the open position's unrealized PnL."""
    return sum((1 if f.side == "BUY" else -1) * f.size * (mark - f.price) for f in fills)


def fills_of(orders: list[Any]) -> list[Fill]:
    """The completed orders among a strategy's order notifications, in order of completion."""
    out: list[Fill] = []
    for order in orders:
        if order.status != order.Completed:
            continue
        filled = _bar_ms(order.executed.dt)
        out.append(
            Fill(
                _bar_ms(order.created.dt),
                "BUY" if order.isbuy() else "SELL",
                filled - filled % MIN,
                float(order.executed.price),
                abs(float(order.executed.size)),
                float(order.executed.comm),
            )
        )
    return out


class RecordingSmaCross(SmaCross):
    """The sample ``SmaCross``, unchanged, recording each bar it processed (after deciding).

    ``registry`` (a list) receives the strategy when it is built, so a test thread can watch a
    run in progress; ``bars`` holds each bar ``next`` saw (:class:`Bar`) and ``live`` whether the
    feed was LIVE then; ``first_position`` is the position at the first ``next``;
    ``processed_ms`` is the open time of the last bar ``next`` finished with (set after any order
    was created).
    """

    params = (("registry", None),)

    def __init__(self) -> None:
        super().__init__()
        self.bars: list[Bar] = []
        self.live: list[bool] = []
        self.first_position: float | None = None
        self.processed_ms: int | None = None
        if self.p.registry is not None:
            self.p.registry.append(self)

    def next(self) -> None:
        """Decide as ``SmaCross`` does, then record the bar."""
        if self.first_position is None:
            self.first_position = float(self.position.size)
        super().next()
        d = self.data
        opened = _bar_ms(d.datetime[0])
        self.bars.append(
            Bar(opened, *(float(v[0]) for v in (d.open, d.high, d.low, d.close, d.volume)))
        )
        self.live.append(self.is_live)
        self.processed_ms = opened


class CountingSource:
    """A :class:`LiveBarSource` wrapper (the feed's public ``live_source`` factory hook) that
    counts every update and records every state of Binance's native kline source."""

    def __init__(self, inner: LiveBarSource) -> None:
        self.inner = inner
        self.updates = 0
        self.states: list[str] = []

    def start(self, on_bar: Callable[[Bar], None], on_state: Callable[[str], None]) -> None:
        """Start the inner source, counting bars and recording states on the way through."""

        def bar(update: Bar) -> None:
            self.updates += 1
            on_bar(update)

        def state(value: str) -> None:
            self.states.append(value)
            on_state(value)

        self.inner.start(bar, state)

    def stop(self) -> None:
        """Stop the inner source."""
        self.inner.stop()


@dataclass
class LiveRun:
    """A Cerebro run in progress on its own thread, driven minute by minute by the test."""

    sim: SimExchange
    cerebro: bt.Cerebro
    store: BaseStore
    broker: BaseBroker
    data: BaseData
    thread: threading.Thread
    registry: list[RecordingSmaCross]
    sources: list[CountingSource]
    key: str | None
    errors: list[BaseException] = field(default_factory=list)
    bar_ms: int = MIN
    venue: Venue = BINANCE_SPOT

    @property
    def strategy(self) -> RecordingSmaCross:
        """The running strategy (once Cerebro has built it)."""
        return self.registry[0]

    @property
    def source(self) -> CountingSource:
        """The feed's live source."""
        return self.sources[0]

    def _check_alive(self) -> None:
        if self.errors:
            raise AssertionError(f"cerebro failed: {self.errors[0]!r}") from self.errors[0]

    def wait(self, condition: Callable[[], object], what: str, timeout: float = 20.0) -> None:
        """Poll ``condition``; fail with ``what`` (and the feed's state) when it never holds."""

        def check() -> object:
            self._check_alive()
            return condition()

        try:
            eventually(check, timeout, message=f"{what}; feed {self.data.stream!r}")
        except AssertionError:
            self._check_alive()
            raise

    def wait_live(self) -> None:
        """Wait for the backfill to end (LIVE) and the kline stream to be up: an update sent,
        or on a venue whose stream is silent until the market moves, its ``connected`` state."""
        self.wait(lambda: self.registry and self.sources, "cerebro started")

        def stream_up() -> bool:
            if self.venue.stream_sends_before_market_moves:
                return self.source.updates > 0
            return "connected" in self.source.states

        self.wait(
            lambda: "LIVE" in self.strategy.data_states and stream_up(),
            "the feed went LIVE with its kline stream up",
        )

    def settled(self) -> bool:
        """In testnet mode: no order the exchange still has to answer (paper orders wait for the
        next bar by design), or the run has ended."""
        done = not self.thread.is_alive()  # stopped on this bar: nobody dispatches any more
        return self.broker.paper_trading or not self.broker.open_orders or done

    def advance(self) -> int:
        """Close the current bar (``sim.advance`` by one bar, a minute unless the run trades
        another timeframe); returns the open time of that bar."""
        closing = self.sim.clock.now_ms()  # the bar opening now closes one bar later
        assert closing % self.bar_ms == 0, "the stepped clock must stand on a bar's open"
        self.sim.advance(self.bar_ms / 1000)
        return closing

    def wait_processed(self, bar_ms: int) -> None:
        """Wait until the strategy has processed bar ``bar_ms`` and its orders have settled."""
        self.wait(
            lambda: self.strategy.processed_ms == bar_ms and self.settled(),
            f"bar {bar_ms} processed and settled",
        )

    def step(self) -> int:
        """:meth:`advance`, then :meth:`wait_processed`; returns the processed bar's open."""
        closing = self.advance()
        self.wait_processed(closing)
        return closing

    def finish(self, timeout: float = 20.0, *, stop: bool = False) -> None:
        """Join the Cerebro thread (the strategy stops itself, or ``stop`` asks Cerebro to) and
        stop the store."""
        if stop:
            self.cerebro.runstop()
        self.thread.join(timeout)
        alive = self.thread.is_alive()
        self.store.stop()
        assert not alive, "cerebro did not stop"
        self._check_alive()


def start_live_run(
    sim: SimExchange,
    *,
    paper: bool,
    balances: dict[str, float] | None = None,
    history_bars: int = 20,
    store_kwargs: dict[str, Any] | None = None,
    strategy: type[bt.Strategy] = RecordingSmaCross,
    timeframe: str = "1m",
    broker_kwargs: dict[str, Any] | None = None,
    venue: Venue = BINANCE_SPOT,
    symbol: str | None = None,
    commission: float = 0.001,
    contracts: dict[str, Any] | None = None,
    qcheck: float = 0.05,
    **strategy_params: Any,
) -> LiveRun:
    """Start ``strategy`` (default ``RecordingSmaCross``; another must record as it does) on
    ``timeframe`` bars, on the full stack against ``sim`` on a Cerebro thread.

    ``paper=True``: ``BinanceBroker(paper_trading=True)`` (10,000 USDT, 0.1% commission, the
    matching engine in-process) over the simulator's live klines; ``paper=False``: testnet
    mode on a fresh simulator account holding ``balances`` (default 10,000 USDT).
    ``store_kwargs`` go to the store (e.g. reconnect delays), ``broker_kwargs`` to the broker
    (over the defaults above); ``strategy_params`` to the strategy. ``venue`` (Binance spot
    unless given) picks the store, broker and feed classes, and the live source (the venue's
    own: ``"auto"``); ``sim`` must serve its face. ``symbol=PERP`` trades the venue's linear
    perpetual: a ``market_type="future"`` (Binance) or ``"swap"`` (Bybit, OKX) store, the
    testnet account's futures wallet holding ``balances``, ``contracts`` (leverage, margin
    mode) set on start; ``commission`` is the paper broker's rate; ``qcheck`` the feed's
    longest wait for a bar.
    """
    key = secret = None
    symbol = symbol or venue.symbol
    if symbol == PERP:  # the venue's linear perpetual: USDⓈ-M, Bybit linear, OKX SWAP
        if not paper:
            held = balances or {"USDT": 10_000.0}
            key, secret = sim.create_account({}, futures_balances=held)
        market_type = "future" if venue.venue == "binance" else "swap"
        kwargs = {**venue.store_kwargs, **(store_kwargs or {}), "market_type": market_type}
        store = venue.store(key, secret, testnet=True, sim_url=sim.url, bus=EventBus(), **kwargs)
    elif paper:
        store = venue.make_public_store(sim, testnet=True, **(store_kwargs or {}))
    else:
        key, secret = venue.create_account(sim, balances or {"USDT": 10_000.0})
        store = venue.make_store(sim, key, secret, **(store_kwargs or {}))
    options: dict[str, Any] = {
        "paper_trading": paper,
        "initial_cash": 10_000.0,
        "commission": commission,
        "run_id": f"par{(key or 'paper')[:5]}",
        "bus": EventBus(),
    }
    if contracts is not None:
        options["contracts"] = contracts
    broker = venue.broker(store, **{**options, **(broker_kwargs or {})})
    sources: list[CountingSource] = []

    def source_factory(client: Any, symbol: str, timeframe: str) -> LiveBarSource:
        if venue.store.venue is not None and venue.store.venue.native_kline_stream:
            native = binance_kline_source(client, symbol, timeframe)
            assert native is not None, "the simulator must be served by Binance's kline source"
            sources.append(CountingSource(native))
        else:
            sources.append(CountingSource(make_live_source("auto", client, symbol, timeframe)))
        return sources[-1]

    data = venue.data.from_timeframe_string(
        timeframe,
        store,
        symbol=symbol,
        history_bars=history_bars,
        live_source=source_factory,
        qcheck=qcheck,
    )
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.setbroker(broker)
    cerebro.adddata(data)
    registry: list[RecordingSmaCross] = []
    cerebro.addstrategy(strategy, registry=registry, **strategy_params)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            cerebro.run()
        except BaseException as exc:  # reported by the driver, not lost on this thread
            errors.append(exc)

    thread = threading.Thread(target=run, name="cerebro-live", daemon=True)
    live = LiveRun(
        sim,
        cerebro,
        store,
        broker,
        data,
        thread,
        registry,
        sources,
        key,
        errors,
        timeframe_ms(timeframe),
        venue,
    )
    thread.start()
    return live


def step_together(runs: list[LiveRun], count: int) -> None:
    """Step several runs (each on its own simulator) ``count`` minutes in lockstep."""
    for _ in range(count):
        closing = [run.advance() for run in runs]
        for run, bar_ms in zip(runs, closing, strict=True):
            run.wait_processed(bar_ms)
