"""``RiskManager``: position sizing, stop prices, daily trade limits and a drawdown guard.

The seed's strategy-level risk face, built from four small parts that each do one thing:

- :class:`FixedRatioSizer` sizes a position from the account value, the price and the stop
  distance: risk at most ``risk_per_trade`` of the value on the trade, and never put more than
  ``max_position_pct`` of the value into the position.
- :class:`FixedStopLoss` gives the stop price a fixed fraction away from the entry.
- :class:`TradeLimiter` allows at most ``max_daily_trades`` recorded trades per UTC day.
- :class:`DrawdownGuard` stops trading once equity has fallen more than ``max_drawdown_pct``
  below its peak.

:class:`RiskManager` combines them behind the seed's four calls (``calc_size``, ``allow_trade``,
``record_trade``, ``get_stop_price``). Inside backtrader it plugs in as a sizer
(:class:`RiskManagerSizer`, or :meth:`RiskManager.as_sizer`) and records closed trades through
:class:`RiskManagerRecorder`; :meth:`RiskManager.attach` adds both to a cerebro. The pre-trade
checks in front of every order (order size, leverage, price deviation, throttle, circuit breaker)
belong to the risk engine, not here.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timezone
from typing import Any, Protocol

import backtrader as bt

from real_trade.vocabulary import OrderSide

__all__ = [
    "DrawdownGuard",
    "FixedRatioSizer",
    "FixedStopLoss",
    "RiskManager",
    "RiskManagerRecorder",
    "RiskManagerSizer",
    "TradeLimiter",
]


class BrokerLike(Protocol):
    """Anything that reports the account value the way a backtrader broker does."""

    def getvalue(self) -> float:
        """Return the account value (cash plus open positions) in the quote currency."""
        ...


def _number(name: str, value: object) -> float:
    """Return ``value`` as a finite float, or raise ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def _fraction(name: str, value: object, *, allow_one: bool = True) -> float:
    """Return ``value`` checked to lie in (0, 1] (or (0, 1) when ``allow_one`` is false)."""
    number = _number(name, value)
    upper_ok = number <= 1 if allow_one else number < 1
    if number <= 0 or not upper_ok:
        bound = "1]" if allow_one else "1)"
        raise ValueError(f"{name} must be in (0, {bound}, got {value!r}")
    return number


def _positive(name: str, value: object) -> float:
    """Return ``value`` checked to be a finite number above zero."""
    number = _number(name, value)
    if number <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return number


def _side(side: object) -> OrderSide:
    """Return ``side`` (``'buy'``/``'sell'`` in any case) as its :class:`OrderSide`."""
    try:
        return OrderSide(side.lower() if isinstance(side, str) else side)
    except ValueError:
        raise ValueError(f"side must be 'buy' or 'sell', got {side!r}") from None


def _utc_day(now: datetime | None) -> date:
    """The UTC calendar day of ``now`` (naive datetimes are taken as UTC, as backtrader's are)."""
    moment = now if now is not None else datetime.now(timezone.utc)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.date()


class FixedRatioSizer:
    """Size positions by a fixed risk per trade, capped at a fixed share of the account.

    ``size(value, price, stop_distance)`` is the smaller of ``value * risk_per_trade /
    stop_distance`` (losing exactly the risk budget if the stop is hit) and ``value *
    max_position_pct / price`` (the position cap). Without a stop distance only the cap applies.
    """

    def __init__(self, max_position_pct: float = 0.3, risk_per_trade: float = 0.02) -> None:
        self.max_position_pct = _fraction("max_position_pct", max_position_pct)
        self.risk_per_trade = _fraction("risk_per_trade", risk_per_trade)

    def size(self, value: float, price: float, stop_distance: float | None = None) -> float:
        """Return the position size in base units (0 when the account has no value)."""
        value = _number("value", value)
        price = _positive("price", price)
        if value <= 0:
            return 0.0
        capped = value * self.max_position_pct / price
        if stop_distance is None:
            return capped
        distance = _positive("stop_distance", stop_distance)
        return min(capped, value * self.risk_per_trade / distance)


class FixedStopLoss:
    """A stop a fixed fraction ``stop_loss_pct`` away from the entry price."""

    def __init__(self, stop_loss_pct: float = 0.02) -> None:
        self.stop_loss_pct = _fraction("stop_loss_pct", stop_loss_pct, allow_one=False)

    def stop_price(self, entry_price: float, side: str) -> float:
        """Return the stop below a ``'buy'`` entry or above a ``'sell'`` entry."""
        entry = _positive("entry_price", entry_price)
        if _side(side) is OrderSide.BUY:
            return entry * (1 - self.stop_loss_pct)
        return entry * (1 + self.stop_loss_pct)

    def distance(self, entry_price: float) -> float:
        """Return the price distance between the entry and its stop."""
        return _positive("entry_price", entry_price) * self.stop_loss_pct

    def is_hit(self, entry_price: float, price: float, side: str) -> bool:
        """Return whether ``price`` reached the stop of a position entered at ``entry_price``."""
        stop = self.stop_price(entry_price, side)
        current = _positive("price", price)
        return current <= stop if _side(side) is OrderSide.BUY else current >= stop


class TradeLimiter:
    """Allow at most ``max_daily_trades`` recorded trades per UTC calendar day."""

    def __init__(self, max_daily_trades: int = 20) -> None:
        if isinstance(max_daily_trades, bool) or not isinstance(max_daily_trades, int):
            raise ValueError(f"max_daily_trades must be an integer, got {max_daily_trades!r}")
        if max_daily_trades < 1:
            raise ValueError(f"max_daily_trades must be >= 1, got {max_daily_trades!r}")
        self.max_daily_trades = max_daily_trades
        self._day: date | None = None
        self._count = 0

    def trades_today(self, now: datetime | None = None) -> int:
        """Return how many trades were recorded on the UTC day of ``now`` (default: today)."""
        return self._count if _utc_day(now) == self._day else 0

    def record(self, now: datetime | None = None) -> None:
        """Count one trade on the UTC day of ``now``; a new day starts the count afresh."""
        day = _utc_day(now)
        if day != self._day:
            self._day, self._count = day, 0
        self._count += 1

    def allowed(self, now: datetime | None = None) -> bool:
        """Return whether another trade fits into the day's limit."""
        return self.trades_today(now) < self.max_daily_trades


class DrawdownGuard:
    """Track the equity peak; refuse trading once drawdown from it exceeds ``max_drawdown_pct``."""

    def __init__(self, max_drawdown_pct: float = 0.15) -> None:
        self.max_drawdown_pct = _fraction("max_drawdown_pct", max_drawdown_pct)
        self.peak: float | None = None
        self.equity: float | None = None

    def update(self, equity: float) -> None:
        """Record the current equity, raising the peak when it is a new high."""
        self.equity = _number("equity", equity)
        if self.peak is None or self.equity > self.peak:
            self.peak = self.equity

    @property
    def drawdown(self) -> float:
        """The current fall from the peak as a fraction of the peak (0 when nothing is known)."""
        if self.peak is None or self.equity is None or self.peak <= 0:
            return 0.0
        return max(0.0, (self.peak - self.equity) / self.peak)

    def allowed(self) -> bool:
        """Return whether the drawdown is still within ``max_drawdown_pct``."""
        return self.drawdown <= self.max_drawdown_pct


def _price_of(data: Any) -> float:
    """The current price of ``data``: a backtrader feed's close, or a plain number."""
    if isinstance(data, int | float) and not isinstance(data, bool):
        return _positive("price", data)
    try:
        close = data.close[0]
    except (AttributeError, IndexError, TypeError) as exc:
        raise ValueError(f"data must be a price or a feed with a close line, got {data!r}") from exc
    return _positive("price", close)


class RiskManager:
    """The seed's risk face: sizing, stop prices, a daily trade limit and a drawdown guard.

    ``RiskManager(max_position_pct=0.3, risk_per_trade=0.02, max_drawdown_pct=0.15,
    max_daily_trades=20, stop_loss_pct=0.02, initial_equity=None)``. Each bad argument raises a
    ``ValueError`` naming it. The parts are public attributes (``sizer``, ``stop_loss``,
    ``limiter``, ``drawdown_guard``) for callers that need one on its own.
    """

    def __init__(
        self,
        max_position_pct: float = 0.3,
        risk_per_trade: float = 0.02,
        max_drawdown_pct: float = 0.15,
        max_daily_trades: int = 20,
        stop_loss_pct: float = 0.02,
        initial_equity: float | None = None,
    ) -> None:
        self.sizer = FixedRatioSizer(max_position_pct, risk_per_trade)
        self.stop_loss = FixedStopLoss(stop_loss_pct)
        self.limiter = TradeLimiter(max_daily_trades)
        self.drawdown_guard = DrawdownGuard(max_drawdown_pct)
        self.equity: float | None = None
        self.realized_pnl = 0.0
        self.trade_count = 0
        if initial_equity is not None:
            self._set_equity(_positive("initial_equity", initial_equity))

    def __repr__(self) -> str:
        return (
            f"RiskManager(max_position_pct={self.sizer.max_position_pct}, "
            f"risk_per_trade={self.sizer.risk_per_trade}, "
            f"max_drawdown_pct={self.drawdown_guard.max_drawdown_pct}, "
            f"max_daily_trades={self.limiter.max_daily_trades}, "
            f"stop_loss_pct={self.stop_loss.stop_loss_pct})"
        )

    def _set_equity(self, equity: float) -> None:
        self.equity = equity
        self.drawdown_guard.update(equity)

    def calc_size(self, broker: BrokerLike, data: Any, stop_price: float | None = None) -> float:
        """Return the position size for a new entry at ``data``'s current price.

        The risk budget is ``broker.getvalue() * risk_per_trade`` over the stop distance (the
        distance to ``stop_price`` when given, else the configured ``stop_loss_pct`` of the
        price), capped so the position is worth at most ``max_position_pct`` of the value.
        ``data`` is a backtrader feed (its current close is used) or a price.
        """
        price = _price_of(data)
        if stop_price is None:
            distance = self.stop_loss.distance(price)
        else:
            distance = abs(price - _positive("stop_price", stop_price))
            if distance == 0:
                raise ValueError(f"stop_price must differ from the price {price}, got {stop_price}")
        return self.sizer.size(broker.getvalue(), price, distance)

    def allow_trade(self, broker: BrokerLike | None = None, now: datetime | None = None) -> bool:
        """Return whether a new trade may open now.

        False once ``max_daily_trades`` trades were recorded on the UTC day of ``now`` (default:
        the wall clock; pass the bar's time in a backtest), or once equity (``broker``'s value
        when given, else the equity tracked by :meth:`record_trade`) is more than
        ``max_drawdown_pct`` below its peak.
        """
        if broker is not None:
            self._set_equity(_number("broker value", broker.getvalue()))
        return self.limiter.allowed(now) and self.drawdown_guard.allowed()

    def record_trade(self, pnl: float, now: datetime | None = None) -> None:
        """Record one closed trade: count it for the day of ``now`` and add ``pnl`` to equity."""
        amount = _number("pnl", pnl)
        self.limiter.record(now)
        self.trade_count += 1
        self.realized_pnl += amount
        if self.equity is not None:
            self._set_equity(self.equity + amount)

    def get_stop_price(self, entry_price: float, side: str) -> float:
        """Return the stop price for an entry: below it for ``'buy'``, above it for ``'sell'``."""
        return self.stop_loss.stop_price(entry_price, side)

    def as_sizer(self) -> RiskManagerSizer:
        """Return a backtrader sizer driven by this manager (for ``strategy.setsizer``)."""
        return RiskManagerSizer(manager=self)

    def attach(self, cerebro: bt.Cerebro) -> None:
        """Make this manager ``cerebro``'s default sizer and record its closed trades."""
        cerebro.addsizer(RiskManagerSizer, manager=self)
        cerebro.addanalyzer(RiskManagerRecorder, manager=self)


def _bar_time(data: Any) -> datetime | None:
    """The current bar's (naive UTC) datetime, or None before the first bar."""
    try:
        return data.datetime.datetime(0)
    except (AttributeError, IndexError, ValueError):
        return None


def _manager(params: Any) -> RiskManager:
    manager = params.manager
    if not isinstance(manager, RiskManager):
        raise ValueError(f"manager must be a RiskManager, got {manager!r}")
    return manager


class RiskManagerSizer(bt.Sizer):
    """A backtrader sizer over a :class:`RiskManager` (param ``manager``).

    An order that reduces the open position is sized to close it; an order that opens or adds is
    sized by :meth:`RiskManager.calc_size`, or 0 (no order) when :meth:`RiskManager.allow_trade`
    refuses, judged at the bar's time.
    """

    params = (("manager", None),)

    def _getsizing(self, comminfo: Any, cash: float, data: Any, isbuy: bool) -> float:
        manager = _manager(self.p)
        held = self.strategy.getposition(data).size
        if (isbuy and held < 0) or (not isbuy and held > 0):
            return float(abs(held))
        if not manager.allow_trade(self.broker, now=_bar_time(data)):
            return 0.0
        return manager.calc_size(self.broker, data)


class RiskManagerRecorder(bt.Analyzer):
    """A backtrader analyzer feeding each closed trade's net P&L to ``manager.record_trade``."""

    params = (("manager", None),)

    def notify_trade(self, trade: Any) -> None:
        """Record the trade when it closes, on the day of its bar."""
        if trade.isclosed:
            _manager(self.p).record_trade(trade.pnlcomm, now=_bar_time(trade.data))

    def get_analysis(self) -> dict[str, float]:
        """Return the manager's trade count, realized P&L and current drawdown."""
        manager = _manager(self.p)
        return {
            "trades": manager.trade_count,
            "realized_pnl": manager.realized_pnl,
            "drawdown": manager.drawdown_guard.drawdown,
        }
