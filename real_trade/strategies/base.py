"""``RealTradeStrategyBase``: a backtrader strategy base with the seed's risk helpers and logging.

Subclass it like ``bt.Strategy`` and use, inside ``next()``:

- ``calc_position_size(risk_pct)``: the size that risks ``risk_pct`` of the account value if the
  ``stop_loss`` is hit, never worth more than ``max_position_pct`` of the value;
- ``check_stop_loss()`` / ``check_take_profit()``: whether the close has moved ``stop_loss`` /
  ``take_profit`` (fractions of the entry price) against / in favour of the open position;
- ``log(txt)``: a line on the ``real_trade.strategies.<ClassName>`` logger when ``printlog``
  (printed to stdout when logging is not configured);
- ``data_live()``: whether the feeds are LIVE (history is being backfilled until then).

``buy()`` or ``sell()`` without a size while holding the opposite position closes that position
(so the seed's ``self.sell()`` exits a long of any size); with no position they size as
backtrader does. With ``log_trades`` every order and closed trade is logged. An optional
``risk_manager`` param (a :class:`real_trade.risk.manager.RiskManager`) receives each closed
trade and answers :meth:`RealTradeStrategyBase.allow_trade`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import backtrader as bt

from real_trade.risk.manager import FixedRatioSizer, RiskManager
from real_trade.utils.logger import get_logger

__all__ = ["RealTradeStrategyBase"]


class RealTradeStrategyBase(bt.Strategy):
    """Base strategy: stop-loss/take-profit checks, risk-based sizing, order and trade logging.

    Params: ``printlog`` (False: log lines go out only when true), ``log_trades`` (False: log
    every order notification and closed trade), ``stop_loss`` (0.02 of the entry price; 0 turns
    the check off), ``take_profit`` (0.05; 0 turns it off), ``max_position_pct`` (0.3 of the
    account value at most in one position), ``risk_manager`` (None, or a ``RiskManager``).
    """

    params: tuple[tuple[str, Any], ...] = (
        ("printlog", False),
        ("log_trades", False),
        ("stop_loss", 0.02),
        ("take_profit", 0.05),
        ("max_position_pct", 0.3),
        ("risk_manager", None),
    )

    @property
    def logger(self) -> logging.Logger:
        """The strategy's logger, ``real_trade.strategies.<ClassName>``."""
        return get_logger(f"strategies.{type(self).__name__}")

    def _now(self) -> datetime | None:
        try:
            return self.datas[0].datetime.datetime(0)
        except (AttributeError, IndexError, ValueError):
            return None

    def log(self, txt: str, dt: datetime | None = None, doprint: bool = False) -> None:
        """Log ``txt`` stamped with the bar time, when ``printlog`` (or ``doprint``) is set.

        The line goes to :attr:`logger`; when nothing is configured to handle it (no handler on
        that logger, ``real_trade`` or the root: the user never set up logging) it is printed
        to stdout instead, as backtrader's own examples do, so ``printlog=True`` always shows.
        """
        if not (self.p.printlog or doprint):
            return
        stamp = dt or self._now()
        when = stamp.isoformat() if stamp else "-"
        logger = self.logger
        if logger.hasHandlers():
            logger.info("%s %s", when, txt)
        else:
            print(f"{when} {txt}", flush=True)

    def calc_position_size(self, risk_pct: float = 0.02, data: Any = None) -> float:
        """Return the size risking ``risk_pct`` of the account value at the ``stop_loss`` distance.

        Capped so the position is worth at most ``max_position_pct`` of the value at the current
        close of ``data`` (default: the first feed); with ``stop_loss`` 0 only the cap applies.
        Raises ``ValueError`` naming ``risk_pct`` or ``max_position_pct`` when out of (0, 1].
        """
        if isinstance(risk_pct, bool) or not isinstance(risk_pct, int | float):
            raise ValueError(f"risk_pct must be a number in (0, 1], got {risk_pct!r}")
        if not 0 < risk_pct <= 1:
            raise ValueError(f"risk_pct must be in (0, 1], got {risk_pct!r}")
        feed = data if data is not None else self.datas[0]
        price = float(feed.close[0])
        sizer = FixedRatioSizer(self.p.max_position_pct, risk_pct)
        distance = price * self.p.stop_loss if self.p.stop_loss else None
        return sizer.size(self.broker.getvalue(), price, distance)

    def _moved(self, fraction: float, against: bool, data: Any = None) -> bool:
        """Whether the close moved ``fraction`` of the entry price against/for the position."""
        feed = data if data is not None else self.datas[0]
        position = self.getposition(feed)
        if not fraction or not position.size or not position.price:
            return False
        entry, close = float(position.price), float(feed.close[0])
        long = position.size > 0
        if long != against:  # long and in favour, or short and against: price rose
            return bool(close >= entry * (1 + fraction))
        return bool(close <= entry * (1 - fraction))

    def check_stop_loss(self, data: Any = None) -> bool:
        """Return whether the close is ``stop_loss`` (fraction of entry) against the position."""
        return self._moved(self.p.stop_loss, against=True, data=data)

    def check_take_profit(self, data: Any = None) -> bool:
        """Return whether the close moved ``take_profit`` in the position's favour."""
        return self._moved(self.p.take_profit, against=False, data=data)

    def notify_data(self, data: Any, status: int, *args: Any, **kwargs: Any) -> None:
        """Remember each feed's latest state (override? call ``super().notify_data``)."""
        states: dict[Any, int] = self.__dict__.setdefault("_feed_states", {})
        states[data] = status

    def data_live(self) -> bool:
        """Whether the strategy sees live bars: every live feed's latest state is LIVE (always
        True in a backtest). Trading on backfilled history would send orders at stale prices."""
        states: dict[Any, int] = self.__dict__.get("_feed_states", {})
        return all(states.get(d) == d.LIVE for d in self.datas if d.islive())

    def allow_trade(self) -> bool:
        """Ask the ``risk_manager`` (if any) whether a new trade may open at this bar."""
        manager = self.p.risk_manager
        if manager is None:
            return True
        return bool(manager.allow_trade(self.broker, now=self._now()))

    def _closing_size(self, data: Any, isbuy: bool) -> float | None:
        held = self.getposition(data if data is not None else self.datas[0]).size
        if (isbuy and held < 0) or (not isbuy and held > 0):
            return float(abs(held))
        return None

    def buy(self, data: Any = None, size: float | None = None, **kwargs: Any) -> Any:
        """``bt.Strategy.buy``; without ``size`` while short, buy back the whole short."""
        if size is None:
            size = self._closing_size(data, isbuy=True)
        return super().buy(data=data, size=size, **kwargs)

    def sell(self, data: Any = None, size: float | None = None, **kwargs: Any) -> Any:
        """``bt.Strategy.sell``; without ``size`` while long, sell the whole long."""
        if size is None:
            size = self._closing_size(data, isbuy=False)
        return super().sell(data=data, size=size, **kwargs)

    def notify_order(self, order: Any) -> None:
        """Log fills and failed orders when ``log_trades``."""
        if not self.p.log_trades or order.status in (order.Submitted, order.Accepted):
            return
        side = "BUY" if order.isbuy() else "SELL"
        if order.status == order.Completed:
            done = order.executed
            self.log(
                f"{side} EXECUTED ref={order.ref} price={done.price:.8g} size={done.size:.8g} "
                f"value={done.value:.8g} comm={done.comm:.8g}"
            )
        else:
            self.log(f"{side} ORDER {order.getstatusname()} ref={order.ref}")

    def notify_trade(self, trade: Any) -> None:
        """Log each closed trade (when ``log_trades``) and pass it to the ``risk_manager``."""
        if not trade.isclosed:
            return
        manager = self.p.risk_manager
        if isinstance(manager, RiskManager):
            manager.record_trade(trade.pnlcomm, now=self._now())
        if self.p.log_trades:
            self.log(f"TRADE CLOSED gross={trade.pnl:.8g} net={trade.pnlcomm:.8g}")
