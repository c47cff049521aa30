"""The live broker books the exchange's answers when they come, not on the next bar.

backtrader runs its broker in a cycle of Cerebro's loop, and a live feed's cycle waits for the
next bar (up to the feed's ``qcheck``). The live execution wakes that wait whenever an order
update, a fill or a balance arrives, so the broker books them at once and the next bar's way to
``next()`` no longer carries the previous order's booking (the reaction path, issue #16). The
strategy still hears of them at its next bar, before its ``next()``, as backtrader does.

With a journal, the account snapshot of a bar's cycle waits for the next cycle without a bar
(the one the order's answers wake): its write, on the bus's thread, would otherwise run while the
strategy journals and sends the bar's order.

Full stack (``BinanceStore`` testnet -> ``BinanceData`` -> Cerebro -> ``BinanceBroker``) on a
stepped simulator replaying real candles; the feed waits up to an hour for a bar, so only the
wake-up can make the broker book a fill while the market stands still.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import backtrader as bt
import pytest

from real_trade.bus import EventBus
from real_trade.feeds import FeedState
from real_trade.persistence import Journal
from real_trade.persistence.records import OrderIntent
from real_trade.sim import SimExchange
from tests.integration.live.parity_support import (
    clear_proxy_env,
    data_file,
    ms_of,
    needs_data,
    start_live_run,
)

pytestmark = pytest.mark.integration

CSV = data_file()
START_MS = ms_of(datetime(2023, 3, 10, 14, 0))
SIZE = 0.001
QCHECK = 3600.0  # the feed's longest wait for a bar: only a wake-up ends it early


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxy_env(monkeypatch)


class BuyOnce(bt.Strategy):
    """Buys ``SIZE`` on the first bar at or after ``START_MS`` (a live one: the backfill ends
    before it); records, per such bar, the order notifications heard before its ``next()``
    (``heard``) and stops itself on the third. Records what
    :class:`~tests.integration.live.parity_support.LiveRun` watches as ``RecordingSmaCross``
    does (``registry``, ``data_states``, ``processed_ms``)."""

    params = (("registry", None),)

    def __init__(self) -> None:
        self.p.registry.append(self)
        self.is_live = False
        self.data_states: list[str] = []
        self.orders: list[Any] = []
        self.heard: list[list[str]] = []
        self.order: Any = None
        self.processed_ms: int | None = None

    def notify_data(self, data: Any, status: int, *args: Any, **kwargs: Any) -> None:
        self.data_states.append(data._getstatusname(status))
        self.is_live = status == data.LIVE

    def notify_order(self, order: Any) -> None:
        self.orders.append(order)

    def next(self) -> None:
        opened = ms_of(bt.num2date(self.data.datetime[0]))
        if opened >= START_MS:
            self.heard.append([o.getstatusname() for o in self.orders])
            if self.order is None:
                self.order = self.buy(size=SIZE)
            if len(self.heard) == 3:
                self.env.runstop()
        self.processed_ms = opened


@needs_data
def test_a_fill_is_booked_before_the_next_bar_and_heard_at_it() -> None:
    assert CSV is not None
    with SimExchange(market=CSV, stepped=True, start_ms=START_MS) as sim:
        run = start_live_run(sim, paper=False, strategy=BuyOnce, qcheck=QCHECK)
        try:
            run.wait(lambda: run.registry and run.sources, "cerebro started")
            run.wait(  # LIVE reaches the strategy only with a bar (the feed waits for one)
                lambda: (
                    getattr(run.data.stream, "state", None) is FeedState.LIVE
                    and "connected" in run.source.states
                ),
                "the feed went LIVE with its kline stream up",
            )
            first = run.advance()
            run.wait(lambda: run.strategy.processed_ms == first, "the first live bar processed")
            order = run.strategy.order
            # the market stands still: no bar comes, the broker books the fill anyway
            run.wait(lambda: order.status == order.Completed, "the fill booked between bars")
            run.wait(
                lambda: run.broker.getposition(run.data).size == pytest.approx(SIZE * 0.999),
                "the position booked between bars",
            )
            heard = run.strategy.heard  # type: ignore[attr-defined]
            assert heard == [[]] and run.strategy.processed_ms == first  # no bar since
            second = run.advance()
            run.wait(lambda: run.strategy.processed_ms == second, "the second live bar processed")
            assert heard[1][-1] == "Completed"  # heard at the next bar, before its next()
            run.advance()
            run.finish()  # the third live bar ends the run
        finally:
            run.cerebro.runstop()
            run.thread.join(5)
            run.store.stop()


class RecordingBus(EventBus):
    """A bus that notes each ``account.snapshot`` as it is published, in ``log``."""

    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def publish(self, topic: str, event: Any) -> None:
        if topic == "account.snapshot":
            self.log.append("snapshot")
        super().publish(topic, event)


class RecordingJournal(Journal):
    """A journal that notes each intent it writes, in ``log``."""

    def __init__(self, url: str, log: list[str]) -> None:
        super().__init__(url)
        self.log = log

    def record_intent(self, intent: OrderIntent) -> bool:
        self.log.append("intent")
        return super().record_intent(intent)


@needs_data
def test_a_bars_snapshot_is_published_after_its_order_is_journaled_and_sent(
    tmp_path: Path,
) -> None:
    assert CSV is not None
    log: list[str] = []
    journal = RecordingJournal(f"sqlite:///{tmp_path / 'journal.db'}", log)
    with journal, SimExchange(market=CSV, stepped=True, start_ms=START_MS) as sim:
        kwargs = {"bus": RecordingBus(log), "journal": journal}
        run = start_live_run(sim, paper=False, strategy=BuyOnce, broker_kwargs=kwargs)
        try:
            run.wait_live()
            session = run.broker.session  # the backfill's last snapshot went out (no bar since)
            run.wait(lambda: "snapshot" in log and not session._new_bars, "no snapshot pending")
            assert "intent" not in log
            before = len(log)
            first = run.advance()
            run.wait(lambda: run.strategy.processed_ms == first, "the first live bar processed")
            order = run.strategy.order
            run.wait(lambda: order.status == order.Completed, "the order filled and booked")
            run.wait(lambda: "snapshot" in log[before:], "the bar's snapshot published")
            assert log[before] == "intent"  # the bar's cycle published none before the order
        finally:
            run.cerebro.runstop()
            run.thread.join(5)
            run.store.stop()
