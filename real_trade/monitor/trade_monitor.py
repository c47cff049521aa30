"""``TradeMonitor`` (seed 003): recent trades, open orders, positions and the account, from a
live :class:`~real_trade.monitor.live.RealTimeMonitor` or from the journal (any process).

Both sources answer with the journal's row types (:class:`~real_trade.persistence.FillRow`,
:class:`~real_trade.persistence.OrderRow`, :class:`~real_trade.persistence.AccountSnapshot`)
and :class:`Position`, so a tool reads a running bot and a finished run the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from real_trade.monitor.live import RealTimeMonitor
from real_trade.monitor.rows import fill_row, order_row
from real_trade.persistence.records import AccountSnapshot, FillRow, OrderRow

__all__ = ["Position", "TradeMonitor"]


@dataclass(frozen=True, slots=True)
class Position:
    """A held position: ``size`` base units of ``symbol`` (signed) by ``strategy``."""

    strategy: str
    symbol: str
    size: float


class TradeMonitor:
    """The seed's trade monitor over ``source``: a :class:`RealTimeMonitor` (live), a
    ``Journal`` or a journal URL (opened here, closed by :meth:`close`). ``strategy`` limits
    journal reads to one run (None: the journal's default scope)."""

    def __init__(self, source: Any, *, strategy: str | None = None) -> None:
        """Bind to a live monitor or a journal (see the class docstring)."""
        self.strategy = strategy
        self._own = isinstance(source, str)
        if self._own:
            from real_trade.persistence import Journal

            source = Journal(source)
        self.source = source
        self.live = isinstance(source, RealTimeMonitor)

    def __enter__(self) -> TradeMonitor:
        """Return the monitor itself."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close a journal this monitor opened."""
        self.close()

    def close(self) -> None:
        """Close the journal when this monitor opened it from a URL; harmless twice."""
        if self._own:
            self.source.close()
            self._own = False

    def get_recent_trades(self, count: int = 50) -> list[FillRow]:
        """The last ``count`` executions, oldest first."""
        if self.live:
            return [fill_row(f) for f in self.source.recent_fills(count)]
        rows: list[FillRow] = self.source.fills(strategy=self.strategy)
        return rows[-count:] if count > 0 else []

    def get_open_orders(self) -> list[OrderRow]:
        """The orders without an outcome yet, oldest first."""
        if self.live:
            monitor: RealTimeMonitor = self.source
            return [
                order_row(u, monitor.created_ms.get(u.client_order_id))
                for u in monitor.open_orders()
            ]
        rows: list[OrderRow] = self.source.orders(strategy=self.strategy, open_only=True)
        return [o for o in rows if o.client_order_id]

    def get_positions(self) -> list[Position]:
        """The positions held (size not zero)."""
        if self.live:
            items = sorted(self.source.position_sizes().items())
            return [Position(s, sym, size) for (s, sym), size in items if abs(size) > 1e-12]
        snapshot = self.get_account_info()
        if snapshot is None:
            return []
        return [
            Position(snapshot.strategy, sym, size)
            for sym, size in sorted(snapshot.positions.items())
            if abs(size) > 1e-12
        ]

    def get_account_info(self) -> AccountSnapshot | None:
        """The latest account snapshot (cash, equity, balances, positions), or None."""
        if self.live:
            account: AccountSnapshot | None = self.source.account
            return account
        latest: AccountSnapshot | None = self.source.latest_snapshot(strategy=self.strategy)
        return latest
