"""``RsiReversion``: an RSI mean-reversion sample built on :class:`RealTradeStrategyBase`.

Long only: buy when the RSI falls below ``oversold`` (sized by ``calc_position_size(risk_pct)``),
close when it rises above ``overbought`` or when the base's stop loss or take profit triggers.
At most one order is pending at a time, and none is sent before the feed is LIVE (the
backfilled history only warms the RSI up).
"""

from __future__ import annotations

from typing import Any

import backtrader as bt

from real_trade.strategies.base import RealTradeStrategyBase

__all__ = ["RsiReversion"]


class RsiReversion(RealTradeStrategyBase):
    """RSI mean reversion: enter oversold, exit overbought or at the stop loss / take profit.

    Params (besides the base's): ``period`` (14), ``oversold`` (30), ``overbought`` (70),
    ``risk_pct`` (0.02 of the account value risked per trade).
    """

    params = (
        ("period", 14),
        ("oversold", 30.0),
        ("overbought", 70.0),
        ("risk_pct", 0.02),
    )

    def __init__(self) -> None:
        if not 0 < self.p.oversold < self.p.overbought < 100:
            raise ValueError(
                f"oversold/overbought must satisfy 0 < oversold < overbought < 100, got "
                f"{self.p.oversold}/{self.p.overbought}"
            )
        self.rsi = bt.indicators.RSI(self.data.close, period=self.p.period, safediv=True)
        self.pending: Any = None
        self.exits: list[str] = []

    def notify_order(self, order: Any) -> None:
        """Clear the pending order once it is done, then log it as the base does."""
        if self.pending is not None and order.ref == self.pending.ref and not order.alive():
            self.pending = None
        super().notify_order(order)

    def next(self) -> None:
        """Enter when oversold; exit when overbought, stopped out or at the profit target."""
        if self.pending is not None or not self.data_live():  # no orders on backfilled bars
            return
        if not self.position:
            if self.rsi[0] < self.p.oversold and self.allow_trade():
                size = self.calc_position_size(self.p.risk_pct)
                if size > 0:
                    self.log(f"RSI {self.rsi[0]:.1f} < {self.p.oversold}: BUY {size:.8g}")
                    self.pending = self.buy(size=size)
            return
        reason = (
            "stop_loss"
            if self.check_stop_loss()
            else "take_profit"
            if self.check_take_profit()
            else "overbought"
            if self.rsi[0] > self.p.overbought
            else None
        )
        if reason is not None:
            self.exits.append(reason)
            self.log(f"EXIT ({reason}) at {self.data.close[0]:.8g}")
            self.pending = self.close()
