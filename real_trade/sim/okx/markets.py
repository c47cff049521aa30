"""OKX instruments over the simulator's cores: ``BTC-USDT`` (SPOT) and ``BTC-USDT-SWAP``.

SPOT instruments are the spot core's symbols; SWAP instruments are the linear core's (the
futures core a :class:`~real_trade.sim.server.SimExchange` builds for a face with linear
markets), so ``BTC-USDT`` and ``BTC-USDT-SWAP`` coexist under one key. A SWAP order's ``sz``
counts contracts of ``ctVal`` base units each: :data:`CT_VAL_STEPS` quantity steps of the core
(``0.01`` BTC for a ``0.00001`` step), with a lot of ``0.001`` contracts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from real_trade.sim.core import ExchangeCore
from real_trade.sim.okx.errors import OkxApiError
from real_trade.sim.plumbing.context import FaceContext

__all__ = ["CT_VAL_STEPS", "Instrument", "Markets"]

CT_VAL_STEPS = 1000
"""Core quantity steps per SWAP contract."""


@dataclass(frozen=True)
class Instrument:
    """One OKX instrument: its id, type, the context and core symbol serving it, ``ct_val``."""

    inst_id: str
    inst_type: str
    ctx: FaceContext
    symbol: str
    ct_val: Decimal

    @property
    def core(self) -> ExchangeCore:
        """The core trading it."""
        return self.ctx.core

    @property
    def swap(self) -> bool:
        """Whether it is a SWAP (contracts)."""
        return self.inst_type == "SWAP"

    def qty(self, sz: Decimal) -> Decimal:
        """Base quantity of ``sz`` (contracts on a SWAP)."""
        return sz * self.ct_val

    def sz(self, qty: Decimal) -> Decimal:
        """``sz`` (contracts on a SWAP) of a base quantity."""
        return qty / self.ct_val


class Markets:
    """The instruments of a spot context and (optionally) a linear one."""

    def __init__(self, spot: FaceContext, swap: FaceContext | None) -> None:
        """Index both cores' symbols by OKX instrument id."""
        self.spot = spot
        self.swap_ctx = swap
        self.bills: Any = None  # the face's FundingBills (sim/okx/bills.py), set by the face
        self._by_id: dict[str, Instrument] = {}
        for ctx, kind in ((spot, "SPOT"), (swap, "SWAP")):
            if ctx is None:
                continue
            for symbol in ctx.core.symbols():
                r = ctx.core.rules_for(symbol)
                if kind == "SPOT" and not r.instrument.is_spot:
                    continue
                if kind == "SWAP" and r.instrument.is_spot:
                    continue
                inst_id = f"{r.base}-{r.quote}" + ("-SWAP" if kind == "SWAP" else "")
                ct_val = r.step_size * CT_VAL_STEPS if kind == "SWAP" else Decimal(1)
                self._by_id[inst_id] = Instrument(inst_id, kind, ctx, symbol, ct_val.normalize())

    def of_type(self, inst_type: str | None) -> list[Instrument]:
        """The instruments of ``inst_type`` (all for ``None`` or ``ANY``)."""
        return [
            i
            for i in self._by_id.values()
            if inst_type in (None, "ANY") or i.inst_type == inst_type
        ]

    def get(self, inst_id: str) -> Instrument:
        """The instrument ``inst_id``; 51001 when unknown."""
        inst = self._by_id.get(inst_id)
        if inst is None:
            raise OkxApiError(51001, f"Instrument ID {inst_id} does not exist")
        return inst

    def find(self, ctx: FaceContext, symbol: str) -> Instrument | None:
        """The instrument a core symbol of ``ctx`` is served as."""
        for inst in self._by_id.values():
            if inst.ctx is ctx and inst.symbol == symbol:
                return inst
        return None

    def contexts(self) -> list[FaceContext]:
        """The contexts served (spot first)."""
        return [self.spot] + ([self.swap_ctx] if self.swap_ctx is not None else [])
