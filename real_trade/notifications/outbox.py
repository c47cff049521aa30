"""The notification outbox: alerts as rows in the journal's database, until they are delivered.

The trading side only ever calls :meth:`Outbox.enqueue` (one INSERT per configured channel, in
one transaction, from a bus handler: never on the trading thread); the delivery worker reads
the pending rows of a channel in order and marks them ``sent``, ``suppressed`` (a duplicate
within the cooldown), ``digested`` (sent inside a digest) or ``failed`` (refused for good).
Rows stay ``pending`` while a channel is down, so they survive a restart and are sent when it
comes back. The table is ``notification_outbox`` (journal schema version 3); the outbox opens
its own connection pool on the journal's URL, which migrates the database when needed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from real_trade.notifications.events import Alert
from real_trade.persistence.database import is_memory_sqlite, normalise_url, open_engine
from real_trade.persistence.migrations import migrate
from real_trade.persistence.schema import control_state, notification_outbox

__all__ = ["Outbox", "OutboxRow"]

PENDING, SENT, SUPPRESSED, DIGESTED, FAILED = "pending", "sent", "suppressed", "digested", "failed"


@dataclass(frozen=True)
class OutboxRow:
    """One alert waiting for one channel (a row of ``notification_outbox``)."""

    id: int
    channel: str
    kind: str
    level: str
    strategy: str
    title: str
    body: str
    dedup_key: str
    created_ms: int
    status: str
    attempts: int
    sent_ms: int | None
    last_error: str | None


class Outbox:
    """The outbox table of one journal database (see the module docstring); thread-safe."""

    def __init__(self, url: str) -> None:
        """Open (and migrate, when needed) the journal database at ``url``."""
        self.url = normalise_url(url)
        self._engine = open_engine(self.url)
        self._lock = threading.Lock() if is_memory_sqlite(self.url) else None
        migrate(self._engine)

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def _begin(self) -> Any:
        conn = self._engine.connect()
        conn.execution_options(rt_begin="IMMEDIATE")
        return conn

    def _run(self, work: Any) -> Any:
        if self._lock is not None:
            with self._lock, self._begin() as conn, conn.begin():
                return work(conn)
        with self._begin() as conn, conn.begin():
            return work(conn)

    # -- the trading side ----------------------------------------------------------------
    def enqueue(self, alert: Alert, level: str, channels: Sequence[str], now_ms: int) -> int:
        """Write one pending row per channel for ``alert``; return the rows written."""
        rows = [
            {
                "channel": channel,
                "kind": alert.kind,
                "level": level,
                "strategy": alert.strategy,
                "title": alert.title,
                "body": alert.body,
                "dedup_key": alert.dedup_key,
                "created_ms": now_ms,
                "status": PENDING,
                "attempts": 0,
                "sent_ms": None,
                "last_error": None,
            }
            for channel in channels
        ]
        if rows:
            self._run(lambda c: c.execute(notification_outbox.insert(), rows))
        return len(rows)

    # -- the worker side -----------------------------------------------------------------
    def pending(
        self, channel: str, limit: int = 100, strategy: str | None = None
    ) -> list[OutboxRow]:
        """The oldest pending rows of ``channel`` (of ``strategy`` only, when given), in the
        order they were written."""
        t = notification_outbox
        q = sa.select(t).where(t.c.channel == channel, t.c.status == PENDING)
        if strategy is not None:
            q = q.where(t.c.strategy == strategy)
        q = q.order_by(t.c.id).limit(limit)
        return [OutboxRow(**dict(r._mapping)) for r in self._run(lambda c: c.execute(q).all())]

    def rows(self, channel: str | None = None) -> list[OutboxRow]:
        """Every row (of ``channel``), oldest first: what was sent, suppressed or is waiting."""
        t = notification_outbox
        q = sa.select(t).order_by(t.c.id)
        if channel is not None:
            q = q.where(t.c.channel == channel)
        return [OutboxRow(**dict(r._mapping)) for r in self._run(lambda c: c.execute(q).all())]

    def mark(
        self, ids: Iterable[int], status: str, now_ms: int | None = None, error: str | None = None
    ) -> None:
        """Set the status of rows (``sent_ms`` when delivered, the last error when not)."""
        chosen = list(ids)
        if not chosen:
            return
        t = notification_outbox
        values: dict[str, Any] = {"status": status}
        if status in (SENT, DIGESTED, SUPPRESSED):
            values["sent_ms"] = now_ms
        if error is not None:
            values["last_error"] = error
        self._run(lambda c: c.execute(t.update().where(t.c.id.in_(chosen)).values(**values)))

    def note_failure(self, ids: Iterable[int], error: str) -> None:
        """Count one more failed attempt on rows that stay pending."""
        chosen = list(ids)
        t = notification_outbox
        stmt = (
            t.update()
            .where(t.c.id.in_(chosen))
            .values(attempts=t.c.attempts + 1, last_error=error[:1000])
        )
        self._run(lambda c: c.execute(stmt))

    def last_kept_created_ms(self, channel: str, dedup_key: str) -> int | None:
        """When the newest alert with ``dedup_key`` delivered on ``channel`` was raised."""
        t = notification_outbox
        q = sa.select(sa.func.max(t.c.created_ms)).where(
            t.c.channel == channel, t.c.dedup_key == dedup_key, t.c.status.in_((SENT, DIGESTED))
        )
        value = self._run(lambda c: c.execute(q).scalar())
        return None if value is None else int(value)

    def prune(self, before_ms: int) -> int:
        """Delete the rows done with (not pending) raised before ``before_ms``; return how many."""
        t = notification_outbox
        stmt = t.delete().where(t.c.status != PENDING, t.c.created_ms < before_ms)
        return int(self._run(lambda c: c.execute(stmt).rowcount) or 0)

    def state(self, key: str) -> Any:
        """A control-state value of the journal (the runner's heartbeat), or None."""
        q = sa.select(control_state.c.value).where(control_state.c.key == key)
        text = self._run(lambda c: c.execute(q).scalar())
        return None if text is None else json.loads(text)

    def scalar(self, query: Any) -> Any:
        """Run a read-only scalar query on the journal (the daily summary's counts)."""
        return self._run(lambda c: c.execute(query).scalar())
