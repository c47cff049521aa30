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
    """The return of each UTC day of the daily mark-to-market curve (:func:`daily_equity`): its
    last value against the previous day's (the first day against ``start_value``); a day
    without a point inside the period kept the previous value, a return of 0."""
    out: list[float] = []
    previous = start_value
    for _, close in daily_equity([(p.time_ms, p.value) for p in points]):
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


# -- the full set: a daily mark-to-market curve, risk-adjusted figures, trade statistics ------
#
# The functions below measure a run the way the operations layer reports it (issue 14):
#
# * the **daily curve** is the account value (mark to market, fees and funding already in it,
#   as the broker values the account) at the end of every UTC calendar day from the first to
#   the last, a day without a point carrying the previous day's value;
# * **returns** are the simple returns of that curve, the first day against the start value;
# * **periods a year** 365 (crypto trades every day), **risk-free** an annual rate (default 0)
#   turned into a daily one as ``(1 + r) ** (1 / 365) - 1``, **standard deviation** the sample
#   one (``n - 1``): the conventions of empyrical-reloaded with ``annualization=365``;
# * **annual return** the mean daily return x 365 (arithmetic); **CAGR** the compounded one,
#   ``(end / start) ** (365 / days) - 1``; **volatility** the sample std of daily returns x
#   sqrt(365); **Sortino** the mean excess return x 365 over the downside deviation (root mean
#   square of the negative excess returns over *all* days, x sqrt(365)); **Calmar** CAGR over
#   the maximum drawdown;
# * the **drawdown duration** is the longest time, in days, the curve spent below a previous
#   peak (until it got back to the peak, or to the end of the curve);
# * **trade statistics** are per closed round trip (after fees) and kept apart from the
#   period figures: profit factor = gross profit / gross loss, expectancy = mean result,
#   payoff = mean win / mean loss, streaks = longest runs of won and of lost trades.

__all__ += [
    "METRICS_CONVENTIONS",
    "DrawdownPeriod",
    "RunMetrics",
    "TradeStats",
    "annual_return",
    "annual_volatility",
    "cagr",
    "calmar_ratio",
    "compute_metrics",
    "daily_equity",
    "drawdown_period",
    "returns_of",
    "sortino_ratio",
    "time_in_market",
    "trade_stats",
]

METRICS_CONVENTIONS = (
    "Daily UTC mark-to-market equity (fees and funding in), simple returns; {periods} periods "
    "a year; risk-free {risk_free:g} a year; sample standard deviation (n-1). Annual return: "
    "mean daily return x {periods}; CAGR compounded over calendar days; Sortino: downside "
    "deviation over all days; Calmar: CAGR / max drawdown. Trade figures per closed round trip "
    "after fees."
)
"""The conventions line printed under every report (``.format(periods=..., risk_free=...)``)."""


def daily_equity(
    points: Sequence[tuple[int, float]],
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> list[tuple[int, float]]:
    """The daily UTC mark-to-market curve of ``points`` (``(time_ms, value)``, oldest first):
    ``(day_start_ms, value at the day's end)`` for every calendar day from the first point's
    day (or ``start_ms``'s) to the last point's (or the day before ``end_ms``), a day without
    a point carrying the previous value. Days before the first point are left out; for a
    period still running pass ``end_ms = min(end, now)``, or the days to come count as flat."""
    if not points:
        return []
    closes: dict[int, float] = {}
    for time_ms, value in points:
        closes[time_ms // DAY_MS] = value
    first = min(closes)
    last = max(closes)
    if start_ms is not None:
        first = max(first, start_ms // DAY_MS)
    if end_ms is not None:
        last = max(last, (end_ms - 1) // DAY_MS)
    earlier = [v for t, v in points if t // DAY_MS < first]
    value = earlier[-1] if earlier else closes[first]
    out: list[tuple[int, float]] = []
    for day in range(first, last + 1):
        value = closes.get(day, value)
        out.append((day * DAY_MS, value))
    return out


def returns_of(values: Sequence[float], start_value: float | None = None) -> list[float]:
    """Simple returns of consecutive ``values`` (the first against ``start_value`` when given)."""
    series = list(values) if start_value is None else [start_value, *values]
    out: list[float] = []
    for i in range(1, len(series)):
        out.append(series[i] / series[i - 1] - 1.0 if series[i - 1] else 0.0)
    return out


def _daily_rate(risk_free: float, periods_per_year: int) -> float:
    return (1.0 + risk_free) ** (1.0 / periods_per_year) - 1.0


def annual_return(returns: Sequence[float], *, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """The mean per-period return x ``periods_per_year`` (0 without returns)."""
    return sum(returns) / len(returns) * periods_per_year if returns else 0.0


def cagr(
    start_value: float, end_value: float, days: float, *, periods_per_year: int = PERIODS_PER_YEAR
) -> float | None:
    """The compounded annual growth ``(end / start) ** (periods_per_year / days) - 1``; None
    for no days or a start value that is not positive."""
    if days <= 0 or not start_value > 0:
        return None
    if end_value <= 0:
        return -1.0
    return float((end_value / start_value) ** (periods_per_year / days) - 1.0)


def annual_volatility(
    returns: Sequence[float], *, periods_per_year: int = PERIODS_PER_YEAR
) -> float | None:
    """The sample standard deviation (``n - 1``) of ``returns`` x sqrt(periods); None for
    fewer than two returns."""
    if len(returns) < 2:
        return None
    mean = sum(returns) / len(returns)
    variance = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    return math.sqrt(variance) * math.sqrt(periods_per_year)


def sortino_ratio(
    returns: Sequence[float],
    *,
    periods_per_year: int = PERIODS_PER_YEAR,
    risk_free: float = 0.0,
) -> float | None:
    """Mean excess return x periods over the annualised downside deviation (root mean square
    of the negative excess returns over all periods); None for fewer than two returns or no
    losing period. ``risk_free`` is an annual rate."""
    if len(returns) < 2:
        return None
    rate = _daily_rate(risk_free, periods_per_year)
    excess = [r - rate for r in returns]
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in excess) / len(excess))
    if downside <= 1e-12:
        return None
    return (sum(excess) / len(excess) * periods_per_year) / (downside * math.sqrt(periods_per_year))


def calmar_ratio(cagr_value: float | None, max_drawdown_fraction: float) -> float | None:
    """CAGR over the maximum drawdown (a fraction); None without a drawdown or a CAGR."""
    if cagr_value is None or max_drawdown_fraction <= 0:
        return None
    return cagr_value / max_drawdown_fraction


@dataclass(frozen=True, slots=True)
class DrawdownPeriod:
    """The deepest fall of a curve (fraction of its peak, money, peak and trough times) and
    the longest time under a previous peak (``longest_days``, from ``underwater_from_ms`` to
    ``underwater_to_ms``: the recovery, or the end of the curve when ``recovered`` is False)."""

    fraction: float
    amount: float
    peak_ms: int | None
    trough_ms: int | None
    longest_days: float
    underwater_from_ms: int | None
    underwater_to_ms: int | None
    recovered: bool


def drawdown_period(
    points: Sequence[tuple[int, float]], start_value: float | None = None
) -> DrawdownPeriod:
    """The deepest drawdown and the longest underwater stretch of ``points`` (``(time_ms,
    value)``); ``start_value`` counts as a peak just before the first point."""
    peak = start_value if start_value is not None else -math.inf
    peak_ms: int | None = points[0][0] if points and start_value is not None else None
    worst = Drawdown(0.0, 0.0)
    worst_peak: int | None = None
    worst_trough: int | None = None
    longest = 0
    longest_span: tuple[int | None, int | None, bool] = (None, None, True)
    under_since: int | None = None
    for time_ms, value in points:
        if value >= peak:
            if under_since is not None and time_ms - under_since > longest:
                longest, longest_span = time_ms - under_since, (under_since, time_ms, True)
            peak, peak_ms, under_since = value, time_ms, None
            continue
        if under_since is None:
            under_since = peak_ms if peak_ms is not None else time_ms
        amount = peak - value
        fraction = amount / peak if peak > 0 else 0.0
        if fraction > worst.fraction or (peak <= 0 and amount > worst.amount):
            worst, worst_peak, worst_trough = Drawdown(fraction, amount), peak_ms, time_ms
    if under_since is not None and points and points[-1][0] - under_since > longest:
        longest, longest_span = points[-1][0] - under_since, (under_since, points[-1][0], False)
    return DrawdownPeriod(
        fraction=worst.fraction,
        amount=worst.amount,
        peak_ms=worst_peak,
        trough_ms=worst_trough,
        longest_days=longest / DAY_MS,
        underwater_from_ms=longest_span[0],
        underwater_to_ms=longest_span[1],
        recovered=longest_span[2],
    )


def time_in_market(
    position_changes: Sequence[tuple[int, str, float]], start_ms: int, end_ms: int
) -> float:
    """The share of ``[start_ms, end_ms)`` during which any position was held, from the fills'
    ``(time_ms, symbol, position_change)`` (oldest first; changes before ``start_ms`` set the
    position held at the start). 0 for an empty range."""
    if end_ms <= start_ms:
        return 0.0
    held: dict[str, float] = {}
    since: int | None = None
    total = 0
    for time_ms, symbol, change in position_changes:
        if time_ms >= end_ms:
            break
        was_open = any(abs(v) > 1e-12 for v in held.values())
        held[symbol] = held.get(symbol, 0.0) + change
        now_open = any(abs(v) > 1e-12 for v in held.values())
        moment = max(time_ms, start_ms)
        if now_open and not was_open:
            since = moment
        elif was_open and not now_open and since is not None:
            total += moment - since
            since = None
    if since is not None:
        total += end_ms - since
    return total / (end_ms - start_ms)


@dataclass(frozen=True, slots=True)
class TradeStats:
    """Per-round-trip figures (after fees), kept apart from the period figures."""

    trades: int
    won: int
    lost: int
    win_rate: float | None
    gross_profit: float
    gross_loss: float
    net_profit: float
    profit_factor: float | None
    expectancy: float | None
    average_win: float | None
    average_loss: float | None
    payoff: float | None
    best: float | None
    worst: float | None
    longest_winning_streak: int
    longest_losing_streak: int
    average_holding_ms: float | None
    fees: float


def trade_stats(trades: Sequence[ClosedTrade]) -> TradeStats:
    """The statistics of closed round trips, in the order they closed (module section above):
    a trade with a result after fees above 0 is won, below 0 lost (exactly 0: neither)."""
    results = [t.pnl_net for t in trades]
    wins = [r for r in results if r > 0]
    losses = [r for r in results if r < 0]
    gross_profit, gross_loss = sum(wins), -sum(losses)
    streaks = {1: 0, -1: 0}
    run_sign, run = 0, 0
    for r in results:
        sign = 1 if r > 0 else -1 if r < 0 else 0
        run = run + 1 if sign == run_sign and sign else (1 if sign else 0)
        run_sign = sign
        if sign:
            streaks[sign] = max(streaks[sign], run)
    average_win = gross_profit / len(wins) if wins else None
    average_loss = gross_loss / len(losses) if losses else None
    return TradeStats(
        trades=len(results),
        won=len(wins),
        lost=len(losses),
        win_rate=len(wins) / len(results) if results else None,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        net_profit=sum(results),
        profit_factor=gross_profit / gross_loss if gross_loss > 0 else None,
        expectancy=sum(results) / len(results) if results else None,
        average_win=average_win,
        average_loss=average_loss,
        payoff=average_win / average_loss if average_win and average_loss else None,
        best=max(results) if results else None,
        worst=min(results) if results else None,
        longest_winning_streak=streaks[1],
        longest_losing_streak=streaks[-1],
        average_holding_ms=(
            sum(t.closed_ms - t.opened_ms for t in trades) / len(trades) if trades else None
        ),
        fees=sum(t.fees for t in trades),
    )


@dataclass(frozen=True, slots=True)
class RunMetrics:
    """Every figure of a run over a period: the daily curve's (returns, risk, drawdown,
    exposure, benchmark) and, apart, the round trips' (:class:`TradeStats`), with the
    conventions they were computed under (``conventions``: :data:`METRICS_CONVENTIONS`)."""

    start_ms: int | None
    end_ms: int | None
    days: int
    start_value: float
    end_value: float
    total_return: float
    annual_return: float
    cagr: float | None
    volatility: float | None
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    max_drawdown: float
    max_drawdown_amount: float
    max_drawdown_days: float
    exposure: float | None
    buy_and_hold: float | None
    trade: TradeStats
    daily: tuple[tuple[int, float], ...]
    periods_per_year: int = PERIODS_PER_YEAR
    risk_free: float = 0.0

    @property
    def conventions(self) -> str:
        """The conventions line of these figures."""
        return METRICS_CONVENTIONS.format(periods=self.periods_per_year, risk_free=self.risk_free)

    @property
    def daily_returns(self) -> list[float]:
        """The daily returns (the first day against the start value)."""
        return returns_of([v for _, v in self.daily], self.start_value)


def compute_metrics(
    points: Sequence[tuple[int, float]],
    trades: Sequence[ClosedTrade] = (),
    *,
    start_value: float | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    exposure: float | None = None,
    buy_and_hold: float | None = None,
    periods_per_year: int = PERIODS_PER_YEAR,
    risk_free: float = 0.0,
) -> RunMetrics:
    """The figures of a run from its equity ``points`` (``(time_ms, value)``: mark-to-market
    account values, oldest first), its closed ``trades``, the value before the first point
    (``start_value``, default the first point's value), the share of time a position was held
    (``exposure``, see :func:`time_in_market`) and the market's buy-and-hold return."""
    curve = daily_equity(points, start_ms=start_ms, end_ms=end_ms)
    start = start_value if start_value is not None else (points[0][1] if points else 0.0)
    end = curve[-1][1] if curve else start
    returns = returns_of([v for _, v in curve], start) if start > 0 else []
    drawdown = drawdown_period(curve, start if start > 0 else None)
    growth = cagr(start, end, len(curve), periods_per_year=periods_per_year)
    return RunMetrics(
        start_ms=curve[0][0] if curve else start_ms,
        end_ms=curve[-1][0] + DAY_MS if curve else end_ms,
        days=len(curve),
        start_value=start,
        end_value=end,
        total_return=end / start - 1.0 if start > 0 else 0.0,
        annual_return=annual_return(returns, periods_per_year=periods_per_year),
        cagr=growth,
        volatility=annual_volatility(returns, periods_per_year=periods_per_year),
        sharpe=sharpe_ratio(returns, periods_per_year=periods_per_year, risk_free=risk_free),
        sortino=sortino_ratio(returns, periods_per_year=periods_per_year, risk_free=risk_free),
        calmar=calmar_ratio(growth, drawdown.fraction),
        max_drawdown=drawdown.fraction,
        max_drawdown_amount=drawdown.amount,
        max_drawdown_days=drawdown.longest_days,
        exposure=exposure,
        buy_and_hold=buy_and_hold,
        trade=trade_stats(trades),
        daily=tuple(curve),
        periods_per_year=periods_per_year,
        risk_free=risk_free,
    )


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

__all__ += ["drawdown_series", "monthly_returns"]


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
