"""The ``[derivatives]`` section: leverage and margin mode of the perpetuals a run trades.

Set on the venue when trading starts (paper: on the simulated account), for every contract the
run trades (``BTC/USDT:USDT``); a symbol's table overrides the section's defaults::

    [derivatives]
    leverage = 3                 # every contract (unset: leave the venue's setting)
    margin_mode = "cross"        # "cross" or "isolated"

    [derivatives.symbols."BTC/USDT:USDT"]
    leverage = 5
    margin_mode = "isolated"

A venue that refuses a setting (a leverage above the contract's bracket for the position held,
a margin mode change while a position or an order is open) stops the start with a ConfigError
naming the symbol and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from real_trade.config.section import ConfigSection

__all__ = ["ContractSettings", "DerivativesConfig"]

MarginModeName = Literal["cross", "isolated"]


def _check_leverage(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= 125:
        raise ValueError("must be an integer from 1 to 125 (the venue caps it per contract)")
    return value


class ContractSettings(ConfigSection):
    """One contract's ``leverage`` (1 to 125) and ``margin_mode`` (unset: the defaults)."""

    leverage: int | None = None
    margin_mode: MarginModeName | None = None

    @field_validator("leverage")
    @classmethod
    def _leverage(cls, value: int | None) -> int | None:
        return _check_leverage(value)


class DerivativesConfig(ContractSettings):
    """Defaults for every contract plus ``symbols``, per-contract overrides (module docstring)."""

    _section_path: ClassVar[str] = "derivatives"

    symbols: dict[str, ContractSettings] = Field(default_factory=dict)

    def for_symbol(self, symbol: str) -> tuple[int | None, str | None]:
        """``(leverage, margin_mode)`` of ``symbol``: its table's, else the defaults."""
        own = self.symbols.get(symbol)
        leverage = own.leverage if own is not None and own.leverage is not None else None
        mode = own.margin_mode if own is not None and own.margin_mode is not None else None
        return (
            leverage if leverage is not None else self.leverage,
            mode if mode is not None else self.margin_mode,
        )

    def settings(self, symbols: Iterable[str] = ()) -> dict[str, tuple[int | None, str | None]]:
        """``(leverage, margin_mode)`` of each of ``symbols`` and of every listed symbol."""
        return {s: self.for_symbol(s) for s in {*self.symbols, *symbols}}
