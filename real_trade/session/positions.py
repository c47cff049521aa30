"""``SymbolPositions``: the strategy's position per symbol, and the dust beside it.

A position is what the strategy holds of a symbol's base asset, following the fills while
orders work and the account's balances once the symbol is quiet (:meth:`settle`). A remainder
no order can sell (below the venue's minimum amount or order value once rounded to the step,
:meth:`Holdings.dust_reason <real_trade.execution.holdings.Holdings.dust_reason>`) is dust: no
position for the strategy, still part of the account's value, reported once (a log line and a
:class:`~real_trade.execution.PositionDust` on ``position.dust``); the next buy takes it back.
A symbol several feeds trade is *shared*: the strategy splits the holding, fills count as they
are and balances are not imposed on it. A *contract* (``BTC/USDT:USDT``) has no dust: its
position is the exchange's, signed (short < 0), settled from the exchange's positions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from real_trade.execution import FillEvent, Holdings, PositionDust, SymbolLimits, base_asset

__all__ = ["SymbolPositions"]

_log = logging.getLogger("real_trade.brokers")


class SymbolPositions:
    """Positions and dust by symbol (module docstring).

    ``publish(topic, event)`` receives the dust reports; ``cleared(symbol)`` is told when a
    holding was sold down to nothing or dust (the fees on it start over); ``strategy`` names
    the run on the reports.
    """

    def __init__(
        self,
        publish: Callable[[str, object], None],
        cleared: Callable[[str], None],
        strategy: str = "",
    ) -> None:
        """Start flat, without dust."""
        self.sizes: dict[str, float] = {}
        self.dust: dict[str, float] = {}
        self.shared: set[str] = set()
        self.contracts: set[str] = set()
        self._publish, self._cleared, self.strategy = publish, cleared, strategy

    def size(self, symbol: str) -> float:
        """The strategy's position in ``symbol`` (base units; 0 when flat)."""
        return self.sizes.get(symbol, 0.0)

    def book(self, fill: FillEvent, limits: SymbolLimits) -> float:
        """Book ``fill``; returns the position change: the holding's change, plus the dust a
        buy takes back, or minus the dust a sell leaves (the position then closes)."""
        symbol, held = fill.symbol, self.size(fill.symbol)
        net = fill.position_change
        if symbol not in self.shared and symbol not in self.contracts:
            net = self._change(symbol, held, fill, limits)
        elif abs(held + net) <= 1e-9 * max(1.0, abs(held)):
            net = -held  # closes exactly (no float dust left open)
        self.sizes[symbol] = held + net
        return net

    def _change(self, symbol: str, held: float, fill: FillEvent, limits: SymbolLimits) -> float:
        net = fill.position_change
        dust = self.dust.get(symbol, 0.0)
        if dust and net > 0 and not held:
            net += dust  # the dust becomes part of a position again
            self.set_dust(symbol, 0.0)
        left = held + net
        if abs(left) <= 1e-9 * max(1.0, abs(held)):
            self._cleared(symbol)
            return -held  # closes exactly (no float dust left open)
        if net < 0 < left:
            why = Holdings.dust_reason(left, limits, fill.price)
            if why is not None:
                self.set_dust(symbol, left, why, fill.time_ms)
                return -held
        return net

    def settle(
        self,
        symbol: str,
        held: float,
        limits: SymbolLimits,
        price: float | None,
        now_ms: int | Callable[[], int],
    ) -> float | None:
        """A quiet symbol's position follows the account's ``held`` base balance (dust apart);
        the new size when it changed, else None. Shared symbols are left alone. ``now_ms`` (or
        the clock giving it, asked only when dust is reported) stamps new dust."""
        if symbol in self.shared:
            return None
        contract = symbol in self.contracts
        why = Holdings.dust_reason(held, limits, price) if held > 0 and not contract else None
        if why is not None:
            self.set_dust(symbol, held, why, now_ms)
            held = 0.0
        else:
            self.set_dust(symbol, 0.0)
        if abs(self.size(symbol) - held) <= 1e-12 * max(1.0, abs(held)):
            return None
        self.sizes[symbol] = held
        return held

    def set_dust(
        self, symbol: str, amount: float, why: str = "", time_ms: int | Callable[[], int] = 0
    ) -> None:
        """Keep ``symbol``'s dust; a new remainder is reported once (log and bus), stamped
        ``time_ms`` (or what that clock says then)."""
        before = self.dust.get(symbol, 0.0)
        if amount <= 0:
            self.dust.pop(symbol, None)
            return
        self.dust[symbol] = amount
        if before > 0:
            return
        self._cleared(symbol)
        asset = base_asset(symbol)
        _log.info(
            "%s: %.8g %s left is dust, not a position (%s); it still counts in the value",
            symbol,
            amount,
            asset,
            why,
        )
        stamp = time_ms if isinstance(time_ms, int) else time_ms()
        self._publish(
            "position.dust", PositionDust(symbol, asset, amount, why, stamp, self.strategy)
        )
