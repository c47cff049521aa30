"""OKX's funding bills: ``/api/v5/account/bills`` and ``bills-archive`` rows of ``type`` 8.

OKX reports a funding settlement as a bill (``type: "8"``, ``subType`` 173 paid / 174
received, ``balChg`` the amount, ``sz`` the position in contracts), not on a stream of its own.
:class:`FundingBills` keeps them per account from the linear core's ``sim.funding.<id>`` events.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from real_trade.bus import EventBus
from real_trade.sim.derivatives.types import FundingEvent
from real_trade.sim.okx.format import num
from real_trade.sim.plumbing.context import FaceContext

__all__ = ["FUNDING_BILL_TYPE", "FundingBills"]

FUNDING_BILL_TYPE = "8"
"""OKX's bill type of a funding fee."""


class FundingBills:
    """The funding bills of every account on ``swap``'s core (none without one)."""

    def __init__(self, swap: FaceContext | None) -> None:
        """Follow ``sim.funding.*`` on the swap core's bus."""
        self._lock = threading.Lock()
        self._rows: dict[int, list[tuple[FundingEvent, str]]] = {}
        self._ids = itertools.count(1)
        bus = swap.core.bus if swap is not None else None
        if isinstance(bus, EventBus):
            bus.subscribe("sim.funding.*", self._on_funding)

    def _on_funding(self, _topic: str, event: Any) -> None:
        if isinstance(event, FundingEvent):
            with self._lock:
                bill_id = f"{event.time_ms}{next(self._ids):06d}"
                self._rows.setdefault(event.account_id, []).append((event, bill_id))

    def rows(self, account_id: int, inst_id_of: Any) -> list[dict[str, Any]]:
        """The account's funding bills, as OKX shows them (``inst_id_of(symbol)`` -> instId,
        ``(instId, ctVal)``)."""
        with self._lock:
            found = list(self._rows.get(account_id, []))
        out = []
        for e, bill_id in found:
            inst_id, ct_val = inst_id_of(e.symbol)
            out.append(
                {
                    "billId": bill_id,
                    "type": FUNDING_BILL_TYPE,
                    "subType": "174" if e.amount > 0 else "173",
                    "instType": "SWAP",
                    "instId": inst_id,
                    "ccy": e.asset,
                    "balChg": num(e.amount),
                    "sz": num(e.qty / ct_val),
                    "px": num(e.mark_price),
                    "pnl": "0",
                    "fee": "0",
                    "mgnMode": "",
                    "ts": str(e.time_ms),
                }
            )
        return out
