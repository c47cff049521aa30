"""RealTradeStrategyBase: the seed appendix strategy trades in a cerebro run; SL/TP/sizing work."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from real_trade.risk.manager import RiskManager
from real_trade.strategies import RealTradeStrategyBase as Exported
from real_trade.strategies import RsiReversion, SmaCross
from real_trade.strategies.base import RealTradeStrategyBase

FILE = "binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv"


def _data_file() -> Path | None:
    env = os.environ.get("RT_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2].parent / "shared" / "data")
    return next((c / FILE for c in candidates if (c / FILE).is_file()), None)


CSV = _data_file()
needs_data = pytest.mark.skipif(CSV is None, reason=f"{FILE} not found: set RT_DATA_DIR")


class MyStrategy(RealTradeStrategyBase):  # the seed appendix, as written
    params = (
        ("printlog", True),
        ("log_trades", True),
        ("stop_loss", 0.02),
        ("take_profit", 0.05),
        ("max_position_pct", 0.3),
    )

    def next(self):  # type: ignore[no-untyped-def]
        if not self.position:
            size = self.calc_position_size(0.02)
            self.buy(size=size)
        else:
            if self.check_stop_loss() or self.check_take_profit():
                self.sell()


class Fills(bt.Analyzer):
    """Each completed order: side, size, price, closes of its decision bar and the bar before."""

    def __init__(self) -> None:
        self.fills: list[dict[str, Any]] = []

    def notify_order(self, order: Any) -> None:
        if order.status == order.Completed:
            self.fills.append(
                {
                    "buy": order.isbuy(),
                    "size": order.executed.size,
                    "price": order.executed.price,
                    "decision_close": self.data.close[-1],
                    "prior_close": self.data.close[-2],
                    "bar": len(self.data),
                }
            )

    def get_analysis(self) -> list[dict[str, Any]]:
        return self.fills


def _run(frame: pd.DataFrame, strategy: type[bt.Strategy], cash: float = 10_000, **kw: Any) -> Any:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(strategy, **kw)
    cerebro.addanalyzer(Fills, _name="fills")
    cerebro.broker.setcash(cash)
    return cerebro.run()[0]


def _frame(closes: list[float]) -> pd.DataFrame:
    index = pd.date_range("2023-03-01", periods=len(closes), freq="min")
    close = np.asarray(closes, dtype=float)
    return pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": 1.0}, index=index
    )


def _real_minutes(rows: int) -> pd.DataFrame:
    assert CSV is not None
    frame = pd.read_csv(CSV, nrows=rows, parse_dates=["open_time"], index_col="open_time")
    frame.index = frame.index.tz_localize(None)
    return frame


def test_exports() -> None:
    import real_trade.strategies as strategies

    assert Exported is RealTradeStrategyBase
    assert strategies.__all__ == ["RealTradeStrategyBase", "RsiReversion", "SmaCross"]
    assert issubclass(RsiReversion, RealTradeStrategyBase) and SmaCross is strategies.SmaCross


@needs_data
def test_seed_appendix_strategy_trades_exits_only_at_its_distances_on_real_minutes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="real_trade.strategies"):
        strategy = _run(_real_minutes(40_000), MyStrategy)
    fills = strategy.analyzers.fills.get_analysis()
    exits = [f for f in fills if not f["buy"]]
    assert len(exits) >= 3, "the appendix strategy should complete several round trips"
    for entry, leave in zip(fills[0::2], fills[1::2], strict=False):
        assert entry["buy"] and not leave["buy"]
        assert leave["size"] == pytest.approx(-entry["size"])  # sell() exits the whole long
        ratio = leave["decision_close"] / entry["price"]
        assert ratio <= 0.98 or ratio >= 1.05
        prior = leave["prior_close"] / entry["price"]
        assert 0.98 < prior < 1.05 or leave["bar"] - entry["bar"] <= 1  # first bar beyond it
    assert any(r.getMessage().count("BUY EXECUTED") for r in caplog.records)
    assert any("TRADE CLOSED" in r.getMessage() for r in caplog.records)
    assert caplog.records[0].name == "real_trade.strategies.MyStrategy"


def _path(move: float) -> list[float]:
    """Flat at 100 (entry fills at 100), then step by ``move`` per bar for 10 bars."""
    return [100.0] * 3 + [100.0 + move * k for k in range(1, 11)] + [100.0] * 3


@pytest.mark.parametrize(("move", "trigger_close"), [(-0.5, 98.0), (+1.0, 105.0)])
def test_stop_loss_and_take_profit_trigger_at_the_configured_distance(
    move: float, trigger_close: float
) -> None:
    strategy = _run(_frame(_path(move)), MyStrategy, printlog=False, log_trades=False)
    fills = strategy.analyzers.fills.get_analysis()
    assert fills[0]["buy"] and fills[0]["price"] == pytest.approx(100.0)
    exit_fill = fills[1]
    assert not exit_fill["buy"]
    assert exit_fill["decision_close"] == pytest.approx(trigger_close)
    assert abs(exit_fill["prior_close"] - 100.0) < abs(trigger_close - 100.0)


def test_a_short_position_is_stopped_above_and_taken_profit_below() -> None:
    class Short(RealTradeStrategyBase):
        params = (("stop_loss", 0.03), ("take_profit", 0.04))

        def __init__(self) -> None:
            self.hits: list[tuple[float, bool, bool]] = []

        def next(self) -> None:
            if not self.position and len(self) == 1:
                self.sell(size=1)
            elif self.position:
                self.hits.append(
                    (self.data.close[0], self.check_stop_loss(), self.check_take_profit())
                )

    strategy = _run(_frame([100, 100, 102.9, 103.0, 96.1, 96.0]), Short)
    assert strategy.hits == [
        (100, False, False),
        (102.9, False, False),
        (103.0, True, False),
        (96.1, False, False),
        (96.0, False, True),
    ]


class Sizing(RealTradeStrategyBase):
    params = (("risk_pct", 0.02),)

    def __init__(self) -> None:
        self.sizes: list[float] = []

    def next(self) -> None:
        self.sizes.append(self.calc_position_size(self.p.risk_pct))


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"max_position_pct": 0.3, "stop_loss": 0.02}, 0.3 * 10_000 / 200),  # cap binds
        ({"max_position_pct": 0.1, "stop_loss": 0.02}, 0.1 * 10_000 / 200),  # cap binds
        ({"max_position_pct": 0.3, "stop_loss": 0.2, "risk_pct": 0.01}, 100 / 40),  # risk binds
        ({"max_position_pct": 0.5, "stop_loss": 0}, 0.5 * 10_000 / 200),  # no stop: cap
    ],
)
def test_calc_position_size_respects_max_position_pct(kw: dict[str, Any], expected: float) -> None:
    strategy = _run(_frame([200.0] * 3), Sizing, **kw)
    assert strategy.sizes == pytest.approx([expected] * 3)
    assert all(size * 200 <= kw["max_position_pct"] * 10_000 + 1e-9 for size in strategy.sizes)


def test_calc_position_size_rejects_a_bad_risk_pct() -> None:
    with pytest.raises(ValueError, match="risk_pct"):
        _run(_frame([200.0] * 3), Sizing, risk_pct=1.5)


def test_log_is_silent_unless_printlog(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="real_trade.strategies"):
        _run(_frame(_path(-0.5)), MyStrategy, printlog=False, log_trades=True)
    assert not caplog.records


@needs_data
def test_rsi_reversion_trades_real_minutes_and_reports_closed_trades_to_the_manager() -> None:
    manager = RiskManager(max_daily_trades=5, max_drawdown_pct=0.5)
    strategy = _run(_real_minutes(6_000), RsiReversion, risk_manager=manager)
    fills = strategy.analyzers.fills.get_analysis()
    assert len(fills) >= 4 and fills[0]["buy"]
    assert set(strategy.exits) <= {"stop_loss", "take_profit", "overbought"}
    assert manager.trade_count == len([f for f in fills if not f["buy"]])
    assert manager.trade_count <= 5 * 5  # at most five per UTC day over ~4.2 days
    for entry in (f for f in fills if f["buy"]):
        assert entry["size"] * entry["decision_close"] <= 0.3 * 10_000 * 1.5


class BackfillThenLive(bt.feeds.PandasData):
    """A live-capable feed: DELAYED for its first ``live_from - 1`` bars, then LIVE."""

    params = (("live_from", 1),)

    def islive(self) -> bool:
        return True

    def start(self) -> None:
        super().start()
        self._count = 0
        self.put_notification(self.DELAYED)

    def _load(self) -> bool:
        loaded = bool(super()._load())
        if loaded:
            self._count += 1
            if self._count == self.p.live_from:
                self.put_notification(self.LIVE)
        return loaded


@needs_data
def test_rsi_reversion_sends_no_order_on_backfilled_bars() -> None:
    frame = _real_minutes(3_000)
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(BackfillThenLive(dataname=frame, live_from=2_000))
    cerebro.addstrategy(RsiReversion)
    cerebro.addanalyzer(Fills, _name="fills")
    strategy = cerebro.run()[0]
    fills = strategy.analyzers.fills.get_analysis()
    assert fills, "it trades once live"
    assert min(f["bar"] for f in fills) > 2_000  # decided on a live bar, filled on the next
    backtest = _run(frame, RsiReversion)  # the same data as a backtest trades from the start
    assert min(f["bar"] for f in backtest.analyzers.fills.get_analysis()) < 2_000


_PRINTLOG_SCRIPT = """
import backtrader as bt
import pandas as pd
from real_trade.strategies.base import RealTradeStrategyBase

class MyStrategy(RealTradeStrategyBase):
    params = (('printlog', True), ('log_trades', True))

    def next(self):
        if not self.position:
            self.buy(size=0.01)
        else:
            self.sell()

index = pd.date_range('2024-01-01', periods=6, freq='h')
frame = pd.DataFrame({'open': 100.0, 'high': 101.0, 'low': 99.0, 'close': 100.0,
                      'volume': 1.0}, index=index)
cerebro = bt.Cerebro()
cerebro.adddata(bt.feeds.PandasData(dataname=frame))
cerebro.addstrategy(MyStrategy)
cerebro.run()
"""


def test_printlog_prints_without_logging_configured() -> None:
    """The seed strategy with printlog=True, run in a fresh interpreter that never configures
    logging: its order and trade lines reach the user (stdout)."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _PRINTLOG_SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "BUY EXECUTED" in out.stdout, (out.stdout, out.stderr)
    assert "TRADE CLOSED" in out.stdout
    assert out.stdout.splitlines()[0].startswith("2024-01-01T")
