"""What the account holds of each base asset, and what a sell may take of it.

On spot venues a buy's commission is taken from the bought asset (Binance: buy 0.001 BTC, hold
0.000999), so a strategy that sells what it bought asks for a little more than it holds. One
object, :class:`Holdings`, knows the holding and that fee policy, for paper and live alike (the
:class:`~real_trade.execution.order_manager.OrderManager` owns it and feeds it every fill and
balance report):

* :meth:`Holdings.free` is the free balance the port last reported, plus what buy fills applied
  since then delivered (the balance report of a fill may arrive after the fill itself);
* :meth:`Holdings.fit_sell` trims a spot sell that exceeds the free balance only by the fees
  charged in the base asset on this holding (or by less than one amount step) to what is held,
  rounded down to the step, and says why (:class:`SellTrim`); a sell asking for more than that
  goes out as asked and the venue refuses it; a contract's order (``BTC/USDT:USDT``) is never
  trimmed;
* :meth:`Holdings.dust_reason` tells a remainder the venue will not take in any order (below
  its minimum amount or order value once rounded to the step): dust, not a position. The broker
  reports each new remainder once, as a :class:`PositionDust` on ``position.dust``.
"""

from __future__ import annotations

from dataclasses import dataclass

from real_trade.execution.events import Balance, BalanceReport, ExecutionPort, FillEvent
from real_trade.execution.orders import SymbolLimits
from real_trade.vocabulary import OrderSide, base_asset, is_contract

__all__ = ["DUST_TOPIC", "Holdings", "PositionDust", "SellTrim"]

_REL_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class SellTrim:
    """A sell sent smaller than asked: ``requested`` and ``sent`` amounts, and ``reason``."""

    requested: float
    sent: float
    reason: str


class Holdings:
    """Base-asset holdings of one account as a port reports them (see the module docstring).

    ``port`` is the execution port whose :meth:`~ExecutionPort.balances` are the venue's (or
    the paper account's) balances. :meth:`on_fill` and :meth:`on_balance` must see every fill
    event and balance report, in order.
    """

    def __init__(self, port: ExecutionPort) -> None:
        """Follow the holdings of ``port``'s account."""
        self._port = port
        self._unreported: dict[str, float] = {}  # asset -> delivered by buys since its report
        self._fees: dict[str, float] = {}  # base asset -> fees taken in it on this holding

    def on_balance(self, report: BalanceReport) -> None:
        """The port reported these assets' balances: they include every earlier fill."""
        for asset in report.balances:
            self._unreported.pop(asset, None)

    def on_fill(self, fill: FillEvent) -> None:
        """Count a fill: what a spot buy delivers, and the fee it paid in the base asset."""
        base = base_asset(fill.symbol)
        if fill.side != OrderSide.BUY or is_contract(fill.symbol):
            return
        self._unreported[base] = self._unreported.get(base, 0.0) + fill.position_change
        if fill.commission_asset == base and fill.commission > 0:
            self._fees[base] = self._fees.get(base, 0.0) + fill.commission

    def cleared(self, symbol: str) -> None:
        """The holding of ``symbol``'s base was sold down to nothing (or dust): fees start over."""
        self._fees.pop(base_asset(symbol), None)

    def free(self, asset: str) -> float:
        """The free balance of ``asset``, counting buys applied since the port reported it."""
        reported = self._port.balances().get(asset, Balance()).free
        return reported + self._unreported.get(asset, 0.0)

    def fees(self, asset: str) -> float:
        """The fees taken in ``asset`` by the buys of the current holding."""
        return self._fees.get(asset, 0.0)

    def fit_sell(self, symbol: str, amount: float, limits: SymbolLimits) -> SellTrim | None:
        """The trim of a sell of ``amount`` to what is held, or None (send it as asked).

        Trimmed when ``amount`` exceeds the free base balance by no more than the fees taken in
        the base asset on this holding plus one amount step; the sent amount is the free
        balance rounded down to the step. Nothing held (or less than a step): sent as asked.
        A contract's order is never trimmed: it trades no holding (a unified account's spot
        balance of its base asset is no position of the perpetual).
        """
        if is_contract(symbol):
            return None
        base = base_asset(symbol)
        free = self.free(base)
        excess = amount - free
        if free <= 0 or excess <= _REL_TOL * max(1.0, amount):
            return None  # nothing held (no spot holding to fit to), or it fits as asked
        fees, step = self.fees(base), limits.amount_step or 0.0
        if excess > (fees + step) * (1 + _REL_TOL) + 1e-12:
            return None
        sent = limits.round_amount(free)
        if sent <= 0:
            return None
        parts = [f"{fees:g} {base} taken as fees on the buys"] if fees else []
        if excess > fees * (1 + _REL_TOL) + 1e-12 or not fees:
            parts.append(f"less than one amount step ({step:g})")
        why = (
            f"sell {amount:g} {base} trimmed to the {free:g} held, rounded down to the "
            f"amount step: {sent:g}; it exceeded the holding only by "
            f"{' and '.join(parts)}"
        )
        return SellTrim(amount, sent, why)

    @staticmethod
    def dust_reason(amount: float, limits: SymbolLimits, price: float | None) -> str | None:
        """Why a holding of ``amount`` is dust (no order can sell it), or None when it is not.

        Dust is a positive amount that, rounded down to the amount step, is below the venue's
        minimum amount or (at ``price``) its minimum order value.
        """
        if amount <= 0:
            return None
        return limits.problem(limits.round_amount(amount), price)


DUST_TOPIC = "position.dust"
"""The bus topic of :class:`PositionDust`."""


@dataclass(frozen=True, slots=True)
class PositionDust:
    """A remainder of ``amount`` ``asset`` on ``symbol`` that no order can sell (``reason``):
    not a position for the strategy, still part of the account's value. Published once, when
    the remainder appears; ``strategy`` names the broker's run."""

    symbol: str
    asset: str
    amount: float
    reason: str
    time_ms: int
    strategy: str = ""

    @property
    def topic(self) -> str:
        """The bus topic this event is published on."""
        return DUST_TOPIC
