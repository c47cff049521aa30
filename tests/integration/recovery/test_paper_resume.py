"""A paper account with a journal survives a restart: cash and holdings resume, ids continue.

Paper orders live inside the process that ran them, so an order still open when it stopped is
recorded as Canceled (with the reason) at the next start rather than left open in the journal.
"""

from __future__ import annotations

from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from real_trade.brokers import BaseBroker
from real_trade.bus import EventBus
from real_trade.persistence import Journal

pytestmark = pytest.mark.integration


class BuyAndRest(bt.Strategy):
    """Bar 3: a market buy; bar 4: a limit buy far below the market that never fills."""

    params = (("size", 0.1),)

    def __init__(self) -> None:
        self.placed: list[Any] = []

    def next(self) -> None:
        if len(self) == 3:
            self.placed.append(self.buy(size=self.p.size))
        elif len(self) == 4:
            self.placed.append(
                self.buy(
                    size=self.p.size, exectype=bt.Order.Limit, price=float(self.data.close[0]) * 0.5
                )
            )


def _frame(start: str) -> pd.DataFrame:
    index = pd.date_range(start, periods=12, freq="min")
    close = np.linspace(30_000, 30_110, len(index))
    return pd.DataFrame(
        {"open": close, "high": close + 5, "low": close - 5, "close": close, "volume": 50.0},
        index=index,
    )


def _run(journal_url: str, start: str) -> tuple[BuyAndRest, BaseBroker]:
    bus = EventBus(synchronous=True)
    journal = Journal(journal_url)
    journal.attach(bus)
    broker = BaseBroker(
        initial_cash=10_000, run_id="paper1", journal=journal, bus=bus, symbol="BTC/USDT"
    )
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.setbroker(broker)
    cerebro.adddata(bt.feeds.PandasData(dataname=_frame(start)), name="BTC/USDT")
    cerebro.addstrategy(BuyAndRest)
    try:
        strategy = cerebro.run()[0]
    finally:
        journal.close()
    return strategy, broker


def test_a_paper_account_resumes_from_the_journal(journal_url: str) -> None:
    first, broker1 = _run(journal_url, "2024-01-01 00:00")
    cash1, position1 = broker1.getcash(), broker1.getposition(first.data).size
    assert position1 == pytest.approx(0.1 * 0.999)  # the fee is taken in the base asset
    assert first.placed[1].alive()  # the far limit order was still open at the end

    second, broker2 = _run(journal_url, "2024-01-01 00:20")
    assert broker2.startingcash == pytest.approx(cash1)
    # the second run bought 0.1 more on top of what the first one left
    assert broker2.getposition(second.data).size == pytest.approx(position1 + 0.1 * 0.999)
    ids = [o.info["client_order_id"] for o in second.placed if "client_order_id" in o.info]
    assert ids and all(int(i.rsplit("-", 1)[1]) > 2 for i in ids)  # the sequence went on
    with Journal(journal_url) as journal:
        rows = {r.client_order_id: r for r in journal.orders(strategy="paper1")}
        stale = rows[first.placed[1].info["client_order_id"]]
        assert stale.state == "CANCELED" and "do not survive a restart" in (stale.reason or "")
        assert journal.events(kind="reconcile.paper_order_ended")


@pytest.mark.parametrize("risk", ["config", "engine"])
def test_a_halt_in_the_journal_survives_a_restart_whatever_the_risk_argument(
    journal_url: str, risk: str
) -> None:
    from real_trade.risk import LiveRiskConfig, RiskEngine

    with Journal(journal_url) as journal:
        journal.set_state("trading_state", {"state": "halted", "reason": "operator kill"})
    bus = EventBus(synchronous=True)
    limits = LiveRiskConfig(max_order_notional=1e9)
    broker = BaseBroker(
        initial_cash=10_000,
        run_id="halt1",
        journal=journal_url,
        bus=bus,
        symbol="BTC/USDT",
        risk=limits if risk == "config" else RiskEngine(limits),
    )
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.setbroker(broker)
    cerebro.adddata(bt.feeds.PandasData(dataname=_frame("2024-01-02 00:00")), name="BTC/USDT")
    cerebro.addstrategy(BuyAndRest)
    strategy = cerebro.run()[0]
    market = strategy.placed[0]
    assert market.status == bt.Order.Rejected
    assert market.info["risk_rule"] == "trading_state"
    assert "HALTED" in market.info["reason"] and "operator kill" in market.info["reason"]
