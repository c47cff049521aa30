"""Funding from a venue's bills: OKX reports a funding settlement as a bill (``type`` 8).

ccxt's ``fetch_funding_history`` reads them (OKX: ``/api/v5/account/bills-archive``);
:func:`new_payments` turns the rows not seen before into
:class:`~real_trade.execution.contracts.FundingPayment` (``balChg`` > 0 received, < 0 paid).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from real_trade.execution.contracts import FundingPayment

__all__ = ["bill_ids", "new_payments"]


def bill_ids(rows: Iterable[Mapping[str, Any]]) -> set[str]:
    """The ids of ccxt funding-history rows."""
    return {str(r.get("id") or (r.get("info") or {}).get("billId")) for r in rows}


def new_payments(
    rows: Iterable[Mapping[str, Any]],
    symbols: Iterable[str],
    seen: set[str],
    size_of: Callable[[str], float | None],
) -> list[FundingPayment]:
    """The payments of ``rows`` on ``symbols`` whose ids are not in ``seen`` (added to it),
    oldest first; ``size_of(symbol)`` is the position they were paid on."""
    wanted, out = set(symbols), []
    for row in sorted(rows, key=lambda r: int(r.get("timestamp") or 0)):
        info = row.get("info") or {}
        bill = str(row.get("id") or info.get("billId"))
        symbol = str(row.get("symbol") or "")
        if bill in seen or symbol not in wanted:
            continue
        seen.add(bill)
        try:
            amount = float(info.get("balChg", row.get("amount")) or 0.0)
            mark = float(info["px"]) if info.get("px") else None
        except (TypeError, ValueError):
            continue
        if not amount:
            continue
        asset = str(row.get("code") or info.get("ccy") or "")
        stamp = int(row.get("timestamp") or info.get("ts") or 0)
        out.append(FundingPayment(symbol, amount, asset, None, size_of(symbol), mark, stamp))
    return out
