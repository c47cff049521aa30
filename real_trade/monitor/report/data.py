"""What a report shows, as plain data: :class:`ReportData`, and the two ways to get one.

:func:`build_report` reads a journal (any process, while a runner writes to it): the equity
curve the runner journaled (account snapshots, marked to market), the orders created and the
fills executed in the period, and the FIFO round trips closed in it
(:mod:`real_trade.persistence.trades`). :func:`build_backtest_report` takes a backtest's own
equity curve and fills (a backtest has no journal) and matches the fills into round trips with
the same FIFO code. Both end in :func:`assemble_report`, so the figures of a live run and of a
backtest are computed the same way, by :mod:`real_trade.monitor.metrics`, and written by the
same writers (:mod:`real_trade.monitor.report.writers`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from real_trade.monitor import metrics as _metrics
from real_trade.monitor.metrics import (
    CONVENTIONS,
    PERIODS_PER_YEAR,
    ClosedTrade,
    EquityPoint,
    PerformanceSummary,
    daily_equity,
    drawdown_series,
    monthly_returns,
    summarize,
)
from real_trade.vocabulary import OrderSide, quote_asset

if TYPE_CHECKING:
    from real_trade.backtest.engine import BacktestResult
    from real_trade.persistence import FillRow, Journal, TradeRow

__all__ = [
    "Activity",
    "ReportData",
    "assemble_report",
    "build_backtest_report",
    "build_report",
    "conventions_text",
    "full_figures",
]

_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class Activity:
    """What happened in the period, counted from the journal (or the backtest): orders created
    (and their latest states), fills executed, the fees they paid and the notional they traded
    (quote currency), and the net result of the round trips closed in the period."""

    orders: int
    orders_by_state: dict[str, int]
    fills: int
    fees: float
    volume: float
    realized_pnl: float


@dataclass(frozen=True)
class ReportData:
    """Everything one report shows; the HTML, JSON and CSV writers only format it.

    ``equity`` is the account value as recorded (marked to market; ``in_market`` when a
    position was held), ``start_value`` the value the period started from; ``trades`` the round
    trips closed in ``[start_ms, end_ms)``; ``summary`` the figures of
    :func:`real_trade.monitor.metrics.summarize` over them (daily UTC returns, 365 periods a
    year, sample standard deviation, ``summary.risk_free``). ``source`` is ``"journal"`` or
    ``"backtest"``. ``figures`` is the full metric set of
    ``real_trade.monitor.metrics.compute_metrics`` (CAGR, volatility, Sortino, Calmar,
    drawdown duration, trade statistics) as plain values, where that function exists.
    """

    title: str
    source: str
    start_ms: int
    end_ms: int
    generated_ms: int
    currency: str
    strategies: tuple[str, ...]
    symbols: tuple[str, ...]
    start_value: float
    summary: PerformanceSummary
    equity: tuple[EquityPoint, ...]
    trades: tuple[TradeRow, ...]
    activity: Activity
    periods_per_year: int = PERIODS_PER_YEAR
    notes: tuple[str, ...] = field(default_factory=tuple)
    figures: dict[str, Any] | None = None

    @property
    def daily(self) -> list[tuple[int, float]]:
        """The daily UTC mark-to-market curve: (day start ms, last value of the day)."""
        return daily_equity([(p.time_ms, p.value) for p in self.equity])

    @property
    def monthly(self) -> list[tuple[int, int, float]]:
        """(year, month, return) of each UTC calendar month of the period."""
        return monthly_returns(self.equity, self.start_value)

    @property
    def drawdown(self) -> list[float]:
        """Each equity point's fall below the running peak (a fraction; the start counts)."""
        return drawdown_series([p.value for p in self.equity], self.start_value)

    @property
    def conventions(self) -> str:
        """The conventions the figures follow, as printed in the report."""
        extra = (self.figures or {}).get("conventions")
        if not extra:
            return conventions_text(self.summary.risk_free, self.periods_per_year)
        return (
            f"{extra} Charts and the figures marked 'every equity point': every recorded "
            "account value. Won trade: result after fees > 0. Buy and hold: first open to last "
            "close, no fees."
        )


def conventions_text(risk_free: float, periods_per_year: int = PERIODS_PER_YEAR) -> str:
    """The conventions line every report prints (periods a year, risk-free rate, std)."""
    return (
        f"{periods_per_year} periods a year (daily UTC returns); risk-free rate "
        f"{risk_free * 100:g} % a year; sample standard deviation (n-1). "
        + CONVENTIONS.format(risk_free=risk_free)
    )


def _utc_ms(moment: dt.datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return round(moment.timestamp() * 1000)


def _signed(fill: FillRow) -> float:
    if fill.position_change:
        return fill.position_change
    return fill.amount if fill.side == OrderSide.BUY else -fill.amount


def mark_in_market(
    values: Sequence[tuple[int, float]], fills: Sequence[FillRow]
) -> list[EquityPoint]:
    """Equity ``(time_ms, value)`` points as :class:`EquityPoint`, ``in_market`` when the
    fills up to that time leave a position open (``fills`` oldest first, from the beginning)."""
    positions: dict[tuple[str, str], float] = {}
    out: list[EquityPoint] = []
    i = 0
    for time_ms, value in values:
        while i < len(fills) and fills[i].time_ms <= time_ms:
            key = (fills[i].strategy, fills[i].symbol)
            positions[key] = positions.get(key, 0.0) + _signed(fills[i])
            i += 1
        held = any(abs(size) > 1e-9 for size in positions.values())
        out.append(EquityPoint(time_ms, value, held))
    return out


def _combined(rows: Iterable[Any]) -> list[tuple[int, float]]:
    """Journal equity rows of one or more strategies as one curve: at each time, the sum of
    every strategy's latest value."""
    latest: dict[str, float] = {}
    out: list[tuple[int, float]] = []
    for row in rows:
        latest[row.strategy] = row.equity
        total = sum(latest.values())
        if out and out[-1][0] == row.time_ms:
            out[-1] = (row.time_ms, total)
        else:
            out.append((row.time_ms, total))
    return out


def _currency(symbols: Iterable[str]) -> str:
    quotes = {quote_asset(s) for s in symbols if "/" in s}
    return quotes.pop() if len(quotes) == 1 else ""


def full_figures(
    equity: Sequence[EquityPoint],
    trades: Sequence[ClosedTrade],
    *,
    start_value: float,
    start_ms: int,
    end_ms: int,
    exposure: float | None,
    buy_and_hold: float | None,
    risk_free: float,
) -> dict[str, Any] | None:
    """The full metric set of ``metrics.compute_metrics`` as plain values (its daily curve
    left out: the report has its own), or None where the metrics module has no such function."""
    compute = getattr(_metrics, "compute_metrics", None)
    if compute is None:
        return None
    result = compute(
        [(p.time_ms, p.value) for p in equity],
        trades,
        start_value=start_value,
        start_ms=start_ms,
        end_ms=end_ms,
        exposure=exposure,
        buy_and_hold=buy_and_hold,
        periods_per_year=PERIODS_PER_YEAR,
        risk_free=risk_free,
    )
    out: dict[str, Any] = dataclasses.asdict(result)
    out.pop("daily", None)
    conventions = getattr(result, "conventions", None)
    if isinstance(conventions, str):
        out["conventions"] = conventions
    return out


def assemble_report(
    *,
    title: str,
    source: str,
    start_ms: int,
    end_ms: int,
    start_value: float,
    equity: Sequence[EquityPoint],
    trades: Sequence[TradeRow],
    fills: Sequence[FillRow],
    orders_by_state: dict[str, int],
    risk_free: float = 0.0,
    buy_and_hold: float | None = None,
    currency: str | None = None,
    strategies: Iterable[str] = (),
    notes: Sequence[str] = (),
) -> ReportData:
    """A :class:`ReportData` from a period's equity curve, closed round trips, fills and order
    states; every figure through :func:`real_trade.monitor.metrics.summarize`."""
    closed = [
        ClosedTrade(
            symbol=t.symbol,
            opened_ms=t.entry_ms,
            closed_ms=t.exit_ms,
            pnl=t.pnl + t.fees,
            pnl_net=t.pnl,
            fees=t.fees,
        )
        for t in trades
    ]
    fees = sum(f.fee_in_quote for f in fills)
    summary = summarize(
        equity,
        closed,
        start_value=start_value,
        fees=fees,
        buy_and_hold=buy_and_hold,
        periods_per_year=PERIODS_PER_YEAR,
        risk_free=risk_free,
    )
    symbols = sorted({f.symbol for f in fills} | {t.symbol for t in trades})
    figures = full_figures(
        equity,
        closed,
        start_value=start_value,
        start_ms=start_ms,
        end_ms=end_ms,
        exposure=summary.exposure,
        buy_and_hold=buy_and_hold,
        risk_free=risk_free,
    )
    activity = Activity(
        orders=sum(orders_by_state.values()),
        orders_by_state=dict(sorted(orders_by_state.items())),
        fills=len(fills),
        fees=fees,
        volume=sum(f.price * f.amount for f in fills),
        realized_pnl=sum(t.pnl for t in trades),
    )
    return ReportData(
        title=title,
        source=source,
        start_ms=start_ms,
        end_ms=end_ms,
        generated_ms=time.time_ns() // 1_000_000,
        currency=_currency(symbols) if currency is None else currency,
        strategies=tuple(sorted(set(strategies))),
        symbols=tuple(symbols),
        start_value=start_value,
        summary=summary,
        equity=tuple(equity),
        trades=tuple(trades),
        activity=activity,
        notes=tuple(notes),
        figures=figures,
    )


def build_report(
    journal: str | Journal,
    start: dt.datetime | None,
    end: dt.datetime | None,
    *,
    title: str,
    initial_cash: float | None = None,
    risk_free: float = 0.0,
    strategy: str | None = None,
) -> ReportData:
    """The report of ``[start, end)`` (UTC; naive times are UTC; None: unbounded) from a journal
    (a URL or an open :class:`~real_trade.persistence.Journal`), for ``strategy`` or all.

    The period starts from the last equity the journal has before ``start``, else
    ``initial_cash``, else the first equity in the period; ValueError when there is none of
    these. Trades are the FIFO round trips closed in the period (opened possibly before it).
    """
    from real_trade.persistence import Journal

    if isinstance(journal, str):
        with Journal(journal) as opened:
            return build_report(
                opened,
                start,
                end,
                title=title,
                initial_cash=initial_cash,
                risk_free=risk_free,
                strategy=strategy,
            )
    start_ms, end_ms = _utc_ms(start), _utc_ms(end)
    if start_ms is not None and end_ms is not None and start_ms >= end_ms:
        raise ValueError("the report's start must be before its end")
    before = _combined(journal.equity(None, start_ms, strategy=strategy)) if start_ms else []
    rows = journal.equity(None, end_ms, strategy=strategy)
    curve = [p for p in _combined(rows) if start_ms is None or p[0] >= start_ms]
    history = journal.fills(None, end_ms, strategy=strategy)
    fills = [f for f in history if start_ms is None or f.time_ms >= start_ms]
    trades = journal.trades(start_ms, end_ms, strategy=strategy)
    orders = journal.orders(start_ms, end_ms, strategy=strategy)
    notes: list[str] = []
    if before:
        start_value = before[-1][1]
    elif initial_cash is not None:
        start_value = float(initial_cash)
    elif curve:
        start_value = curve[0][1]
        notes.append("no equity before the period: it starts from its first recorded equity")
    else:
        raise ValueError(
            "the journal has no equity for this period and none before it; "
            "pass initial_cash (the run's starting cash) or choose another period"
        )
    if not curve:
        notes.append("no equity was recorded in the period (no runner wrote to the journal)")
    times = [p[0] for p in curve] + [f.time_ms for f in fills]
    first = start_ms if start_ms is not None else min(times, default=0)
    last = end_ms if end_ms is not None else max(times, default=first) + 1
    names = {r.strategy for r in rows} | {f.strategy for f in fills} | {o.strategy for o in orders}
    return assemble_report(
        title=title,
        source="journal",
        start_ms=first,
        end_ms=last,
        start_value=start_value,
        equity=mark_in_market(curve, history),
        trades=trades,
        fills=fills,
        orders_by_state=dict(Counter(o.state or "SENT" for o in orders)),
        risk_free=risk_free,
        strategies=[n for n in names if n],
        notes=notes,
    )


def build_backtest_report(
    result: BacktestResult,
    *,
    title: str,
    strategy: str = "backtest",
    currency: str | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> ReportData:
    """The report of a backtest from its own equity curve and fills (it has no journal): the
    fills are matched into round trips FIFO, as the journal's are, and measured the same way
    (``result.summary``'s start value, buy-and-hold and risk-free rate)."""
    from real_trade.persistence import FillRow, build_trades

    fills = [
        FillRow(
            strategy=strategy,
            client_order_id=f"bt-{f.ref}",
            exchange_order_id=None,
            symbol=f.symbol,
            side=f.side,
            trade_id=str(f.ref),
            price=f.price,
            amount=f.size,
            commission=f.fees,
            commission_asset=None,
            fee_in_quote=f.fees,
            time_ms=f.time_ms,
            position_change=f.position_change or (f.size if f.side == OrderSide.BUY else -f.size),
            local_id=f.ref,
        )
        for f in sorted(result.fills, key=lambda f: (f.time_ms, f.ref))
    ]
    points = result.equity
    first = start_ms if start_ms is not None else (points[0].time_ms if points else 0)
    last = end_ms if end_ms is not None else (points[-1].time_ms + 1 if points else first + 1)
    return assemble_report(
        title=title,
        source="backtest",
        start_ms=first,
        end_ms=last,
        start_value=result.summary.start_value,
        equity=points,
        trades=build_trades(fills),
        fills=fills,
        orders_by_state={"COMPLETED": len(fills)} if fills else {},
        risk_free=result.summary.risk_free,
        buy_and_hold=result.summary.buy_and_hold,
        currency=currency,
        strategies=[strategy],
    )
