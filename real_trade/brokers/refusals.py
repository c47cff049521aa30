"""Refused orders in the log: the reason and the fix, once per kind of refusal.

backtrader notifies a refused order (Margin, Rejected) to ``notify_order`` only, so a strategy
that does not look, such as the seeds' ``self.buy()`` of one BTC on 10,000 USDT, trades nothing
and says nothing. :class:`RefusalLog` logs the first refusal of each kind (status, side,
symbol) as a warning naming the reason and the fix, then the 10th, 100th ... with their count,
so that a strategy refused on every bar does not flood the log.
"""

from __future__ import annotations

import logging
from typing import Any

from real_trade.vocabulary import base_asset, is_contract, quote_asset

__all__ = ["RefusalLog", "refusal_fix"]

_log = logging.getLogger("real_trade.brokers")


def refusal_fix(order: Any, symbol: str, broker: Any) -> str:
    """What to change so that an order like ``order`` (Margin) is taken; "" when no advice."""
    if order.status != order.Margin or not symbol:
        return ""
    base, quote = base_asset(symbol), quote_asset(symbol)
    if is_contract(symbol):
        return (
            "its initial margin exceeds the available balance: trade a smaller size or a "
            f"higher leverage (contracts={{{symbol!r}: {{'leverage': N}}}})"
        )
    if order.isbuy():
        data = order.data
        price = order.created.price or (data.close[0] if len(data) else None)
        size = abs(order.created.size)
        cost = f"it costs about {size * price:,.2f} {quote}, " if price else ""
        more = (
            "start with more cash (initial_cash=... or broker.setcash(...))"
            if broker.p.paper_trading
            else f"add {quote} to the account"
        )
        return (
            f"{cost}the cash is {broker.getcash():,.2f} {quote}: buy less (size=...) or set a "
            f"sizer (cerebro.addsizer(...)), or {more}"
        )
    held = broker.getposition(order.data).size
    return (
        f"spot sells only what the account holds ({held:g} {base}); to sell short, trade the "
        f"perpetual {base}/{quote}:{quote} (market_type='future')"
    )


class RefusalLog:
    """Logs refused orders (see the module docstring); one per broker."""

    def __init__(self) -> None:
        """No refusal seen yet."""
        self._counts: dict[tuple[int, bool, str], int] = {}

    def note(self, order: Any, symbol: str, broker: Any) -> None:
        """Count ``order`` (just refused) and log it when it is the 1st, 10th, 100th ... of
        its kind."""
        key = (int(order.status), bool(order.isbuy()), symbol)
        count = self._counts[key] = self._counts.get(key, 0) + 1
        if str(count).rstrip("0") != "1":
            return  # not 1, 10, 100 ...
        side = "buy" if order.isbuy() else "sell"
        reason = order.info.get("reason") or "no reason given"
        fix = refusal_fix(order, symbol, broker)
        repeat = f" ({count} refusals like this so far)" if count > 1 else ""
        _log.warning(
            "order %s (%s %g %s) %s: %s%s%s",
            order.ref,
            side,
            abs(order.created.size),
            symbol,
            order.getstatusname(),
            reason,
            f"; fix: {fix}" if fix else "",
            repeat,
        )
