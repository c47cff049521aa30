"""RiskManager and its parts: sizing, stop prices, daily trade limit, drawdown guard, sizer use."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from real_trade.risk.manager import (
    DrawdownGuard,
    FixedRatioSizer,
    FixedStopLoss,
    RiskManager,
    RiskManagerSizer,
    TradeLimiter,
)

DAY1 = datetime(2023, 3, 1, 12, 0, tzinfo=timezone.utc)


def _broker(cash: float) -> bt.brokers.BackBroker:
    broker = bt.brokers.BackBroker()
    broker.setcash(cash)
    return broker


def test_seed_appendix_construction_runs_as_written() -> None:
    from real_trade.risk import RiskManager as Exported

    risk_mgr = Exported(
        max_position_pct=0.3, risk_per_trade=0.02, max_drawdown_pct=0.15, max_daily_trades=20
    )
    assert Exported is RiskManager
    assert isinstance(risk_mgr.sizer, FixedRatioSizer)
    assert isinstance(risk_mgr.stop_loss, FixedStopLoss)
    assert isinstance(risk_mgr.limiter, TradeLimiter)
    assert isinstance(risk_mgr.drawdown_guard, DrawdownGuard)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_position_pct", 0),
        ("max_position_pct", 1.5),
        ("risk_per_trade", -0.01),
        ("risk_per_trade", float("nan")),
        ("max_drawdown_pct", 2),
        ("max_daily_trades", 0),
        ("max_daily_trades", 2.5),
        ("stop_loss_pct", 1),
        ("initial_equity", -5),
        ("max_position_pct", "0.3"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_parameter(name: str, value: Any) -> None:
    with pytest.raises(ValueError, match=name):
        RiskManager(**{name: value})


def test_calc_size_is_capped_by_max_position_pct() -> None:
    manager = RiskManager(max_position_pct=0.3, risk_per_trade=0.02, stop_loss_pct=0.02)
    # risk budget 200 / stop distance 400 = 0.5 BTC; the 30% cap is 3000 / 20000 = 0.15 BTC
    assert manager.calc_size(_broker(10_000), 20_000.0) == pytest.approx(0.15)


def test_calc_size_is_limited_by_risk_per_trade_over_the_stop_distance() -> None:
    manager = RiskManager(max_position_pct=1.0, risk_per_trade=0.01, stop_loss_pct=0.02)
    # risk budget 100 / stop distance 400 = 0.25 BTC, under the 0.5 BTC cap
    assert manager.calc_size(_broker(10_000), 20_000.0) == pytest.approx(0.25)
    # an explicit stop 1000 away: 100 / 1000 = 0.1 BTC
    assert manager.calc_size(_broker(10_000), 20_000.0, stop_price=19_000) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="stop_price"):
        manager.calc_size(_broker(10_000), 20_000.0, stop_price=20_000)
    with pytest.raises(ValueError, match="price"):
        manager.calc_size(_broker(10_000), 0.0)


def test_get_stop_price_for_each_side() -> None:
    manager = RiskManager(stop_loss_pct=0.02)
    assert manager.get_stop_price(100.0, "buy") == pytest.approx(98.0)
    assert manager.get_stop_price(100.0, "sell") == pytest.approx(102.0)
    assert manager.get_stop_price(100.0, "SELL") == pytest.approx(102.0)
    with pytest.raises(ValueError, match="side"):
        manager.get_stop_price(100.0, "long")
    with pytest.raises(ValueError, match="entry_price"):
        manager.get_stop_price(-1.0, "buy")
    stop = FixedStopLoss(0.02)
    assert stop.is_hit(100.0, 97.9, "buy") and not stop.is_hit(100.0, 98.1, "buy")
    assert stop.is_hit(100.0, 102.1, "sell") and not stop.is_hit(100.0, 101.9, "sell")


def test_allow_trade_stops_after_max_daily_trades_until_the_next_utc_day() -> None:
    manager = RiskManager(max_daily_trades=3)
    for minute in range(3):
        assert manager.allow_trade(now=DAY1 + timedelta(minutes=minute))
        manager.record_trade(1.0, now=DAY1 + timedelta(minutes=minute))
    assert not manager.allow_trade(now=DAY1 + timedelta(hours=11, minutes=59))
    assert manager.limiter.trades_today(DAY1) == 3
    # 23:30 in UTC-05:00 is 04:30 UTC on the next day: a new day, a new count
    next_day_local = datetime(2023, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert manager.allow_trade(now=next_day_local)
    assert manager.limiter.trades_today(next_day_local) == 0


def test_allow_trade_stops_when_drawdown_from_the_peak_exceeds_the_limit() -> None:
    manager = RiskManager(max_drawdown_pct=0.15, initial_equity=10_000)
    manager.record_trade(2_000.0, now=DAY1)  # peak 12 000
    manager.record_trade(-1_800.0, now=DAY1)  # 10 200: 15% below the peak, not beyond it
    assert manager.drawdown_guard.drawdown == pytest.approx(0.15)
    assert manager.allow_trade(now=DAY1)
    manager.record_trade(-1.0, now=DAY1)
    assert not manager.allow_trade(now=DAY1)
    assert manager.trade_count == 3
    assert manager.realized_pnl == pytest.approx(199.0)


def test_allow_trade_reads_equity_from_the_broker() -> None:
    manager = RiskManager(max_drawdown_pct=0.1)
    assert manager.allow_trade(_broker(10_000), now=DAY1)
    assert manager.allow_trade(_broker(9_001), now=DAY1)
    assert not manager.allow_trade(_broker(8_999), now=DAY1)
    assert manager.allow_trade(_broker(10_500), now=DAY1)  # a new peak


def _frame(closes: list[float], start: str = "2023-03-01 23:00") -> pd.DataFrame:
    index = pd.date_range(start, periods=len(closes), freq="min")
    close = np.asarray(closes, dtype=float)
    return pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": 1.0}, index=index
    )


class _Flipper(bt.Strategy):
    """Buys without a size when flat and sells without a size when long, every bar."""

    def __init__(self) -> None:
        self.created: list[float] = []

    def next(self) -> None:
        order = self.sell() if self.position else self.buy()
        self.created.append(order.created.size if order is not None else 0.0)


def test_attached_manager_sizes_orders_and_limits_trades_per_utc_day() -> None:
    # 120 one-minute bars from 23:00: the first hour on March 1, the second on March 2
    frame = _frame([100.0 + (i % 7) for i in range(120)])
    manager = RiskManager(max_position_pct=0.3, risk_per_trade=0.5, max_daily_trades=4)
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(_Flipper)
    cerebro.broker.setcash(10_000)
    manager.attach(cerebro)
    strategy = cerebro.run()[0]
    entries = strategy.created[0::2]
    # the first entry is sized at the 30% cap: 3000 / 100
    assert entries[0] == pytest.approx(30.0)
    # exits are sized to the whole position
    assert strategy.created[1] == pytest.approx(-30.0)
    assert manager.trade_count == 8  # four closed trades on each UTC day, no more
    assert manager.limiter.trades_today(datetime(2023, 3, 2, 1, 0)) == 4


def test_as_sizer_gives_a_sizer_bound_to_the_manager() -> None:
    manager = RiskManager()
    sizer = manager.as_sizer()
    assert isinstance(sizer, RiskManagerSizer)
    assert sizer.p.manager is manager
    with pytest.raises(ValueError, match="manager"):
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(bt.feeds.PandasData(dataname=_frame([100.0] * 5)))
        cerebro.addstrategy(_Flipper)
        cerebro.addsizer(RiskManagerSizer)
        cerebro.run()
