"""What a symbol trades: spot (base against quote) or a linear perpetual (contracts in quote).

:class:`Instrument` is data on :class:`~real_trade.sim.rules.SymbolRules`; the core picks the
:mod:`~real_trade.sim.settlement` for it. Only spot trades today: a linear perpetual can be
described (contract size, settlement asset) but :func:`~real_trade.sim.settlement.settlement_for`
refuses it until perpetual margin is built. Inverse (coin-margined) contracts are not modelled.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["SPOT", "Instrument", "InstrumentKind"]


class InstrumentKind(str, enum.Enum):
    """The kind of contract a symbol trades."""

    SPOT = "spot"
    LINEAR_PERPETUAL = "linear_perpetual"


@dataclass(frozen=True, slots=True)
class Instrument:
    """A symbol's contract: its ``kind`` and, for contracts, the base amount one contract is.

    ``contract_size`` is 1 for spot (a quantity is an amount of the base asset); a linear
    perpetual's quantity counts contracts of ``contract_size`` base each, settled in
    ``settle_asset`` (the quote asset when empty).
    """

    kind: InstrumentKind = InstrumentKind.SPOT
    contract_size: Decimal = Decimal(1)
    settle_asset: str = ""

    def __post_init__(self) -> None:
        """Check the contract size is positive."""
        if self.contract_size <= 0:
            raise ValueError(f"contract size must be positive, not {self.contract_size}")

    @property
    def is_spot(self) -> bool:
        """Whether the symbol trades spot."""
        return self.kind is InstrumentKind.SPOT


SPOT = Instrument()
"""The spot instrument (the default of every symbol)."""
