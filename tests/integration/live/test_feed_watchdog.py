"""The data watchdog against the simulator, through ``BinanceData`` and Cerebro.

The simulator's clock is stepped and the feed's watchdog is given the simulator's market time
as its clock (``clock=``), so "100 s without a bar" means 100 s of market time, moved by the test.

* A silently dead stream: the kline subscription is dropped on the server (an ``UNSUBSCRIBE``
  sent on the source's own socket: the connection stays up, pings are answered, but no kline
  comes any more). The watchdog sees no bar for ``stale_after``, publishes ``feed.stale``,
  resubscribes on a new connection and backfills the bars it missed.
* An old connection: with ``max_connection_age`` of ten market minutes the feed replaces its
  kline connection every ten minutes on its own (``feed.reconnect``), and the bars the strategy
  saw equal the simulator's candles, with no gap and no duplicate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timezone
from itertools import pairwise
from typing import Any

import backtrader as bt
import pytest

from real_trade.bus import EventBus
from real_trade.feeds import Bar, BinanceData, BinanceKlineSource, FeedReconnect, FeedStale
from real_trade.feeds.bars import LiveBarSource
from real_trade.feeds.binance_klines import binance_kline_source
from real_trade.sim import SimExchange
from real_trade.stores import BaseStore, BinanceStore
from tests.support import eventually

pytestmark = pytest.mark.integration

MIN = 60_000


class Recorder(bt.Strategy):
    """Records every bar (open ms and OHLCV) and every data notification into ``log``."""

    params = (("log", None),)

    def notify_data(self, data: bt.feed.DataBase, status: int, *args: object, **kw: object) -> None:
        self.p.log.states.append(data._getstatusname(status))

    def next(self) -> None:
        d = self.data
        opened = d.datetime.datetime(0).replace(tzinfo=timezone.utc)
        self.p.log.bars.append(
            Bar(
                int(opened.timestamp() * 1000),
                d.open[0],
                d.high[0],
                d.low[0],
                d.close[0],
                d.volume[0],
            )
        )


@dataclass
class Run:
    """A live Cerebro run on its own thread, and what it saw."""

    sim: SimExchange
    store: BinanceStore
    data: BinanceData
    cerebro: bt.Cerebro
    thread: threading.Thread
    sources: list[BinanceKlineSource]
    bars: list[Bar] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)

    def wait(self, condition: Callable[[], object], what: str, timeout: float = 20.0) -> None:
        assert self.thread.is_alive(), "cerebro stopped"
        eventually(
            condition, timeout, message=f"{what}; states {self.states}; feed {self.data.stream!r}"
        )

    def step(self) -> int:
        """Close the forming minute and wait until the strategy has it; its open time."""
        closing = self.sim.clock.now_ms()
        self.sim.advance(60)
        self.wait(lambda: self.bars and self.bars[-1].open_ms == closing, f"bar {closing}")
        return closing

    def sim_candles(self) -> list[Bar]:
        first, last = self.bars[0].open_ms, self.bars[-1].open_ms
        page = self.sim.core.klines("BTCUSDT", "1m", start_ms=first, end_ms=last, limit=1000)
        return [
            Bar(k.open_ms, *(float(v) for v in (k.open, k.high, k.low, k.close, k.volume)))
            for k in page
        ]


@pytest.fixture
def sim() -> Iterator[SimExchange]:
    """A stepped simulator with a synthetic BTC/USDT market, standing on a whole minute."""
    with SimExchange(stepped=True, seed=7) as exchange:
        exchange.advance((MIN - exchange.clock.now_ms() % MIN) / 1000)
        yield exchange


@pytest.fixture
def start_run(sim: SimExchange, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Run]]:
    """Start ``Recorder`` over ``BinanceData`` (native kline source, market-time watchdog)."""
    for name in ("RT_SIM_URL", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    runs: list[Run] = []

    def start(**feed: Any) -> Run:
        bus = EventBus(synchronous=True)
        store = BinanceStore(
            sim_url=sim.url, bus=bus, reconnect_base_delay=0.2, reconnect_max_delay=0.2
        )
        sources: list[BinanceKlineSource] = []

        def native(client: Any, symbol: str, timeframe: str) -> LiveBarSource:
            source = binance_kline_source(client, symbol, timeframe)
            assert isinstance(source, BinanceKlineSource)
            sources.append(source)
            return source

        data = BinanceData.from_timeframe_string(
            "1m",
            store,
            symbol="BTC/USDT",
            history_bars=3,
            live_source=native,
            qcheck=0.02,
            clock=lambda: sim.clock.now_ms() / 1000,
            watchdog_interval=0.01,
            **feed,
        )
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(data)
        run = Run(
            sim, store, data, cerebro, threading.Thread(target=cerebro.run, daemon=True), sources
        )
        bus.subscribe("feed.stale", lambda topic, event: run.events.append(event))
        bus.subscribe("feed.reconnect", lambda topic, event: run.events.append(event))
        cerebro.addstrategy(Recorder, log=run)
        runs.append(run)
        run.thread.start()
        run.wait(lambda: run.states[-1:] == ["LIVE"] and sources, "the feed went LIVE")
        return run

    yield start
    for run in runs:
        run.cerebro.runstop()
        run.thread.join(10)
        run.store.stop()
    BaseStore.clear_instances()


def _check_bars(run: Run) -> None:
    opens = [b.open_ms for b in run.bars]
    assert all(b - a == MIN for a, b in pairwise(opens)), f"a gap or a duplicate: {opens}"
    assert run.bars == run.sim_candles()  # the exchange's own closed candles, values too


def test_a_silently_dead_stream_is_resubscribed_and_backfilled(
    start_run: Callable[..., Run],
) -> None:
    run = start_run()
    assert run.data.stream is not None and run.data.stream.watchdog.stale_after == 100.0
    for _ in range(3):
        run.step()
    source = run.sources[0]
    replies: list[Any] = []
    source.websocket.on("subscribed", replies.append)
    assert source.websocket.send({"method": "UNSUBSCRIBE", "params": [source.stream], "id": 77})
    run.wait(lambda: 77 in replies, "the server dropped the kline subscription")
    last_live = run.bars[-1].open_ms
    run.sim.advance(120)  # two bars close, but the stream is silent now: stale after 100 s
    run.wait(lambda: run.states[-1:] == ["LIVE"] and "CONNBROKEN" in run.states, "recovered")
    missed = [last_live + MIN, last_live + 2 * MIN]
    run.wait(lambda: [b.open_ms for b in run.bars[-2:]] == missed, "the missed bars by REST")
    stale = [e for e in run.events if isinstance(e, FeedStale)]
    assert len(stale) == 1 and (stale[0].symbol, stale[0].timeframe) == ("BTC/USDT", "1m")
    assert stale[0].seconds_since_bar > 100 and stale[0].last_bar_ms == last_live
    assert [e.reason for e in run.events if isinstance(e, FeedReconnect)] == ["stale"]
    assert source.websocket.stats["connects"] == 2  # a new connection, subscribed anew
    for _ in range(3):  # and the stream is alive again: bars come live
        run.step()
    assert run.states[-1] == "LIVE" and run.states.count("CONNBROKEN") == 1
    _check_bars(run)


def test_an_old_connection_is_replaced_every_ten_market_minutes_without_gap_or_duplicate(
    start_run: Callable[..., Run],
) -> None:
    run = start_run(max_connection_age=600)
    for _ in range(45):
        run.step()
    ws = run.sources[0].websocket

    def reconnected() -> list[FeedReconnect]:
        return [e for e in run.events if isinstance(e, FeedReconnect)]

    run.wait(
        lambda: run.states[-1] == "LIVE" and ws.stats["connects"] == len(reconnected()) + 1,
        "the last reconnect completed",
    )
    reconnects = reconnected()
    # a reconnect every 600 s of connection age; the next age counts from the new connect,
    # which may come a step later (the test does not wait for it): 3 or 4 in 45 minutes
    assert 3 <= len(reconnects) <= 4
    assert {e.reason for e in reconnects} == {"max_connection_age"}
    assert all(e.connection_age is not None and e.connection_age >= 600 for e in reconnects)
    assert not [e for e in run.events if isinstance(e, FeedStale)]
    assert run.states.count("CONNBROKEN") == len(reconnects) and run.states[-1] == "LIVE"
    assert len(run.bars) >= 45
    _check_bars(run)


def test_binance_feeds_reconnect_an_hour_before_the_venues_24_hours(
    start_run: Callable[..., Run],
) -> None:
    run = start_run()
    assert run.data.stream is not None
    assert run.data.stream.watchdog.max_connection_age == 23 * 3600
