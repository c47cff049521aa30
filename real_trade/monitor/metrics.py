"""Performance figures of a run: pure functions over an equity curve and its closed trades.

The inputs are plain values, so a backtest, a paper run and a live run are measured the same
way: an equity curve is a sequence of :class:`EquityPoint` (the account value at each bar's
close, and whether a position was held then), trades are :class:`ClosedTrade` records.

Conventions (printed with every summary, see :data:`CONVENTIONS`):

* returns are simple returns; the **total return** is ``end / start - 1``;
* the **maximum drawdown** is the largest fall from a running peak of the account value
  (the starting value counts as the first peak), as a fraction of that peak and in money;
* the **Sharpe ratio** is computed on **daily** returns (the last value of each UTC day against
  the last value of the previous day, the first day against the starting value), their mean
  minus the risk-free rate over their **sample** standard deviation (``n - 1``), annualised by
  ``sqrt(365)`` (crypto trades every day); the risk-free rate is an annual rate (default 0)
  turned into a daily one as ``(1 + r) ** (1 / 365) - 1``. None when fewer than two days or a
  flat curve leave it undefined;
* a trade is **won** when its result after fees is above zero; the **win rate** is won trades
  over closed trades;
* **exposure** is the share of bars that ended with a position held;
* **buy and hold** is the return of buying at the first bar's open and selling at the last bar's
  close, without fees (the mean over the symbols when there are several).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "CONVENTIONS",
    "DAY_MS",
    "PERIODS_PER_YEAR",
    "ClosedTrade",
    "Drawdown",
    "EquityPoint",
    "PerformanceSummary",
    "buy_and_hold_return",
    "daily_returns",
    "exposure",
    "max_drawdown",
    "sharpe_ratio",
    "summarize",
    "total_return",
    "win_rate",
]

DAY_MS = 86_400_000
PERIODS_PER_YEAR = 365

CONVENTIONS = (
    "Sharpe on daily returns (last value of each UTC day), mean minus the risk-free rate over "
    "the sample standard deviation (n-1), x sqrt(365); risk-free {risk_free:g} a year. "
    "Drawdown from the running peak of the account value. Won trade: result after fees > 0. "
    "Exposure: share of bars ending with a position. Buy and hold: first open to last close, "
    "no fees."
)
"""The conventions line printed under a summary (``.format(risk_free=...)``)."""


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """The account value at a bar's close (``time_ms``: the bar's open, UTC) and whether a
    position was held then."""

    time_ms: int
    value: float
    in_market: bool = False


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """One round trip: opened and closed (UTC ms), its result before (``pnl``) and after fees
    (``pnl_net``), the fees paid on it, and how many bars it lasted."""

    symbol: str
    opened_ms: int
    closed_ms: int
    pnl: float
    pnl_net: float
    fees: float
    bars: int = 0


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The largest fall from a running peak: as a fraction of the peak and in money."""

    fraction: float
    amount: float


@dataclass(frozen=True, slots=True)
class PerformanceSummary:
    """The figures of one run (fractions, not percent; money in the quote currency)."""

    start_value: float
    end_value: float
    total_return: float
    max_drawdown: float
    max_drawdown_amount: float
    sharpe: float | None
    trades: int
    won: int
    win_rate: float | None
    fees: float
    exposure: float
    buy_and_hold: float | None
    bars: int
    risk_free: float = 0.0


def total_return(start_value: float, end_value: float) -> float:
    """``end / start - 1``; ValueError for a start value that is not positive."""
    if not start_value > 0:
        raise ValueError(f"the start value must be positive, got {start_value!r}")
    return end_value / start_value - 1.0


def max_drawdown(values: Sequence[float]) -> Drawdown:
    """The largest fall from a running peak of ``values`` (fraction of the peak, money)."""
    peak = -math.inf
    worst_fraction = worst_amount = 0.0
    for value in values:
        peak = max(peak, value)
        amount = peak - value
        if amount > worst_amount:
            worst_amount = amount
        if peak > 0 and amount / peak > worst_fraction:
            worst_fraction = amount / peak
    return Drawdown(worst_fraction, worst_amount)


def daily_returns(points: Sequence[EquityPoint], start_value: float) -> list[float]:
    """The return of each UTC day that has points: its last value against the previous day's
    last value (the first day against ``start_value``)."""
    closes: list[float] = []
    last_day: int | None = None
    for point in points:
        day = point.time_ms // DAY_MS
        if day == last_day:
            closes[-1] = point.value
        else:
            closes.append(point.value)
            last_day = day
    out: list[float] = []
    previous = start_value
    for close in closes:
        out.append(close / previous - 1.0 if previous else 0.0)
        previous = close
    return out


def sharpe_ratio(
    returns: Sequence[float],
    *,
    periods_per_year: int = PERIODS_PER_YEAR,
    risk_free: float = 0.0,
) -> float | None:
    """Annualised Sharpe ratio of per-period ``returns`` (module docstring); None when fewer
    than two returns or no variation leave it undefined. ``risk_free`` is an annual rate."""
    if len(returns) < 2:
        return None
    rate = (1.0 + risk_free) ** (1.0 / periods_per_year) - 1.0
    excess = [r - rate for r in returns]
    mean = sum(excess) / len(excess)
    variance = sum((r - mean) ** 2 for r in excess) / (len(excess) - 1)
    if variance <= 1e-24:
        return None
    return mean / math.sqrt(variance) * math.sqrt(periods_per_year)


def win_rate(trades: Sequence[ClosedTrade]) -> float | None:
    """Won trades (result after fees > 0) over closed trades; None without trades."""
    if not trades:
        return None
    return sum(1 for t in trades if t.pnl_net > 0) / len(trades)


def exposure(points: Sequence[EquityPoint]) -> float:
    """The share of bars that ended with a position held (0 without bars)."""
    if not points:
        return 0.0
    return sum(1 for p in points if p.in_market) / len(points)


def buy_and_hold_return(first_open: float, last_close: float) -> float | None:
    """The return of buying at ``first_open`` and selling at ``last_close`` (no fees)."""
    if not first_open > 0 or not math.isfinite(last_close):
        return None
    return last_close / first_open - 1.0


def summarize(
    points: Sequence[EquityPoint],
    trades: Sequence[ClosedTrade],
    *,
    start_value: float,
    fees: float = 0.0,
    buy_and_hold: float | None = None,
    periods_per_year: int = PERIODS_PER_YEAR,
    risk_free: float = 0.0,
) -> PerformanceSummary:
    """Every figure of a run from its equity curve (``start_value`` before the first bar),
    its closed trades, the fees it paid and the market's buy-and-hold return."""
    end_value = points[-1].value if points else start_value
    drawdown = max_drawdown([start_value, *(p.value for p in points)])
    returns = daily_returns(points, start_value)
    return PerformanceSummary(
        start_value=start_value,
        end_value=end_value,
        total_return=total_return(start_value, end_value),
        max_drawdown=drawdown.fraction,
        max_drawdown_amount=drawdown.amount,
        sharpe=sharpe_ratio(returns, periods_per_year=periods_per_year, risk_free=risk_free),
        trades=len(trades),
        won=sum(1 for t in trades if t.pnl_net > 0),
        win_rate=win_rate(trades),
        fees=fees,
        exposure=exposure(points),
        buy_and_hold=buy_and_hold,
        bars=len(points),
        risk_free=risk_free,
    )


# --- series for reports (real_trade.monitor.report): the curves and tables a report draws ---

__all__ += ["daily_closes", "drawdown_series", "monthly_returns"]


def daily_closes(points: Sequence[EquityPoint]) -> list[tuple[int, float]]:
    """The daily UTC mark-to-market curve: ``(day start ms, last value of that day)`` for each
    UTC day that has points, oldest first (the closes :func:`daily_returns` compares)."""
    out: list[tuple[int, float]] = []
    for point in points:
        day = point.time_ms // DAY_MS * DAY_MS
        if out and out[-1][0] == day:
            out[-1] = (day, point.value)
        else:
            out.append((day, point.value))
    return out


def drawdown_series(values: Sequence[float], start_value: float | None = None) -> list[float]:
    """For each value, its fall below the running peak as a fraction of that peak (0 at a new
    high); ``start_value``, when given, is the first peak (as in :func:`max_drawdown`)."""
    peak = -math.inf if start_value is None else start_value
    out: list[float] = []
    for value in values:
        peak = max(peak, value)
        out.append((peak - value) / peak if peak > 0 else 0.0)
    return out


def monthly_returns(
    points: Sequence[EquityPoint], start_value: float
) -> list[tuple[int, int, float]]:
    """``(year, month, return)`` of each UTC calendar month that has points: its last value
    against the previous month's last value (the first month against ``start_value``)."""
    import datetime as _dt

    out: list[tuple[int, int, float]] = []
    previous = start_value
    closes: list[tuple[int, int, float]] = []
    for point in points:
        moment = _dt.datetime.fromtimestamp(point.time_ms / 1000, _dt.timezone.utc)
        key = (moment.year, moment.month)
        if closes and closes[-1][:2] == key:
            closes[-1] = (*key, point.value)
        else:
            closes.append((*key, point.value))
    for year, month, close in closes:
        out.append((year, month, close / previous - 1.0 if previous else 0.0))
        previous = close
    return out
