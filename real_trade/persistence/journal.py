"""The order journal: every intent before it is sent, every outcome after, and the account.

:class:`Journal` writes an :class:`~real_trade.persistence.records.OrderIntent` synchronously
(committed when :meth:`Journal.record_intent` returns, so an order is never sent without its
intent on disk) and subscribes to the bus for the rest: order state changes (``order.*``),
fills (``fill``), account snapshots (``account.snapshot``), risk denials (``risk.decision``),
reconciliation findings (``reconcile.**``), kill-switch actions (``killswitch.**``), funding
payments (``funding``) and liquidations (``liquidation``), written on the bus's dispatcher
thread so nothing on the trading path waits for them. A failed bus write is logged and
counted in :attr:`Journal.stats`, never raised into the bus.

Strategy keying: ``Journal(url)`` is a *shared* journal recording every event under the
event's own ``strategy``; ``Journal(url, strategy="sma")`` records from the bus only the order
updates, fills and snapshots whose ``strategy`` is ``"sma"`` (risk, reconciliation and
kill-switch events without a strategy are taken as its own), and its queries default to
``"sma"``. Direct ``record_*`` calls on a named journal file an event without a strategy under
its name and refuse another strategy's.

SQLite (the default, a file in WAL mode) may be opened by several processes at once: the runner
writes while ``real-trade status`` reads. Writes in one process are serialised by a lock, so
they queue in memory rather than on SQLite's busy timeout. See
:mod:`~real_trade.persistence.database` for durability and :mod:`~real_trade.persistence.migrations`
for schema versions.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from real_trade.bus import EventBus, Subscription
from real_trade.config import JournalConfig, RealTradeConfig
from real_trade.config.messages import mask_url_password
from real_trade.execution.events import FillEvent, OrderUpdate
from real_trade.persistence import rows as writes
from real_trade.persistence.database import (
    JournalError,
    is_memory_sqlite,
    normalise_url,
    open_engine,
    open_failure,
    safe_message,
)
from real_trade.persistence.journal_reads import JournalReads
from real_trade.persistence.migrations import migrate
from real_trade.persistence.records import (
    ACCOUNT_SNAPSHOT_TOPIC,
    AccountSnapshot,
    OrderIntent,
    to_json,
)
from real_trade.persistence.schema import (
    control_state,
    equity,
    events,
    fills,
    intents,
    order_events,
    snapshots,
)
from real_trade.persistence.statement_writer import StatementWriter, WriteOp

__all__ = ["Journal", "JournalStats"]

_log = logging.getLogger("real_trade.persistence")
T = TypeVar("T")


@dataclass
class JournalStats:
    """Counters of one journal: rows written, duplicates ignored, bus events skipped (another
    strategy's) or ignored (not a type it records), write failures and the last one's text."""

    written: int = 0
    duplicates: int = 0
    skipped: int = 0
    ignored: int = 0
    errors: int = 0
    last_error: str | None = None


class Journal(JournalReads):
    """The order journal on one database (see the module docstring for what it records).

    ``url`` is a SQLAlchemy URL (``sqlite:///path.db`` by default, ``postgresql+psycopg://...``)
    or a bare file path; ``strategy`` names a per-strategy journal (None: shared). Opening
    creates or upgrades the schema; a database newer than this code raises
    :class:`~real_trade.persistence.migrations.SchemaVersionError`, an unusable one
    :class:`~real_trade.persistence.database.JournalError`. Thread-safe; use it as a context
    manager or call :meth:`close`.
    """

    def __init__(
        self, url: str = "sqlite:///real_trade.db", *, strategy: str | None = None
    ) -> None:
        """Open (creating or upgrading) the journal at ``url`` for ``strategy`` (None: all)."""
        self.url = normalise_url(url)
        self.strategy = strategy
        self.stats = JournalStats()
        self._masked = self.url.render_as_string(hide_password=True)
        self._stats_lock = threading.Lock()
        self._write_lock = threading.RLock()
        memory = is_memory_sqlite(self.url)
        self._read_lock: contextlib.AbstractContextManager[Any] = (
            self._write_lock if memory else contextlib.nullcontext()
        )
        self._bus: EventBus | None = None
        self._subs: list[Subscription] = []
        self._closed = False
        try:
            self._engine = open_engine(self.url)
        except OSError as exc:  # the SQLite file's directory cannot be created
            raise open_failure(exc, self.url, self._masked) from None
        try:
            self.schema_version = migrate(self._engine)
        except BaseException as exc:
            self._engine.dispose()
            if not isinstance(exc, sa.exc.SQLAlchemyError | OSError):
                raise
            raise open_failure(exc, self.url, self._masked) from None
        self._writer = StatementWriter(self._engine)
        self._driver_error: type[Exception] = self._engine.dialect.loaded_dbapi.Error
        dialect = self._engine.dialect.name
        self._insert_intent = writes.insert_ignoring_duplicates(dialect, intents)
        self._insert_fill = writes.insert_ignoring_duplicates(dialect, fills)
        self._upsert_state = writes.state_upsert(dialect)
        self._insert_update = order_events.insert()
        self._insert_snapshot = snapshots.insert()
        self._insert_equity = equity.insert()
        self._insert_event = events.insert()

    @classmethod
    def from_config(
        cls, config: RealTradeConfig | JournalConfig, *, strategy: str | None = None
    ) -> Journal:
        """Open the journal named by a config's ``journal.url`` (or a :class:`JournalConfig`)."""
        section = config.journal if isinstance(config, RealTradeConfig) else config
        return cls(section.url, strategy=strategy)

    def __repr__(self) -> str:
        """The journal's URL (password masked), strategy and schema version."""
        return (
            f"Journal(url={mask_url_password(self._masked)!r}, strategy={self.strategy!r}, "
            f"schema_version={getattr(self, 'schema_version', None)})"
        )

    def __enter__(self) -> Journal:
        """Return the journal itself."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the journal."""
        self.close()

    # -- plumbing ------------------------------------------------------------------------
    def _count(self, name: str, error: str | None = None) -> None:
        with self._stats_lock:
            setattr(self.stats, name, getattr(self.stats, name) + 1)
            if error is not None:
                self.stats.last_error = error

    def _write(self, *ops: WriteOp) -> list[int]:
        try:
            with self._write_lock:
                if self._closed:
                    raise JournalError(f"the journal {self._masked} is closed")
                return self._writer.run(ops)
        except (self._driver_error, sa.exc.SQLAlchemyError) as exc:
            raise JournalError(
                f"journal write failed on {self._masked}: {safe_message(exc, self.url)}"
            ) from exc

    def _read(self, work: Callable[[Connection], T]) -> T:
        if self._closed:
            raise JournalError(f"the journal {self._masked} is closed")
        with self._read_lock, self._engine.connect() as conn:
            return work(conn)

    def _own(self, strategy: str | None) -> str:
        """The strategy a direct write is filed under (ValueError for another's)."""
        if self.strategy is None:
            return strategy or ""
        if strategy and strategy != self.strategy:
            raise ValueError(
                f"the journal of strategy {self.strategy!r} cannot record an event of "
                f"strategy {strategy!r}; open a shared journal (strategy=None) for that"
            )
        return self.strategy

    # -- writes --------------------------------------------------------------------------
    def record_intent(self, intent: OrderIntent) -> bool:
        """Write an order intent and commit before returning; True when it was new.

        Call it before the order is sent. Writing the same client order id again keeps the
        first intent (idempotent) and returns False. Raises
        :class:`~real_trade.persistence.database.JournalError` when it cannot be written: do
        not send the order then.
        """
        values = writes.intent_values(intent, self._own(intent.strategy))
        new = self._write((self._insert_intent, values)) == [1]
        self._count("written" if new else "duplicates")
        return new

    def record_update(self, update: OrderUpdate) -> None:
        """Append one order state change (acknowledgement, partial, outcome)."""
        self._record_update(update, self._own(getattr(update, "strategy", "")))

    def _record_update(self, update: OrderUpdate, strategy: str) -> None:
        values = writes.update_values(update, strategy)
        self._write((self._insert_update, values))
        self._count("written")

    def record_fill(self, fill: FillEvent) -> bool:
        """Write one execution; True when new, False when this fill was already journaled."""
        return self._record_fill(fill, self._own(getattr(fill, "strategy", "")))

    def _record_fill(self, fill: FillEvent, strategy: str) -> bool:
        values = writes.fill_values(fill, strategy)
        new = self._write((self._insert_fill, values)) == [1]
        self._count("written" if new else "duplicates")
        return new

    def record_snapshot(self, snapshot: AccountSnapshot) -> None:
        """Write an account snapshot and append its point to the equity curve (one commit)."""
        self._record_snapshot(snapshot, self._own(snapshot.strategy))

    def _record_snapshot(self, snapshot: AccountSnapshot, strategy: str) -> None:
        row, point = writes.snapshot_values(snapshot, strategy)
        self._write((self._insert_snapshot, row), (self._insert_equity, point))
        self._count("written")

    def record_event(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        strategy: str | None = None,
        time_ms: int | None = None,
    ) -> None:
        """Append a journal event (``kind`` such as ``"reconcile.mismatch"``, JSON payload)."""
        self._record_event(kind, payload, self._own(strategy), time_ms)

    def _record_event(
        self, kind: str, payload: Mapping[str, Any], strategy: str, time_ms: int | None
    ) -> None:
        values = {
            "kind": kind,
            "strategy": strategy,
            "time_ms": time_ms or writes.now_ms(),
            "payload": to_json(dict(payload)),
        }
        self._write((self._insert_event, values))
        self._count("written")

    def set_state(self, key: str, value: Any) -> None:
        """Store a control-state value (JSON) under ``key``, replacing the previous one.

        Keys are shared by every strategy of the database (a kill request, the trading state);
        prefix them with a strategy name for per-strategy flags.
        """
        values = {"key": key, "value": to_json(value), "updated_ms": writes.now_ms()}
        self._write((self._upsert_state, values))

    def get_state(self, key: str, default: Any = None) -> Any:
        """The control-state value stored under ``key``, or ``default``."""
        q = sa.select(control_state.c.value).where(control_state.c.key == key)
        text = self._read(lambda c: c.execute(q).scalar())
        return default if text is None else json.loads(text)

    def states(self, prefix: str) -> dict[str, Any]:
        """Every control-state value whose key starts with ``prefix``, by key."""
        q = sa.select(control_state.c.key, control_state.c.value).where(
            control_state.c.key.startswith(prefix, autoescape=True)
        )
        rows = self._read(lambda c: c.execute(q).all())
        return {str(key): json.loads(text) for key, text in rows}

    # -- the bus -------------------------------------------------------------------------
    @property
    def attached(self) -> bool:
        """Whether the journal is subscribed to a bus."""
        return self._bus is not None

    def attach(self, bus: EventBus) -> None:
        """Subscribe to the bus topics of the module docstring; writes run on its dispatcher."""
        if self._bus is not None:
            raise RuntimeError(f"{self!r} is already attached to {self._bus!r}; detach first")
        self._bus = bus
        for pattern, handler in (
            ("order.*", self._on_order),
            ("fill", self._on_fill),
            (ACCOUNT_SNAPSHOT_TOPIC, self._on_snapshot),
            ("risk.decision", self._on_risk),
            ("reconcile.**", self._on_event),
            ("killswitch.**", self._on_event),
            ("funding", self._on_event),
            ("liquidation", self._on_event),
        ):
            self._subs.append(bus.subscribe(pattern, handler))

    def detach(self) -> None:
        """Unsubscribe from the bus (events already delivered are written); harmless twice."""
        for sub in self._subs:
            sub.unsubscribe()
        self._subs.clear()
        self._bus = None

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the attached bus has delivered (so written) everything published so far.

        Returns False when ``timeout`` ran out; True at once when not attached.
        """
        return True if self._bus is None else self._bus.flush(timeout)

    def close(self) -> None:
        """Flush and detach from the bus, then release the database; harmless twice."""
        if self._closed:
            return
        with contextlib.suppress(RuntimeError):  # close() from a handler cannot wait for it
            self.flush(timeout=10.0)
        self.detach()
        with self._write_lock:
            self._closed = True
            self._writer.close()
        self._engine.dispose()

    def _bus_owner(self, value: str | None, strict: bool) -> str | None:
        if self.strategy is None:
            return value or ""
        if value == self.strategy or (not strict and not value):
            return self.strategy
        return None

    def _guarded(self, topic: str, owner: str | None, work: Callable[[str], object]) -> None:
        if owner is None:
            self._count("skipped")
            return
        try:
            work(owner)
        except Exception as exc:
            text = safe_message(exc, self.url)
            self._count("errors", text)
            _log.error("journal could not record the event on %s: %s", topic, text)

    def _on_order(self, topic: str, event: Any) -> None:
        if not isinstance(event, OrderUpdate):
            self._count("ignored")
            return
        if not event.client_order_id and event.state.alive:  # held locally, not sent (yet)
            self._count("ignored")
            return
        owner = self._bus_owner(getattr(event, "strategy", ""), strict=True)
        self._guarded(topic, owner, lambda s: self._record_update(event, s))

    def _on_fill(self, topic: str, event: Any) -> None:
        if not isinstance(event, FillEvent):
            self._count("ignored")
            return
        owner = self._bus_owner(getattr(event, "strategy", ""), strict=True)
        self._guarded(topic, owner, lambda s: self._record_fill(event, s))

    def _on_snapshot(self, topic: str, event: Any) -> None:
        if not isinstance(event, AccountSnapshot):
            self._count("ignored")
            return
        owner = self._bus_owner(event.strategy, strict=True)
        self._guarded(topic, owner, lambda s: self._record_snapshot(event, s))

    def _on_risk(self, topic: str, event: Any) -> None:
        if getattr(event, "allowed", True) or not hasattr(event, "rule"):
            self._count("ignored")
            return
        owner = self._bus_owner(getattr(event, "strategy", None), strict=False)
        payload = writes.risk_rejection_payload(event)
        self._guarded(topic, owner, lambda s: self._record_event("risk.rejected", payload, s, None))

    def _on_event(self, topic: str, event: Any) -> None:
        payload = writes.event_payload(event)
        strategy = payload.get("strategy", getattr(event, "strategy", None))
        stamp = payload.get("time_ms")
        time_ms = stamp if isinstance(stamp, int) and not isinstance(stamp, bool) else None
        owner = self._bus_owner(strategy if isinstance(strategy, str) else None, strict=False)
        self._guarded(topic, owner, lambda s: self._record_event(topic, payload, s, time_ms))
