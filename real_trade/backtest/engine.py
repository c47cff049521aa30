"""One backtest: a config's strategy over bars frames, on the paper broker, measured.

:func:`run_backtest` builds a Cerebro with one ``bt.feeds.PandasData`` per symbol (bar time =
open time, UTC, as every real_trade feed stamps it), the venue's broker in paper mode (the one
matching engine: fees, precision, minimums and fills exactly as in paper trading), the
config's risk limits, and the strategy with its parameters, run bar by bar (``runonce`` off,
as in paper trading: a strategy whose warm-up is longer than the period then never trades
instead of failing inside backtrader's vectorised mode); a small analyzer records the
equity curve, the closed trades and every order's fills, and
:func:`real_trade.monitor.metrics.summarize` turns them into a
:class:`~real_trade.monitor.metrics.PerformanceSummary`.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import backtrader as bt

from real_trade.monitor.metrics import (
    ClosedTrade,
    EquityPoint,
    PerformanceSummary,
    buy_and_hold_return,
    summarize,
)
from real_trade.vocabulary import OrderSide

if TYPE_CHECKING:
    import pandas as pd

    from real_trade.config import RealTradeConfig

__all__ = ["BacktestResult", "OrderFill", "run_backtest"]


def _ms(num: float) -> int:
    moment = bt.num2date(num).replace(tzinfo=dt.timezone.utc)
    return round(moment.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class OrderFill:
    """What one order executed, in total: time of its last fill (UTC ms), side, size (base
    units, positive), average price, fees (quote currency) and what it did to the base-asset
    holding (``position_change``: a buy whose fee is taken in the base asset adds less than
    its size)."""

    ref: int
    symbol: str
    time_ms: int
    side: str
    size: float
    price: float
    fees: float
    position_change: float = 0.0


@dataclass
class BacktestResult:
    """A backtest's figures, equity curve, closed trades and order fills.

    ``strategy`` is the strategy instance Cerebro ran (with any analyzers given to
    :func:`run_backtest`); it stays in the process that ran it.
    """

    summary: PerformanceSummary
    equity: list[EquityPoint]
    trades: list[ClosedTrade]
    fills: list[OrderFill]
    params: dict[str, Any]
    strategy: Any = field(default=None, repr=False)


class _Recorder(bt.Analyzer):
    """Records the account after each bar, closed trades and finished orders."""

    params = (("progress", None),)

    def start(self) -> None:
        self.points: list[EquityPoint] = []
        self.trades: list[ClosedTrade] = []
        self.orders: dict[int, Any] = {}

    def next(self) -> None:
        strategy = self.strategy
        broker = strategy.broker
        time_ms = max(_ms(d.datetime[0]) for d in strategy.datas if len(d))
        held = any(broker.getposition(d).size for d in strategy.datas)
        self.points.append(EquityPoint(time_ms, float(broker.getvalue()), bool(held)))
        if self.p.progress is not None:
            self.p.progress.update(1)

    def notify_trade(self, trade: Any) -> None:
        if trade.isclosed:
            self.trades.append(
                ClosedTrade(
                    symbol=str(trade.data._name),
                    opened_ms=_ms(trade.dtopen),
                    closed_ms=_ms(trade.dtclose),
                    pnl=float(trade.pnl),
                    pnl_net=float(trade.pnlcomm),
                    fees=float(trade.commission),
                    bars=int(trade.barlen),
                )
            )

    def notify_order(self, order: Any) -> None:
        if order.executed.size:
            self.orders[order.ref] = order

    def fills(self) -> list[OrderFill]:
        out = []
        for ref, order in sorted(self.orders.items()):
            ex = order.executed
            size = abs(float(ex.size))
            changes = [getattr(f, "position_change", 0.0) for f in order.info.get("fills", [])]
            change = sum(changes) if changes and all(changes) else None
            out.append(
                OrderFill(
                    ref=ref,
                    symbol=str(order.data._name),
                    time_ms=_ms(ex.dt),
                    side=OrderSide.BUY if order.isbuy() else OrderSide.SELL,
                    size=size,
                    price=float(ex.price),
                    fees=float(ex.comm),
                    position_change=(size if order.isbuy() else -size)
                    if change is None
                    else change,
                )
            )
        return out


def _feed(frame: pd.DataFrame, timeframe: str) -> Any:
    from real_trade.feeds.timeframes import timeframe_to_bt

    tf, compression = timeframe_to_bt(timeframe)
    naive = frame.copy()
    index = naive.index
    if getattr(index, "tz", None) is not None:
        naive.index = index.tz_convert("UTC").tz_localize(None)
    return bt.feeds.PandasData(
        dataname=naive, timeframe=tf, compression=compression, openinterest=None
    )


def _buy_and_hold(bars: Mapping[str, pd.DataFrame]) -> float | None:
    figures = [
        buy_and_hold_return(float(f["open"].iloc[0]), float(f["close"].iloc[-1]))
        for f in bars.values()
        if len(f)
    ]
    known = [f for f in figures if f is not None]
    return sum(known) / len(known) if known else None


def run_backtest(
    config: RealTradeConfig,
    bars: Mapping[str, pd.DataFrame],
    strategy_cls: type,
    params: Mapping[str, Any] | None = None,
    *,
    cash: float | None = None,
    risk_free: float = 0.0,
    progress: bool | None = False,
    analyzers: Sequence[tuple[type, Mapping[str, Any]]] = (),
) -> BacktestResult:
    """Run ``strategy_cls(**params)`` over ``bars`` (symbol -> frame) on the paper broker.

    ``cash`` overrides ``config.initial_cash``; the commission, the venue's broker and the
    risk limits come from ``config``. ``progress``: a tqdm bar on stderr (True), none (False)
    or one only on a terminal (None). ``analyzers`` are extra ``(class, kwargs)`` backtrader
    analyzers, found on ``result.strategy.analyzers``.
    """
    from real_trade.bus import EventBus
    from real_trade.engine.factory import venue_classes

    params = dict(params or {})
    start_value = float(cash if cash is not None else config.initial_cash)
    broker = venue_classes(config.exchange).broker(
        None,
        paper_trading=True,
        initial_cash=start_value,
        commission=config.commission,
        run_id=config.run.name or strategy_cls.__name__,
        bus=EventBus(synchronous=True, name="backtest"),
        risk=config.risk,
    )
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.setbroker(broker)
    for symbol, frame in bars.items():
        cerebro.adddata(_feed(frame, config.timeframe), name=symbol)
    cerebro.addstrategy(strategy_cls, **params)
    total = max((len(f) for f in bars.values()), default=0)
    bar = _progress_bar(total, progress)
    cerebro.addanalyzer(_Recorder, _name="_rt_recorder", progress=bar)
    for cls, kwargs in analyzers:
        cerebro.addanalyzer(cls, **dict(kwargs))
    try:
        strategy = cerebro.run(runonce=False)[0]
    finally:
        if bar is not None:
            bar.close()
    recorder = strategy.analyzers.getbyname("_rt_recorder")
    fills = recorder.fills()
    summary = summarize(
        recorder.points,
        recorder.trades,
        start_value=start_value,
        fees=sum(f.fees for f in fills),
        buy_and_hold=_buy_and_hold(bars),
        risk_free=risk_free,
    )
    return BacktestResult(summary, recorder.points, recorder.trades, fills, params, strategy)


def _progress_bar(total: int, progress: bool | None) -> Any:
    if progress is False:
        return None
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="bar",
        desc="backtest",
        file=sys.stderr,
        disable=None if progress is None else False,
        leave=False,
        mininterval=0.5,
    )
