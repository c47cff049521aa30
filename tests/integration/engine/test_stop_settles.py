"""A graceful stop right after an order went out still journals the exchange's answer.

A SIGTERM (or ``runner.stop()``) can land between the moment an order's intent is journaled and
sent and the moment the exchange's answer is applied. The stop used to end the trading loop at
once, so the answer was never applied: the journal kept the order as an intent with no outcome
(``real-trade status`` showed it open as ``SENT?``) although the exchange had filled it. The
strategy here stops the runner exactly there, the way the signal handler does, every time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import backtrader as bt
import pytest

from real_trade.cli import main
from real_trade.persistence import Journal
from real_trade.sim import SimExchange
from tests.integration.engine.runner_support import make_runner

pytestmark = pytest.mark.integration


class BuyThenStop(bt.Strategy):
    """On its first live bar: one market buy, then the stop request (as SIGTERM makes it)."""

    params = (("stop", None), ("size", 0.01))

    def __init__(self) -> None:
        self.is_live = False
        self.order: Any = None

    def notify_data(self, data: Any, status: int, *args: Any, **kwargs: Any) -> None:
        self.is_live = status == data.LIVE

    def next(self) -> None:
        if self.is_live and self.order is None:
            self.order = self.buy(size=self.p.size)
            stop: Callable[[], None] = self.p.stop
            stop()


def test_a_stop_right_after_an_order_was_sent_journals_its_outcome(
    fast_sim: SimExchange, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = fast_sim.create_account({"USDT": 10_000})
    stop_now: list[Callable[[], None]] = []
    runner = make_runner(
        fast_sim,
        tmp_path,
        BuyThenStop,
        testnet=True,
        key=key,
        name="stopper",
        strategy_params={"stop": lambda: stop_now[0]()},
    )
    stop_now.append(runner.request_stop)
    runner.run(handle_signals=False)
    assert runner.last_error is None
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    with Journal(url) as journal:
        orders = journal.orders(strategy="stopper")
        fills = journal.fills(strategy="stopper")
    assert len(orders) == 1, orders
    (order,) = orders
    assert order.state == "COMPLETED", f"the journal left the order as {order.state!r}"
    assert fills and sum(f.amount for f in fills) == pytest.approx(0.01)
    assert main(["status", "--journal", url]) == 0
    out = capsys.readouterr().out
    assert "open orders (0)" in out and "SENT?" not in out
