"""Benchmark: the order journal's write rates against raw driver inserts, in one run.

Two figures per database, each a ratio against a baseline measured in the same run:

* **intents/s (synchronous)**: ``Journal.record_intent`` one by one, each committed before it
  returns, against the raw driver inserting the same row into the same table, one committed
  transaction per row (SQLite: ``sqlite3`` with the journal's pragmas, WAL and
  ``synchronous=NORMAL``, ``BEGIN IMMEDIATE``; PostgreSQL: ``psycopg`` in autocommit).
* **bus events/s**: order updates and fills (1 fill per 2 updates) published on an asynchronous
  ``EventBus`` the journal is attached to, timed from the first publish to the end of
  ``journal.flush()``, against the raw driver inserting the same rows (one commit each).

The ratio is journal / baseline (1.0 = as fast as the bare driver). SQLite always runs (a file
in a temporary directory); PostgreSQL runs when ``$RT_BENCH_POSTGRES_URL`` (default: the test
server, ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) is reachable, in a database
created for the run and dropped afterwards. Takes well under a minute.

Run::

    .venv/bin/python bench/bench_journal.py [--intents 3000] [--events 6000]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from real_trade.bus import EventBus
from real_trade.execution.events import FILL_TOPIC, FillEvent, OrderUpdate
from real_trade.execution.orders import OrderState
from real_trade.persistence import Journal, OrderIntent
from real_trade.persistence.rows import fill_values, intent_values, update_values

PG_URL = os.environ.get(
    "RT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _intent(n: int) -> OrderIntent:
    return OrderIntent(
        f"rt-bench-{n:07d}",
        "bench",
        n,
        "BTC/USDT",
        "buy",
        "Limit",
        0.01,
        price=30_000.0,
        params={"signal": "sma_cross", "fast": 10, "slow": 30},
        time_ms=1_700_000_000_000 + n,
    )


def _events(count: int) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    n = 0
    while len(out) < count:
        n += 1
        cid = f"rt-bench-{n:07d}"
        for state in (OrderState.ACCEPTED, OrderState.COMPLETED):
            upd = OrderUpdate(
                n,
                cid,
                f"X{n}",
                "BTC/USDT",
                "buy",
                "Limit",
                state,
                0.01,
                0.01 if state is OrderState.COMPLETED else 0.0,
                30_000.0,
                30_000.0,
                None,
                None,
                1_700_000_000_000 + n,
                strategy="bench",
            )
            out.append((upd.topic, upd))
        out.append(
            (
                FILL_TOPIC,
                FillEvent(
                    n,
                    cid,
                    f"X{n}",
                    "BTC/USDT",
                    "buy",
                    f"T{n}",
                    30_000.0,
                    0.01,
                    0.3,
                    "USDT",
                    1_700_000_000_000 + n,
                    position_change=0.01,
                    fee_in_quote=0.3,
                    strategy="bench",
                ),
            )
        )
    return out[:count]


def _rows(events: list[tuple[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    rows = []
    for topic, ev in events:
        if topic == FILL_TOPIC:
            rows.append(("fills", fill_values(ev, "bench")))
        else:
            rows.append(("order_events", update_values(ev, "bench")))
    return rows


def _insert_sql(table: str, row: dict[str, Any], style: str) -> str:
    cols = ", ".join(row)
    marks = ", ".join("?" if style == "qmark" else f"%({c})s" for c in row)
    return f"INSERT INTO {table} ({cols}) VALUES ({marks})"


@contextmanager
def _timer(result: list[float]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    result.append(time.perf_counter() - start)


def _journal_run(url: str, intents: int, events: list[tuple[str, Any]]) -> tuple[float, float]:
    t: list[float] = []
    with Journal(url) as journal:
        with _timer(t):
            for n in range(intents):
                journal.record_intent(_intent(n))
        bus = EventBus(name="bench")
        journal.attach(bus)
        with _timer(t):
            for topic, ev in events:
                bus.publish(topic, ev)
            journal.flush()
        journal.detach()
        bus.close()
    return intents / t[0], len(events) / t[1]


def _baseline_run(
    execute: Callable[[str, Any], None], style: str, intents: int, events: list[tuple[str, Any]]
) -> tuple[float, float]:
    t: list[float] = []
    irows = [intent_values(_intent(n + 10_000_000), "bench") for n in range(intents)]
    sql = _insert_sql("intents", irows[0], style)
    with _timer(t):
        for row in irows:
            execute(sql, tuple(row.values()) if style == "qmark" else row)
    erows = _rows(events)
    sqls = {table: _insert_sql(table, row, style) for table, row in erows[:3]}
    with _timer(t):
        for table, row in erows:
            execute(sqls[table], tuple(row.values()) if style == "qmark" else row)
    return intents / t[0], len(events) / t[1]


def bench_sqlite(intents: int, events: list[tuple[str, Any]]) -> tuple[tuple[float, float], ...]:
    """Journal and raw sqlite3 rates on SQLite files with the same pragmas."""
    with tempfile.TemporaryDirectory() as tmp:
        ours = _journal_run(f"sqlite:///{tmp}/journal.db", intents, events)
        base_url = f"sqlite:///{tmp}/baseline.db"
        Journal(base_url).close()  # same schema
        conn = sqlite3.connect(f"{tmp}/baseline.db", isolation_level=None)
        for pragma in ("busy_timeout = 10000", "journal_mode = WAL", "synchronous = NORMAL"):
            conn.execute(f"PRAGMA {pragma}")

        def execute(sql: str, params: Any) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(sql, params)
            conn.execute("COMMIT")

        base = _baseline_run(execute, "qmark", intents, events)
        conn.close()
    return ours, base


def bench_postgres(intents: int, events: list[tuple[str, Any]]) -> tuple[tuple[float, float], ...]:
    """Journal and raw psycopg rates on a fresh PostgreSQL database (dropped afterwards)."""
    import psycopg

    server = sa.engine.make_url(PG_URL)
    name = f"rt_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = server.set(database=name)
    try:
        ours = _journal_run(url.render_as_string(hide_password=False), intents, events)
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as conn:
            for table in ("intents", "order_events", "fills"):
                conn.execute(f"TRUNCATE {table}")
            base = _baseline_run(lambda s, p: conn.execute(s, p), "pyformat", intents, events)
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    return ours, base


def _report(name: str, ours: tuple[float, float], base: tuple[float, float]) -> None:
    for label, mine, theirs in (
        ("intents/s (sync)", ours[0], base[0]),
        ("bus events/s", ours[1], base[1]),
    ):
        print(
            f"{name:<10} {label:<18} journal {mine:>9,.0f}   raw driver {theirs:>9,.0f}   "
            f"ratio {mine / theirs:.2f}"
        )


def _postgres_reachable() -> bool:
    try:
        engine = sa.create_engine(
            PG_URL, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 2}
        )
        with engine.connect():
            return True
    except Exception:
        return False


def main() -> None:
    """Parse the arguments, run SQLite (and PostgreSQL when reachable), print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intents", type=int, default=3000)
    parser.add_argument("--events", type=int, default=6000)
    args = parser.parse_args()
    events = _events(args.events)
    _report("sqlite", *bench_sqlite(args.intents, events))
    if _postgres_reachable():
        _report("postgresql", *bench_postgres(args.intents, events))
    else:
        print(f"postgresql skipped: {sa.engine.make_url(PG_URL)!s} not reachable")


if __name__ == "__main__":
    main()
