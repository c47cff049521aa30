"""``ReconcileTask``: continuous reconciliation as a task on the venue client's I/O loop.

Every ``interval`` seconds the session's working orders (and, when every symbol is quiet, its
balances, or for contracts its positions and wallet) are checked against the exchange by
:meth:`~real_trade.persistence.recovery.ContinuousReconciler.check_async`,
submitted to the client's I/O loop (no thread per check, no REST call on the trading thread).
:meth:`ReconcileTask.step` runs on the trading cycle: it starts a due check and applies a
finished one there (adopt the exchange's balance on a mismatch, read the contracts' positions
and wallet again on a position or wallet mismatch, and ask the live port to look up every open
order now). The contracts are checked only while their last read is current (no read asked for
after the latest fill or stream message is still running): the wallet compared is then the
exchange's own figure as last read, which every fill, fee, funding payment and liquidation the
streams told of has already moved.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Mapping
from typing import Any

from real_trade.execution import ContractAccount, LiveExecution, OrderManager, base_asset
from real_trade.persistence.recovery import ContinuousReconciler

__all__ = ["ReconcileTask"]

_log = logging.getLogger("real_trade.brokers")
_NOT_READ = ContractAccount("", 0.0, current=False)


class ReconcileTask:
    """One session's continuous reconciliation (module docstring)."""

    def __init__(self, reconciler: ContinuousReconciler, client: Any, live: LiveExecution) -> None:
        """Check with ``reconciler`` on ``client``'s I/O loop; apply findings to ``live``."""
        self.reconciler, self.client, self.live = reconciler, client, live
        self._running: concurrent.futures.Future[list[dict[str, Any]]] | None = None
        self.checks = 0

    @property
    def running(self) -> bool:
        """Whether a check is in flight."""
        return self._running is not None

    def step(
        self,
        manager: OrderManager,
        symbols: list[str],
        currency: str,
        positions: Mapping[str, float] | None = None,
    ) -> None:
        """Apply a finished check, or start a due one (trading thread); ``positions`` are the
        session's contract positions (checked instead of balances: the exchange keeps them)."""
        if self._running is not None:
            if not self._running.done():
                return
            self._apply(self._running)
            self._running = None
        if not self.reconciler.due():
            return
        working = {
            mo.client_order_id: mo.tracked.request.symbol
            for mo in manager.alive_orders()
            if mo.sent
        }
        quiet = all(manager.settled(s) for s in symbols)
        contracts = dict(positions or {})
        assets = {currency, *(base_asset(s) for s in symbols)} if not contracts else set()
        balances = self.live.balances() if quiet and not contracts else None
        account = self.live.contract_account() or _NOT_READ
        held = contracts if contracts and quiet and account.current else None
        wallet = (account.currency, account.wallet) if held is not None else None
        check = self.reconciler.check_async(working, balances, assets, held, wallet)
        self._running = self.client.submit(check)

    def _apply(self, done: concurrent.futures.Future[list[dict[str, Any]]]) -> None:
        try:
            findings = done.result()
        except Exception as exc:  # a failed check is retried at the next interval
            _log.warning("open-order reconciliation failed: %s", exc)
            return
        self.checks += 1
        if findings:
            kinds = {f["kind"] for f in findings}
            if "balance_mismatch" in kinds:
                self.live.apply_balance(self.reconciler.fresh_balance)
            if "position_mismatch" in kinds or any(f.get("wallet") for f in findings):
                self.live.refresh_contracts()
            self.live.poll_now()  # learn the fate of what the exchange reports otherwise

    def stop(self) -> None:
        """Drop a check still in flight."""
        if self._running is not None:
            self._running.cancel()
            self._running = None
