"""The report queries of the journal, as the read half of :class:`~real_trade.persistence.Journal`.

:class:`JournalReads` holds the query methods; a subclass supplies the connection
(:meth:`JournalReads._read`) and the default strategy scope (``strategy``: a named journal's
queries default to its own strategy, a shared journal's to every strategy). Each method runs in
one read transaction, so on SQLite it sees one consistent state even while another process
writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.engine import Connection

from real_trade.persistence import report_queries as queries
from real_trade.persistence.records import (
    AccountSnapshot,
    EquityPoint,
    FillRow,
    JournalEvent,
    OrderRow,
    TradeRow,
)

__all__ = ["JournalReads"]

T = TypeVar("T")


class JournalReads:
    """The journal's queries: orders, fills, trades, equity, events and the recovery lookups.

    Times are epoch milliseconds and ranges half-open (``start_ms <= t < end_ms``, either bound
    optional). ``strategy=None`` means the journal's own strategy for a named journal and every
    strategy for a shared one.
    """

    strategy: str | None = None

    def _read(self, work: Callable[[Connection], T]) -> T:
        raise NotImplementedError

    def _scope(self, strategy: str | None) -> str | None:
        return self.strategy if strategy is None else strategy

    def orders(
        self,
        start_ms: int | None = None,
        end_ms: int | None = None,
        *,
        strategy: str | None = None,
        open_only: bool = False,
    ) -> list[OrderRow]:
        """Orders created in ``[start_ms, end_ms)`` with their latest state, oldest first."""
        scope = self._scope(strategy)
        return self._read(
            lambda c: queries.query_orders(c, start_ms, end_ms, strategy=scope, open_only=open_only)
        )

    def fills(
        self,
        start_ms: int | None = None,
        end_ms: int | None = None,
        *,
        strategy: str | None = None,
        symbol: str | None = None,
    ) -> list[FillRow]:
        """Fills executed in ``[start_ms, end_ms)``, oldest first."""
        scope = self._scope(strategy)
        return self._read(
            lambda c: queries.query_fills(c, start_ms, end_ms, strategy=scope, symbol=symbol)
        )

    def trades(
        self,
        start_ms: int | None = None,
        end_ms: int | None = None,
        *,
        strategy: str | None = None,
        symbol: str | None = None,
    ) -> list[TradeRow]:
        """Round trips (FIFO per strategy and symbol) closed in ``[start_ms, end_ms)``."""
        scope = self._scope(strategy)
        return self._read(
            lambda c: queries.query_trades(c, start_ms, end_ms, strategy=scope, symbol=symbol)
        )

    def equity(
        self,
        start_ms: int | None = None,
        end_ms: int | None = None,
        *,
        strategy: str | None = None,
    ) -> list[EquityPoint]:
        """The equity curve in ``[start_ms, end_ms)``, oldest first."""
        scope = self._scope(strategy)
        return self._read(lambda c: queries.query_equity(c, start_ms, end_ms, strategy=scope))

    def events(
        self,
        kind: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        *,
        strategy: str | None = None,
    ) -> list[JournalEvent]:
        """Journal events, oldest first; ``kind`` is a name or a pattern (``"reconcile.*"``)."""
        scope = self._scope(strategy)
        return self._read(lambda c: queries.query_events(c, kind, start_ms, end_ms, strategy=scope))

    def intents_without_outcome(self, strategy: str | None = None) -> list[OrderRow]:
        """Intents whose latest state is not terminal, or that have no state at all.

        After a crash these are the orders to look up at the exchange by client order id: one
        may have been sent without its acknowledgement ever being journaled.
        """
        scope = self._scope(strategy)
        return self._read(
            lambda c: queries.query_orders(c, strategy=scope, open_only=True, intents_only=True)
        )

    def client_order_ids(self, strategy: str | None = None) -> set[str]:
        """Every client order id ever journaled (to resume the id sequence after a restart)."""
        scope = self._scope(strategy)
        return self._read(lambda c: queries.query_client_order_ids(c, scope))

    def last_fill_ms(self, symbol: str | None = None, strategy: str | None = None) -> int | None:
        """The time of the newest journaled fill, or None (where to resume fetching trades)."""
        scope = self._scope(strategy)
        return self._read(lambda c: queries.query_last_fill_ms(c, symbol, scope))

    def latest_snapshot(self, strategy: str | None = None) -> AccountSnapshot | None:
        """The newest account snapshot, or None."""
        scope = self._scope(strategy)
        return self._read(lambda c: queries.query_latest_snapshot(c, scope))
