"""What a trading session asks of its journal at start and on each order.

:func:`record_intent` writes an order's intent synchronously before it is sent;
:func:`resume_paper` resumes a paper account from the last snapshot (paper orders open at the
last stop did not survive it: recorded as Canceled, with the reason); :func:`recover_live` runs
:func:`~real_trade.persistence.recovery.recover` on a live start and tells the live port about
the orders it adopts (the session rebuilds them for its host on the first cycle).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from real_trade.execution import (
    ClientOrderIds,
    LiveExecution,
    ManagedOrder,
    OrderRequest,
    OrderState,
    PaperExecution,
    TrackedOrder,
)
from real_trade.execution.events import order_update
from real_trade.persistence import OrderIntent
from real_trade.persistence.recovery import RecoveryReport, recover, request_of

__all__ = ["record_intent", "recover_live", "resume_paper"]

_log = logging.getLogger("real_trade.brokers")
Publish = Callable[[str, object], None]
PAPER_ORDER_ENDED = "paper order ended with its process: paper orders do not survive a restart"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def record_intent(
    journal: Any,
    strategy: str,
    mo: ManagedOrder,
    request: OrderRequest,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Journal ``request`` (with its client order id) before it is sent; ``extra`` adds the
    host's parameters (backtrader's ``tradeid`` and ``parent``)."""
    params: dict[str, Any] = {"exectype": request.kind.value, **(extra or {})}
    if mo.parent is not None:
        params["parent"] = mo.parent
    journal.record_intent(
        OrderIntent.from_request(request, strategy=strategy, params=params, time_ms=_now_ms())
    )


def resume_paper(
    journal: Any,
    paper: PaperExecution,
    ids: ClientOrderIds,
    *,
    strategy: str,
    currency: str,
    publish: Publish,
) -> float | None:
    """Resume the paper account from the journal's last snapshot; the cash resumed (None: no
    snapshot). Intents without an outcome are recorded Canceled (module docstring)."""
    for cid in journal.client_order_ids(strategy=strategy):
        ids.observe(cid)
    cash = None
    snapshot = journal.latest_snapshot(strategy=strategy)
    if snapshot is not None:
        totals = {a: free + locked for a, (free, locked) in snapshot.balances.items()}
        cash = float(totals.get(currency, 0.0))
        paper.set_cash(cash)
        paper.set_holdings(totals)
        _log.info("paper account resumed from the journal: %s", totals)
    now = _now_ms()
    for n, row in enumerate(journal.intents_without_outcome(strategy=strategy)):
        request = request_of(row, -1 - n)
        tracked = TrackedOrder(request, state=OrderState.CANCELED, reason=PAPER_ORDER_ENDED)
        journal.record_update(
            order_update(
                tracked,
                OrderState.CANCELED,
                client_order_id=row.client_order_id,
                time_ms=now,
                strategy=strategy,
            )
        )
        message = {"client_order_id": row.client_order_id, "message": PAPER_ORDER_ENDED}
        publish("reconcile.paper_order_ended", message)
    return cash


def recover_live(
    journal: Any,
    client: Any,
    live: LiveExecution,
    symbols: list[str],
    *,
    strategy: str,
    ids: ClientOrderIds,
    publish: Publish,
) -> RecoveryReport:
    """Reconcile journal and exchange before the strategy trades; the live port adopts the
    orders still open (their fills so far included)."""
    report = recover(journal, client, symbols, strategy=strategy, ids=ids, publish=publish)
    for found in report.adopted:
        live.adopt(
            found.request.client_order_id,
            found.request.symbol,
            found.exchange_order_id,
            found.trades,
        )
    return report
